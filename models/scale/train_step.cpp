// One timed forward + backward of the recurrent adaptive LIF op on a tiled barrel network
// (contract in models/scale/train_step.h).
#include "models/scale/train_step.h"

#include <chrono>
#include <cmath>

#include "kernels/projection.h"
#include "kernels/recurrent_lif.h"
#include "models/barrel/anatomy.h"
#include "models/barrel/model.h"
#include "runtime/error.h"
#include "runtime/random.h"

namespace rsnn::scale {

namespace {

constexpr uint64_t kTrainStream = 0x5343'2000;  // + 0 weights, 1 input, 2 readout, 3 output error, 4 v0, 5 s0

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The network's synapses (delays dropped) as the op's projection, signed by the barrel
// populations; `groups` gets the offsets of the 13 x C populations.
Projection tiled_projection(const ScaleNet& net, std::vector<int64_t>& groups) {
  const int64_t M = barrel::kCorticalNeurons, n = net.neurons(), C = n / M;
  const PopulationLayout col = barrel::cortex_layout();
  const std::vector<int64_t> off = col.offsets();
  Tensor sign = Tensor::empty({n}, DType::f32);
  groups.assign(1, 0);
  for (int64_t c = 0; c < C; ++c)
    for (int64_t g = 0; g < col.groups(); ++g) {
      for (int64_t i = off[g]; i < off[g + 1]; ++i) sign.data<float>()[c * M + i] = float(col.signs[g]);
      groups.push_back(c * M + off[g + 1]);
    }
  std::vector<int32_t> post, pre;
  post.reserve(size_t(net.graph.nnz()));
  pre.reserve(size_t(net.graph.nnz()));
  for (int64_t s = 0; s < n; ++s)
    for (int64_t k = net.graph.ptr[s]; k < net.graph.ptr[s + 1]; ++k) {
      post.push_back(net.graph.target(k));
      pre.push_back(static_cast<int32_t>(s));
    }
  return projection_from_pairs(n, n, post, pre, sign);
}

}  // namespace

TrainTiming time_barrel_bptt_step(const ScaleNet& net, int64_t B, int64_t T, uint64_t seed) {
  const int64_t M = barrel::kCorticalNeurons, n = net.neurons(), C = n / M;
  RSNN_CHECK(n > 0 && n % M == 0, "--train: not a tiled barrel network (", n, " neurons)");
  RSNN_CHECK(B >= 1 && T >= 1, "--train: batch ", B, " and steps ", T, " must be >= 1");
  const PopulationLayout col = barrel::cortex_layout();
  const std::vector<int64_t> off = col.offsets();
  std::vector<int64_t> groups;
  const Projection proj = tiled_projection(net, groups);

  const barrel::BarrelConfig bc = barrel::BarrelConfig::spiking_default();
  LifConfig cfg;
  cfg.model = NeuronModel::alif;
  cfg.beta = bc.beta;
  cfg.order = bc.order;
  cfg.group_offsets = groups;
  // No row team: it waits at 13 C + 2 barriers per step, each a scheduler time slice when other
  // jobs hold the cores (docs/perf-log.md, 2026-12-07). Batches over 8 samples still run their
  // 8-sample slices on all threads.
  cfg.row_team = RowTeam::never;
  // Readout: Pyr_SP and Pyr_SS (populations 0, 1) and L2/3 Pyr (population 4) of every column.
  int64_t n_ro = 0;
  for (int64_t c = 0; c < C; ++c) {
    cfg.readout.push_back({c * M + off[0], off[2] - off[0]});
    cfg.readout.push_back({c * M + off[4], off[5] - off[4]});
    n_ro += off[2] - off[0] + off[5] - off[4];
  }
  kernels::LifInputs x;
  x.w = Tensor::empty({proj.nnz()}, DType::f32);
  init_uniform(x.w, 0.0, bc.init_w, seed, kTrainStream);
  x.tau_m = Tensor::full({n}, bc.tau_m_init, DType::f32);
  x.tau_adp = Tensor::full({n}, bc.tau_adp_init, DType::f32);
  x.b_base = Tensor::full({n}, bc.init_b, DType::f32);
  x.i_ext = Tensor::empty({T, B, n}, DType::f32);
  fill_uniform(x.i_ext, seed, kTrainStream + 1, 0.0, bc.init_b);  // mean: half the base threshold
  // The barrel model's initial state: v and s uniform on (0, 1), a = init_b.
  x.v0 = Tensor::empty({B, n}, DType::f32);
  x.s0 = Tensor::empty({B, n}, DType::f32);
  fill_uniform(x.v0, seed, kTrainStream + 4, 0.0, 1.0);
  fill_uniform(x.s0, seed, kTrainStream + 5, 0.0, 1.0);
  x.a0 = Tensor::full({B, n}, bc.init_b, DType::f32);
  x.w_ro = Tensor::empty({3, n_ro}, DType::f32);
  fill_uniform(x.w_ro, seed, kTrainStream + 2, -0.05, 0.05);
  kernels::validate_lif(proj, cfg, x);

  TrainTiming r;
  r.B = B;
  r.T = T;
  auto t0 = std::chrono::steady_clock::now();
  const kernels::LifForward f = kernels::recurrent_lif_forward(proj, cfg, x, true);
  r.forward_s = seconds_since(t0);
  r.spikes = f.stats.spikes;
  r.events = f.stats.synaptic_events;
  r.saved_bytes = f.saved.bytes();
  Tensor dreadout = Tensor::empty({T, B, 3}, DType::f32);
  fill_uniform(dreadout, seed, kTrainStream + 3, -1.0, 1.0);
  kernels::LifNeeds needs;
  needs.w = needs.tau_m = needs.tau_adp = needs.w_ro = true;
  t0 = std::chrono::steady_clock::now();
  const kernels::LifGrads g = kernels::recurrent_lif_backward(proj, cfg, x, f.saved, Tensor(), dreadout, needs);
  r.backward_s = seconds_since(t0);
  RSNN_CHECK(g.dw.defined() && g.dw.numel() == proj.nnz(), "--train: the backward returned no weight gradient");
  r.synapses = proj.nnz();
  for (int64_t k = 0; k < g.dw.numel(); ++k) r.dw_abs_sum += std::fabs(double(g.dw.data<float>()[k]));
  return r;
}

}  // namespace rsnn::scale
