// CUDA simulation of the converted LIF network (rate_lif.h): one trial per block, threads over
// neurons, every step in one kernel (no launch per step). The per-neuron math is
// rate_lif_math.h, the same functions the CPU runs; the noise is rate_lif_noise.h's, the very
// bits the CPU draws. Results match the CPU up to floating-point contraction (FMA) and the
// order of the readout sum, not bit for bit.
#include <algorithm>
#include <vector>

#include "kernels/rate_lif.h"
#include "kernels/rate_lif_noise.h"
#include "runtime/cuda_check.h"
#include "runtime/device.h"
#include "runtime/philox.h"
#include "runtime/tensor.h"

namespace rsnn::kernels::rate_lif {

namespace {

// u: (B, C, Tcs) inputs; keys: (B, 4) seed and init, noise, stim streams (TrialKeys);
// state: (B, 6, N) v, tlast, ipsc, h, r, hr; out: (B, nt).
__global__ void lif_trials_kernel(int N, int C, int Tcs, int64_t nt, LifConsts c,
                                  const double* __restrict__ WT, const double* __restrict__ w_in,
                                  const double* __restrict__ w_out, const double* __restrict__ exp_td,
                                  const double* __restrict__ jump, const float* __restrict__ u,
                                  const uint64_t* __restrict__ keys, double v_lo,
                                  double v_hi, double* state, float* out,
                                  unsigned long long* n_spikes) {
  extern __shared__ double smem[];
  double* red = smem;                                              // blockDim.x
  unsigned char* flag = reinterpret_cast<unsigned char*>(smem + blockDim.x);  // N
  const int b = blockIdx.x, tid = threadIdx.x, nthr = blockDim.x;
  double* v = state + size_t(b) * 6 * N;
  double *tlast = v + N, *ipsc = v + 2 * N, *h = v + 3 * N, *r = v + 4 * N, *hr = v + 5 * N;
  const uint64_t seed = keys[4 * b], st_init = keys[4 * b + 1], st_noise = keys[4 * b + 2];
  const uint64_t nb = (uint64_t(N) + 3) / 4;
  for (int i = tid; i < N; i += nthr) {
    v[i] = v_lo + philox::uniform_f64(seed, st_init, i) * (v_hi - v_lo);
    tlast[i] = ipsc[i] = h[i] = r[i] = hr[i] = 0.0;
  }
  const float* ub = u + size_t(b) * C * Tcs;
  unsigned long long count = 0;
  __syncthreads();
  for (int64_t s = 1; s <= nt; ++s) {
    const double t = c.dt * double(s);
    const int64_t col = lif_input_column(s);
    for (int i = tid; i < N; i += nthr) {
      double ext = 0.0;
      for (int ch = 0; ch < C; ++ch) ext += w_in[size_t(i) * C + ch] * double(ub[size_t(ch) * Tcs + col]);
      const double z =
          c.noise_std > 0 ? c.noise_std * double(noise::normal_at(seed, st_noise, uint64_t(s) * nb * 4 + i)) : 0.0;
      flag[i] = lif_voltage_step(c, t, v[i], tlast[i], ipsc[i], ext, z) ? 1 : 0;
    }
    __syncthreads();
    double acc = 0.0;
    for (int i = tid; i < N; i += nthr) {
      double jd = 0.0;
      for (int k = 0; k < N; ++k)
        if (flag[k]) jd += WT[size_t(k) * N + i];  // increasing k, as the CPU
      const bool spk = flag[i] != 0;
      lif_filter_step(c, spk, jd, exp_td[i], jump[i], ipsc[i], h[i], r[i], hr[i]);
      lif_after_spike(c, spk, t, v[i], tlast[i]);
      acc += w_out[i] * r[i];
      count += spk ? 1 : 0;
    }
    red[tid] = acc;
    __syncthreads();
    for (int w = nthr / 2; w > 0; w /= 2) {
      if (tid < w) red[tid] += red[tid + w];
      __syncthreads();
    }
    if (tid == 0) out[size_t(b) * nt + (s - 1)] = float(red[0]);
  }
  atomicAdd(n_spikes + b, count);
}

// out: (nblk, 4) normals, block first_blk + j in row j.
__global__ void lif_noise_kernel(uint64_t seed, uint64_t stream, uint64_t first_blk, int64_t nblk,
                                 float* out) {
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j < nblk) noise::normal4(seed, stream, first_blk + uint64_t(j), out + 4 * j);
}

}  // namespace

