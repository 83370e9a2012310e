// The simulation-only microcircuit op (kernels/microcircuit.h): delays deliver at the right
// step, the Poisson background has its rate, refractoriness, the membrane against closed
// forms, the optimized CPU version against the reference bit for bit on any thread count,
// split runs, the CUDA twin (skips without a device) and input errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/microcircuit.h"
#include "runtime/philox.h"
#include "runtime/threads.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::mc;

namespace {

const double kDt = 0.1;

Drive quiet_drive(int64_t n) {
  Drive d;
  d.i_dc.assign(n, 0.f);
  d.bg_lambda.assign(n, 0.0);
  d.bg_weight.assign(n, 0.f);
  return d;
}

// n neurons, `m` random synapses with delays 1..max_d, E (first 80 %) or I sources.
DelayCsr random_net(int64_t n, int64_t m, int max_d, uint64_t seed) {
  std::vector<int32_t> src(m), tgt(m);
  std::vector<float> w(m);
  std::vector<int> d(m);
  for (int64_t k = 0; k < m; ++k) {
    src[k] = static_cast<int32_t>(philox::u32(seed, 1, k) % n);
    tgt[k] = static_cast<int32_t>(philox::u32(seed, 2, k) % n);
    const float mag = 40.f + 80.f * philox::uniform(seed, 3, k);
    w[k] = src[k] < n * 4 / 5 ? mag : -4.f * mag;
    d[k] = 1 + static_cast<int>(philox::u32(seed, 4, k) % max_d);
  }
  return delay_csr_from_lists(n, src, tgt, w, d);
}

Drive busy_drive(int64_t n, uint64_t seed) {
  Drive d = quiet_drive(n);
  for (int64_t i = 0; i < n; ++i) {
    d.i_dc[i] = 100.f + 100.f * philox::uniform(seed, 7, i);
    d.bg_lambda[i] = 0.8 + 0.4 * philox::uniform(seed, 8, i);
    d.bg_weight[i] = 87.8f;
  }
  d.seed = seed;
  return d;
}

std::vector<float> v0_of(int64_t n, uint64_t seed) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = 15.f * philox::uniform(seed, 9, i);
  return v;
}

}  // namespace

TEST(Microcircuit, PropagatorsMatchClosedForms) {
  NeuronParams np;
  const LifPropagators p = make_propagators(np, kDt);
  EXPECT_FLOAT_EQ(p.p22, std::exp(-0.1 / 10.0));
  EXPECT_FLOAT_EQ(p.p11, std::exp(-0.1 / 0.5));
  EXPECT_FLOAT_EQ(p.p20, 10.0 / 250.0 * (1 - std::exp(-0.01)));
  EXPECT_FLOAT_EQ(p.p21, 10.0 * 0.5 / (250.0 * (0.5 - 10.0)) * (std::exp(-0.2) - std::exp(-0.01)));
  EXPECT_EQ(p.ref_steps, 20);
  EXPECT_FLOAT_EQ(p.v_th, 15.f);
  EXPECT_FLOAT_EQ(p.v_reset, 0.f);
  np.tau_syn = np.tau_m;  // the limit h/C e^{-h/tau}
  EXPECT_NEAR(make_propagators(np, kDt).p21, 0.1 / 250.0 * std::exp(-0.01), 1e-9);
}

TEST(Microcircuit, SpikeWithDelayArrivesAtExactStep) {
  const LifPropagators p = make_propagators(NeuronParams{}, kDt);
  for (int d : {1, 2, 7, 30, 255}) {
    // Neuron 0 starts above threshold and fires at global step `start`; V of neuron 1 stays
    // 0 through step start + d (the current arrives after that step's V update) and is p21 w
    // one step later. A nonzero start step puts the arrival anywhere in the ring.
    const DelayCsr g = delay_csr_from_lists(3, {0, 0}, {1, 2}, {50.f, 80.f}, {d, 1});
    EXPECT_EQ(g.min_delay(), 1);
    EXPECT_EQ(g.max_delay(), d);
    for (auto sim : {simulate_reference, simulate_cpu}) {
      State s = make_state(g, {40.f, 0.f, 0.f});
      const int64_t start = 1000 + d;
      s.step = start;
      const SimResult r = sim(g, p, quiet_drive(3), s, d + 5, {1, 2});
      ASSERT_EQ(r.spikes.step_ptr[1], 1);
      EXPECT_EQ(r.spikes.neuron[0], 0);
      for (int64_t t = 0; t <= d; ++t) EXPECT_EQ(r.v_trace[t * 2], 0.f) << "d " << d << " step " << t;
      EXPECT_EQ(r.v_trace[(d + 1) * 2], p.p21 * 50.f) << "d " << d;
      EXPECT_EQ(r.v_trace[1 * 2 + 1], 0.f);
      EXPECT_EQ(r.v_trace[2 * 2 + 1], p.p21 * 80.f);
      EXPECT_EQ(s.step, start + d + 5);
    }
  }
}

