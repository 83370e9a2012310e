// Recurrent LIF layer on CUDA: the fused op with the hand-written propagation kernels (pull,
// the default; push) against the cuSPARSE SpMM baseline, forward and forward + backward, at
// barrel-cortex size and at scale. Timed with CUDA events (manual time); every case skips with
// "no usable CUDA device" when there is none.
//
// Names: RecurrentLIF/<impl>/<pass>/B:<B>/T:<T>[/N:<N>/p:<density %>]
//   impl: cuda_fused (pull gather, deterministic), cuda_push (event-driven scatter, atomics),
//         cuda_cusparse (cusparseSpMM per group; the backward is the same hand-written one)
//   pass: fwd (no state kept), fwd_bwd (forward keeping u and a, then the backward of a readout
//         loss: every gradient but the initial state's)
// Workloads: "barrel" = the 4,418 neurons of the barrel model in its 14 populations (thalamus
// + 13 cell types, their Dale signs), connected with a uniform probability of 6.5% (~1.27M
// synapses: the model's synapse count, not its per-pair table; bench/lif_bench_common.h of the
// CPU benchmarks has the table-driven network and should replace this once merged), driven on
// the 200 thalamic neurons. "random" = N neurons, 80% excitatory, fixed in-degree, every neuron
// driven.
// Counters: ms_per_step; neuron_steps/s; syn_events/s (forward spikes x out-degree, the work of
// event-driven propagation); rate (spikes per neuron-step); B_x_rate (expected firing samples
// per source and step: event-driven propagation wins when it is well below 1, the gather
// otherwise); floor_ms and x_floor (time over bytes that must move / device copy bandwidth
// measured in the same run; bytes as in the CPU benchmark's floor model).
//
//   rsnn_bench --benchmark_filter='RecurrentLIF/cuda'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/recurrent_lif.h"
#include "runtime/device.h"
#include "runtime/random.h"
#include "kernels/testing/lif_networks.h"

#ifdef RSNN_WITH_CUDA
#include <cuda_runtime.h>
#endif

using namespace rsnn;

