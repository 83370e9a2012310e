// The LIF network converted from a rate RNN: one neuron vs the closed-form LIF rate with a
// refractory period, the synaptic filters vs their analytic impulse responses, batched
// trials bit-identical to one-at-a-time, and the conversion itself.
#include <gtest/gtest.h>

#include <cmath>

#include "models/rate/lif_convert.h"
#include "kernels/rate_lif_noise.h"
#include "models/rate/rng.h"
#include "runtime/philox.h"
#include "models/rate/rate_rnn.h"
#include "models/rate/tasks.h"
#include "runtime/threads.h"

using namespace rsnn;
using namespace rsnn::rate;
using namespace rsnn::kernels::rate_lif;

namespace {
LifNetwork hand_network(int N, int C, const LifParams& p, double td) {
  LifNetwork net;
  net.N = N;
  net.C = C;
  net.p = p;
  net.WT.assign(size_t(N) * N, 0.0);
  net.w_in.assign(size_t(N) * C, 0.0);
  net.w_out.assign(N, 0.0);
  net.td.assign(N, td);
  net.td0 = net.td;
  net.exp_td.assign(N, std::exp(-p.dt * p.downsample / td));
  net.jump.assign(N, lif_filter_jump(p.consts(), td));
  net.inh.assign(N, 0);
  return net;
}

// A short Go-NoGo task: T steps, the stimulus on steps [stim_on, stim_on + stim_dur).
TaskSpec short_go_nogo(int64_t T, int64_t stim_on, int64_t stim_dur) {
  TaskSpec task = task_defaults(TaskKind::go_nogo);
  task.T = T;
  task.stim_on = stim_on;
  task.stim_dur = stim_dur;
  return task;
}
}  // namespace

TEST(RateLif, InputColumnIsMatlabRound) {
  EXPECT_EQ(lif_input_column(1), 0);
  EXPECT_EQ(lif_input_column(49), 0);
  EXPECT_EQ(lif_input_column(50), 1);  // round(0.5) = 1 (half away from zero)
  EXPECT_EQ(lif_input_column(149), 1);
  EXPECT_EQ(lif_input_column(150), 2);
  EXPECT_EQ(lif_input_column(20000), 200);  // the last of 201 columns
}

TEST(RateLif, SingleNeuronMatchesClosedFormRate) {
  LifParams p;
  p.noise_std = 0;
  p.v_init_lo = p.v_init_hi = p.vreset;
  for (double ext : {4.0, 10.0, 30.0}) {
    LifNetwork net = hand_network(1, 1, p, 0.02);
    net.w_in[0] = ext;
    const int Tc = 401;  // 2 s
    std::vector<float> u(Tc, 1.f);
    LifRecord rec;
    rec.spikes = true;
    auto r = simulate_lif(net, u.data(), Tc, 1, 0, rec);
    ASSERT_GT(r.spike_step.size(), 20u) << ext;
    const double I = p.bias + ext;
    const double f = 1.0 / (p.tref + p.tm * std::log((I - p.vreset) / (I - p.vpeak)));
    const double span = (r.spike_step.back() - r.spike_step.front()) * p.dt;
    const double f_sim = double(r.spike_step.size() - 1) / span;
    EXPECT_NEAR(f_sim, f, 0.015 * f) << "I = " << I;
  }
  // Below rheobase (I < vpeak) the noiseless neuron never fires.
  LifNetwork quiet = hand_network(1, 1, p, 0.02);
  quiet.w_in[0] = -1;
  std::vector<float> u(101, 1.f);
  EXPECT_EQ(simulate_lif(quiet, u.data(), 101, 1, 0).n_spikes, 0);
}