TEST(Microcircuit, PoissonCountHasPoissonMoments) {
  for (double lam : {0.05, 1.28, 2.32, 20.0}) {
    const int64_t M = 200000;
    double sum = 0, sum2 = 0;
    int64_t zeros = 0;
    for (int64_t k = 0; k < M; ++k) {
      const int c = poisson_count(philox::uniform_f64(5, poisson_stream(k % 97), k), lam, std::exp(-lam));
      sum += c;
      sum2 += double(c) * c;
      zeros += c == 0;
    }
    const double mean = sum / M, var = sum2 / M - mean * mean, se = std::sqrt(lam / M);
    EXPECT_NEAR(mean, lam, 5 * se) << "lam " << lam;
    EXPECT_NEAR(var, lam, 0.03 * lam) << "lam " << lam;
    const double p0 = std::exp(-lam);
    EXPECT_NEAR(double(zeros) / M, p0, 5 * std::sqrt(p0 * (1 - p0) / M)) << "lam " << lam;
  }
}

// The table draw (poisson_count_lut, used by the optimized CPU op) against the inversion loop
// (the reference): equal at every threshold, either side of it, and at random words.
TEST(Microcircuit, PoissonTableEqualsInversion) {
  for (double lam : {1e-9, 0.05, 1.28, 2.32, 7.0, 20.0, 100.0}) {
    const mc::detail::PoissonTables pt = mc::detail::poisson_tables({lam, 0.0});
    ASSERT_EQ(pt.table[0], 0);
    EXPECT_EQ(pt.table[1], -1);
    const std::vector<uint32_t> th = poisson_thresholds(lam);
    ASSERT_FALSE(th.empty());
    const auto inversion = [&](uint32_t w) {
      philox::Words words{};
      words.v[0] = w;
      return poisson_count(background_uniform(words, 0), lam, std::exp(-lam));
    };
    std::vector<uint32_t> ws = {0u, 1u, 0xFFFFFFFFu, 0x80000000u};
    for (uint32_t t : th)
      for (int64_t dw : {-1, 0, 1})
        if (int64_t(t) + dw >= 0 && int64_t(t) + dw <= int64_t(0xFFFFFFFFu)) ws.push_back(uint32_t(int64_t(t) + dw));
    for (int64_t k = 0; k < 20000; ++k) ws.push_back(philox::u32(9, 1, k));
    for (uint32_t w : ws) ASSERT_EQ(pt.count(0, w), inversion(w)) << "lam " << lam << " w " << w;
  }
}

// The stationary mean of V under Poisson input of lam events per step of weight w (no
// threshold) is p21 w lam / ((1 - p11)(1 - p22)): a wrong rate or weight moves it.
TEST(Microcircuit, PoissonBackgroundDrivesTheExpectedMeanCurrent) {
  NeuronParams np;
  np.v_th = 1e6;
  const LifPropagators p = make_propagators(np, kDt);
  const int64_t n = 1000, T = 2000, burn = 200;
  DelayCsr g = delay_csr_from_lists(n, {}, {}, {}, {});
  Drive d = quiet_drive(n);
  d.bg_lambda.assign(n, 1.28);
  d.bg_weight.assign(n, 87.81f);
  d.seed = 11;
  std::vector<int32_t> rec(n);
  for (int64_t i = 0; i < n; ++i) rec[i] = static_cast<int32_t>(i);
  State s = make_state(g, std::vector<float>(n, 0.f));
  const SimResult r = simulate_cpu(g, p, d, s, T, rec);
  double mean = 0;
  for (int64_t t = burn; t < T; ++t)
    for (int64_t i = 0; i < n; ++i) mean += r.v_trace[t * n + i];
  mean /= double((T - burn) * n);
  const double expect = p.p21 * 87.81 * 1.28 / ((1 - p.p11) * (1 - p.p22));
  EXPECT_NEAR(mean, expect, 0.01 * expect);
  // Another seed gives other draws.
  d.seed = 12;
  State s2 = make_state(g, std::vector<float>(n, 0.f));
  EXPECT_NE(simulate_cpu(g, p, d, s2, 50, rec).v_trace, std::vector<float>(r.v_trace.begin(), r.v_trace.begin() + 50 * n));
}

