// Stand-in for the CUDA layer-3 test pass in a build without the CUDA backend.
#ifndef RSNN_WITH_CUDA
#include "kernels/rstdp_layer3.h"
#include "runtime/error.h"

namespace rsnn::rstdp {

std::vector<L3Decision> l3_infer_cuda(const Layer3&, const uint64_t*, int64_t) {
  RSNN_FAIL("rstdp layer 3 on CUDA: rsnn was built without the CUDA backend");
}

}  // namespace rsnn::rstdp
#endif
