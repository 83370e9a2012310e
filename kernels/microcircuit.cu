// Microcircuit op, CUDA twin of simulate_cpu (kernels/microcircuit.h): per step one kernel
// updates every neuron (lif_step, the body the CPU runs) and lists the spikes, a second
// delivers each spike's row with one warp, adding into the ring buffer with atomics.
// Spikes are logged on the device as (step, neuron) and sorted on the host at the end.
#include <algorithm>
#include <cmath>
#include <utility>

#include "kernels/microcircuit.h"
#include "runtime/cuda_check.h"
#include "runtime/device.h"
#include "runtime/philox.h"

namespace rsnn::mc {

namespace {

template <class T>
struct DevBuf {
  T* p = nullptr;
  explicit DevBuf(size_t n) {
    if (n) RSNN_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
  }
  DevBuf(const std::vector<T>& h) : DevBuf(h.size()) {
    if (!h.empty()) RSNN_CUDA_CHECK(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~DevBuf() {
    if (p) cudaFree(p);
  }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  void download(std::vector<T>& h) const {
    if (!h.empty()) RSNN_CUDA_CHECK(cudaMemcpy(h.data(), p, h.size() * sizeof(T), cudaMemcpyDeviceToHost));
  }
};

struct NeuronArrays {
  float *v, *i_syn;
  int32_t* ref;
  const float *i_dc, *bg_weight;
  const double *bg_lambda, *exp_neg;
};

struct SpikeLog {
  int32_t *list, *count;               // this step's spikes
  int32_t *neuron, *step;              // the call's log
  unsigned long long *total, capacity;
};

// One thread per neuron: the step of simulate_reference's inner loop.
__global__ void update_kernel(int64_t n, LifPropagators p, NeuronArrays a, float* slot, uint64_t seed,
                              int64_t now, int32_t t, SpikeLog log) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  int count = 0;
  if (a.bg_lambda[i] > 0) {
    const double u = background_uniform(background_block(seed, i, now), now);
    count = poisson_count(u, a.bg_lambda[i], a.exp_neg[i]);
  }
  const float input = step_input(slot[i], a.bg_weight[i], count);
  slot[i] = 0.f;
  if (lif_step(p, a.v[i], a.i_syn[i], a.ref[i], a.i_dc[i], input)) {
    log.list[atomicAdd(log.count, 1)] = static_cast<int32_t>(i);
    const unsigned long long k = atomicAdd(log.total, 1ull);
    if (k < log.capacity) {
      log.neuron[k] = static_cast<int32_t>(i);
      log.step[k] = t;
    }
  }
}

__global__ void record_kernel(const float* v, const int32_t* idx, int64_t R, float* out) {
  const int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (k < R) out[k] = v[idx[k]];
}

// One warp per spike of this step; lanes stride over the row.
__global__ void deliver_kernel(const int32_t* list, const int32_t* count, const int64_t* ptr,
                               const uint32_t* syn, const float* weight, float* ring, int64_t n,
                               int64_t D, int64_t slot0) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t w = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32; w < *count; w += warps) {
    const int32_t s = list[w];
    for (int64_t k = ptr[s] + lane; k < ptr[s + 1]; k += 32) {
      const uint32_t w = syn[k];
      int64_t d = slot0 + synapse_delay(w);
      if (d >= D) d -= D;
      atomicAdd(&ring[d * n + synapse_target(w)], weight[k]);
    }
  }
}

}  // namespace