TEST(RateLif, SynapticFiltersMatchAnalyticImpulseResponses) {
  for (double tr : {0.002, 0.0}) {
    LifParams p;
    p.noise_std = 0;
    p.v_init_lo = p.v_init_hi = -30;  // both neurons fire once at step 1 ...
    p.bias = -70;                     // ... and never again
    p.tr = tr;
    const double td = 0.03, w = 0.5;
    LifNetwork net = hand_network(2, 1, p, td);
    net.WT[0 * 2 + 1] = w;  // W[1, 0]: neuron 0 -> neuron 1
    LifRecord rec;
    rec.rates = rec.ipsc = rec.spikes = true;
    const int Tc = 101;  // 0.5 s
    std::vector<float> u(Tc, 0.f);
    auto r = simulate_lif(net, u.data(), Tc, 1, 0, rec);
    ASSERT_EQ(r.n_spikes, 2);
    const int64_t nt = r.nt;
    auto K = [&](double t) {  // unit-area kernels, t after the spike
      if (t < 0) return 0.0;
      return tr > 0 ? (std::exp(-t / td) - std::exp(-t / tr)) / (td - tr) : std::exp(-t / td) / td;
    };
    double peak = 0, area = 0, max_err = 0;
    for (int64_t k = 0; k < nt; ++k) peak = std::max(peak, K(k * p.dt));
    for (int64_t k = 0; k < nt; ++k) {
      const double rk = r.rs[k];  // neuron 0, step k+1 (0-based k); spike at step 1
      area += rk * p.dt;
      // the filter sees the spike at the end of step 1 and integrates with the old state
      const double t = (k - (tr > 0 ? 0.5 : 0.0)) * p.dt;
      max_err = std::max(max_err, std::fabs(rk - K(t)));
      ASSERT_NEAR(r.ipsc[nt + k], w * rk, 1e-5 * peak) << k;  // IPSC_1 = W[1,0] x same kernel
    }
    // Unit area up to the Euler sums: dt / (1 - exp(-dt / tau)) per exponential stage.
    const double stage_d = p.dt / (1 - std::exp(-p.dt / td)) / td;
    const double stage_r = tr > 0 ? p.dt / (1 - std::exp(-p.dt / tr)) / tr : 1.0;
    EXPECT_NEAR(area, stage_d * stage_r, 1e-6) << "tr " << tr;
    EXPECT_NEAR(area, 1.0, 0.015) << "tr " << tr;
    EXPECT_LT(max_err, 0.03 * peak) << "tr " << tr;
  }
}

TEST(RateLif, BatchIsBitIdenticalToOneAtATime) {
  RateConfig cfg;
  cfg.N = 60;
  RateNet rate = init_rate_net(cfg, 8);
  LifNetwork lif = convert_to_lif(rate, 10.0);
  const TaskSpec task = short_go_nogo(60, 10, 10);
  std::vector<Trial> trials;
  std::vector<uint64_t> ids = {3, 0, 17, 5, 9};
  for (auto id : ids) trials.push_back(make_trial(task, 2, id, 1));
  LifRecord rec;
  rec.spikes = true;
  auto batch = simulate_lif_batch(lif, trials, 77, ids, rec);
  int64_t spikes = 0;
  for (size_t k = 0; k < ids.size(); ++k) {
    auto one = simulate_lif(lif, trials[k].u.data(), trials[k].Tc, 77, ids[k], rec);
    ASSERT_EQ(one.out, batch[k].out) << k;  // bit-exact
    ASSERT_EQ(one.spike_step, batch[k].spike_step);
    ASSERT_EQ(one.spike_unit, batch[k].spike_unit);
    for (float x : one.out) ASSERT_TRUE(std::isfinite(x));
    spikes += one.n_spikes;
  }
  EXPECT_GT(spikes, 100);
  // another trial id or seed gives another simulation
  auto other = simulate_lif(lif, trials[0].u.data(), trials[0].Tc, 78, ids[0], rec);
  EXPECT_NE(other.out, batch[0].out);
}

TEST(RateLif, BatchIsIndependentOfThreadCountAndRecording) {
  RateConfig cfg;
  cfg.N = 37;  // not a multiple of the vector width
  RateNet rate = init_rate_net(cfg, 4);
  const TaskSpec task = short_go_nogo(40, 5, 10);
  std::vector<Trial> trials;
  std::vector<uint64_t> ids;
  for (uint64_t k = 0; k < 6; ++k) {
    trials.push_back(make_trial(task, 3, k, 1));
    ids.push_back(k + 100);
  }
  for (double tr : {0.002, 0.0}) {
    LifParams p;
    p.tr = tr;
    LifNetwork lif = convert_to_lif(rate, 8.0, p);
    const int before = num_threads();
    set_num_threads(1);
    auto one = simulate_lif_batch(lif, trials, 5, ids);
    set_num_threads(2);
    auto two = simulate_lif_batch(lif, trials, 5, ids);
    set_num_threads(before);
    LifRecord rec;
    rec.voltage = rec.rates = rec.ipsc = rec.spikes = true;
    rec.stride = 3;
    int64_t spikes = 0;
    for (size_t k = 0; k < trials.size(); ++k) {
      ASSERT_EQ(one[k].out, two[k].out) << k;
      ASSERT_EQ(one[k].fr, two[k].fr) << k;
      // recording changes nothing in the simulation
      auto recd = simulate_lif(lif, trials[k].u.data(), trials[k].Tc, 5, ids[k], rec);
      ASSERT_EQ(recd.out, one[k].out) << k;
      ASSERT_EQ(recd.n_spikes, one[k].n_spikes);
      ASSERT_EQ(int64_t(recd.spike_step.size()), recd.n_spikes);
      // the voltage record shows +30 mV exactly at the recorded spikes
      const int64_t n_rec = (recd.nt + 2) / 3;
      int64_t peaks = 0, rec_spikes = 0;
      for (float x : recd.v) peaks += x == 30.0f;
      for (int32_t st : recd.spike_step) rec_spikes += st % 3 == 0;
      EXPECT_EQ(peaks, rec_spikes);
      ASSERT_EQ(int64_t(recd.v.size()), int64_t(lif.N) * n_rec);
      spikes += one[k].n_spikes;
    }
    EXPECT_GT(spikes, 50) << "tr " << tr;
  }
}

