// Layer 3 test pass on CUDA: exact potentials (double sums of float weights, as the CPU
// reference) for a chunk of samples, one thread per (sample, feature, position); the
// decision is then taken on the CPU with the shared rule (l3_decide).
#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "kernels/rstdp_layer3.h"
#include "runtime/cuda_check.h"

namespace rsnn::rstdp {

namespace {

__global__ void l3_potentials_kernel(const float* w, const uint64_t* bits, int n, double* pot) {
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= int64_t(n) * kL3Features * kL3Pos) return;
  const int b = int(t / (kL3Features * kL3Pos)), fp = int(t % (kL3Features * kL3Pos));
  const int f = fp / kL3Pos, p = fp % kL3Pos, y = p / kL3Side, x = p % kL3Side;
  const uint64_t* bb = bits + int64_t(b) * kL3Words;
  const float* wf = w + int64_t(f) * kL3KernelSize;
  double s = 0;
  for (int iy = 0; iy < kL3Side; ++iy)
    for (int ix = 0; ix < kL3Side; ++ix) {
      int ky, kx;
      if (!l3_tap(y, x, iy, ix, ky, kx)) continue;
      const int q = iy * kL3Side + ix;
      for (int c = 0; c < kL3In; ++c)
        if (l3_bit(bb, q * kL3In + c)) s += double(wf[(c * kL3K + ky) * kL3K + kx]);
    }
  pot[t] = s;
}

}  // namespace

std::vector<L3Decision> l3_infer_cuda(const Layer3& l3, const uint64_t* bits, int64_t n) {
  constexpr int64_t kChunk = 1024;
  std::vector<L3Decision> out(static_cast<size_t>(n));
  float* dw = nullptr;
  uint64_t* db = nullptr;
  double* dp = nullptr;
  RSNN_CUDA_CHECK(cudaMalloc(&dw, sizeof(float) * kL3Weights));
  RSNN_CUDA_CHECK(cudaMalloc(&db, sizeof(uint64_t) * kL3Words * kChunk));
  RSNN_CUDA_CHECK(cudaMalloc(&dp, sizeof(double) * kL3Features * kL3Pos * kChunk));
  std::vector<double> pot(size_t(kChunk) * kL3Features * kL3Pos);
  try {
    RSNN_CUDA_CHECK(cudaMemcpy(dw, l3.w.data(), sizeof(float) * kL3Weights, cudaMemcpyHostToDevice));
    for (int64_t s0 = 0; s0 < n; s0 += kChunk) {
      const int m = int(std::min(kChunk, n - s0));
      RSNN_CUDA_CHECK(cudaMemcpy(db, bits + s0 * kL3Words, sizeof(uint64_t) * kL3Words * m,
                                 cudaMemcpyHostToDevice));
      const int64_t threads = int64_t(m) * kL3Features * kL3Pos;
      l3_potentials_kernel<<<unsigned((threads + 255) / 256), 256>>>(dw, db, m, dp);
      RSNN_CUDA_CHECK_LAUNCH();
      RSNN_CUDA_CHECK(cudaMemcpy(pot.data(), dp, sizeof(double) * threads, cudaMemcpyDeviceToHost));
      for (int b = 0; b < m; ++b) out[s0 + b] = l3_decide(pot.data() + size_t(b) * kL3Features * kL3Pos);
    }
  } catch (...) {
    cudaFree(dw), cudaFree(db), cudaFree(dp);
    throw;
  }
  cudaFree(dw), cudaFree(db), cudaFree(dp);
  return out;
}

}  // namespace rsnn::rstdp
