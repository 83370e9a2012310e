#include "models/rate/lif_convert.h"

#include <algorithm>
#include <cmath>

#include "models/rate/rng.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace rsnn::rate {

LifConsts LifParams::consts() const {
  LifConsts c;
  c.dt = dt * downsample;
  c.tref = tref;
  c.tm = tm;
  c.inv_tm = 1.0 / tm;
  c.vreset = vreset;
  c.vpeak = vpeak;
  c.bias = bias;
  c.tr = tr;
  c.exp_tr = tr > 0 ? std::exp(-c.dt / tr) : 0.0;
  c.noise_std = noise_std;
  c.spike_peak = 30.0;
  return c;
}

int LifNetwork::columns_for(int Tc) const { return (Tc + p.downsample - 1) / p.downsample; }

int64_t LifNetwork::steps_for(int Tc) const { return int64_t(columns_for(Tc) - 1) * 100; }

void set_scaling_factor(LifNetwork& lif, const RateNet& net, double s) {
  RSNN_CHECK(std::isfinite(s) && s > 0, "LIF conversion: scaling factor must be > 0, got ", s);
  const int N = net.N();
  const auto w = (lif.p.use_initial_weights ? net.w0 : net.w).to_vector<double>();
  const auto sign = net.sign.to_vector<double>(), som = net.som_m.to_vector<double>();
  lif.WT.assign(size_t(N) * N, 0.0);
  // W = w * m .* som_m / s, with w the relu'd trained weights (the original saves relu(w));
  // without Dale the original neither rectifies nor saves rectified weights.
  const bool rectify = net.cfg.apply_dale;
  for (int i = 0; i < N; ++i)
    for (int k = 0; k < N; ++k) {
      const double wik = w[size_t(i) * N + k];
      lif.WT[size_t(k) * N + i] = (rectify ? std::max(wik, 0.0) : wik) * sign[k] * som[size_t(i) * N + k] / s;
    }
  const auto wo = net.w_out.to_vector<double>();
  lif.w_out.resize(N);
  for (int i = 0; i < N; ++i) lif.w_out[i] = wo[i] / s;
  lif.scaling_factor = s;
}

LifNetwork convert_to_lif(const RateNet& net, double s, const LifParams& p) {
  RSNN_CHECK(p.downsample >= 1, "LIF conversion: downsample must be >= 1, got ", p.downsample);
  RSNN_CHECK(p.dt > 0 && p.tm > 0 && p.tref >= 0 && p.tr >= 0 && p.noise_std >= 0,
             "LIF conversion: dt, tm must be > 0 and tref, tr, noise >= 0");
  RSNN_CHECK(p.v_init_lo <= p.v_init_hi, "LIF conversion: v_init_lo > v_init_hi");
  LifNetwork lif;
  lif.N = net.N();
  lif.C = int(net.w_in.size(1));
  lif.p = p;
  lif.w_in = net.w_in.to_vector<double>();
  lif.inh = net.inh;
  const auto tau = net.tau_steps();
  const auto tau0 = taus_from_gaus(net.cfg.taus, net.taus_gaus0.defined() ? net.taus_gaus0 : net.taus_gaus);
  const double dt = p.dt * p.downsample;
  lif.td.resize(lif.N);
  lif.td0.resize(lif.N);
  lif.exp_td.resize(lif.N);
  lif.jump.resize(lif.N);
  for (int i = 0; i < lif.N; ++i) {
    lif.td[i] = tau[i] * p.rate_step_s;
    lif.td0[i] = tau0[i] * p.rate_step_s;
    lif.exp_td[i] = std::exp(-dt / lif.td[i]);
    lif.jump[i] = lif_filter_jump(p.consts(), lif.td[i]);
  }
  set_scaling_factor(lif, net, s);
  return lif;
}

