// Stand-ins for the CUDA converted-LIF simulation and noise in a build without the CUDA backend.
#ifndef RSNN_WITH_CUDA
#include "kernels/rate_lif.h"
#include "kernels/rate_lif_noise.h"
#include "runtime/error.h"

namespace rsnn::kernels::rate_lif {

void simulate_cuda(const NetView&, const float*, int, int, int64_t, const TrialKeys*, float*, int64_t*) {
  RSNN_FAIL("rate LIF simulation on CUDA: rsnn was built without the CUDA backend");
}

void noise::normal4_run_cuda(uint64_t, uint64_t, uint64_t, int64_t, float*) {
  RSNN_FAIL("LIF noise on CUDA: rsnn was built without the CUDA backend");
}

}  // namespace rsnn::kernels::rate_lif
#endif
