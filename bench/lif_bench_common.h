// Shared by the recurrent-LIF benchmarks: workloads (barrel cortex, random E/I networks),
// the machine floors measured in the same run, and common counters.
#pragma once
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/recurrent_lif.h"
#include "runtime/random.h"
#include "tests/lif_networks.h"

namespace rsnn::lif_bench {

inline Tensor random_tensor(const Shape& s, double lo, double hi, uint64_t stream) {
  Tensor t = Tensor::empty(s, DType::f32);
  fill_uniform(t, 2024, stream, lo, hi);
  return t;
}

// ---- barrel cortex (spec barrel-cortex-rsnn.md §1.1-1.2): 200 thalamic + 13 populations ----
inline const std::vector<int64_t>& barrel_sizes() {
  static const std::vector<int64_t> s = {200, 440, 934, 94, 93, 2232, 106, 4, 55, 64, 64, 34, 60, 38};
  return s;
}
inline std::vector<float> barrel_signs() {  // thalamus E, then popType
  return {1, 1, 1, -1, -1, 1, -1, -1, -1, -1, -1, -1, -1, -1};
}
// prob[pre group][post group], group 0 = thalamus; the spec's tables rounded as printed.
inline std::vector<std::vector<double>> barrel_prob() {
  const double th[13] = {0.079436983, 0.084066576, 0.099371373, 0.089002933, 0.00074332, 0.000814751, 0.0,
                         0.002024793, 0.0, 0.000994318, 0.000467914, 0.000151515, 0.000478469};
  const double exc[3][13] = {
      {0.05419, 0.03873, 0.06654, 0.06053, 0.13816, 0.23838, 0.25739, 0.20446, 0.0, 0.19858, 0.21517, 0.22489, 0.09408},
      {0.08064, 0.03791, 0.10978, 0.34261, 0.11641, 0.16802, 0.18175, 0.13475, 0.0, 0.13795, 0.13601, 0.13389, 0.09309},
      {0.0, 0.0, 0.0, 0.0, 0.06103, 0.21160, 0.20284, 0.06780, 0.19411, 0.06286, 0.05778, 0.05859, 0.17803}};
  const int exc_rows[3] = {0, 1, 4};
  const double inh[10][13] = {
      {0.38286, 0.02857, 0.33884, 0.13532, 0.01205, 0.00743, 0.00266, 0.0, 0.0, 0.00598, 0.00688, 0.00266, 0.00560},
      {0.35968, 0.01862, 0.15569, 0.26512, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0},
      {0.0, 0.0, 0.0, 0.0, 0.29675, 0.26424, 0.24292, 0.0, 0.0, 0.11645, 0.11681, 0.08711, 0.17751},
      {0.0, 0.0, 0.0, 0.0, 0.25773, 0.18632, 0.25000, 0.0, 0.0, 0.13281, 0.10294, 0.04583, 0.11842},
      {0.0, 0.0, 0.0, 0.0, 0.10632, 0.07221, 0.06818, 0.10380, 0.10511, 0.11023, 0.0, 0.08424, 0.07321},
      {0.0, 0.0, 0.0, 0.0, 0.20618, 0.23143, 0.16797, 0.22756, 0.0, 0.20801, 0.21921, 0.23568, 0.15872},
      {0.0, 0.0, 0.0, 0.0, 0.13961, 0.13517, 0.14062, 0.08608, 0.23486, 0.11719, 0.12224, 0.13125, 0.12253},
      {0.0, 0.0, 0.0, 0.0, 0.03800, 0.09878, 0.06618, 0.0, 0.23483, 0.11535, 0.11419, 0.13333, 0.11842},
      {0.0, 0.0, 0.0, 0.0, 0.04574, 0.06714, 0.03333, 0.15394, 0.15651, 0.15833, 0.15539, 0.06000, 0.16096},
      {0.0, 0.0, 0.0, 0.0, 0.08369, 0.09508, 0.07237, 0.07177, 0.08470, 0.09416, 0.17028, 0.11447, 0.15928}};
  const int inh_rows[10] = {2, 3, 5, 6, 7, 8, 9, 10, 11, 12};
  std::vector<std::vector<double>> p(14, std::vector<double>(14, 0.0));
  for (int k = 0; k < 13; ++k) p[0][k + 1] = th[k];
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 13; ++k) p[exc_rows[r] + 1][k + 1] = exc[r][k];
  for (int r = 0; r < 10; ++r)
    for (int k = 0; k < 13; ++k) p[inh_rows[r] + 1][k + 1] = inh[r][k];
  return p;
}

