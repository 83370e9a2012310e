// The converted LIF network's trials on the simulation kernels (kernels/rate_lif.h): the
// inputs subsampled by `downsample`, the Philox streams named by trial (rng.h), trials in
// parallel over CPU threads or one per block on the GPU.
#include <string>

#include "kernels/rate_lif.h"
#include "models/rate/lif_convert.h"
#include "models/rate/rng.h"
#include "runtime/error.h"

namespace rsnn::rate {

namespace {

kernels::rate_lif::TrialKeys trial_keys(uint64_t seed, uint64_t trial) {
  return {seed, stream_id(Draw::lif_init, trial), stream_id(Draw::lif_noise, trial),
          stream_id(Draw::lif_stim, trial)};
}

// u (C, Tc) -> (C, columns_for(Tc)): every downsample-th column, as the original's u(:, 1:d:end).
std::vector<float> subsample(const LifNetwork& net, const float* u, int Tc) {
  const int Tcs = net.columns_for(Tc), ds = net.p.downsample;
  std::vector<float> us(size_t(net.C) * Tcs);
  for (int ch = 0; ch < net.C; ++ch)
    for (int col = 0; col < Tcs; ++col) us[size_t(ch) * Tcs + col] = u[size_t(ch) * Tc + size_t(col) * ds];
  return us;
}

}  // namespace

kernels::rate_lif::NetView LifNetwork::view() const {
  kernels::rate_lif::NetView v;
  v.N = N;
  v.C = C;
  v.c = p.consts();
  v.WT = WT.data();
  v.w_in = w_in.data();
  v.w_out = w_out.data();
  v.exp_td = exp_td.data();
  v.jump = jump.data();
  v.v_init_lo = p.v_init_lo;
  v.v_init_hi = p.v_init_hi;
  v.stim_sign = p.stims.sign;
  v.stim_on = p.stims.on;
  v.stim_off = p.stims.off;
  v.stim_amp = p.stims.amp;
  v.stim_units = p.stims.units.data();
  v.n_stim_units = int(p.stims.units.size());
  return v;
}

LifTrialResult simulate_lif(const LifNetwork& net, const float* u, int Tc, uint64_t seed,
                            uint64_t trial, const LifRecord& rec) {
  RSNN_CHECK(Tc >= 2, "LIF simulation: the input needs at least 2 columns, got ", Tc);
  RSNN_CHECK(rec.stride >= 1, "LIF simulation: record stride must be >= 1");
  const std::vector<float> us = subsample(net, u, Tc);
  return kernels::rate_lif::simulate_cpu(net.view(), us.data(), net.columns_for(Tc), net.steps_for(Tc),
                                         trial_keys(seed, trial), rec);
}

std::vector<LifTrialResult> simulate_lif_batch(const LifNetwork& net, const std::vector<Trial>& trials,
                                               uint64_t seed, const std::vector<uint64_t>& ids,
                                               const LifRecord& rec) {
  RSNN_CHECK(trials.size() == ids.size(), "simulate_lif_batch: ", trials.size(), " trials but ",
             ids.size(), " ids");
  for (const Trial& t : trials)
    RSNN_CHECK(t.C == net.C, "simulate_lif_batch: trial has ", t.C, " input channels, network ", net.C);
  std::vector<LifTrialResult> out(trials.size());
  const int64_t n = int64_t(trials.size());
  std::string err;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t k = 0; k < n; ++k) {
    try {
      out[k] = simulate_lif(net, trials[k].u.data(), trials[k].Tc, seed, ids[k], rec);
    } catch (const std::exception& e) {
#pragma omp critical(rsnn_lif_batch_err)
      err = e.what();
    }
  }
  RSNN_CHECK(err.empty(), err);
  return out;
}

void simulate_lif_cuda(const LifNetwork& net, const std::vector<Trial>& trials, uint64_t seed,
                       const std::vector<uint64_t>& ids, std::vector<std::vector<float>>& out,
                       std::vector<int64_t>& n_spikes) {
  RSNN_CHECK(trials.size() == ids.size(), "simulate_lif_cuda: ", trials.size(), " trials but ",
             ids.size(), " ids");
  RSNN_CHECK(!trials.empty(), "simulate_lif_cuda: no trials");
  const int B = int(trials.size()), C = net.C, Tc = trials[0].Tc;
  for (const Trial& t : trials)
    RSNN_CHECK(t.C == C && t.Tc == Tc, "simulate_lif_cuda: every trial needs ", C, " x ", Tc,
               " inputs, got ", t.C, " x ", t.Tc);
  RSNN_CHECK(Tc >= 2, "simulate_lif_cuda: the input needs at least 2 columns");
  const int Tcs = net.columns_for(Tc);
  const int64_t nt = net.steps_for(Tc);
  std::vector<float> u;
  std::vector<kernels::rate_lif::TrialKeys> keys;
  for (int b = 0; b < B; ++b) {
    const std::vector<float> us = subsample(net, trials[b].u.data(), Tc);
    u.insert(u.end(), us.begin(), us.end());
    keys.push_back(trial_keys(seed, ids[b]));
  }
  std::vector<float> o(size_t(B) * size_t(nt));
  n_spikes.assign(B, 0);
  kernels::rate_lif::simulate_cuda(net.view(), u.data(), B, Tcs, nt, keys.data(), o.data(), n_spikes.data());
  out.assign(B, {});
  for (int b = 0; b < B; ++b) out[b].assign(o.begin() + int64_t(b) * nt, o.begin() + int64_t(b + 1) * nt);
}

}  // namespace rsnn::rate
