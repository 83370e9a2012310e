// Stand-ins for the CUDA spike-wave ops in a build without the CUDA backend: they say so.
#ifndef RSNN_WITH_CUDA
#include "kernels/spikewave.h"
#include "runtime/error.h"

namespace rsnn::sw {

void if_conv_fire_cuda(const uint8_t*, int, int, int, const float*, int, int, int, float,
                       uint8_t*, float*, float*) {
  RSNN_FAIL("if_conv_fire_cuda: rsnn was built without the CUDA backend");
}

void stdp_update_cuda(float*, int, int, int, const uint8_t*, int, int,
                      const std::vector<Winner>&, const StdpParams&) {
  RSNN_FAIL("stdp_update_cuda: rsnn was built without the CUDA backend");
}

}  // namespace rsnn::sw
#endif
