// Optimized CPU simulation of the converted LIF network (rate_lif.h, spec rate-to-spiking.md
// §3.4): one trial runs its steps in order; within a step, every per-neuron loop (membrane
// update, synaptic filters, readout) is a branch-free loop over the N neurons that the
// compiler vectorizes, compiled for baseline x86-64 and x86-64-v3 (AVX2 + FMA) and picked at
// load time (runtime/multiversion.h). The voltage noise of kNoiseSteps steps is drawn in one
// vectorized call (rate_lif_noise.h). Results do not depend on the thread count; the two
// compiled variants may differ in the last bits (FMA contraction).
#include <algorithm>
#include <cmath>

#include "kernels/rate_lif.h"
#include "kernels/rate_lif_detail.h"
#include "kernels/rate_lif_noise.h"
#include "runtime/error.h"
#include "runtime/multiversion.h"
#include "runtime/philox.h"

namespace rsnn::kernels::rate_lif {

namespace {

constexpr int64_t kNoiseSteps = 16;  // steps of noise drawn per call (16 x N floats)

// Membrane update of all N neurons at time t. Returns the number of neurons at or above
// threshold (v >= vpeak: they fire). noise: (N) standard normals (scaled by c.noise_std here).
RSNN_MULTIVERSION int voltage_all(const LifConsts c, double t, int N, double* __restrict v,
                             const double* __restrict tlast, const double* __restrict ipsc,
                             const double* __restrict ext, const float* __restrict noise) {
  // A 64-bit count, as wide as the double lanes (a 32-bit one costs shuffles every vector);
  // no omp simd reduction: with target_clones it keeps the baseline clone scalar.
  int64_t n = 0;
  for (int i = 0; i < N; ++i)
    n += lif_voltage_step(c, t, v[i], tlast[i], ipsc[i], ext[i], c.noise_std * double(noise[i])) ? 1 : 0;
  return int(n);
}

// jd[0:N] += WT[k, 0:N] for every firing unit k, in increasing k.
RSNN_MULTIVERSION void add_rows(int N, const int* fired, int nf, const double* __restrict WT,
                           double* __restrict jd) {
  for (int f = 0; f < nf; ++f) {
    const double* wk = WT + size_t(fired[f]) * size_t(N);
#pragma omp simd
    for (int i = 0; i < N; ++i) jd[i] += wk[i];
  }
}

// Synaptic and readout filters, spike bookkeeping and reset of all N neurons.
RSNN_MULTIVERSION void filter_all(const LifConsts c, double t, int N, const uint8_t* __restrict spk,
                             const double* __restrict jd, const double* __restrict exp_td,
                             const double* __restrict jump, double* __restrict ipsc,
                             double* __restrict h, double* __restrict r, double* __restrict hr,
                             double* __restrict v, double* __restrict tlast) {
  if (c.tr == 0.0) {
#pragma omp simd
    for (int i = 0; i < N; ++i)
      lif_filter_step_single(spk[i] != 0, jd[i], exp_td[i], jump[i], ipsc[i], r[i]);
  } else {
#pragma omp simd
    for (int i = 0; i < N; ++i)
      lif_filter_step_double(c, spk[i] != 0, jd[i], exp_td[i], jump[i], ipsc[i], h[i], r[i], hr[i]);
  }
  // a loop of its own: fused with the filters, GCC 12 gives up if-converting it
#pragma omp simd
  for (int i = 0; i < N; ++i) lif_after_spike(c, spk[i] != 0, t, v[i], tlast[i]);
}

// filter_all for a step without spikes (most steps): the same values with spk = 0, jd = 0
// (the spike terms add +0.0), and nobody to reset.
RSNN_MULTIVERSION void filter_quiet(const LifConsts c, int N, const double* __restrict exp_td,
                               const double* __restrict jump, double* __restrict ipsc,
                               double* __restrict h, double* __restrict r, double* __restrict hr) {
  if (c.tr == 0.0) {
#pragma omp simd
    for (int i = 0; i < N; ++i) lif_filter_step_single(false, 0.0, exp_td[i], jump[i], ipsc[i], r[i]);
  } else {
#pragma omp simd
    for (int i = 0; i < N; ++i)
      lif_filter_step_double(c, false, 0.0, exp_td[i], jump[i], ipsc[i], h[i], r[i], hr[i]);
  }
}

// w . r summed in kLanes interleaved partial sums (element i into sum i % kLanes), then the
// partial sums in order: the order is fixed by this code, not by the vector width.
RSNN_MULTIVERSION double readout(int N, const double* __restrict w, const double* __restrict r) {
  constexpr int kLanes = 8;
  double part[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= N; i += kLanes)
    for (int k = 0; k < kLanes; ++k) part[k] += w[i + k] * r[i + k];
  for (int k = 0; i < N; ++i, ++k) part[k] += w[i] * r[i];
  double acc = 0;
  for (int k = 0; k < kLanes; ++k) acc += part[k];
  return acc;
}

// One trial's working state on the CPU.
struct Trial {
  std::vector<double> ext;  // (Tcs, N): w_in u of every input column
  std::vector<double> v, tlast, ipsc, h, r, hr, jd;
  std::vector<float> noise;  // kNoiseSteps steps of normals, 4 ceil(N / 4) per step
  std::vector<uint8_t> spk;
  std::vector<int> fired;
  std::vector<int64_t> count;  // spikes from step 10 on
};

Trial start_trial(const NetView& net, const float* u, int Tcs, const TrialKeys& keys) {
  const int N = net.N, C = net.C;
  Trial tr;
  tr.ext.assign(size_t(Tcs) * N, 0.0);
  for (int col = 0; col < Tcs; ++col)
    for (int ch = 0; ch < C; ++ch) {
      const double uc = u[size_t(ch) * Tcs + col];
      if (uc != 0)
        for (int i = 0; i < N; ++i) tr.ext[size_t(col) * N + i] += net.w_in[size_t(i) * C + ch] * uc;
    }
  for (auto* x : {&tr.tlast, &tr.ipsc, &tr.h, &tr.r, &tr.hr, &tr.jd}) x->assign(N, 0.0);
  tr.v.resize(N);
  for (int i = 0; i < N; ++i)
    tr.v[i] = net.v_init_lo + philox::uniform_f64(keys.seed, keys.init, uint64_t(i)) * (net.v_init_hi - net.v_init_lo);
  tr.noise.assign(size_t(kNoiseSteps * ((N + 3) / 4) * 4), 0.f);
  tr.spk.assign(N, 0);
  tr.fired.assign(N, 0);
  tr.count.assign(N, 0);
  return tr;
}

// The stimulation of step s, when its coin says so; returns the new number of units at or
// above threshold (the spikes are those after the stimulation).
int stimulate(const NetView& net, const TrialKeys& keys, int64_t s, Trial& tr, int nf) {
  if (!detail::stim_coin(net, keys, s)) return nf;
  for (int k = 0; k < net.n_stim_units; ++k) tr.v[net.stim_units[k]] += net.stim_sign * net.stim_amp;
  nf = 0;
  for (int i = 0; i < net.N; ++i) nf += tr.v[i] >= net.c.vpeak;
  return nf;
}

// Marks the nf units at or above threshold and sums their rows of W into jd (increasing unit).
void collect_spikes(const NetView& net, int nf, Trial& tr) {
  for (int i = 0, f = 0; i < net.N; ++i) {
    tr.spk[i] = tr.v[i] >= net.c.vpeak ? 1 : 0;
    if (tr.spk[i]) tr.fired[f++] = i;
  }
  add_rows(net.N, tr.fired.data(), nf, net.WT, tr.jd.data());
}

// After the filters: spike counts and events of step s, and jd back to zero.
void book_spikes(int64_t s, int nf, const Record& rec, Trial& tr, Result& res) {
  std::fill(tr.jd.begin(), tr.jd.end(), 0.0);
  for (int f = 0; f < nf; ++f) {
    const int k = tr.fired[f];
    if (s >= 10) ++tr.count[k];
    if (rec.spikes) {
      res.spike_step.push_back(int32_t(s - 1));
      res.spike_unit.push_back(k);
    }
  }
  res.n_spikes += nf;
}

void record_filters(int N, int64_t col, int64_t n_rec, const Record& rec, const Trial& tr, Result& res) {
  for (int i = 0; i < N; ++i) {
    if (rec.rates) res.rs[size_t(i) * n_rec + col] = float(tr.r[i]);
    if (rec.ipsc) res.ipsc[size_t(i) * n_rec + col] = float(tr.ipsc[i]);
  }
}

}  // namespace

Result simulate_cpu(const NetView& net, const float* u, int Tcs, int64_t nt, const TrialKeys& keys,
                    const Record& rec) {
  check_inputs(net, u, Tcs, nt, rec, "rate LIF simulation");
  const int N = net.N;
  const LifConsts c = net.c;
  const int64_t nb = (int64_t(N) + 3) / 4;  // noise of step s, unit i: element s 4 nb + i
  const int64_t n_rec = detail::recorded_columns(nt, rec);
  Trial tr = start_trial(net, u, Tcs, keys);
  Result res = detail::start_result(N, nt, rec);
  for (int64_t s = 1; s <= nt; ++s) {
    const double t = c.dt * double(s);
    const int64_t q = (s - 1) % kNoiseSteps;
    if (q == 0 && c.noise_std > 0)
      noise::normal4_run(keys.seed, keys.noise, uint64_t(s * nb), std::min(kNoiseSteps, nt - s + 1) * nb,
                         tr.noise.data());
    int nf = voltage_all(c, t, N, tr.v.data(), tr.tlast.data(), tr.ipsc.data(),
                         &tr.ext[size_t(lif_input_column(s)) * N], tr.noise.data() + size_t(q * nb * 4));
    nf = stimulate(net, keys, s, tr, nf);
    if (nf > 0) collect_spikes(net, nf, tr);
    const bool rec_col = (s - 1) % rec.stride == 0;
    if (rec.voltage && rec_col)  // the peak drawn before the reset
      for (int i = 0; i < N; ++i)
        res.v[size_t(i) * n_rec + (s - 1) / rec.stride] = tr.v[i] >= c.vpeak ? float(c.spike_peak) : float(tr.v[i]);
    if (nf > 0)
      filter_all(c, t, N, tr.spk.data(), tr.jd.data(), net.exp_td, net.jump, tr.ipsc.data(), tr.h.data(),
                 tr.r.data(), tr.hr.data(), tr.v.data(), tr.tlast.data());
    else
      filter_quiet(c, N, net.exp_td, net.jump, tr.ipsc.data(), tr.h.data(), tr.r.data(), tr.hr.data());
    res.out[size_t(s - 1)] = float(readout(N, net.w_out, tr.r.data()));
    if (nf > 0) book_spikes(s, nf, rec, tr, res);
    if ((rec.rates || rec.ipsc) && rec_col) record_filters(N, (s - 1) / rec.stride, n_rec, rec, tr, res);
  }
  detail::finish_rates(res, tr.count, c.dt);
  return res;
}

}  // namespace rsnn::kernels::rate_lif