void noise::normal4_run_cuda(uint64_t seed, uint64_t stream, uint64_t first_blk, int64_t nblk, float* out) {
  RSNN_CHECK(cuda_usable(), "LIF noise on CUDA: no usable device (", cuda_status(), ")");
  RSNN_CHECK(nblk >= 0, "LIF noise on CUDA: negative block count ", nblk);
  if (nblk == 0) return;
  RSNN_CUDA_CHECK(cudaSetDevice(0));
  Tensor d = Tensor::empty({4 * nblk}, DType::f32, Device::cuda(0));
  const int threads = 256;
  const int64_t blocks = (nblk + threads - 1) / threads;
  lif_noise_kernel<<<unsigned(blocks), threads>>>(seed, stream, first_blk, nblk, d.data<float>());
  RSNN_CUDA_CHECK_LAUNCH();
  RSNN_CUDA_CHECK(cudaDeviceSynchronize());
  const auto h = d.to_vector<float>();
  std::copy(h.begin(), h.end(), out);
}

void simulate_cuda(const NetView& net, const float* u, int B, int Tcs, int64_t nt,
                   const TrialKeys* keys, float* out, int64_t* n_spikes) {
  check_inputs(net, u, Tcs, nt, Record{}, "rate LIF simulation on CUDA");
  RSNN_CHECK(cuda_usable(), "rate LIF simulation on CUDA: no usable device (", cuda_status(), ")");
  RSNN_CHECK(B >= 1 && keys && out && n_spikes, "rate LIF simulation on CUDA: need B >= 1 trials, got ", B);
  RSNN_CHECK(!net.stimulated(), "rate LIF simulation on CUDA: the stimulation runs on the CPU only");
  const int N = net.N, C = net.C;
  RSNN_CUDA_CHECK(cudaSetDevice(0));
  const auto upload = [](const double* p, int64_t n) {
    return Tensor::from_vector(std::vector<double>(p, p + n)).to(Device::cuda(0));
  };
  Tensor WT = upload(net.WT, int64_t(N) * N), w_in = upload(net.w_in, int64_t(N) * C),
         w_out = upload(net.w_out, N), exp_td = upload(net.exp_td, N), jump = upload(net.jump, N);
  Tensor u_d = Tensor::from_vector(std::vector<float>(u, u + size_t(B) * C * Tcs)).to(Device::cuda(0));
  std::vector<int64_t> key64;
  for (int b = 0; b < B; ++b)
    for (uint64_t k : {keys[b].seed, keys[b].init, keys[b].noise, keys[b].stim}) key64.push_back(int64_t(k));
  Tensor keys_d = Tensor::from_vector(key64).to(Device::cuda(0));
  Tensor state = Tensor::empty({B, 6, N}, DType::f64, Device::cuda(0));
  Tensor out_d = Tensor::empty({B, nt}, DType::f32, Device::cuda(0));
  Tensor cnt = Tensor::zeros({B}, DType::i64, Device::cuda(0));
  int threads = 32;
  while (threads < N && threads < 256) threads *= 2;
  const size_t shmem = size_t(threads) * sizeof(double) + size_t(N);
  if (shmem > 48 * 1024)
    RSNN_CUDA_CHECK(cudaFuncSetAttribute(lif_trials_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         int(shmem)));
  lif_trials_kernel<<<B, threads, shmem>>>(
      N, C, Tcs, nt, net.c, WT.data<double>(), w_in.data<double>(), w_out.data<double>(),
      exp_td.data<double>(), jump.data<double>(), u_d.data<float>(),
      reinterpret_cast<const uint64_t*>(keys_d.data<int64_t>()), net.v_init_lo, net.v_init_hi,
      state.data<double>(), out_d.data<float>(), reinterpret_cast<unsigned long long*>(cnt.data<int64_t>()));
  RSNN_CUDA_CHECK_LAUNCH();
  RSNN_CUDA_CHECK(cudaDeviceSynchronize());
  const auto o = out_d.to_vector<float>();
  std::copy(o.begin(), o.end(), out);
  const auto n = cnt.to_vector<int64_t>();
  std::copy(n.begin(), n.end(), n_spikes);
}

}  // namespace rsnn::kernels::rate_lif
