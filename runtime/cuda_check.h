// Checked-call macros for CUDA, cuBLAS and cuSPARSE. Include only from .cu files or from
// C++ files compiled with RSNN_WITH_CUDA.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusparse.h>

#include "runtime/error.h"

#define RSNN_CUDA_CHECK(call)                                                            \
  do {                                                                                   \
    cudaError_t rsnn_err_ = (call);                                                      \
    if (rsnn_err_ != cudaSuccess)                                                        \
      RSNN_FAIL("CUDA error in ", #call, ": ", cudaGetErrorString(rsnn_err_), " (",      \
                __FILE__, ":", __LINE__, ")");                                           \
  } while (0)

// After a kernel launch: catches bad launch configurations at once.
#define RSNN_CUDA_CHECK_LAUNCH() RSNN_CUDA_CHECK(cudaGetLastError())

#define RSNN_CUBLAS_CHECK(call)                                                          \
  do {                                                                                   \
    cublasStatus_t rsnn_st_ = (call);                                                    \
    if (rsnn_st_ != CUBLAS_STATUS_SUCCESS)                                               \
      RSNN_FAIL("cuBLAS error in ", #call, ": status ", static_cast<int>(rsnn_st_), " (", \
                __FILE__, ":", __LINE__, ")");                                           \
  } while (0)

#define RSNN_CUSPARSE_CHECK(call)                                                        \
  do {                                                                                   \
    cusparseStatus_t rsnn_st_ = (call);                                                  \
    if (rsnn_st_ != CUSPARSE_STATUS_SUCCESS)                                             \
      RSNN_FAIL("cuSPARSE error in ", #call, ": ", cusparseGetErrorString(rsnn_st_),     \
                " (", __FILE__, ":", __LINE__, ")");                                     \
  } while (0)
