// CUDA twins of the IF convolution and the STDP update (kernels/spikewave.h): thin launchers
// over the RSNN_HD element math of spikewave_math.h, with host pointers in and out.
#include <cuda_runtime.h>

#include "kernels/spikewave.h"
#include "kernels/spikewave_math.h"
#include "runtime/cuda_check.h"
#include "runtime/device.h"

namespace rsnn::sw {

namespace {

// One thread per output neuron (f fastest, so the transposed weights load coalesced). Each
// step sums that step's new inputs in (c, ky, kx) order, as the CPU paths do.
__global__ void conv_fire_kernel(const uint8_t* t_in, int Cin, int H, int W, const float* w_t,
                                 int ld, int Cout, int K, int T, float theta, uint8_t* t_out,
                                 float* pot_first, float* pot_last) {
  const int Ho = H - K + 1, Wo = W - K + 1;
  const long n = long(Cout) * Ho * Wo;
  const long g = long(blockIdx.x) * blockDim.x + threadIdx.x;
  if (g >= n) return;
  const int f = int(g % Cout);
  const int p = int(g / Cout);
  const int y = p / Wo, x = p % Wo;
  const uint8_t never = uint8_t(T);
  float pot = 0.0f, pf = 0.0f;
  uint8_t tf = never;
  for (int t = 0; t < T; ++t) {
    float s = 0.0f;
    for (int c = 0; c < Cin; ++c)
      for (int ky = 0; ky < K; ++ky)
        for (int kx = 0; kx < K; ++kx)
          if (t_in[(long(c) * H + y + ky) * W + x + kx] == t)
            s += w_t[long((c * K + ky) * K + kx) * ld + f];
    if_step(pot, s, t, theta, tf, pf, never);
  }
  const long o = long(f) * Ho * Wo + p;
  t_out[o] = tf;
  pot_first[o] = pf;
  if (pot_last) pot_last[o] = pot;
}

// One thread per (winner, weight of its kernel).
__global__ void stdp_kernel(float* w, int Cin, int K, const uint8_t* t_in, int H, int W,
                            const Winner* win, int nwin, StdpParams p) {
  const int CKK = Cin * K * K;
  const long g = long(blockIdx.x) * blockDim.x + threadIdx.x;
  if (g >= long(nwin) * CKK) return;
  const Winner wn = win[g / CKK];
  const int i = int(g % CKK);
  const int c = i / (K * K), ky = (i / K) % K, kx = i % K;
  const bool ltp = stdp_ltp(t_in[(long(c) * H + wn.y + ky) * W + wn.x + kx], wn.t);
  float& wi = w[long(wn.f) * CKK + i];
  wi = stdp_weight(wi, ltp, p.a_plus, p.a_minus, p.lo, p.hi, p.stabilize);
}

__global__ void clamp_kernel(float* w, long n, float lo, float hi) {
  const long g = long(blockIdx.x) * blockDim.x + threadIdx.x;
  if (g < n) w[g] = clamp_weight(w[g], lo, hi);
}

// Device buffer freed on scope exit.
template <class T>
struct DevBuf {
  T* p = nullptr;
  explicit DevBuf(size_t n) { RSNN_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T) + 1)); }
  ~DevBuf() { cudaFree(p); }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
};

void require_device(const char* what) {
  RSNN_CHECK(cuda_usable(), what, ": no usable CUDA device");
}

int blocks(long n, int threads) { return int((n + threads - 1) / threads); }

}  // namespace

void if_conv_fire_cuda(const uint8_t* t_in, int Cin, int H, int W, const float* w_t, int Cout,
                       int K, int T, float theta, uint8_t* t_out, float* pot_first,
                       float* pot_last) {
  require_device("if_conv_fire_cuda");
  RSNN_CHECK(Cin > 0 && Cout > 0 && K > 0 && H >= K && W >= K && T > 0 && T <= 254 &&
                 theta >= 0.0f,
             "if_conv_fire_cuda: bad arguments");
  const size_t nin = size_t(Cin) * H * W, nw = size_t(Cin) * K * K * padded_features(Cout);
  const size_t nout = size_t(Cout) * (H - K + 1) * (W - K + 1);
  DevBuf<uint8_t> d_in(nin), d_t(nout);
  DevBuf<float> d_w(nw), d_pf(nout), d_pl(nout);
  RSNN_CUDA_CHECK(cudaMemcpy(d_in.p, t_in, nin, cudaMemcpyHostToDevice));
  RSNN_CUDA_CHECK(cudaMemcpy(d_w.p, w_t, nw * sizeof(float), cudaMemcpyHostToDevice));
  conv_fire_kernel<<<blocks(long(nout), 256), 256>>>(d_in.p, Cin, H, W, d_w.p, padded_features(Cout), Cout, K, T,
                                                     theta, d_t.p, d_pf.p, d_pl.p);
  RSNN_CUDA_CHECK_LAUNCH();
  RSNN_CUDA_CHECK(cudaMemcpy(t_out, d_t.p, nout, cudaMemcpyDeviceToHost));
  RSNN_CUDA_CHECK(cudaMemcpy(pot_first, d_pf.p, nout * sizeof(float), cudaMemcpyDeviceToHost));
  if (pot_last)
    RSNN_CUDA_CHECK(
        cudaMemcpy(pot_last, d_pl.p, nout * sizeof(float), cudaMemcpyDeviceToHost));
}

void stdp_update_cuda(float* w, int Cout, int Cin, int K, const uint8_t* t_in, int H, int W,
                      const std::vector<Winner>& winners, const StdpParams& p) {
  require_device("stdp_update_cuda");
  for (const Winner& wn : winners)
    RSNN_CHECK(wn.f >= 0 && wn.f < Cout && wn.y >= 0 && wn.x >= 0 && wn.y + K <= H &&
                   wn.x + K <= W,
               "stdp_update_cuda: winner (", wn.f, ", ", wn.y, ", ", wn.x, ") out of range");
  const size_t nin = size_t(Cin) * H * W, nw = size_t(Cout) * Cin * K * K;
  DevBuf<uint8_t> d_in(nin);
  DevBuf<float> d_w(nw);
  DevBuf<Winner> d_win(winners.size());
  RSNN_CUDA_CHECK(cudaMemcpy(d_in.p, t_in, nin, cudaMemcpyHostToDevice));
  RSNN_CUDA_CHECK(cudaMemcpy(d_w.p, w, nw * sizeof(float), cudaMemcpyHostToDevice));
  if (!winners.empty()) {
    RSNN_CUDA_CHECK(cudaMemcpy(d_win.p, winners.data(), winners.size() * sizeof(Winner),
                               cudaMemcpyHostToDevice));
    const long n = long(winners.size()) * Cin * K * K;
    stdp_kernel<<<blocks(n, 256), 256>>>(d_w.p, Cin, K, d_in.p, H, W, d_win.p,
                                         int(winners.size()), p);
    RSNN_CUDA_CHECK_LAUNCH();
  }
  clamp_kernel<<<blocks(long(nw), 256), 256>>>(d_w.p, long(nw), p.lo, p.hi);
  RSNN_CUDA_CHECK_LAUNCH();
  RSNN_CUDA_CHECK(cudaMemcpy(w, d_w.p, nw * sizeof(float), cudaMemcpyDeviceToHost));
}

}  // namespace rsnn::sw
