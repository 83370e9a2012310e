// Task generators of the rate-to-spiking framework: timing, shapes, labels, determinism,
// and the correctness rules (spec rate-to-spiking.md §2, §4).
#include <gtest/gtest.h>

#include <cmath>

#include "models/rate/tasks.h"
#include "runtime/error.h"

using namespace rsnn;
using namespace rsnn::rate;

namespace {
float at(const Trial& t, int c, int k) { return t.u[size_t(c) * t.Tc + k]; }
}  // namespace

TEST(RateTasks, GoNogoTimingAndTargets) {
  TaskSpec s = task_defaults(TaskKind::go_nogo);
  int go = 0;
  for (uint64_t k = 0; k < 200; ++k) {
    Trial t = make_trial(s, 7, k);
    ASSERT_EQ(t.C, 1);
    ASSERT_EQ(t.Tc, 200);
    ASSERT_EQ(t.z.size(), 200u);
    for (int i = 0; i < 200; ++i) {
      const bool in_stim = i >= 50 && i < 75;
      EXPECT_EQ(at(t, 0, i), (t.label == 1 && in_stim) ? 1.f : 0.f);
      EXPECT_EQ(t.z[i], (t.label == 1 && i >= 75) ? 1.f : 0.f);
    }
    go += t.label;
  }
  EXPECT_GT(go, 70);  // p = 0.5: 100 +- 7
  EXPECT_LT(go, 130);
  EXPECT_EQ(s.rate_window_start(), 75);
  EXPECT_EQ(s.lif_window_start(), 9999);  // MATLAB out(10000:end)
}

TEST(RateTasks, XorTimingLabelsAndWindows) {
  TaskSpec s = task_defaults(TaskKind::xor_task);
  EXPECT_EQ(s.task_end(), 160);
  EXPECT_EQ(s.lif_window_start(), 19999);
  for (uint64_t k = 0; k < 50; ++k) {
    Trial t = make_trial(s, 3, k, 1);
    ASSERT_EQ(t.Tc, 301);
    const float a = at(t, 0, 50), b = at(t, 1, 110);
    EXPECT_TRUE(a == 1.f || a == -1.f);
    EXPECT_EQ(at(t, 0, 99), a);
    EXPECT_EQ(at(t, 0, 100), 0.f);
    EXPECT_EQ(at(t, 1, 159), b);
    EXPECT_EQ(at(t, 1, 160), 0.f);
    EXPECT_EQ(at(t, 1, 109), 0.f);
    EXPECT_EQ(t.label, a * b > 0 ? 1 : -1);
    EXPECT_EQ(t.z[169], 0.f);
    EXPECT_EQ(t.z[170], float(t.label));
    EXPECT_EQ(t.z[269], float(t.label));
    EXPECT_EQ(t.z[270], 0.f);
  }
}

TEST(RateTasks, ManteContextAndNoisyStreams) {
  TaskSpec s = task_defaults(TaskKind::mante);
  double mean0 = 0;
  int n = 0;
  for (uint64_t k = 0; k < 40; ++k) {
    Trial t = make_trial(s, 11, k);
    ASSERT_EQ(t.C, 4);
    const bool ctx0 = at(t, 2, 0) == 1.f;
    EXPECT_NE(ctx0, at(t, 3, 0) == 1.f);
    EXPECT_EQ(at(t, ctx0 ? 2 : 3, 499), 1.f);  // context on for the whole trial
    EXPECT_EQ(at(t, 0, 49), 0.f);
    EXPECT_EQ(at(t, 0, 250), 0.f);
    double m0 = 0, m1 = 0;
    for (int i = 50; i < 250; ++i) m0 += at(t, 0, i) / 200.0, m1 += at(t, 1, i) / 200.0;
    // the stream mean is +-0.5 with noise of std 1/sqrt(200) = 0.07
    EXPECT_NEAR(std::fabs(m0), 0.5, 0.3);
    const double attended = ctx0 ? m0 : m1;
    EXPECT_EQ(t.label, attended > 0 ? 1 : -1);
    EXPECT_EQ(t.z[249], 0.f);
    EXPECT_EQ(t.z[250], float(t.label));
    EXPECT_EQ(t.z[499], float(t.label));
    mean0 += m0 * (m0 > 0 ? 1 : -1);
    ++n;
  }
  EXPECT_NEAR(mean0 / n, 0.5, 0.05);
  EXPECT_EQ(s.rate_window_start(), 299);
  EXPECT_EQ(s.lif_window_start(), 25999);
}

