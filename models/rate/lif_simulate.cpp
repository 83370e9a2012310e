// CPU simulation of the converted LIF network (lif_convert.h, spec rate-to-spiking.md §3.4):
// one trial runs its steps in order; within a step, every per-neuron loop (membrane update,
// synaptic filters, readout) is a branch-free loop over the N neurons that the compiler
// vectorizes, compiled for baseline x86-64 and x86-64-v3 (AVX2 + FMA) and picked at load
// time (as kernels/recurrent_lif_rows.h). The voltage noise of kNoiseSteps steps is drawn in
// one vectorized call (lif_noise.h). Results are bit-identical between simulate_lif and
// simulate_lif_batch and for any thread count on one machine; the two compiled variants
// may differ in the last bits (FMA contraction, readout sum order).
#include <algorithm>
#include <cmath>
#include <string>

#include "models/rate/lif_convert.h"
#include "models/rate/lif_math.h"
#include "models/rate/lif_noise.h"
#include "models/rate/rng.h"
#include "runtime/error.h"
#include "runtime/multiversion.h"
#include "runtime/philox.h"


namespace rsnn::rate {

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

}  // namespace

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
  // Noise of step s, unit i: element s * 4 nb + i of the trial's noise stream (block s nb + i / 4).
  const int64_t nb = (int64_t(N) + 3) / 4;
  std::vector<float> noise(size_t(kNoiseSteps * nb * 4), 0.f);
  std::vector<uint8_t> spk(N);
  std::vector<int> fired(N);
  const uint64_t st_init = stream_id(Draw::lif_init, trial), st_noise = stream_id(Draw::lif_noise, trial);
  const bool stim = net.p.stims.active();
  const uint64_t st_stim = stream_id(Draw::lif_stim, trial);
  const double stim_dv = net.p.stims.sign * net.p.stims.amp;
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
    const int64_t q = (s - 1) % kNoiseSteps;
    if (q == 0 && c.noise_std > 0)
      noise::normal4_run(seed, st_noise, uint64_t(s * nb), std::min(kNoiseSteps, nt - s + 1) * nb, noise.data());
    int nf = voltage_all(c, t, N, v.data(), tlast.data(), ipsc.data(), e,
                         noise.data() + size_t(q * nb * 4));
    if (stim && s >= net.p.stims.on && s < net.p.stims.off &&
        philox::uniform_f64(seed, st_stim, uint64_t(s)) < 0.5) {
      for (int k : net.p.stims.units) v[k] += stim_dv;
      nf = 0;  // the spikes are those after the stimulation
      for (int i = 0; i < N; ++i) nf += v[i] >= c.vpeak;
    }
    if (nf > 0) {
      // JD = sum of W's columns of this step's spiking units, in increasing unit order.
      for (int i = 0, f = 0; i < N; ++i) {
        spk[i] = v[i] >= c.vpeak ? 1 : 0;
        if (spk[i]) fired[f++] = i;
      }
      add_rows(N, fired.data(), nf, net.WT.data(), jd.data());
    }
    if (rec.voltage && (s - 1) % rec.stride == 0)  // the peak drawn at +30 mV, before the reset
      for (int i = 0; i < N; ++i)
        res.v[size_t(i) * n_rec + (s - 1) / rec.stride] = v[i] >= c.vpeak ? float(c.spike_peak) : float(v[i]);
    if (nf > 0)
      filter_all(c, t, N, spk.data(), jd.data(), net.exp_td.data(), net.jump.data(), ipsc.data(), h.data(),
                 r.data(), hr.data(), v.data(), tlast.data());
    else
      filter_quiet(c, N, net.exp_td.data(), net.jump.data(), ipsc.data(), h.data(), r.data(), hr.data());
    res.out[s - 1] = float(readout(N, net.w_out.data(), r.data()));
    if (nf > 0) {
      std::fill(jd.begin(), jd.end(), 0.0);
      for (int f = 0; f < nf; ++f) {
        const int k = fired[f];
        if (s >= 10) ++count[k];
        if (rec.spikes) {
          res.spike_step.push_back(int32_t(s - 1));
          res.spike_unit.push_back(k);
        }
      }
      res.n_spikes += nf;
    }
    if ((rec.rates || rec.ipsc) && (s - 1) % rec.stride == 0) {
      const int64_t col = (s - 1) / rec.stride;
      for (int i = 0; i < N; ++i) {
        if (rec.rates) res.rs[size_t(i) * n_rec + col] = float(r[i]);
        if (rec.ipsc) res.ipsc[size_t(i) * n_rec + col] = float(ipsc[i]);
      }
    }
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
