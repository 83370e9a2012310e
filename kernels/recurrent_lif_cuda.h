// CUDA half of the fused recurrent LIF layer (kernels/recurrent_lif.h states the model, the
// shapes and the layout contract; kernels/recurrent_lif.cu and recurrent_lif_backward.cu
// explain the kernel design).
// Internal: kernels::recurrent_lif_forward/backward call these when the projection lives on
// a CUDA device, with the device's default stream. Every tensor must be on that device.
// A build without the CUDA backend gets throwing stand-ins (runtime/cuda_entry.h).
//
// Same arguments, same results as the CPU op (up to floating-point summation order), plus:
//   stream: every kernel, copy and cuBLAS/cuSPARSE call is ordered on it. The forward waits
//           for it once at the end (the LifStats counts are read back); the backward only when
//           `stream` is not the legacy default stream (so the pooled scratch it frees cannot be
//           handed to work on another stream while its kernels still run).
#pragma once
#include "kernels/recurrent_lif.h"
#include "runtime/cuda_entry.h"
#include "runtime/device.h"

namespace rsnn::kernels::cuda {

RSNN_CUDA_ENTRY("recurrent_lif_forward",
                LifForward recurrent_lif_forward(const Projection& p, const LifConfig& cfg,
                                                 const LifInputs& x, bool keep_for_backward,
                                                 Stream stream));
RSNN_CUDA_ENTRY("recurrent_lif_backward",
                LifGrads recurrent_lif_backward(const Projection& p, const LifConfig& cfg,
                                                const LifInputs& x, const LifSaved& saved,
                                                const Tensor& dspikes, const Tensor& dreadout,
                                                const LifNeeds& needs, Stream stream));

}  // namespace rsnn::kernels::cuda
