// Stand-in for the CUDA microcircuit simulation in a build without the CUDA backend.
#ifndef RSNN_WITH_CUDA
#include "kernels/microcircuit.h"
#include "runtime/error.h"

namespace rsnn::mc {

SimResult simulate_cuda(const DelayCsr&, const LifPropagators&, const Drive&, State&, int64_t,
                        const std::vector<int32_t>&, int64_t) {
  RSNN_FAIL("simulate_cuda: rsnn was built without the CUDA backend");
}

}  // namespace rsnn::mc
#endif
