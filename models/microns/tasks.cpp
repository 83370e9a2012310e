// Task generators (spec §3).
#include "models/microns/tasks.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"
#include "runtime/philox.h"

namespace rsnn::microns {

TaskShape task_shape(Task t) {
  switch (t) {
    case Task::maze: return {50, 8, 4};
    case Task::go_nogo: return {40, 3, 2};
    case Task::pdm: return {41, 3, 2};
  }
  RSNN_FAIL("task_shape: unknown task ", int(t));
}

const char* task_name(Task t) {
  switch (t) {
    case Task::maze: return "maze";
    case Task::go_nogo: return "go_nogo";
    case Task::pdm: return "pdm";
  }
  return "?";
}

Task parse_task(const std::string& s) {
  if (s == "1" || s == "maze") return Task::maze;
  if (s == "2" || s == "go_nogo" || s == "gonogo") return Task::go_nogo;
  if (s == "3" || s == "pdm") return Task::pdm;
  RSNN_FAIL("unknown task '", s, "' (valid: 1|maze, 2|go_nogo, 3|pdm)");
}

namespace {
// Draws of trial k: index k * kPerTrial + j, so trials never share numbers.
constexpr uint64_t kPerTrial = 256;

int randint(uint64_t seed, uint64_t stream, uint64_t k, uint64_t j, int n) {
  const double u = philox::uniform_f64(seed, stream, k * kPerTrial + j);
  return std::min(n - 1, int(u * n));
}

// mazeGeneratorI: 20 goal steps, 10 delay, 20 choice steps. Goal channel 0..3 for goals
// 7, 9, 17, 19; choice channels 4..7 for l, u, r, d; label l=0 u=1 r=2 d=3.
void maze_trial(float* x, int& label, int problem) {
  struct P { int goal_ch, c1, c2, ans; };  // choices and answer as l0 u1 r2 d3
  static const P probs[8] = {{1, 1, 0, 1}, {1, 2, 3, 2}, {3, 0, 3, 3}, {2, 2, 3, 3},
                             {2, 1, 0, 0}, {0, 1, 2, 1}, {3, 0, 2, 2}, {0, 0, 2, 0}};
  const P& p = probs[problem];
  for (int t = 0; t < 20; ++t) x[t * 8 + p.goal_ch] = 1.f;
  for (int t = 30; t < 50; ++t) {
    x[t * 8 + 4 + p.c1] = 1.f;
    x[t * 8 + 4 + p.c2] = 1.f;
  }
  label = p.ans;
}

// GoNogoGeneratorI: 5 fixation, 20 stimulus (fixation off), 10 fixation, 5 blank.
void gonogo_trial(float* x, int& label, int go) {
  for (int t = 0; t < 5; ++t) x[t * 3 + 0] = 1.f;
  for (int t = 5; t < 25; ++t) x[t * 3 + (go ? 2 : 1)] = 1.f;
  for (int t = 25; t < 35; ++t) x[t * 3 + 0] = 1.f;
  label = go;
}

// PerceptualDecisionMakingGeneratorI: 1 fixation, 30 stimulus, 10 delay steps; fixation
// channel on throughout; stimulus = 0.5 +- coh/200 per ring channel plus N(0, 0.1^2).
void pdm_trial(float* x, int& label, uint64_t seed, uint64_t stream, uint64_t k) {
  static const double cohs[5] = {0, 6.4, 12.8, 25.6, 51.2};
  const double coh = cohs[randint(seed, stream, k, 0, 5)];
  const int gt = randint(seed, stream, k, 1, 2);
  const double sigma = 1.0 / std::sqrt(100.0);
  // cos(theta - theta[gt]) with theta = [0, pi]: +1 on channel gt, -1 on the other.
  const double pat[2] = {0.5 + (gt == 0 ? 1 : -1) * coh / 200, 0.5 + (gt == 1 ? 1 : -1) * coh / 200};
  for (int t = 0; t < 41; ++t) x[t * 3 + 0] = 1.f;
  for (int t = 1; t < 31; ++t)
    for (int c = 0; c < 2; ++c) {
      const uint64_t j = 2 + uint64_t(t - 1) * 2 + c;
      x[t * 3 + 1 + c] = float(pat[c] + sigma * philox::normal(seed, stream, k * kPerTrial + j));
    }
  label = gt;
}
}  // namespace

TaskData make_task(Task t, int n, uint64_t seed, uint64_t stream) {
  RSNN_CHECK(n > 0, "make_task: trial count must be positive, got ", n);
  const TaskShape s = task_shape(t);
  TaskData d;
  d.n = n, d.T = s.T, d.n_in = s.n_in, d.n_out = s.n_out;
  d.x.assign(size_t(n) * s.T * s.n_in, 0.f);
  d.label.assign(n, 0);
  d.onehot.assign(size_t(n) * s.n_out, 0.f);
  for (int k = 0; k < n; ++k) {
    float* x = d.x.data() + size_t(k) * s.T * s.n_in;
    switch (t) {
      case Task::maze: maze_trial(x, d.label[k], randint(seed, stream, k, 0, 8)); break;
      case Task::go_nogo: gonogo_trial(x, d.label[k], randint(seed, stream, k, 0, 2)); break;
      case Task::pdm: pdm_trial(x, d.label[k], seed, stream, uint64_t(k)); break;
    }
    d.onehot[size_t(k) * s.n_out + d.label[k]] = 1.f;
  }
  return d;
}

}  // namespace rsnn::microns