TEST(RateLif, MatchesThePlainReferenceLoop) {
  RateConfig cfg;
  cfg.N = 45;
  RateNet rate = init_rate_net(cfg, 6);
  const TaskSpec task = short_go_nogo(8, 2, 3);  // 700 LIF steps
  for (double tr : {0.002, 0.0}) {
    LifParams p;
    p.tr = tr;
    LifNetwork lif = convert_to_lif(rate, 4.0, p);
    for (uint64_t id : {0, 1}) {
      Trial t = make_trial(task, 1, id, 1);
      LifRecord rec;
      rec.spikes = true;
      auto got = simulate_lif(lif, t.u.data(), t.Tc, 9, id, rec);
      // the kernels' plain reference, on the same subsampled input and Philox streams
      const auto ref = kernels::rate_lif::simulate_ref(
          lif.view(), t.u.data(), t.Tc, lif.steps_for(t.Tc),
          {9, stream_id(Draw::lif_init, id), stream_id(Draw::lif_noise, id), stream_id(Draw::lif_stim, id)}, rec);
      // the same spikes; outputs equal up to FMA contraction and the readout's sum order
      ASSERT_EQ(got.spike_step, ref.spike_step) << "tr " << tr << " trial " << id;
      ASSERT_EQ(got.spike_unit, ref.spike_unit);
      EXPECT_GT(got.n_spikes, 45);
      ASSERT_EQ(got.out.size(), ref.out.size());
      for (size_t k = 0; k < got.out.size(); ++k)
        ASSERT_NEAR(got.out[k], ref.out[k], 1e-5 * (1 + std::fabs(ref.out[k]))) << k;
    }
  }
}

TEST(RateLif, ConversionScalesSignedWeightsAndUsesTrainedTaus) {
  RateConfig cfg;
  cfg.N = 30;
  cfg.som_N = 2;
  cfg.taus = {4, 10};
  RateNet rate = init_rate_net(cfg, 5);
  // make a few raw weights negative: the converted network must use relu(w) (spec §7.2)
  auto w = rate.w.to_vector<float>();
  for (size_t k = 0; k < w.size(); k += 13) w[k] = -std::fabs(w[k]) - 0.1f;
  rate.w = Tensor::from_vector(w, {30, 30});
  LifNetwork lif = convert_to_lif(rate, 25.0);
  auto weff = rate.w_eff().to_vector<float>();
  for (int i = 0; i < 30; ++i)
    for (int k = 0; k < 30; ++k) {
      const double W = lif.WT[k * 30 + i];
      EXPECT_NEAR(W, weff[i * 30 + k] / 25.0, 1e-7);
      if (W != 0) {
        EXPECT_EQ(W < 0, bool(rate.inh[k]));
      }
    }
  auto tau = rate.tau_steps();
  auto g = rate.taus_gaus.to_vector<double>();
  for (int i = 0; i < 30; ++i) {
    EXPECT_NEAR(lif.td[i], (1 / (1 + std::exp(-g[i])) * 6 + 4) * 0.005, 1e-9);
    EXPECT_NEAR(lif.td[i], tau[i] * 0.005, 1e-12);
    EXPECT_NEAR(lif.w_out[i], rate.w_out.to_vector<double>()[i] / 25.0, 1e-12);
  }
  EXPECT_EQ(lif.steps_for(201), 20000);
  EXPECT_THROW(convert_to_lif(rate, 0.0), Error);
  EXPECT_THROW(convert_to_lif(rate, -3.0), Error);
}
