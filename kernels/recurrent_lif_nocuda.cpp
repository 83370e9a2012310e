// Stand-ins for the CUDA recurrent LIF entry points in a build without the CUDA backend (a
// projection cannot live on a CUDA device there, so these only guard direct calls), one per
// entry of RSNN_LIF_CUDA_ENTRY_POINTS.
#ifndef RSNN_WITH_CUDA
#include "kernels/recurrent_lif_cuda.h"

namespace rsnn::kernels::cuda {

#define RSNN_LIF_CUDA_STAND_IN(ret, name, params) \
  ret name params { RSNN_FAIL(#name " on CUDA: rsnn was built without the CUDA backend"); }
RSNN_LIF_CUDA_ENTRY_POINTS(RSNN_LIF_CUDA_STAND_IN)
#undef RSNN_LIF_CUDA_STAND_IN

}  // namespace rsnn::kernels::cuda
#endif