TEST(Microcircuit, NoSpikeWithinRefractoryPeriod) {
  const LifPropagators p = make_propagators(NeuronParams{}, kDt);
  DelayCsr g = delay_csr_from_lists(2, {}, {}, {}, {});
  Drive d = quiet_drive(2);
  d.i_dc = {1e6f, 450.f};  // neuron 0 reaches threshold in its first free step
  State s = make_state(g, {0.f, 0.f});
  const int64_t T = 3000;
  const SimResult r = simulate_reference(g, p, d, s, T, {0, 1});
  std::vector<int64_t> last = {-1000, -1000};
  int64_t spikes[2] = {0, 0};
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = r.spikes.step_ptr[t]; k < r.spikes.step_ptr[t + 1]; ++k) {
      const int i = r.spikes.neuron[k];
      if (last[i] >= 0) {
        EXPECT_GT(t - last[i], p.ref_steps) << "neuron " << i;
        if (i == 0) {
          EXPECT_EQ(t - last[i], p.ref_steps + 1);
        }
        // V stays at reset through the refractory steps.
        for (int64_t u = last[i]; u <= last[i] + p.ref_steps; ++u) EXPECT_EQ(r.v_trace[u * 2 + i], p.v_reset);
      }
      last[i] = t;
      ++spikes[i];
    }
  EXPECT_EQ(spikes[0], (T - 1) / (p.ref_steps + 1) + 1);  // the first spike at step 0
  EXPECT_GT(spikes[1], 10);
}

TEST(Microcircuit, MembraneMatchesClosedForms) {
  NeuronParams np;
  const LifPropagators p = make_propagators(np, kDt);
  // DC: V(k h) = R I (1 - exp(-k h / tau_m)), below threshold (R I = 12 mV).
  DelayCsr g = delay_csr_from_lists(2, {1}, {0}, {87.81f}, {10});
  Drive d = quiet_drive(2);
  d.i_dc[1] = 300.f;
  State s = make_state(g, {0.f, 0.f});
  SimResult r = simulate_reference(g, p, d, s, 2000, {1});
  for (int64_t k = 1; k <= 2000; k += 37)
    EXPECT_NEAR(r.v_trace[k - 1], 10.0 / 250.0 * 300.0 * (1 - std::exp(-k * kDt / 10.0)), 2e-4) << k;
  // One PSC (neuron 1 starts above threshold; its spike reaches neuron 0 at step 10):
  // V(t) = w tau_m tau_s / (C (tau_s - tau_m)) (e^{-t/tau_s} - e^{-t/tau_m}), t = (k - 10) h.
  d.i_dc[1] = 0.f;
  State s2 = make_state(g, {0.f, 30.f});
  r = simulate_reference(g, p, d, s2, 400, {0});
  double peak = 0;
  for (int64_t k = 11; k < 400; ++k) {
    const double t = (k - 10) * kDt;
    const double v = 87.81 * 10 * 0.5 / (250 * (0.5 - 10)) * (std::exp(-t / 0.5) - std::exp(-t / 10));
    EXPECT_NEAR(r.v_trace[k], v, 1e-5) << k;
    peak = std::max<double>(peak, r.v_trace[k]);
  }
  EXPECT_NEAR(peak, 0.15, 0.001);  // 87.81 pA is the PSC of a 0.15 mV PSP
}

