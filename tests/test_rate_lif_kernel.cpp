// Parity of the converted-LIF simulation kernels (kernels/rate_lif.h) over {reference,
// optimized CPU, CUDA} on random networks built directly from arrays: the same spikes and
// records, outputs equal up to FMA contraction and the readout's sum order; CUDA within a
// tolerance in the early steps (skips without a device). Plus the kernels' input checks.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/rate_lif.h"
#include "runtime/error.h"
#include "runtime/philox.h"
#include "test_util.h"

using namespace rsnn;
using namespace rsnn::kernels::rate_lif;
using rsnn::test::expect_error;

namespace {

// A random E/I network of N units with C inputs (arrays owned here, viewed by `view`).
struct RandomNet {
  int N, C;
  std::vector<double> WT, w_in, w_out, exp_td, jump;
  std::vector<int> stim_units;
  NetView view;
  std::vector<float> u;  // (C, Tcs)
  int Tcs;

  RandomNet(int n, int c, int tcs, double tr, uint64_t seed) : N(n), C(c), Tcs(tcs) {
    LifConsts k{};
    k.dt = 5e-5, k.tref = 0.002, k.tm = 0.01, k.inv_tm = 100, k.vreset = -65, k.vpeak = -40;
    k.bias = -40, k.tr = tr, k.exp_tr = tr > 0 ? std::exp(-k.dt / tr) : 0.0, k.noise_std = 0.1;
    k.spike_peak = 30;
    const auto U = [&](uint64_t stream, uint64_t i) { return philox::uniform_f64(seed, stream, i); };
    WT.resize(size_t(N) * N);
    for (size_t i = 0; i < WT.size(); ++i) {
      const bool inh = (i / size_t(N)) % 5 == 0;  // every fifth presynaptic unit inhibits
      WT[i] = U(1, i) < 0.2 ? (inh ? -4.0 : 1.0) * 2.0 * U(2, i) : 0.0;
    }
    for (int i = 0; i < N * C; ++i) w_in.push_back(40 * (U(3, i) - 0.3));
    for (int i = 0; i < N; ++i) {
      w_out.push_back(U(4, i) - 0.5);
      const double td = 0.02 + 0.08 * U(5, i);
      exp_td.push_back(std::exp(-k.dt / td));
      jump.push_back(lif_filter_jump(k, td));
    }
    for (int i = 0; i < C * Tcs; ++i) u.push_back(float(U(6, i) < 0.5 ? 0.0 : U(7, i)));
    for (int i = 1; i < N; i += 3) stim_units.push_back(i);
    view.N = N, view.C = C, view.c = k;
    view.WT = WT.data(), view.w_in = w_in.data(), view.w_out = w_out.data();
    view.exp_td = exp_td.data(), view.jump = jump.data();
  }
  void stimulate(int sign, int64_t on, int64_t off) {
    view.stim_sign = sign, view.stim_on = on, view.stim_off = off, view.stim_amp = 0.5;
    view.stim_units = stim_units.data(), view.n_stim_units = int(stim_units.size());
  }
  int64_t steps() const { return int64_t(Tcs - 1) * 100; }
};

TrialKeys keys(uint64_t trial) { return {77, 1000 + trial, 2000 + trial, 3000 + trial}; }

void expect_same(const Result& a, const Result& b, const std::string& what) {
  ASSERT_EQ(a.nt, b.nt) << what;
  ASSERT_EQ(a.spike_step, b.spike_step) << what;
  ASSERT_EQ(a.spike_unit, b.spike_unit) << what;
  EXPECT_EQ(a.n_spikes, b.n_spikes) << what;
  ASSERT_EQ(a.fr, b.fr) << what;  // counts over the same time: exact
  ASSERT_EQ(a.out.size(), b.out.size()) << what;
  for (size_t k = 0; k < a.out.size(); ++k)
    ASSERT_NEAR(a.out[k], b.out[k], 1e-5 * (1 + std::fabs(b.out[k]))) << what << " step " << k;
  for (const auto& [x, y, name] : {std::tuple{&a.v, &b.v, "v"}, {&a.rs, &b.rs, "rs"}, {&a.ipsc, &b.ipsc, "ipsc"}}) {
    ASSERT_EQ(x->size(), y->size()) << what << " " << name;
    for (size_t k = 0; k < x->size(); ++k)
      ASSERT_NEAR((*x)[k], (*y)[k], 1e-4 * (1 + std::fabs((*y)[k]))) << what << " " << name << " " << k;
  }
}

}  // namespace

