// The LIF options of the original LIF_network_fnc.m that the CLI exposes (issue 17 item 6):
// the single-exponential synapse, the refractory period (and its sweep), the optogenetic-style
// stimulation (`stims`), and the recording of synaptic currents, td0 and W.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <string>
#include <vector>

#include "models/rate/grid_search.h"
#include "models/rate/lif_convert.h"
#include "models/rate/model_file.h"
#include "models/rate/rate_train.h"
#include "test_util.h"

using namespace rsnn;
using namespace rsnn::rate;

namespace {

RateNet small_net(int N = 20) {
  RateConfig cfg;
  cfg.N = N;
  cfg.n_in = 1;
  cfg.som_N = 1;
  return init_rate_net(cfg, 3);
}

LifTrialResult run(const LifNetwork& lif, LifRecord rec = {}) {
  const Trial t = make_trial(task_defaults(TaskKind::go_nogo), 5, 0, 1);
  rec.stride = 1;
  return simulate_lif(lif, t.u.data(), t.Tc, 5, 0, rec);
}

LifParams quiet() {
  LifParams p;
  p.noise_std = 0;  // the membrane then moves only by the dynamics under test
  return p;
}

std::vector<double> read_h5(hid_t f, const char* name, std::vector<hsize_t>* dims = nullptr) {
  hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
  EXPECT_GE(ds, 0) << name;
  if (ds < 0) return {};
  hid_t sp = H5Dget_space(ds);
  std::vector<hsize_t> d(H5Sget_simple_extent_ndims(sp));
  H5Sget_simple_extent_dims(sp, d.data(), nullptr);
  H5Sclose(sp);
  size_t n = 1;
  for (hsize_t x : d) n *= x;
  std::vector<double> v(n);
  H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  H5Dclose(ds);
  if (dims) *dims = d;
  return v;
}

}  // namespace

// Step 1: the units starting above threshold spike. The single-exponential IPSC jumps at
// once by sum_k W[i,k] / td_i (IPSC = IPSC e^{-dt/td} + JD / td); the double-exponential one
// is still 0 after the step (it integrates the OLD h).
TEST(RateLifOptions, SingleExponentialSynapseJumpsAtOnce) {
  const RateNet net = small_net();
  LifParams p = quiet();
  p.tr = 0;
  const LifNetwork single = convert_to_lif(net, 20, p);
  LifRecord rec;
  rec.ipsc = rec.spikes = true;
  const LifTrialResult r = run(single, rec);
  const int N = single.N;
  std::vector<double> jd(N, 0.0);
  int fired = 0;
  for (size_t e = 0; e < r.spike_step.size() && r.spike_step[e] == 0; ++e, ++fired)
    for (int i = 0; i < N; ++i) jd[i] += single.WT[size_t(r.spike_unit[e]) * N + i];
  ASSERT_GT(fired, 0);
  const int64_t n_rec = r.nt;
  double moved = 0;
  for (int i = 0; i < N; ++i) {
    EXPECT_NEAR(r.ipsc[size_t(i) * n_rec + 0], jd[i] / single.td[i], 1e-4 * (1 + std::fabs(jd[i] / single.td[i])));
    moved += std::fabs(jd[i]);
  }
  EXPECT_GT(moved, 0);
  const LifNetwork dbl = convert_to_lif(net, 20, quiet());
  const LifTrialResult d = run(dbl, rec);
  for (int i = 0; i < N; ++i) EXPECT_EQ(d.ipsc[size_t(i) * n_rec + 0], 0.f);
  EXPECT_NE(d.ipsc[size_t(0) * n_rec + 5], r.ipsc[size_t(0) * n_rec + 5]);
}

