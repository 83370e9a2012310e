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

#include "bench/floor.h"
#include "kernels/recurrent_lif.h"
#include "models/barrel/anatomy.h"
#include "runtime/random.h"
#include "kernels/testing/lif_networks.h"

namespace rsnn::lif_bench {

inline Tensor random_tensor(const Shape& s, double lo, double hi, uint64_t stream) {
  Tensor t = Tensor::empty(s, DType::f32);
  fill_uniform(t, 2024, stream, lo, hi);
  return t;
}

struct Network {
  Projection p;
  std::vector<int64_t> offsets;
  std::vector<NeuronRange> readout;
};

inline std::shared_ptr<Network> barrel_network() {
  static auto* net = new std::shared_ptr<Network>([] {
    auto n = std::make_shared<Network>();
    // the project's tables (data/barrel), sampled as the barrel model does
    n->p = build_projection(barrel::network_projection_spec(barrel::default_tables(), 515, 0));
    n->offsets = barrel::network_layout().offsets();
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
inline Workload& workload(const WorkloadKey& key) {
  static auto* held = new std::unique_ptr<std::pair<WorkloadKey, Workload>>();
  if (!*held || (*held)->first < key || key < (*held)->first) {
    held->reset();
    *held = std::make_unique<std::pair<WorkloadKey, Workload>>(key, make_workload(key));
  }
  return (*held)->second;
}

// ---- floor -----------------------------------------------------------------------------------
// The least time the fused op could take on this machine (bench/floor.h: the larger of bytes
// over the copy bandwidth and FLOPs over the sgemm rate, both measured in this run), float32,
// r = measured spikes per neuron-step:
//   bytes: forward writes u and a (8 B per neuron-step, when kept for backward), backward reads
//          them; I_ext read (and its gradient written); readout written (its gradient read);
//          weights and indices once.
//   FLOPs: forward propagation of the spikes (r * nnz adds per sample-step), readout of the
//          spikes (r * N_ro * R adds); backward error gather through every synapse (2 * nnz,
//          the error is dense), weight gradient at the spikes (2 * r * nnz), readout error
//          (2 * N_ro * R) and readout weight gradient (r * N_ro * R).
inline double lif_floor_seconds(const Workload& w, double r, bool backward) {
  const double BT = static_cast<double>(w.B * w.T);
  const double N = static_cast<double>(w.N), nnz = static_cast<double>(w.nnz);
  const double Nro_R = static_cast<double>(w.N_ro * w.R);
  double bytes = BT * (4.0 * static_cast<double>(w.N_in) + 4.0 * static_cast<double>(w.R)) + 8.0 * nnz;
  double flops = BT * (r * nnz + r * Nro_R);
  if (backward) {
    bytes += BT * (16.0 * N + 8.0 * static_cast<double>(w.N_in) + 4.0 * static_cast<double>(w.R));
    flops += BT * (2.0 * nnz + 2.0 * r * nnz + 2.0 * Nro_R + r * Nro_R);
  }
  return bench::floor_seconds(bytes, flops);
}

inline void set_common_counters(benchmark::State& state, const Workload& w, double seconds_per_iter) {
  state.counters["ms_per_step"] = seconds_per_iter * 1e3 / static_cast<double>(w.T);
  state.counters["neuron_steps/s"] = static_cast<double>(w.B * w.T * w.N) / seconds_per_iter;
  state.counters["nnz"] = static_cast<double>(w.nnz);
}

}  // namespace rsnn::lif_bench