TEST(Microcircuit, OptimizedMatchesReferenceOnAnyThreadCount) {
  const int64_t n = 400, T = 600;
  const DelayCsr g = random_net(n, 12000, 25, 3);
  const LifPropagators p = make_propagators(NeuronParams{}, kDt);
  const Drive d = busy_drive(n, 4);
  const std::vector<int32_t> rec = {0, 17, 399};
  State s_ref = make_state(g, v0_of(n, 5));
  const SimResult ref = simulate_reference(g, p, d, s_ref, T, rec);
  ASSERT_GT(ref.spikes.neuron.size(), 500u);  // the network is active
  for (int threads : {1, 2, 3, 7}) {
    State s = make_state(g, v0_of(n, 5));
    // Split into two calls, inside a group of 4 steps (one Philox block): the global step
    // keys the Poisson draws and the ring slots.
    const int64_t T1 = 201;
    SimResult a = mc::detail::simulate_cpu_threads(g, p, d, s, T1, rec, threads);
    const SimResult b = mc::detail::simulate_cpu_threads(g, p, d, s, T - T1, rec, threads);
    for (size_t k = 1; k < b.spikes.step_ptr.size(); ++k)
      a.spikes.step_ptr.push_back(b.spikes.step_ptr[k] + static_cast<int64_t>(a.spikes.neuron.size()));
    a.spikes.neuron.insert(a.spikes.neuron.end(), b.spikes.neuron.begin(), b.spikes.neuron.end());
    a.v_trace.insert(a.v_trace.end(), b.v_trace.begin(), b.v_trace.end());
    EXPECT_EQ(a.spikes.step_ptr, ref.spikes.step_ptr) << threads << " threads";
    EXPECT_EQ(a.spikes.neuron, ref.spikes.neuron) << threads << " threads";
    EXPECT_EQ(a.v_trace, ref.v_trace) << threads << " threads";
    EXPECT_EQ(s.v, s_ref.v);
    EXPECT_EQ(s.i_syn, s_ref.i_syn);
    EXPECT_EQ(s.ref, s_ref.ref);
    EXPECT_EQ(s.ring, s_ref.ring);
  }
  State s = make_state(g, v0_of(n, 5));
  EXPECT_EQ(simulate_cpu(g, p, d, s, T, rec).spikes.neuron, ref.spikes.neuron);
}

// A drive given per population (runs of equal values, as the microcircuit's) takes the
// optimized op's scalar path; one population has no Poisson background, one a single neuron.
TEST(Microcircuit, OptimizedMatchesReferenceWithPopulationDrive) {
  const int64_t n = 1500, T = 300;
  const DelayCsr g = random_net(n, 30000, 17, 11);
  const LifPropagators p = make_propagators(NeuronParams{}, kDt);
  Drive d = quiet_drive(n);
  d.seed = 12;
  for (int64_t i = 0; i < n; ++i) {
    const int pop = i < 700 ? 0 : i < 701 ? 1 : i < 1200 ? 2 : 3;
    d.i_dc[i] = pop == 3 ? 260.f : 120.f;
    d.bg_lambda[i] = pop == 3 ? 0.0 : 0.9 + 0.2 * pop;
    d.bg_weight[i] = pop == 1 ? 50.f : 87.8f;
  }
  State s_ref = make_state(g, v0_of(n, 13));
  const SimResult ref = simulate_reference(g, p, d, s_ref, T, {3, 1400});
  ASSERT_GT(ref.spikes.neuron.size(), 500u);
  // Both ways of finding a thread's part of a delay group (a table, a search).
  for (mc::detail::CutMode mode : {mc::detail::CutMode::per_thread, mc::detail::CutMode::groups})
    for (int threads : {1, 2, 3}) {
      State s = make_state(g, v0_of(n, 13));
      const SimResult r = mc::detail::simulate_cpu_threads(g, p, d, s, T, {3, 1400}, threads, mode);
      const int m = static_cast<int>(mode);
      EXPECT_EQ(r.spikes.neuron, ref.spikes.neuron) << threads << " threads, mode " << m;
      EXPECT_EQ(r.spikes.step_ptr, ref.spikes.step_ptr) << threads << " threads, mode " << m;
      EXPECT_EQ(r.v_trace, ref.v_trace) << threads << " threads, mode " << m;
      EXPECT_EQ(s.ring, s_ref.ring) << threads << " threads, mode " << m;
    }
}