SimResult simulate_cuda(const DelayCsr& g, const LifPropagators& p, const Drive& drive,
                        State& state, int64_t steps, const std::vector<int32_t>& record_v,
                        int64_t log_capacity) {
  detail::check_sim_args(g, drive, state, steps, record_v, "simulate_cuda");
  RSNN_CHECK(cuda_usable(), "simulate_cuda: no usable CUDA device (", cuda_status(), ")");
  RSNN_CHECK(steps < (int64_t(1) << 31), "simulate_cuda: at most 2^31 - 1 steps per call");
  RSNN_CHECK(log_capacity >= 0, "simulate_cuda: log_capacity must be >= 0");
  const int64_t n = g.n, D = g.max_delay() + 1, R = static_cast<int64_t>(record_v.size());
  const uint64_t cap = static_cast<uint64_t>(log_capacity ? log_capacity : std::max<int64_t>(1024, steps * n / 50));
  std::vector<double> exp_neg(n);
  for (int64_t i = 0; i < n; ++i) exp_neg[i] = std::exp(-drive.bg_lambda[i]);

  DevBuf<int64_t> ptr(g.ptr);
  DevBuf<uint32_t> syn(g.syn);
  DevBuf<float> weight(g.weight);
  DevBuf<float> v(state.v), i_syn(state.i_syn), ring(state.ring);
  DevBuf<int32_t> ref(state.ref);
  DevBuf<float> i_dc(drive.i_dc), bg_weight(drive.bg_weight);
  DevBuf<double> bg_lambda(drive.bg_lambda), exp_neg_d(exp_neg);
  DevBuf<int32_t> list(std::max<int64_t>(n, 1)), count(1), log_neuron(cap), log_step(cap);
  DevBuf<unsigned long long> total(1);
  DevBuf<int32_t> rec_idx(record_v);
  DevBuf<float> trace(static_cast<size_t>(steps * R));
  RSNN_CUDA_CHECK(cudaMemset(total.p, 0, sizeof(unsigned long long)));

  const NeuronArrays a{v.p, i_syn.p, ref.p, i_dc.p, bg_weight.p, bg_lambda.p, exp_neg_d.p};
  const SpikeLog log{list.p, count.p, log_neuron.p, log_step.p, total.p, cap};
  const int threads = 256;
  const unsigned blocks = static_cast<unsigned>(std::max<int64_t>(1, (n + threads - 1) / threads));
  const unsigned dblocks = static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(1, n / 8), 4096));
  for (int64_t t = 0; t < steps; ++t) {
    const int64_t now = state.step + t, slot0 = now % D;
    RSNN_CUDA_CHECK(cudaMemsetAsync(count.p, 0, sizeof(int32_t)));
    if (n > 0)
      update_kernel<<<blocks, threads>>>(n, p, a, ring.p + slot0 * n, drive.seed, now,
                                         static_cast<int32_t>(t), log);
    RSNN_CUDA_CHECK_LAUNCH();
    if (R > 0) {
      record_kernel<<<static_cast<unsigned>((R + 255) / 256), 256>>>(v.p, rec_idx.p, R, trace.p + t * R);
      RSNN_CUDA_CHECK_LAUNCH();
    }
    if (g.nnz() > 0) {
      deliver_kernel<<<dblocks, threads>>>(list.p, count.p, ptr.p, syn.p, weight.p, ring.p, n, D, slot0);
      RSNN_CUDA_CHECK_LAUNCH();
    }
  }
  RSNN_CUDA_CHECK(cudaDeviceSynchronize());
  unsigned long long logged = 0;
  RSNN_CUDA_CHECK(cudaMemcpy(&logged, total.p, sizeof(logged), cudaMemcpyDeviceToHost));
  RSNN_CHECK(logged <= cap, "simulate_cuda: ", logged, " spikes exceed the log capacity ", cap,
             " (pass a larger log_capacity)");
  std::vector<int32_t> hn(logged), hs(logged);
  if (logged) {
    RSNN_CUDA_CHECK(cudaMemcpy(hn.data(), log_neuron.p, logged * sizeof(int32_t), cudaMemcpyDeviceToHost));
    RSNN_CUDA_CHECK(cudaMemcpy(hs.data(), log_step.p, logged * sizeof(int32_t), cudaMemcpyDeviceToHost));
  }
  std::vector<std::pair<int32_t, int32_t>> ev(logged);
  for (size_t k = 0; k < logged; ++k) ev[k] = {hs[k], hn[k]};
  std::sort(ev.begin(), ev.end());
  SimResult r;
  r.spikes.neuron.reserve(logged);
  size_t k = 0;
  for (int64_t t = 0; t < steps; ++t) {
    for (; k < ev.size() && ev[k].first == t; ++k) r.spikes.neuron.push_back(ev[k].second);
    r.spikes.step_ptr.push_back(static_cast<int64_t>(r.spikes.neuron.size()));
  }
  r.v_trace.resize(static_cast<size_t>(steps * R));
  trace.download(r.v_trace);
  v.download(state.v);
  i_syn.download(state.i_syn);
  ref.download(state.ref);
  ring.download(state.ring);
  state.step += steps;
  return r;
}

}  // namespace rsnn::mc
