#include "models/rate/lif_convert.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

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
  if (p.stims.sign != 0) {
    const LifStims& st = p.stims;
    RSNN_CHECK(st.sign == 1 || st.sign == -1, "LIF stimulation: sign must be +1 (exc) or -1 (inh)");
    RSNN_CHECK(st.on >= 1 && st.off > st.on, "LIF stimulation: need 1 <= on < off, got [", st.on, ", ",
               st.off, ")");
    RSNN_CHECK(std::isfinite(st.amp) && st.amp >= 0, "LIF stimulation: amplitude must be >= 0, got ", st.amp);
    RSNN_CHECK(!st.units.empty(), "LIF stimulation: no units to stimulate");
    std::vector<int> u = st.units;
    std::sort(u.begin(), u.end());
    RSNN_CHECK(std::adjacent_find(u.begin(), u.end()) == u.end(), "LIF stimulation: unit ",
               *std::adjacent_find(u.begin(), u.end()), " is listed twice");
    RSNN_CHECK(u.front() >= 0 && u.back() < net.N(), "LIF stimulation: units must be in [0, ", net.N(),
               "), got ", u.front() < 0 ? u.front() : u.back());
  }
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

}  // namespace rsnn::rate