// CUDA against the CPU: sums by atomics in another order and fused multiply-adds change the
// last bits, and near-threshold neurons may then flip; the spike sets must still agree closely.
TEST(Microcircuit, CudaMatchesCpu) {
  RSNN_SKIP_WITHOUT_CUDA();
  const int64_t n = 400, T = 300;
  const DelayCsr g = random_net(n, 12000, 25, 3);
  const LifPropagators p = make_propagators(NeuronParams{}, kDt);
  const Drive d = busy_drive(n, 4);
  State sc = make_state(g, v0_of(n, 5)), sg = make_state(g, v0_of(n, 5));
  const SimResult c = simulate_cpu(g, p, d, sc, T, {0, 17});
  const SimResult x = simulate_cuda(g, p, d, sg, T, {0, 17});
  ASSERT_EQ(x.spikes.steps(), T);
  ASSERT_GT(c.spikes.neuron.size(), 200u);
  // Before the first divergence the runs agree exactly in spikes; count matching events.
  int64_t same = 0;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<int32_t> a(c.spikes.neuron.begin() + c.spikes.step_ptr[t], c.spikes.neuron.begin() + c.spikes.step_ptr[t + 1]);
    for (int64_t k = x.spikes.step_ptr[t]; k < x.spikes.step_ptr[t + 1]; ++k)
      same += std::count(a.begin(), a.end(), x.spikes.neuron[k]);
  }
  EXPECT_GE(same, static_cast<int64_t>(0.98 * c.spikes.neuron.size()));
  EXPECT_NEAR(double(x.spikes.neuron.size()), double(c.spikes.neuron.size()), 0.02 * c.spikes.neuron.size());
  EXPECT_EQ(sg.step, T);
}

TEST(Microcircuit, BadInputIsAnError) {
  NeuronParams np;
  np.t_ref = 2.05;
  EXPECT_THROW(make_propagators(np, kDt), Error);
  np = NeuronParams{};
  np.v_reset = np.v_th;
  EXPECT_THROW(make_propagators(np, kDt), Error);
  EXPECT_THROW(make_propagators(NeuronParams{}, 0.0), Error);
  EXPECT_THROW(delay_csr_from_lists(2, {0}, {1}, {1.f}, {0}), Error);
  EXPECT_THROW(delay_csr_from_lists(2, {0}, {1}, {1.f}, {256}), Error);
  EXPECT_THROW(delay_csr_from_lists(2, {0}, {2}, {1.f}, {1}), Error);
  EXPECT_THROW(delay_csr_from_lists(DelayCsr::kMaxNeurons + 1, {}, {}, {}, {}), Error);  // 24-bit targets
  // The packed word keeps the target and the delay apart at the extremes.
  const DelayCsr big = delay_csr_from_lists(DelayCsr::kMaxNeurons, {0}, {int32_t(DelayCsr::kMaxNeurons - 1)}, {1.f}, {255});
  EXPECT_EQ(big.target(0), DelayCsr::kMaxNeurons - 1);
  EXPECT_EQ(big.delay(0), 255);
  const DelayCsr g = delay_csr_from_lists(2, {0}, {1}, {1.f}, {3});
  const LifPropagators p = make_propagators(NeuronParams{}, kDt);
  State s = make_state(g, {0.f, 0.f});
  EXPECT_THROW(simulate_cpu(g, p, quiet_drive(3), s, 5), Error);
  Drive d = quiet_drive(2);
  d.bg_lambda[0] = -1;
  EXPECT_THROW(simulate_reference(g, p, d, s, 5), Error);
  d = quiet_drive(2);
  EXPECT_THROW(simulate_cpu(g, p, d, s, 5, {2}), Error);
  EXPECT_THROW(simulate_cpu(g, p, d, s, -1), Error);
  State wrong = make_state(delay_csr_from_lists(2, {0}, {1}, {1.f}, {9}), {0.f, 0.f});
  EXPECT_THROW(simulate_cpu(g, p, d, wrong, 5), Error);
  // Rows must be ordered by (delay, target): the optimized op refuses another order.
  DelayCsr unordered = delay_csr_from_lists(3, {0, 0}, {1, 2}, {1.f, 1.f}, {2, 3});
  std::swap(unordered.syn[0], unordered.syn[1]);
  State s3 = make_state(unordered, {0.f, 0.f, 0.f});
  test::expect_error([&] { simulate_cpu(unordered, p, quiet_drive(3), s3, 5); }, "not ordered by delay");
  EXPECT_THROW(unordered.validate("test"), Error);
  if (!cuda_usable()) {
    EXPECT_THROW(simulate_cuda(g, p, d, s, 5), Error);
  }
}