struct Network {
  Projection p;
  std::vector<int64_t> offsets;
  std::vector<NeuronRange> readout;
};

inline std::shared_ptr<Network> barrel_network() {
  static auto* net = new std::shared_ptr<Network>([] {
    auto n = std::make_shared<Network>();
    n->p = lif_net::random_groups(barrel_sizes(), barrel_signs(), barrel_prob(), 0.0, 515);
    n->offsets = {0};
    for (int64_t s : barrel_sizes()) n->offsets.push_back(n->offsets.back() + s);
    // fc2_1 reads the E populations: Pyr_SP + Pyr_SS (L4) and Pyr (L2/3), 3606 neurons
    n->readout = {{n->offsets[1], 440 + 934}, {n->offsets[5], 2232}};
    return n;
  }());
  return *net;  // never destroyed (see workload())
}

// 80 % excitatory then 20 % inhibitory, fixed in-degree round(p * N).
inline std::shared_ptr<Network> random_network(int64_t N, double p) {
  static auto* cache = new std::map<std::pair<int64_t, double>, std::shared_ptr<Network>>();
  auto& slot = (*cache)[{N, p}];
  if (!slot) {
    slot = std::make_shared<Network>();
    const int64_t k = std::max<int64_t>(1, std::llround(p * static_cast<double>(N)));
    slot->p = lif_net::random_fixed_indegree(N, k, 0.2, 77);
    const int64_t n_exc = N - std::llround(0.2 * static_cast<double>(N));
    slot->offsets = {0, n_exc, N};
    slot->readout = {{0, std::min<int64_t>(n_exc, 1024)}};
  }
  return slot;
}

struct WorkloadKey {
  std::string kind;  // "barrel" or "random"
  int64_t B = 1, T = 1;
  int64_t N = 0;
  double p = 0;
  std::string name() const {
    std::ostringstream os;
    os << "B:" << B << "/T:" << T;
    if (kind == "random") os << "/N:" << N << "/p:" << p * 100 << "%";
    return os.str();
  }
  bool operator<(const WorkloadKey& o) const {
    return std::tie(kind, B, T, N, p) < std::tie(o.kind, o.B, o.T, o.N, o.p);
  }
};

struct Workload {
  std::shared_ptr<Network> net;
  LifConfig cfg;
  kernels::LifInputs x;
  int64_t T = 0, B = 0, N = 0, N_in = 0, R = 0, nnz = 0, N_ro = 0;
};

// Inputs: spec initial values (w ~ U(0, init_w), b_base 0.04, tau_m 10, tau_adp 5, v0 and s0 ~
// U[0, 1), a0 = b_base); a uniform external current on the thalamus (barrel) or on every
// neuron (random networks), scaled for a moderate firing rate.
inline Workload make_workload(const WorkloadKey& key) {
  Workload w;
  const bool barrel = key.kind == "barrel";
  w.net = barrel ? barrel_network() : random_network(key.N, key.p);
  w.N = w.net->p.n_post;
  w.nnz = w.net->p.nnz();
  w.T = key.T;
  w.B = key.B;
  w.N_in = barrel ? 200 : w.N;
  w.R = barrel ? 128 : 16;
  for (const auto& r : w.net->readout) w.N_ro += r.length;
  w.cfg.model = NeuronModel::alif;
  w.cfg.group_offsets = w.net->offsets;
  w.cfg.input_offset = 0;
  w.cfg.readout = w.net->readout;
  const double in_degree = static_cast<double>(w.nnz) / static_cast<double>(w.N);
  const double w_max = barrel ? 0.06 : 1.0 / std::sqrt(in_degree);
  w.x.w = random_tensor({w.nnz}, 0.0, w_max, 1);
  w.x.tau_m = Tensor::full({w.N}, 10.0);
  w.x.tau_adp = Tensor::full({w.N}, 5.0);
  w.x.b_base = Tensor::full({w.N}, barrel ? 0.04 : 0.5);
  w.x.i_ext = barrel ? random_tensor({w.T, w.B, w.N_in}, -0.1, 0.3, 2)
                     : random_tensor({w.T, w.B, w.N_in}, -0.5, 1.5, 2);
  w.x.v0 = random_tensor({w.B, w.N}, 0.0, 1.0, 3);
  w.x.a0 = Tensor::full({w.B, w.N}, barrel ? 0.04 : 0.0);
  w.x.s0 = random_tensor({w.B, w.N}, 0.0, 1.0, 4);
  w.x.w_ro = random_tensor({w.R, w.N_ro}, -0.04, 0.04, 5);
  return w;
}

