// The three MICrONS task generators (spec §3).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "models/microns/tasks.h"
#include "test_util.h"

using namespace rsnn::microns;

namespace {
float at(const TaskData& d, int k, int t, int c) {
  return d.x[(size_t(k) * d.T + t) * d.n_in + c];
}
}  // namespace

TEST(MicronsTasks, Shapes) {
  const Task ts[3] = {Task::maze, Task::go_nogo, Task::pdm};
  const int T[3] = {50, 40, 41}, I[3] = {8, 3, 3}, O[3] = {4, 2, 2};
  for (int i = 0; i < 3; ++i) {
    const TaskData d = make_task(ts[i], 10, 1, 0);
    EXPECT_EQ(d.T, T[i]);
    EXPECT_EQ(d.n_in, I[i]);
    EXPECT_EQ(d.n_out, O[i]);
    EXPECT_EQ(d.x.size(), size_t(10) * T[i] * I[i]);
    for (int k = 0; k < 10; ++k) {
      float s = 0;
      for (int c = 0; c < d.n_out; ++c) s += d.onehot[k * d.n_out + c];
      EXPECT_EQ(s, 1.f);
      EXPECT_EQ(d.onehot[k * d.n_out + d.label[k]], 1.f);
    }
  }
}

// Each trial is one of the eight problems: goal one-hot (ch 0-3) for 20 steps, 10 blank,
// choices two-hot (ch 4-7) for 20 steps; the answer is one of the two choices.
TEST(MicronsTasks, MazeTrialsAreTheEightProblems) {
  const int goal_ch_of[8] = {1, 1, 3, 2, 2, 0, 3, 0};
  const int ans[8] = {1, 2, 3, 3, 0, 1, 2, 0};
  const TaskData d = make_task(Task::maze, 800, 3, 1);
  std::set<int> seen;
  for (int k = 0; k < d.n; ++k) {
    int goal = -1, nz_goal = 0;
    for (int c = 0; c < 8; ++c)
      if (at(d, k, 0, c) != 0) goal = c, ++nz_goal;
    ASSERT_EQ(nz_goal, 1);
    ASSERT_LT(goal, 4);
    std::vector<int> ch;
    for (int c = 0; c < 8; ++c)
      if (at(d, k, 40, c) != 0) ch.push_back(c);
    ASSERT_EQ(ch.size(), 2u);
    EXPECT_GE(ch[0], 4);
    for (int t = 20; t < 30; ++t)
      for (int c = 0; c < 8; ++c) EXPECT_EQ(at(d, k, t, c), 0.f);
    for (int t = 0; t < 20; ++t) EXPECT_EQ(at(d, k, t, goal), 1.f);
    const int l = d.label[k];
    EXPECT_TRUE(ch[0] - 4 == l || ch[1] - 4 == l);
    int id = -1;
    for (int p = 0; p < 8; ++p)
      if (goal_ch_of[p] == goal && ans[p] == l) {
        // the choice pair pins the problem down
        id = p;
      }
    ASSERT_GE(id, 0) << "trial " << k << " is none of the eight problems";
    seen.insert(id * 10 + ch[0] * 100 + ch[1]);
  }
  EXPECT_EQ(seen.size(), 8u);  // all eight problems occur
}

TEST(MicronsTasks, GoNogoLayout) {
  const TaskData d = make_task(Task::go_nogo, 400, 5, 2);
  int go = 0;
  for (int k = 0; k < d.n; ++k) {
    const int g = d.label[k];
    go += g;
    for (int t = 0; t < 40; ++t) {
      const float f = t < 5 || (t >= 25 && t < 35) ? 1.f : 0.f;
      EXPECT_EQ(at(d, k, t, 0), f);
      const bool stim = t >= 5 && t < 25;
      EXPECT_EQ(at(d, k, t, 1), stim && !g ? 1.f : 0.f);
      EXPECT_EQ(at(d, k, t, 2), stim && g ? 1.f : 0.f);
    }
  }
  EXPECT_GT(go, 150);
  EXPECT_LT(go, 250);
}

TEST(MicronsTasks, PerceptualDecisionMaking) {
  const TaskData d = make_task(Task::pdm, 2000, 9, 3);
  std::set<int> cohs;
  double resid = 0, resid2 = 0;
  int n = 0;
  for (int k = 0; k < d.n; ++k) {
    for (int t = 0; t < 41; ++t) EXPECT_EQ(at(d, k, t, 0), 1.f);
    EXPECT_EQ(at(d, k, 0, 1), 0.f);
    EXPECT_EQ(at(d, k, 35, 2), 0.f);
    // The mean over the 30 stimulus steps estimates 0.5 +- coh/200 (noise sd 0.1/sqrt(30)).
    double m[2] = {0, 0};
    for (int t = 1; t < 31; ++t)
      for (int c = 0; c < 2; ++c) m[c] += at(d, k, t, 1 + c) / 30.0;
    const double coh = (m[d.label[k]] - m[1 - d.label[k]]) * 100;  // = coh + noise
    int best = 0;
    const double C[5] = {0, 6.4, 12.8, 25.6, 51.2};
    for (int i = 1; i < 5; ++i)
      if (std::fabs(coh - C[i]) < std::fabs(coh - C[best])) best = i;
    if (std::fabs(coh - C[best]) < 2.5) cohs.insert(best);
    for (int t = 1; t < 31; ++t) {
      const double r = at(d, k, t, 1) - m[0];
      resid += r, resid2 += r * r, ++n;
    }
  }
  EXPECT_EQ(cohs.size(), 5u);
  EXPECT_NEAR(std::sqrt(resid2 / n), 0.1, 0.01);  // sigma = 1/sqrt(dt) = 0.1
}

TEST(MicronsTasks, StreamsAreIndependentAndReproducible) {
  const TaskData a = make_task(Task::pdm, 50, 1, 0), b = make_task(Task::pdm, 50, 1, 0),
                 c = make_task(Task::pdm, 50, 1, 1);
  EXPECT_EQ(a.x, b.x);
  EXPECT_NE(a.x, c.x);
  // Trial k does not depend on how many trials were asked for.
  const TaskData e = make_task(Task::pdm, 10, 1, 0);
  EXPECT_TRUE(std::equal(e.x.begin(), e.x.end(), a.x.begin()));
  EXPECT_EQ(parse_task("2"), Task::go_nogo);
  rsnn::test::expect_error([] { parse_task("4"); }, {"unknown task"});
}
