// ReLU RNN on CUDA: cuBLAS GEMMs (kernels/linear.h) per step, element-wise kernels on the
// shared relu_rnn_math.h functions.
#include <algorithm>

#include "kernels/linear.h"
#include "kernels/relu_rnn.h"
#include "kernels/relu_rnn_math.h"
#include "runtime/cuda_check.h"

namespace rsnn::kernels::cuda {
namespace {

unsigned blocks_for(int64_t n, int threads) {
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>((n + threads - 1) / threads, 65535)));
}

__global__ void bias_rows_kernel(float* H, const float* b, int64_t rows, int64_t N) {
  const int64_t n = rows * N;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    H[i] = b[i % N];
}

__global__ void relu_kernel(float* h, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    h[i] = relu_rnn_act(h[i]);
}

// g = dpre(g + a + e, h); a and e may be null.
__global__ void dpre_kernel(float* g, const float* a, const float* e, const float* h, int64_t n,
                            bool g_valid) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float v = g_valid ? g[i] : 0.f;
    if (a) v += a[i];
    if (e) v += e[i];
    g[i] = relu_rnn_dpre(v, h[i]);
  }
}

// db[j] += sum over rows of G[r, j]: one block per column, a tree sum in shared memory.
__global__ void colsum_kernel(float* db, const float* G, int64_t rows, int64_t N) {
  __shared__ float part[256];
  const int64_t j = blockIdx.x;
  float acc = 0.f;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) acc += G[r * N + j];
  part[threadIdx.x] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) db[j] += part[0];
}

}  // namespace

void relu_rnn_forward(float* H, const float* x, const float* W_in, const float* W_rec,
                      const float* b, const ReluRnnDims& d, Stream stream) {
  RSNN_CUDA_CHECK(cudaSetDevice(stream.device.index));
  auto s = static_cast<cudaStream_t>(stream.handle);
  const int64_t T = d.T, B = d.B, N = d.N, BN = B * N;
  const int th = 256;
  bias_rows_kernel<<<blocks_for(T * BN, th), th, 0, s>>>(H, b, T * B, N);
  RSNN_CUDA_CHECK_LAUNCH();
  matmul<float>(H, x, W_in, T * B, d.n_in, N, false, false, true, stream);
  relu_kernel<<<blocks_for(BN, th), th, 0, s>>>(H, BN);
  RSNN_CUDA_CHECK_LAUNCH();
  for (int64_t t = 1; t < T; ++t) {
    float* h = H + t * BN;
    matmul<float>(h, h - BN, W_rec, B, N, N, false, false, true, stream);
    relu_kernel<<<blocks_for(BN, th), th, 0, s>>>(h, BN);
    RSNN_CUDA_CHECK_LAUNCH();
  }
}

void relu_rnn_backward(float* dx, float* dW_in, float* dW_rec, float* db, const float* dH,
                       const float* dh_last, const float* x, const float* W_in,
                       const float* W_rec, const float* H, float* work, const ReluRnnDims& d,
                       Stream stream) {
  RSNN_CUDA_CHECK(cudaSetDevice(stream.device.index));
  auto s = static_cast<cudaStream_t>(stream.handle);
  const int64_t T = d.T, B = d.B, N = d.N, I = d.n_in, BN = B * N;
  const int th = 256;
  float* G = work;
  dpre_kernel<<<blocks_for(BN, th), th, 0, s>>>(G + (T - 1) * BN, dh_last,
                                                dH ? dH + (T - 1) * BN : nullptr,
                                                H + (T - 1) * BN, BN, false);
  RSNN_CUDA_CHECK_LAUNCH();
  for (int64_t t = T - 1; t > 0; --t) {
    float* g = G + (t - 1) * BN;
    matmul<float>(g, G + t * BN, W_rec, B, N, N, false, true, false, stream);
    dpre_kernel<<<blocks_for(BN, th), th, 0, s>>>(g, nullptr, dH ? dH + (t - 1) * BN : nullptr,
                                                  H + (t - 1) * BN, BN, true);
    RSNN_CUDA_CHECK_LAUNCH();
  }
  if (dW_rec && T > 1) matmul<float>(dW_rec, H, G + BN, N, (T - 1) * B, N, true, false, true, stream);
  if (dW_in) matmul<float>(dW_in, x, G, I, T * B, N, true, false, true, stream);
  if (dx) matmul<float>(dx, G, W_in, T * B, N, I, false, true, true, stream);
  if (db) {
    colsum_kernel<<<static_cast<unsigned>(N), 256, 0, s>>>(db, G, T * B, N);
    RSNN_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace rsnn::kernels::cuda