namespace {

struct Key {
  std::string kind;  // "barrel" or "random"
  int64_t B = 1, T = 1, N = 0, in_degree = 0;
  std::string name() const {
    std::ostringstream os;
    os << "B:" << B << "/T:" << T;
    if (kind == "random")
      os << "/N:" << N << "/p:" << 100.0 * static_cast<double>(in_degree) / static_cast<double>(N) << "%";
    return os.str();
  }
  bool operator==(const Key& o) const {
    return kind == o.kind && B == o.B && T == o.T && N == o.N && in_degree == o.in_degree;
  }
};

#ifdef RSNN_WITH_CUDA

#define BENCH_CUDA_CHECK(call)                                                       \
  do {                                                                               \
    const cudaError_t err_ = (call);                                                 \
    if (err_ != cudaSuccess) RSNN_FAIL("bench: ", #call, ": ", cudaGetErrorString(err_)); \
  } while (0)

// Times work on the legacy default stream (the stream the op runs on).
class EventTimer {
 public:
  EventTimer() {
    BENCH_CUDA_CHECK(cudaEventCreate(&start_));
    BENCH_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~EventTimer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;
  void start() { BENCH_CUDA_CHECK(cudaEventRecord(start_, nullptr)); }
  double stop_seconds() {
    BENCH_CUDA_CHECK(cudaEventRecord(stop_, nullptr));
    BENCH_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0;
    BENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return 1e-3 * ms;
  }

 private:
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// Device-to-device copy bandwidth (bytes read + written per second), best of 5, once per run.
double device_copy_bandwidth() {
  static const double bw = [] {
    const Device dev = Device::cuda(0);
    const size_t n = size_t(1) << 28;  // 256 MiB
    Tensor a = Tensor::zeros({static_cast<int64_t>(n)}, DType::u8, dev);
    Tensor b = Tensor::zeros({static_cast<int64_t>(n)}, DType::u8, dev);
    EventTimer timer;
    double best = 1e30;
    for (int k = 0; k < 5; ++k) {
      timer.start();
      BENCH_CUDA_CHECK(cudaMemcpyAsync(b.raw(), a.raw(), n, cudaMemcpyDeviceToDevice, nullptr));
      best = std::min(best, timer.stop_seconds());
    }
    return 2.0 * static_cast<double>(n) / best;
  }();
  return bw;
}

// ---- workloads ---------------------------------------------------------------------------------

struct Workload {
  Projection p;  // on the device
  LifConfig cfg;
  kernels::LifInputs x;  // on the device, float32
  Tensor dreadout;
  int64_t T = 0, B = 0, N = 0, N_in = 0, R = 0, N_ro = 0, nnz = 0;
};

Tensor device_uniform(const Shape& s, double lo, double hi, uint64_t stream) {
  Tensor t = Tensor::empty(s, DType::f32, Device::cuda(0));
  fill_uniform(t, 2024, stream, lo, hi);
  return t;
}

Projection to_device(const Projection& p, Device d) {
  Projection q = p;
  q.post_ptr = p.post_ptr.to(d);
  q.pre_idx = p.pre_idx.to(d);
  q.pre_ptr = p.pre_ptr.to(d);
  q.post_idx = p.post_idx.to(d);
  q.syn_of_pre = p.syn_of_pre.to(d);
  q.source_sign = p.source_sign.to(d);
  return q;
}

const std::vector<int64_t> kBarrelSizes = {200, 440, 934, 94, 93, 2232, 106, 4, 55, 64, 64, 34, 60, 38};
const std::vector<float> kBarrelSigns = {1, 1, 1, -1, -1, 1, -1, -1, -1, -1, -1, -1, -1, -1};

std::unique_ptr<Workload> make_workload(const Key& key) {
  auto w = std::make_unique<Workload>();
  const Device dev = Device::cuda(0);
  const bool barrel = key.kind == "barrel";
  std::vector<int64_t> offsets = {0};
  if (barrel) {
    w->p = to_device(lif_net::random_groups(kBarrelSizes, kBarrelSigns, {}, 0.065, 515), dev);
    for (int64_t s : kBarrelSizes) offsets.push_back(offsets.back() + s);
    // the excitatory populations of L4 and L2/3 are read out
    w->cfg.readout = {{offsets[1], 440 + 934}, {offsets[5], 2232}};
  } else {
    w->p = to_device(lif_net::random_fixed_indegree(key.N, key.in_degree, 0.2, 77), dev);
    const int64_t n_exc = key.N - std::llround(0.2 * static_cast<double>(key.N));
    offsets = {0, n_exc, key.N};
    w->cfg.readout = {{0, std::min<int64_t>(n_exc, 1024)}};
  }
  w->N = w->p.n_post;
  w->nnz = w->p.nnz();
  w->T = key.T;
  w->B = key.B;
  w->N_in = barrel ? 200 : w->N;
  w->R = barrel ? 128 : 16;
  for (const NeuronRange& r : w->cfg.readout) w->N_ro += r.length;
  w->cfg.model = NeuronModel::alif;
  w->cfg.group_offsets = offsets;
  const double in_degree = static_cast<double>(w->nnz) / static_cast<double>(w->N);
  const double w_max = barrel ? 0.06 : 1.0 / std::sqrt(in_degree);
  w->x.w = device_uniform({w->nnz}, 0.0, w_max, 1);
  w->x.tau_m = Tensor::full({w->N}, 10.0, DType::f32, dev);
  w->x.tau_adp = Tensor::full({w->N}, 5.0, DType::f32, dev);
  w->x.b_base = Tensor::full({w->N}, barrel ? 0.04 : 0.5, DType::f32, dev);
  w->x.i_ext = barrel ? device_uniform({w->T, w->B, w->N_in}, -0.1, 0.3, 2)
                      : device_uniform({w->T, w->B, w->N_in}, -0.5, 1.5, 2);
  w->x.v0 = device_uniform({w->B, w->N}, 0.0, 1.0, 3);
  w->x.a0 = Tensor::full({w->B, w->N}, barrel ? 0.04 : 0.0, DType::f32, dev);
  w->x.s0 = device_uniform({w->B, w->N}, 0.0, 1.0, 4);
  w->x.w_ro = device_uniform({w->R, w->N_ro}, -0.04, 0.04, 5);
  w->dreadout = device_uniform({w->T, w->B, w->R}, -1e-3, 1e-3, 6);
  return w;
}

// One workload alive at a time (the large ones hold gigabytes of device memory); never
// destroyed at exit, so no device tensor outlives the memory pool.
const Workload& workload(const Key& key) {
  static auto* held = new std::pair<Key, std::unique_ptr<Workload>>();
  if (!held->second || !(held->first == key)) {
    held->second.reset();
    pool_empty_cache(Device::cuda(0));
    held->second = make_workload(key);
    held->first = key;
  }
  return *held->second;
}

// Bytes that must move, as in the CPU benchmark's floor model: inputs read, readout written,
// weights and indices once; backward: the kept state written and read back (16 B per
// neuron-step), the input gradient written, the readout gradient read.
double floor_bytes(const Workload& w, bool backward) {
  const double BT = static_cast<double>(w.B * w.T);
  double bytes = BT * (4.0 * static_cast<double>(w.N_in) + 4.0 * static_cast<double>(w.R)) +
                 8.0 * static_cast<double>(w.nnz);
  if (backward)
    bytes += BT * (16.0 * static_cast<double>(w.N) + 8.0 * static_cast<double>(w.N_in) +
                   4.0 * static_cast<double>(w.R));
  return bytes;
}

void run_case(benchmark::State& state, const Key& key, Propagation prop, bool backward) {
  if (!cuda_usable()) {
    state.SkipWithError("no usable CUDA device");
    return;
  }
  const Workload& w = workload(key);
  LifConfig cfg = w.cfg;
  cfg.propagation = prop;
  kernels::LifNeeds needs;
  needs.w = needs.tau_m = needs.tau_adp = needs.i_ext = needs.w_ro = true;
  EventTimer timer;
  kernels::LifStats stats;
  double secs = 0;
  int64_t iters = 0;
  for (auto _ : state) {
    timer.start();
    kernels::LifForward f = kernels::recurrent_lif_forward(w.p, cfg, w.x, backward);
    if (backward) {
      const kernels::LifGrads g =
          kernels::recurrent_lif_backward(w.p, cfg, w.x, f.saved, Tensor(), w.dreadout, needs);
      benchmark::DoNotOptimize(g.dw.raw());
    }
    const double s = timer.stop_seconds();
    state.SetIterationTime(s);
    secs += s;
    ++iters;
    stats = f.stats;
  }
  if (iters == 0) return;
  const double per_iter = secs / static_cast<double>(iters);
  const double neuron_steps = static_cast<double>(w.B * w.T * w.N);
  const double rate = static_cast<double>(stats.spikes) / neuron_steps;
  state.counters["ms_per_step"] = per_iter * 1e3 / static_cast<double>(w.T);
  state.counters["neuron_steps/s"] = neuron_steps / per_iter;
  state.counters["syn_events/s"] = static_cast<double>(stats.synaptic_events) / per_iter;
  state.counters["rate"] = rate;
  state.counters["B_x_rate"] = static_cast<double>(w.B) * rate;
  state.counters["nnz"] = static_cast<double>(w.nnz);
  const double floor = floor_bytes(w, backward) / device_copy_bandwidth();
  state.counters["floor_ms"] = floor * 1e3;
  state.counters["x_floor"] = per_iter / floor;
}

#else  // built without the CUDA backend: the cases register and skip

void run_case(benchmark::State& state, const Key&, Propagation, bool) {
  state.SkipWithError("no usable CUDA device");
}

#endif

struct Impl {
  const char* name;
  Propagation prop;
};

const Impl kImpls[] = {{"cuda_fused", Propagation::pull},
                       {"cuda_push", Propagation::push},
                       {"cuda_cusparse", Propagation::cusparse}};

void register_case(const Impl& impl, bool backward, const Key& key) {
  const std::string name = std::string("RecurrentLIF/") + impl.name + (backward ? "/fwd_bwd/" : "/fwd/") + key.name();
  const Propagation prop = impl.prop;
  benchmark::RegisterBenchmark(name.c_str(), [key, prop, backward](benchmark::State& s) {
    run_case(s, key, prop, backward);
  })->UseManualTime()->Unit(benchmark::kMillisecond);
}

const bool registered = [] {
  for (int64_t T : {110, 550})
    for (int64_t B : {1, 16, 128})
      for (bool backward : {false, true})
        for (const Impl& impl : kImpls) register_case(impl, backward, Key{"barrel", B, T, 0, 0});
  // scale: fixed in-degree 100
  for (const Impl& impl : kImpls) {
    register_case(impl, false, Key{"random", 16, 110, 100000, 100});
    register_case(impl, true, Key{"random", 16, 110, 100000, 100});
    register_case(impl, false, Key{"random", 16, 110, 1000000, 100});
  }
  return true;
}();

}  // namespace
