#include "runtime/dist_cuda.h"

#include <cstring>
#include <string>

#include "runtime/cuda_check.h"
#include "runtime/dist.h"
#include "runtime/error.h"
#include "runtime/tensor.h"
#ifdef RSNN_WITH_NCCL
#include <nccl.h>
#endif

namespace rsnn::dist {
namespace {

__global__ void sum_in_order_kernel(const float* parts, int shards, size_t n, float* out) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    float s = parts[i];
    for (int k = 1; k < shards; ++k) s = __fadd_rn(s, parts[size_t(k) * n + i]);  // no contraction
    out[i] = s;
  }
}

void launch_sum(const float* parts, int shards, size_t n, float* out, cudaStream_t cs) {
  if (n == 0) return;
  const int threads = 256;
  const size_t blocks = std::min<size_t>((n + threads - 1) / threads, 65535);
  sum_in_order_kernel<<<unsigned(blocks), threads, 0, cs>>>(parts, shards, n, out);
  RSNN_CUDA_CHECK_LAUNCH();
}

#ifdef RSNN_WITH_NCCL
void check_nccl(ncclResult_t rc, const char* what) {
  RSNN_CHECK(rc == ncclSuccess, "NCCL ", what, " failed: ", ncclGetErrorString(rc));
}

// One communicator over all ranks, made on first use on this rank's device.
ncclComm_t communicator(int device) {
  static ncclComm_t comm = nullptr;
  static int comm_device = -1;
  if (comm) {
    RSNN_CHECK(comm_device == device, "sum_shards_cuda: the NCCL communicator was made on cuda:",
               comm_device, ", now called on cuda:", device, " (one device per rank)");
    return comm;
  }
  ncclUniqueId id;
  if (is_root()) check_nccl(ncclGetUniqueId(&id), "GetUniqueId");
  broadcast(&id, sizeof id);
  RSNN_CUDA_CHECK(cudaSetDevice(device));
  check_nccl(ncclCommInitRank(&comm, size(), id, rank()), "CommInitRank");
  comm_device = device;
  return comm;
}
#endif

}  // namespace

void sum_shards_cuda(const float* local, int local_shards, size_t n, float* out, Stream stream) {
  RSNN_CHECK(stream.device.is_cuda(), "sum_shards_cuda: the stream's device is not a CUDA device");
  RSNN_CHECK(local_shards >= 1, "sum_shards_cuda: no shard to sum");
  RSNN_CUDA_CHECK(cudaSetDevice(stream.device.index));
  auto cs = static_cast<cudaStream_t>(stream.handle);
  if (!active() || size() == 1) {
    launch_sum(local, local_shards, n, out, cs);
    return;
  }
#ifdef RSNN_WITH_NCCL
  // Equal shard counts on every rank (plan_shards), so one all-gather puts them in shard order.
  RSNN_CHECK(sum_int(local_shards) == int64_t(local_shards) * size(),
             "sum_shards_cuda: ranks hold different numbers of shards");
  const size_t per_rank = size_t(local_shards) * n;
  Tensor all = Tensor::empty({int64_t(per_rank) * size()}, DType::f32, stream.device);
  check_nccl(ncclAllGather(local, all.data<float>(), per_rank, ncclFloat, communicator(stream.device.index), cs),
             "AllGather of gradient shards");
  launch_sum(all.data<float>(), local_shards * size(), n, out, cs);
  // `all` returns to the pool when this returns: let the sum finish first.
  RSNN_CUDA_CHECK(cudaStreamSynchronize(cs));
#else
  RSNN_FAIL("sum_shards_cuda over ", size(), " ranks: rsnn was built without NCCL");
#endif
}

}  // namespace rsnn::dist
