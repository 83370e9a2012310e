#include "autograd/data_parallel.h"

#include <algorithm>

#include "runtime/dist_cuda.h"
#include "runtime/error.h"

namespace rsnn::ag {

namespace {
// Where the partials are summed: the parameters' CUDA device when they all live on one
// (NCCL across ranks), else the host.
Device sum_device(const std::vector<Var>& params) {
  if (params.empty() || !params[0].value().device().is_cuda()) return Device::cpu();
  for (const Var& p : params)
    if (!(p.value().device() == params[0].value().device())) return Device::cpu();
  return params[0].value().device();
}

void sum_partials(const Tensor& local, int local_shards, size_t n, Tensor& sum) {
  if (local.device().is_cuda())
    dist::sum_shards_cuda(local.data<float>(), local_shards, n, sum.data<float>(), Stream{local.device()});
  else
    dist::sum_shards(local.data<float>(), local_shards, n, sum.data<float>());
}
}  // namespace

void shard_gradients(const dist::ShardPlan& plan, const std::vector<Var>& params,
                     const std::function<void(int shard, dist::Range samples)>& shard_step) {
  int64_t n = 0;
  std::vector<int64_t> offset;
  for (const Var& p : params) {
    RSNN_CHECK(p.value().dtype() == DType::f32, "shard_gradients: parameter ", p.value().describe(),
               " is not float32");
    offset.push_back(n);
    n += p.value().numel();
  }
  const Device dev = sum_device(params);
  // Partials of this rank's shards back to back; reached[i]: some shard gave param i a gradient.
  Tensor local = Tensor::zeros({std::max<int64_t>(1, plan.local_shards * n)}, DType::f32, dev);
  std::vector<int64_t> reached(params.size(), 0);
  for (int s = 0; s < plan.local_shards; ++s) {
    for (const Var& p : params) p.zero_grad();
    const int shard = plan.first_shard + s;
    shard_step(shard, plan.samples(shard));
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor& g = params[i].grad();
      if (!g.defined()) continue;
      RSNN_CHECK(g.numel() == params[i].value().numel(), "shard_gradients: gradient ", g.describe(),
                 " does not match its parameter ", params[i].value().describe());
      reached[i] = 1;
      local.narrow0(s * n + offset[i], g.numel()).copy_from(g.reshape({g.numel()}));
    }
  }
  Tensor sum = Tensor::empty({std::max<int64_t>(1, n)}, DType::f32, dev);
  sum_partials(local, plan.local_shards, size_t(n), sum);
  // Whether any rank's shard reached each parameter, so every rank leaves the same ones
  // undefined (one collective for all parameters).
  dist::sum_int(reached.data(), reached.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Var& p = params[i];
    if (!reached[i]) {
      p.zero_grad();
      continue;
    }
    const int64_t k = p.value().numel();
    // A fresh tensor: a leaf's gradient may share storage with another's (an add passes its
    // output gradient to both inputs).
    p.grad() = Tensor::empty(p.value().shape(), DType::f32, p.value().device());
    p.grad().reshape({k}).copy_from(sum.narrow0(offset[i], k));
  }
}

std::vector<double> sum_shard_stats(const std::vector<double>& values, int local_shards, size_t n) {
  RSNN_CHECK(values.size() == size_t(local_shards) * n, "sum_shard_stats: ", values.size(),
             " values for ", local_shards, " shards of ", n);
  std::vector<double> out(n);
  dist::sum_shards(values.data(), local_shards, n, out.data());
  return out;
}

}  // namespace rsnn::ag
