// The plain reference of the converted LIF simulation (rate_lif.h): the spec's loop
// (rate-to-spiking.md §3.4) one neuron at a time, with the scalar noise function; and the
// input checks and result bookkeeping the three versions share.
#include <cmath>

#include "kernels/rate_lif.h"
#include "kernels/rate_lif_detail.h"
#include "kernels/rate_lif_noise.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace rsnn::kernels::rate_lif {

void check_inputs(const NetView& net, const float* u, int Tcs, int64_t nt, const Record& rec,
                  const char* what) {
  RSNN_CHECK(net.N >= 1 && net.C >= 0, what, ": need N >= 1 and C >= 0, got N = ", net.N, ", C = ", net.C);
  RSNN_CHECK(net.WT && net.w_out && net.exp_td && net.jump && (net.C == 0 || net.w_in),
             what, ": a network array is missing");
  RSNN_CHECK(Tcs >= 1 && (u || net.C == 0), what, ": need at least one input column, got ", Tcs);
  RSNN_CHECK(nt >= 0 && lif_input_column(nt) < Tcs, what, ": ", nt, " steps read input column ",
             lif_input_column(nt), " but there are ", Tcs);
  RSNN_CHECK(rec.stride >= 1, what, ": record stride must be >= 1, got ", rec.stride);
  RSNN_CHECK(net.c.dt > 0 && net.c.tm > 0, what, ": dt and tm must be > 0");
  if (net.stim_sign == 0) return;
  RSNN_CHECK(net.stim_sign == 1 || net.stim_sign == -1, what, ": stimulation sign must be +1 or -1, got ",
             net.stim_sign);
  RSNN_CHECK(net.n_stim_units == 0 || net.stim_units, what, ": stimulation units are missing");
  for (int k = 0; k < net.n_stim_units; ++k)
    RSNN_CHECK(net.stim_units[k] >= 0 && net.stim_units[k] < net.N, what, ": stimulated unit ",
               net.stim_units[k], " is outside [0, ", net.N, ")");
}

namespace detail {

Result start_result(int N, int64_t nt, const Record& rec) {
  Result res;
  res.nt = nt;
  res.out.assign(size_t(nt), 0.f);
  res.fr.assign(size_t(N), 0.0);
  const size_t n_rec = size_t(recorded_columns(nt, rec));
  if (rec.voltage) res.v.assign(size_t(N) * n_rec, 0.f);
  if (rec.rates) res.rs.assign(size_t(N) * n_rec, 0.f);
  if (rec.ipsc) res.ipsc.assign(size_t(N) * n_rec, 0.f);
  return res;
}

void finish_rates(Result& res, const std::vector<int64_t>& count, double dt) {
  const double T = dt * double(res.nt);
  for (size_t i = 0; i < count.size(); ++i) res.fr[i] = T > 0 ? double(count[i]) / T : 0.0;
}

bool stim_coin(const NetView& net, const TrialKeys& keys, int64_t s) {
  return net.stimulated() && s >= net.stim_on && s < net.stim_off &&
         philox::uniform_f64(keys.seed, keys.stim, uint64_t(s)) < 0.5;
}

}  // namespace detail

Result simulate_ref(const NetView& net, const float* u, int Tcs, int64_t nt, const TrialKeys& keys,
                    const Record& rec) {
  check_inputs(net, u, Tcs, nt, rec, "rate LIF reference");
  const int N = net.N, C = net.C;
  const LifConsts& c = net.c;
  const uint64_t nb = (uint64_t(N) + 3) / 4;
  std::vector<double> v(N), tlast(N, 0), ipsc(N, 0), h(N, 0), r(N, 0), hr(N, 0);
  std::vector<int64_t> count(N, 0);
  std::vector<bool> spk(N);
  for (int i = 0; i < N; ++i)
    v[i] = net.v_init_lo + philox::uniform_f64(keys.seed, keys.init, uint64_t(i)) * (net.v_init_hi - net.v_init_lo);
  Result res = detail::start_result(N, nt, rec);
  const int64_t n_rec = detail::recorded_columns(nt, rec);
  for (int64_t s = 1; s <= nt; ++s) {
    const double t = c.dt * double(s);
    const int64_t col = lif_input_column(s);
    for (int i = 0; i < N; ++i) {
      double ext = 0;
      for (int ch = 0; ch < C; ++ch) ext += net.w_in[size_t(i) * C + ch] * double(u[size_t(ch) * Tcs + col]);
      const double z = c.noise_std > 0 ? noise::normal_at(keys.seed, keys.noise, uint64_t(s) * nb * 4 + uint64_t(i)) : 0.0;
      lif_voltage_step(c, t, v[i], tlast[i], ipsc[i], ext, c.noise_std * z);
    }
    if (detail::stim_coin(net, keys, s))
      for (int k = 0; k < net.n_stim_units; ++k) v[net.stim_units[k]] += net.stim_sign * net.stim_amp;
    for (int i = 0; i < N; ++i) spk[i] = v[i] >= c.vpeak;
    const bool rec_col = (s - 1) % rec.stride == 0;
    const size_t col_rec = size_t((s - 1) / rec.stride);
    if (rec.voltage && rec_col)
      for (int i = 0; i < N; ++i) res.v[size_t(i) * n_rec + col_rec] = spk[i] ? float(c.spike_peak) : float(v[i]);
    double out = 0;
    for (int i = 0; i < N; ++i) {
      double jd = 0;
      for (int k = 0; k < N; ++k)
        if (spk[k]) jd += net.WT[size_t(k) * N + i];
      lif_filter_step(c, spk[i], jd, net.exp_td[i], net.jump[i], ipsc[i], h[i], r[i], hr[i]);
      lif_after_spike(c, spk[i], t, v[i], tlast[i]);
      out += net.w_out[i] * r[i];
    }
    res.out[size_t(s - 1)] = float(out);
    for (int i = 0; i < N; ++i) {
      if (!spk[i]) continue;
      ++res.n_spikes;
      if (s >= 10) ++count[i];
      if (rec.spikes) {
        res.spike_step.push_back(int32_t(s - 1));
        res.spike_unit.push_back(i);
      }
    }
    for (int i = 0; rec_col && i < N; ++i) {
      if (rec.rates) res.rs[size_t(i) * n_rec + col_rec] = float(r[i]);
      if (rec.ipsc) res.ipsc[size_t(i) * n_rec + col_rec] = float(ipsc[i]);
    }
  }
  detail::finish_rates(res, count, c.dt);
  return res;
}

}  // namespace rsnn::kernels::rate_lif
