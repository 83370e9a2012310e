// Data-parallel gradients: a global batch cut into shards (runtime/dist.h), each shard's
// forward and backward run on the rank that holds it, and every parameter's gradient set to
// the sum over all shards, added in shard order. Any rank count that divides the shard count
// gives the same bits, one rank included, so parameters stay identical across ranks without
// being sent.
#pragma once
#include <functional>
#include <vector>

#include "autograd/var.h"
#include "runtime/dist.h"

namespace rsnn::ag {

// For each of this rank's shards, `shard_step(shard, samples)` runs forward and backward on
// the samples of the global batch in `samples`, its loss weighted so that the shards' losses
// add up to the batch's (for a batch mean: the shard's mean times samples.size() / batch).
// Each shard starts from zero gradients. On return every parameter in `params` holds the
// ordered sum (an undefined shard gradient counts as zeros; a parameter no shard reached is
// left undefined). Float32 parameters; any device (summed on the host).
void shard_gradients(const dist::ShardPlan& plan, const std::vector<Var>& params,
                     const std::function<void(int shard, dist::Range samples)>& shard_step);

// Sums `values` (per-shard statistics such as loss sums or correct counts, this rank's shards
// back to back, `n` each) over every shard in shard order, on every rank.
std::vector<double> sum_shard_stats(const std::vector<double>& values, int local_shards, size_t n);

}  // namespace rsnn::ag
