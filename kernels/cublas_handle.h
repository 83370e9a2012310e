// One cuBLAS handle per (host thread, device), created on first use and kept for the
// thread's life (never destroyed: destroying after the CUDA context is torn down at exit
// would fail). Include from .cu files only.
#pragma once
#include <cublas_v2.h>

#include "runtime/device.h"

namespace rsnn::kernels::cuda {

// Selects stream.device, returns the calling thread's handle for it, bound to the stream.
cublasHandle_t cublas_handle(Stream stream);

}  // namespace rsnn::kernels::cuda