TEST(RateLifKernel, OptimizedCpuMatchesReference) {
  for (double tr : {0.002, 0.0}) {
    for (int stim : {0, 1, -1}) {
      for (int N : {1, 13, 64}) {
        RandomNet net(N, 3, 7, tr, 5 + uint64_t(N));
        if (stim != 0) net.stimulate(stim, 120, 450);
        Record rec;
        rec.spikes = rec.voltage = rec.rates = rec.ipsc = true;
        rec.stride = N == 13 ? 7 : 1;
        const std::string what =
            "tr " + std::to_string(tr) + " stim " + std::to_string(stim) + " N " + std::to_string(N);
        const Result ref = simulate_ref(net.view, net.u.data(), net.Tcs, net.steps(), keys(N), rec);
        const Result cpu = simulate_cpu(net.view, net.u.data(), net.Tcs, net.steps(), keys(N), rec);
        expect_same(cpu, ref, what);
        if (N == 64) {
          EXPECT_GT(ref.n_spikes, 100) << what;  // the comparison sees spikes
        }
      }
    }
  }
}

TEST(RateLifKernel, StimulationAndNoiseChangeTheTrial) {
  RandomNet net(32, 2, 5, 0.002, 9);
  Record rec;
  rec.voltage = true;
  const Result base = simulate_cpu(net.view, net.u.data(), net.Tcs, net.steps(), keys(0), rec);
  net.stimulate(1, 100, 200);
  const Result stim = simulate_cpu(net.view, net.u.data(), net.Tcs, net.steps(), keys(0), rec);
  EXPECT_NE(base.v, stim.v);
  const Result other = simulate_cpu(net.view, net.u.data(), net.Tcs, net.steps(), keys(1), rec);
  EXPECT_NE(stim.v, other.v);  // another trial: other initial potentials and noise
}

TEST(RateLifKernel, CudaMatchesCpu) {
  RSNN_SKIP_WITHOUT_CUDA();
  RandomNet net(100, 3, 9, 0.002, 4);
  const int B = 4;
  std::vector<float> u;
  std::vector<TrialKeys> k;
  for (int b = 0; b < B; ++b) {
    u.insert(u.end(), net.u.begin(), net.u.end());
    k.push_back(keys(uint64_t(b)));
  }
  const int64_t nt = net.steps();
  std::vector<float> out(size_t(B) * nt);
  std::vector<int64_t> ns(B);
  simulate_cuda(net.view, u.data(), B, net.Tcs, nt, k.data(), out.data(), ns.data());
  for (int b = 0; b < B; ++b) {
    const Result cpu = simulate_cpu(net.view, net.u.data(), net.Tcs, nt, k[b]);
    for (int64_t s = 0; s < 100; ++s)  // before last-bit differences can change a spike
      ASSERT_NEAR(out[size_t(b) * nt + s], cpu.out[s], 1e-4 * (1 + std::fabs(cpu.out[s]))) << b << " " << s;
    EXPECT_NEAR(double(ns[b]), double(cpu.n_spikes), 0.1 * double(cpu.n_spikes) + 5) << b;
  }
}

TEST(RateLifKernel, RefusesInconsistentInput) {
  RandomNet net(8, 2, 3, 0.002, 1);
  const float* u = net.u.data();
  expect_error([&] { simulate_cpu(net.view, u, net.Tcs, 250, keys(0)); }, "read input column 3");
  expect_error([&] { simulate_ref(net.view, u, 0, 0, keys(0)); }, "at least one input column");
  Record rec;
  rec.stride = 0;
  expect_error([&] { simulate_cpu(net.view, u, net.Tcs, 200, keys(0), rec); }, "stride");
  NetView bad = net.view;
  bad.WT = nullptr;
  expect_error([&] { simulate_ref(bad, u, net.Tcs, 200, keys(0)); }, "missing");
  net.stimulate(1, 1, 10);
  net.stim_units[0] = 8;
  expect_error([&] { simulate_cpu(net.view, u, net.Tcs, 200, keys(0)); }, "outside [0, 8)");
  net.view.stim_sign = 2;
  expect_error([&] { simulate_ref(net.view, u, net.Tcs, 200, keys(0)); }, "sign");
}
