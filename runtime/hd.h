// RSNN_HD marks the per-element math that both backends run: the CPU loops call it,
// the CUDA kernels map thread indices onto it. Keep such functions small and pure.
#pragma once

#if defined(__CUDACC__)
#define RSNN_HD __host__ __device__ __forceinline__
#define RSNN_DEVICE_CODE 1
#else
#define RSNN_HD inline
#endif