// One workload alive at a time (the big ones hold gigabytes).
// Deliberately never destroyed: its tensors must not outlive the memory pool at exit.
inline const Workload& workload(const WorkloadKey& key) {
  static auto* held = new std::unique_ptr<std::pair<WorkloadKey, Workload>>();
  if (!*held || (*held)->first < key || key < (*held)->first) {
    held->reset();
    *held = std::make_unique<std::pair<WorkloadKey, Workload>>(key, make_workload(key));
  }
  return (*held)->second;
}

// ---- floors, measured once per run -------------------------------------------------------
struct Floors {
  double copy_bytes_per_s = 0;  // memcpy, counting bytes read + bytes written (STREAM convention)
  double gemm_flops_per_s = 0;  // cblas_sgemm 2048^3 on the configured threads
};

inline const Floors& machine_floors() {
  static const Floors f = [] {
    Floors r;
    const size_t n = size_t(1) << 27;  // 128 MiB per buffer
    std::vector<char> a(n, 1), b(n, 2);
    double best = 1e30;
    for (int k = 0; k < 5; ++k) {
      const auto t0 = std::chrono::steady_clock::now();
      std::memcpy(b.data(), a.data(), n);
      benchmark::DoNotOptimize(b.data());
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      std::swap(a, b);
    }
    r.copy_bytes_per_s = 2.0 * static_cast<double>(n) / best;
    const int m = 2048;
    std::vector<float> A(size_t(m) * m, 0.5f), Bm(size_t(m) * m, 0.25f), C(size_t(m) * m);
    best = 1e30;
    for (int k = 0; k < 3; ++k) {
      const auto t0 = std::chrono::steady_clock::now();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1.f, A.data(), m, Bm.data(), m, 0.f,
                  C.data(), m);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    r.gemm_flops_per_s = 2.0 * m * double(m) * m / best;
    return r;
  }();
  return f;
}

// The least time the fused op could take: the larger of bytes / copy bandwidth and FLOPs /
// sgemm rate (float32). r = measured spikes per neuron-step.
//   bytes: forward writes u and a (8 B per neuron-step), backward reads them; I_ext read (and
//          its gradient written); readout written (its gradient read); weights and indices once.
//   FLOPs: forward propagation of the spikes (r * nnz adds per sample-step), readout of the
//          spikes (r * N_ro * R adds); backward error gather through every synapse (2 * nnz,
//          the error is dense), weight gradient at the spikes (2 * r * nnz), readout error
//          (2 * N_ro * R) and readout weight gradient (r * N_ro * R).
inline double floor_seconds(const Workload& w, double r, bool backward) {
  const double BT = static_cast<double>(w.B * w.T);
  const double N = static_cast<double>(w.N), nnz = static_cast<double>(w.nnz);
  const double Nro_R = static_cast<double>(w.N_ro * w.R);
  double bytes = BT * (4.0 * static_cast<double>(w.N_in) + 4.0 * static_cast<double>(w.R)) + 8.0 * nnz;
  double flops = BT * (r * nnz + r * Nro_R);
  if (backward) {
    bytes += BT * (16.0 * N + 8.0 * static_cast<double>(w.N_in) + 4.0 * static_cast<double>(w.R));
    flops += BT * (2.0 * nnz + 2.0 * r * nnz + 2.0 * Nro_R + r * Nro_R);
  }
  const Floors& f = machine_floors();
  return std::max(bytes / f.copy_bytes_per_s, flops / f.gemm_flops_per_s);
}

inline void set_common_counters(benchmark::State& state, const Workload& w, double seconds_per_iter) {
  state.counters["ms_per_step"] = seconds_per_iter * 1e3 / static_cast<double>(w.T);
  state.counters["neuron_steps/s"] = static_cast<double>(w.B * w.T * w.N) / seconds_per_iter;
  state.counters["nnz"] = static_cast<double>(w.nnz);
}

}  // namespace rsnn::lif_bench