TEST(RateTasks, DmsVariants) {
  TaskSpec c = task_defaults(TaskKind::dms_cty);
  EXPECT_EQ(c.stim2_on(), 150);
  EXPECT_EQ(c.task_end(), 175);
  Trial t = make_trial(c, 5, 0);
  EXPECT_NE(at(t, 0, 50), 0.f);
  EXPECT_NE(at(t, 1, 150), 0.f);
  EXPECT_EQ(at(t, 1, 175), 0.f);
  EXPECT_EQ(t.z[174], 0.f);
  EXPECT_EQ(t.z[175], float(t.label));
  EXPECT_EQ(t.z[199], float(t.label));

  TaskSpec w = task_defaults(TaskKind::dms_wm);  // u(1,31:80), u(2,231:280) of 411 (MATLAB)
  EXPECT_EQ(w.T, 410);
  Trial tw = make_trial(w, 5, 1, 1);
  EXPECT_EQ(tw.Tc, 411);
  EXPECT_NE(at(tw, 0, 30), 0.f);
  EXPECT_EQ(at(tw, 0, 80), 0.f);
  EXPECT_NE(at(tw, 1, 230), 0.f);
  EXPECT_NE(at(tw, 1, 279), 0.f);
  EXPECT_EQ(at(tw, 1, 280), 0.f);
  TaskSpec sh = dms_wm_short();
  EXPECT_EQ(sh.delay, 10);
  EXPECT_EQ(sh.stim2_on(), 90);
  EXPECT_EQ(sh.T, sh.task_end() + 130);
}

TEST(RateTasks, DeterministicPerTrialIndex) {
  for (TaskKind k : {TaskKind::go_nogo, TaskKind::xor_task, TaskKind::mante, TaskKind::dms_cty,
                     TaskKind::dms_wm}) {
    TaskSpec s = task_defaults(k);
    Trial a = make_trial(s, 42, 17), b = make_trial(s, 42, 17), c = make_trial(s, 43, 17);
    EXPECT_EQ(a.u, b.u);
    EXPECT_EQ(a.label, b.label);
    bool differs = false;
    for (uint64_t i = 0; i < 16 && !differs; ++i)
      differs = make_trial(s, 42, i).u != c.u || make_trial(s, 42, i).label != c.label;
    EXPECT_TRUE(differs);
  }
}

TEST(RateTasks, CorrectnessRules) {
  TaskSpec s = task_defaults(TaskKind::go_nogo);
  std::vector<float> o(199, 0.f);
  EXPECT_TRUE(rate_correct(s, 0, o.data(), 199));
  EXPECT_FALSE(rate_correct(s, 1, o.data(), 199));
  o[150] = 0.8f;
  EXPECT_TRUE(rate_correct(s, 1, o.data(), 199));
  EXPECT_FALSE(rate_correct(s, 0, o.data(), 199));
  o[150] = 0.f;
  o[160] = -0.5f;  // NoGo uses |o| in the rate monitor ...
  EXPECT_FALSE(rate_correct(s, 0, o.data(), 199));
  std::vector<float> out(20000, 0.f);
  out[15000] = -0.5f;  // ... but not in the LIF grid search
  EXPECT_TRUE(lif_correct(s, 0, out.data(), 20000));
  out[9998] = 0.9f;  // before the window
  EXPECT_FALSE(lif_correct(s, 1, out.data(), 20000));
  out[9999] = 0.9f;
  EXPECT_TRUE(lif_correct(s, 1, out.data(), 20000));

  TaskSpec x = task_defaults(TaskKind::xor_task);
  std::vector<float> ox(299, 0.f);
  ox[250] = -0.75f;
  EXPECT_TRUE(rate_correct(x, -1, ox.data(), 299));
  EXPECT_FALSE(rate_correct(x, 1, ox.data(), 299));
  EXPECT_THROW(rate_correct(x, 1, ox.data(), 100), Error);
}

TEST(RateTasks, BadInputsThrow) {
  EXPECT_THROW(parse_task("stroop"), Error);
  TaskSpec s = task_defaults(TaskKind::xor_task);
  s.T = 100;  // stimuli end at 160
  EXPECT_THROW(make_trial(s, 1, 0), Error);
  EXPECT_EQ(parse_task("dms-wm"), TaskKind::dms_wm);
}
