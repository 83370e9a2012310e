// Stand-ins for the CUDA recurrent LIF entry points in a build without the CUDA backend (a
// projection cannot live on a CUDA device there, so these only guard direct calls).
#ifndef RSNN_WITH_CUDA
#include "kernels/recurrent_lif_cuda.h"

namespace rsnn::kernels::cuda {

LifForward recurrent_lif_forward(const Projection&, const LifConfig&, const LifInputs&, bool, Stream) {
  RSNN_FAIL("recurrent_lif_forward on CUDA: rsnn was built without the CUDA backend");
}

LifGrads recurrent_lif_backward(const Projection&, const LifConfig&, const LifInputs&,
                                const LifSaved&, const Tensor&, const Tensor&, const LifNeeds&,
                                Stream) {
  RSNN_FAIL("recurrent_lif_backward on CUDA: rsnn was built without the CUDA backend");
}

}  // namespace rsnn::kernels::cuda
#endif
