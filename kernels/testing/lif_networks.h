// Random recurrent networks and input recipes for the recurrent LIF op, shared by its tests
// (tests/test_recurrent_lif*.cpp) and benchmarks (bench/): the networks built with
// kernels/projection.h, the op's inputs drawn with Philox (runtime/random.h), so a case depends
// on its seed only. Header-only, no test framework.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/projection.h"
#include "kernels/recurrent_lif.h"
#include "runtime/philox.h"
#include "runtime/random.h"

namespace rsnn::lif_net {

// Groups of the given sizes and signs; every ordered pair of neurons (self included) is a
// synapse with probability `density` (Philox, so the network depends on the seed only).
inline Projection random_groups(const std::vector<int64_t>& sizes, const std::vector<int>& group_sign,
                                double density, uint64_t seed) {
  ProjectionSpec spec;
  for (size_t g = 0; g < sizes.size(); ++g) {
    spec.pre.names.push_back("g" + std::to_string(g));
    spec.pre.sizes.push_back(sizes[g]);
    spec.pre.signs.push_back(group_sign[g]);
  }
  spec.post = spec.pre;
  const int64_t G = static_cast<int64_t>(sizes.size());
  spec.prob = Tensor::full({G, G}, density, DType::f64);
  spec.same_network = true;
  spec.allow_autapses = true;
  spec.seed = seed;
  spec.stream = 3;
  return build_projection(spec);
}

// As above with per-group signs as floats and, when `prob` is not empty, a per-block
// probability table prob[pre group][post group] in place of the uniform density.
inline Projection random_groups(const std::vector<int64_t>& sizes, const std::vector<float>& group_sign,
                                const std::vector<std::vector<double>>& prob, double density,
                                uint64_t seed) {
  std::vector<int> signs(group_sign.size());
  for (size_t g = 0; g < signs.size(); ++g) signs[g] = group_sign[g] < 0 ? -1 : 1;
  if (prob.empty()) return random_groups(sizes, signs, density, seed);
  ProjectionSpec spec;
  const int64_t G = static_cast<int64_t>(sizes.size());
  for (int64_t g = 0; g < G; ++g) {
    spec.pre.names.push_back("g" + std::to_string(g));
    spec.pre.sizes.push_back(sizes[g]);
    spec.pre.signs.push_back(signs[g]);
  }
  spec.post = spec.pre;
  spec.prob = Tensor::empty({G, G}, DType::f64);
  for (int64_t i = 0; i < G; ++i)
    for (int64_t j = 0; j < G; ++j) spec.prob.data<double>()[i * G + j] = prob[i][j];
  spec.same_network = true;
  spec.allow_autapses = true;
  spec.seed = seed;
  spec.stream = 3;
  return build_projection(spec);
}

// Large sparse random network with a fixed in-degree per neuron (sources drawn with
// replacement, duplicates dropped), 80 % excitatory then 20 % inhibitory: cost O(nnz).
inline Projection random_fixed_indegree(int64_t n, int64_t in_degree, double frac_inhibitory,
                                        uint64_t seed) {
  std::vector<float> sign(static_cast<size_t>(n));
  const int64_t n_exc = n - static_cast<int64_t>(std::llround(frac_inhibitory * static_cast<double>(n)));
  for (int64_t i = 0; i < n; ++i) sign[i] = i < n_exc ? 1.f : -1.f;
  std::vector<int32_t> post, pre, src;
  post.reserve(static_cast<size_t>(n * in_degree));
  pre.reserve(static_cast<size_t>(n * in_degree));
  for (int64_t i = 0; i < n; ++i) {
    src.clear();
    for (int64_t k = 0; k < in_degree; ++k)
      src.push_back(static_cast<int32_t>(philox::u32(seed, 11, static_cast<uint64_t>(i * in_degree + k)) % n));
    std::sort(src.begin(), src.end());
    src.erase(std::unique(src.begin(), src.end()), src.end());
    for (int32_t j : src) {
      post.push_back(static_cast<int32_t>(i));
      pre.push_back(j);
    }
  }
  return projection_from_pairs(n, n, post, pre, Tensor::from_vector<float>(sign));
}

// ---- the op's inputs -----------------------------------------------------------------------

// Uniform on [lo, hi) in dtype dt (Philox seed 99, the given stream).
inline Tensor uniform(const Shape& s, double lo, double hi, uint64_t stream, DType dt = DType::f64) {
  Tensor t = Tensor::empty(s, dt);
  fill_uniform(t, 99, stream, lo, hi);
  return t;
}

// A network with its config, its inputs and output gradients (CPU; float64 unless converted).
struct LifCase {
  Projection p;
  LifConfig cfg;
  kernels::LifInputs x;
  Tensor dspikes, dreadout;  // dreadout undefined without a readout
};

// 30 neurons in 3 groups (excitatory, inhibitory, excitatory), neurons 5..24 driven, real-valued
// initial "spikes"; every output recorded; readout (4 units) over groups 0 and 2.
inline LifCase small_net(NeuronModel model, UpdateOrder order, bool readout, uint64_t seed = 1, int64_t T = 12,
                         int64_t B = 3) {
  LifCase n;
  n.p = random_groups({10, 10, 10}, {1, -1, 1}, 0.3, seed);
  const int64_t N = 30, nnz = n.p.nnz();
  n.cfg.model = model;
  n.cfg.order = order;
  n.cfg.group_offsets = {0, 10, 20, 30};
  n.cfg.input_offset = 5;
  n.cfg.output_spikes = true;
  n.cfg.record_spikes = true;
  n.cfg.record_state = true;
  const uint64_t s = seed * 100;
  n.x.w = uniform({nnz}, 0.0, model == NeuronModel::if_ ? 0.05 : 0.5, s + 1);
  n.x.tau_m = uniform({N}, 4.0, 15.0, s + 2);
  n.x.tau_adp = uniform({N}, 3.0, 8.0, s + 3);
  n.x.b_base = uniform({N}, 0.2, 0.6, s + 4);
  const double hi = model == NeuronModel::if_ ? 0.25 : 3.0;
  n.x.i_ext = uniform({T, B, 20}, -0.3 * hi, hi, s + 5);
  n.x.v0 = uniform({B, N}, -0.5, 0.8, s + 6);
  n.x.a0 = uniform({B, N}, 0.0, 0.3, s + 7);
  n.x.s0 = uniform({B, N}, 0.0, 1.0, s + 8);  // real-valued initial "spikes" (spec 1.4)
  n.dspikes = uniform({T, B, N}, -1.0, 1.0, s + 9);
  if (readout) {
    n.cfg.readout = {{0, 10}, {20, 10}};
    n.x.w_ro = uniform({4, 20}, -1.0, 1.0, s + 10);
    n.dreadout = uniform({T, B, 4}, -1.0, 1.0, s + 11);
  }
  return n;
}

// 240 * scale neurons in 4 groups (E, I, E, I), alif, in dtype dt; `drive` sets the firing
// rate. 19 readout units over 60 + 99 columns (at scale 1): the readout error's leftover paths.
// T steps (0: 25 at scale 1, else 10).
inline LifCase medium_net(DType dt, double drive, int64_t scale = 1, int64_t B = 6, int64_t T = 0) {
  LifCase n;
  const int64_t N = 240 * scale;
  if (T == 0) T = scale > 1 ? 10 : 25;
  n.p = random_groups({60 * scale, 20 * scale, 100 * scale, 60 * scale}, {1, -1, 1, -1}, scale > 1 ? 0.12 : 0.15,
                      21);
  n.cfg.model = NeuronModel::alif;
  n.cfg.group_offsets = {0, 60 * scale, 80 * scale, 180 * scale, 240 * scale};
  n.cfg.input_offset = 0;
  n.cfg.output_spikes = true;
  n.cfg.record_spikes = true;
  n.cfg.readout = {{0, 60 * scale}, {80 * scale, 100 * scale - 1}};
  n.x.w = uniform({n.p.nnz()}, 0.0, 0.3, 31, dt);
  n.x.tau_m = uniform({N}, 5.0, 15.0, 32, dt);
  n.x.tau_adp = uniform({N}, 3.0, 8.0, 33, dt);
  n.x.b_base = uniform({N}, 0.3, 0.6, 34, dt);
  n.x.i_ext = uniform({T, B, 100}, -1.0, drive, 35, dt);
  n.x.v0 = uniform({B, N}, -0.5, 0.5, 36, dt);
  n.x.a0 = uniform({B, N}, 0.0, 0.2, 37, dt);
  n.x.s0 = uniform({B, N}, 0.0, 1.0, 38, dt);
  n.x.w_ro = uniform({19, 160 * scale - 1}, -1.0, 1.0, 39, dt);
  n.dspikes = uniform({T, B, N}, -1.0, 1.0, 40, dt);
  n.dreadout = uniform({T, B, 19}, -1.0, 1.0, 41, dt);
  return n;
}

// The inputs in dtype dt on device d (undefined ones stay undefined).
inline kernels::LifInputs convert(const kernels::LifInputs& x, DType dt, Device d = Device::cpu()) {
  auto c = [dt, d](const Tensor& t) { return t.defined() ? t.to_dtype(dt).to(d) : Tensor(); };
  kernels::LifInputs y;
  y.w = c(x.w);
  y.tau_m = c(x.tau_m);
  y.tau_adp = c(x.tau_adp);
  y.b_base = c(x.b_base);
  y.i_ext = c(x.i_ext);
  y.v0 = c(x.v0);
  y.a0 = c(x.a0);
  y.s0 = c(x.s0);
  y.w_ro = c(x.w_ro);
  return y;
}

// The projection's arrays on device d.
inline Projection to_device(const Projection& p, Device d) {
  Projection q = p;
  q.post_ptr = p.post_ptr.to(d);
  q.pre_idx = p.pre_idx.to(d);
  q.pre_ptr = p.pre_ptr.to(d);
  q.post_idx = p.post_idx.to(d);
  q.syn_of_pre = p.syn_of_pre.to(d);
  q.source_sign = p.source_sign.to(d);
  return q;
}

inline kernels::LifNeeds all_needs() {
  kernels::LifNeeds n;
  n.w = n.tau_m = n.tau_adp = n.i_ext = n.v0 = n.a0 = n.s0 = n.w_ro = true;
  return n;
}

}  // namespace rsnn::lif_net
