// The shard sum of runtime/dist.h for float32 buffers on a CUDA device: across ranks the
// partials travel by NCCL all-gather (one GPU per rank; the communicator is made once, its id
// sent through MPI), then one kernel adds them in shard order, so the result has the bits of
// dist::sum_shards on the host. Without MPI (one rank) only the kernel runs. A build without
// the CUDA backend gets a throwing stand-in; one without NCCL throws for more than one rank.
#pragma once
#include <cstddef>

#include "runtime/cuda_entry.h"
#include "runtime/device.h"

namespace rsnn::dist {

// `local`: this rank's local_shards partials of n values each, back to back; `out`: n values.
// Both on stream.device, which must be a CUDA device; ordered on `stream`.
RSNN_CUDA_ENTRY("dist::sum_shards_cuda",
                void sum_shards_cuda(const float* local, int local_shards, size_t n, float* out,
                                     Stream stream));

}  // namespace rsnn::dist