// After the volley of step 1 (t = dt) a unit stays at the reset potential while
// t <= tlast + tref, then integrates again.
TEST(RateLifOptions, RefractoryPeriodHoldsTheMembraneAtReset) {
  const RateNet net = small_net();
  for (double tref : {0.0, 0.002, 0.005}) {
    SCOPED_TRACE(tref);
    LifParams p = quiet();
    p.tref = tref;
    const LifNetwork lif = convert_to_lif(net, 20, p);
    LifRecord rec;
    rec.voltage = true;
    const LifTrialResult r = run(lif, rec);
    const int64_t n_rec = r.nt, held = std::llround(tref / 0.00005);  // steps after the spike
    int checked = 0;
    for (int i = 0; i < lif.N; ++i) {
      const float* v = &r.v[size_t(i) * n_rec];
      if (v[0] != 30.f) continue;  // spiked at step 1 (drawn at +30 mV)
      ++checked;
      for (int64_t c = 1; c < held; ++c) ASSERT_EQ(v[c], float(p.vreset)) << "unit " << i << " step " << c + 1;
      EXPECT_NE(v[held + 1], float(p.vreset)) << "unit " << i;
    }
    EXPECT_GT(checked, 0);
  }
}

// The stimulated units move by exactly +-amp on the first stimulated step whose coin comes up;
// nothing differs before the window.
TEST(RateLifOptions, StimulationMovesOnlyTheChosenUnitsInTheWindow) {
  const RateNet net = small_net();
  LifRecord rec;
  rec.voltage = true;
  const LifNetwork base = convert_to_lif(net, 20, quiet());
  const LifTrialResult b = run(base, rec);
  for (int sign : {1, -1}) {
    SCOPED_TRACE(sign);
    LifParams p = quiet();
    p.stims.sign = sign;
    p.stims.on = 2000;
    p.stims.off = 2400;
    p.stims.units = {3, 7};
    const LifNetwork lif = convert_to_lif(net, 20, p);
    const LifTrialResult s = run(lif, rec);
    const int64_t n_rec = s.nt;
    int64_t first = -1;
    for (int64_t c = 0; c < n_rec && first < 0; ++c)
      for (int i = 0; i < lif.N; ++i)
        if (s.v[size_t(i) * n_rec + c] != b.v[size_t(i) * n_rec + c]) first = c;
    ASSERT_GE(first, p.stims.on - 1);  // column c is step c + 1
    ASSERT_LT(first, p.stims.off - 1);
    for (int i = 0; i < lif.N; ++i) {
      const float vs = s.v[size_t(i) * n_rec + first], vb = b.v[size_t(i) * n_rec + first];
      if (i == 3 || i == 7) {
        if (vs != 30.f && vb != 30.f) {  // neither drawn as a spike
          EXPECT_NEAR(vs - vb, 0.5 * sign, 1e-4) << "unit " << i;
        }
      } else {
        EXPECT_EQ(vs, vb) << "unit " << i;
      }
    }
  }
  // Bad settings are errors.
  LifParams p = quiet();
  p.stims.sign = 1, p.stims.on = 5, p.stims.off = 10, p.stims.units = {3, 3};
  test::expect_error([&] { convert_to_lif(net, 20, p); }, "listed twice");
  p.stims.units = {20};
  test::expect_error([&] { convert_to_lif(net, 20, p); }, "units must be in [0, 20)");
  p.stims.units = {1}, p.stims.off = 5;
  test::expect_error([&] { convert_to_lif(net, 20, p); }, "1 <= on < off");
}

// The CUDA kernel has no stimulation: lif_performance runs such a network on the CPU, with
// the same result (this passes without a GPU only through that fallback).
TEST(RateLifOptions, StimulationFallsBackToTheCpu) {
  const RateNet net = small_net();
  LifParams p;
  p.downsample = 4;
  p.stims.sign = -1, p.stims.on = 100, p.stims.off = 3000, p.stims.units = {0, 1, 2};
  const LifNetwork lif = convert_to_lif(net, 20, p);
  const std::vector<uint64_t> ids = {grid_trial_id(0), grid_trial_id(1), grid_trial_id(2)};
  const TaskSpec task = task_defaults(TaskKind::go_nogo);
  EXPECT_EQ(lif_performance(lif, task, 3, ids, true), lif_performance(lif, task, 3, ids, false));
}