LifTrialResult simulate_lif(const LifNetwork& net, const float* u, int Tc, uint64_t seed,
                            uint64_t trial, const LifRecord& rec) {
  const int N = net.N, C = net.C, ds = net.p.downsample;
  RSNN_CHECK(Tc >= 2, "LIF simulation: the input needs at least 2 columns, got ", Tc);
  RSNN_CHECK(rec.stride >= 1, "LIF simulation: record stride must be >= 1");
  const int Tcs = net.columns_for(Tc);
  const int64_t nt = net.steps_for(Tc);
  const LifConsts c = net.p.consts();
  // ext (Tcs, N): w_in u on the subsampled columns.
  std::vector<double> ext(size_t(Tcs) * N, 0.0);
  for (int col = 0; col < Tcs; ++col)
    for (int ch = 0; ch < C; ++ch) {
      const double uc = u[size_t(ch) * Tc + size_t(col) * ds];
      if (uc != 0)
        for (int i = 0; i < N; ++i) ext[size_t(col) * N + i] += net.w_in[size_t(i) * C + ch] * uc;
    }
  std::vector<double> v(N), tlast(N, 0.0), ipsc(N, 0.0), h(N, 0.0), r(N, 0.0), hr(N, 0.0),
      jd(N, 0.0);
  const uint64_t nb = (uint64_t(N) + 3) / 4;
  std::vector<float> noise(nb * 4, 0.f);
  std::vector<uint8_t> spk(N);
  std::vector<int> fired;
  fired.reserve(N);
  const uint64_t st_init = stream_id(Draw::lif_init, trial), st_noise = stream_id(Draw::lif_noise, trial);
  for (int i = 0; i < N; ++i)
    v[i] = net.p.v_init_lo + philox::uniform_f64(seed, st_init, i) * (net.p.v_init_hi - net.p.v_init_lo);

  LifTrialResult res;
  res.nt = nt;
  res.out.resize(nt);
  res.fr.assign(N, 0.0);
  const int64_t n_rec = (nt + rec.stride - 1) / rec.stride;
  if (rec.voltage) res.v.assign(size_t(N) * n_rec, 0.f);
  if (rec.rates) res.rs.assign(size_t(N) * n_rec, 0.f);
  if (rec.ipsc) res.ipsc.assign(size_t(N) * n_rec, 0.f);
  std::vector<int64_t> count(N, 0);

  for (int64_t s = 1; s <= nt; ++s) {
    const double t = c.dt * double(s);
    const double* e = &ext[size_t(lif_input_column(s)) * N];
    if (c.noise_std > 0) normal4_run(seed, st_noise, uint64_t(s) * nb, int(nb), noise.data());
    fired.clear();
    for (int i = 0; i < N; ++i) {
      spk[i] = lif_voltage_step(c, t, v[i], tlast[i], ipsc[i], e[i], c.noise_std * double(noise[i]));
      if (spk[i]) fired.push_back(i);
    }
    // JD = sum of W's columns of this step's spiking units, in increasing unit order.
    std::fill(jd.begin(), jd.end(), 0.0);
    for (int k : fired) {
      const double* wk = &net.WT[size_t(k) * N];
      for (int i = 0; i < N; ++i) jd[i] += wk[i];
    }
    const bool keep = (s - 1) % rec.stride == 0;
    const int64_t col = (s - 1) / rec.stride;
    double acc = 0;
    for (int i = 0; i < N; ++i) {
      lif_filter_step(c, spk[i], jd[i], net.exp_td[i], net.jump[i], ipsc[i], h[i], r[i], hr[i]);
      const float drawn = lif_after_spike(c, spk[i], t, v[i], tlast[i]);
      acc += net.w_out[i] * r[i];
      if (keep) {
        if (rec.voltage) res.v[size_t(i) * n_rec + col] = drawn;
        if (rec.rates) res.rs[size_t(i) * n_rec + col] = float(r[i]);
        if (rec.ipsc) res.ipsc[size_t(i) * n_rec + col] = float(ipsc[i]);
      }
    }
    res.out[s - 1] = float(acc);
    for (int k : fired) {
      if (s >= 10) ++count[k];
      if (rec.spikes) {
        res.spike_step.push_back(int32_t(s - 1));
        res.spike_unit.push_back(k);
      }
    }
    res.n_spikes += int64_t(fired.size());
  }
  const double T = c.dt * double(nt);
  for (int i = 0; i < N; ++i) res.fr[i] = T > 0 ? double(count[i]) / T : 0.0;
  return res;
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

}  // namespace rsnn::rate

#ifndef RSNN_WITH_CUDA
namespace rsnn::rate {
void simulate_lif_cuda(const LifNetwork&, const std::vector<Trial>&, uint64_t,
                       const std::vector<uint64_t>&, std::vector<std::vector<float>>&,
                       std::vector<int64_t>&) {
  RSNN_FAIL("LIF simulation on CUDA: rsnn was built without the CUDA backend");
}
}  // namespace rsnn::rate
#endif