TEST(RateLifOptions, CliSweepsTrefAndRecordsIpscTd0AndW) {
  test::TempDir dir("rsnn_lif_opts");
  RateModel m;
  m.net = small_net(16);
  m.task = task_defaults(TaskKind::go_nogo);
  const std::string model = dir.path("m.h5"), record = dir.path("rec.h5");
  save_rate_model(model, m);
  const test::CmdResult sweep = test::run_rsnn("spiking eval --model " + model +
                                               " --scaling-factor 20 --trials 3 --downsample 4 --threads 1 --tref 0,2,50");
  ASSERT_EQ(sweep.rc, 0) << sweep.out;
  for (const char* t : {", tref 0 ms", ", tref 2 ms", ", tref 50 ms"}) EXPECT_NE(sweep.out.find(t), std::string::npos) << sweep.out;
  const test::CmdResult ev = test::run_rsnn(
      "spiking eval --model " + model + " --scaling-factor 20 --trials 2 --downsample 4 --threads 1 --synapse single "
      "--stims exc --stim-steps 10,500 --stim-units inh --plot off --n-record 1 --stride 5 --record " + record);
  ASSERT_EQ(ev.rc, 0) << ev.out;
  EXPECT_NE(ev.out.find("single-exponential synapse, exc stimulation of"), std::string::npos) << ev.out;
  LifParams p;
  p.downsample = 4;
  p.tr = 0;
  const LifNetwork lif = convert_to_lif(load_rate_model(model).net, 20, p);
  hid_t f = H5Fopen(record.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  std::vector<hsize_t> dims;
  const auto W = read_h5(f, "W", &dims);
  ASSERT_EQ(dims, (std::vector<hsize_t>{16, 16}));
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k) EXPECT_DOUBLE_EQ(W[size_t(i) * 16 + k], lif.WT[size_t(k) * 16 + i]);
  EXPECT_EQ(read_h5(f, "td0"), lif.td0);
  EXPECT_EQ(read_h5(f, "tr"), std::vector<double>{0.0});
  const auto ipsc = read_h5(f, "trial_0/ipsc", &dims);
  ASSERT_EQ(dims.size(), 2u);
  EXPECT_EQ(dims[0], 16u);
  EXPECT_EQ(dims[1], hsize_t((lif.steps_for(201) + 4) / 5));
  double sum = 0;
  for (double x : ipsc) sum += std::fabs(x);
  EXPECT_GT(sum, 0);
  const auto units = read_h5(f, "stim_units");
  for (double u : units) EXPECT_TRUE(lif.inh[size_t(u)]);
  H5Fclose(f);
  // Invalid values name their flag.
  const test::CmdResult bad = test::run_rsnn("spiking eval --model " + model + " --scaling-factor 20 --tref 2,-1");
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.out.find("--tref"), std::string::npos) << bad.out;
}

// The grid search takes the synapse and the refractory period too: its result is the
// library's grid search under the same LIF parameters.
TEST(RateLifOptions, GridSearchTakesSynapseAndTref) {
  test::TempDir dir("rsnn_lif_opts_grid");
  RateModel m;
  m.net = small_net(16);
  m.task = task_defaults(TaskKind::go_nogo);
  const std::string model = dir.path("m.h5");
  save_rate_model(model, m);
  const test::CmdResult gs = test::run_rsnn("spiking grid-search --model " + model +
                                            " --scaling-factors 10,20,40 --trials 6 --downsample 4 --threads 2 "
                                            "--synapse single --tref 5 --device cpu");
  ASSERT_EQ(gs.rc, 0) << gs.out;
  EXPECT_NE(gs.out.find("single-exponential synapse, tref 5 ms"), std::string::npos) << gs.out;
  GridSearchConfig cfg;
  cfg.scaling_factors = {10, 20, 40};
  cfg.n_trials = 6;
  cfg.lif.downsample = 4;
  cfg.lif.tr = 0;
  cfg.lif.tref = 0.005;
  const GridSearchResult want = grid_search(m.net, m.task, cfg);
  EXPECT_EQ(load_rate_model(model).all_perfs, want.all_perfs);
  const test::CmdResult bad = test::run_rsnn("spiking grid-search --model " + model + " --tref 1,2 --force");
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.out.find("--tref: the grid search takes one value"), std::string::npos) << bad.out;
}
