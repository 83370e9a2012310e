#include "models/rate/tasks.h"

#include <algorithm>
#include <cmath>

#include "models/rate/rng.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace rsnn::rate {

int TaskSpec::n_inputs() const {
  switch (kind) {
    case TaskKind::go_nogo: return 1;
    case TaskKind::mante: return 4;
    default: return 2;
  }
}

int TaskSpec::stim2_on() const { return stim_on + stim_dur + delay; }

int TaskSpec::task_end() const {
  switch (kind) {
    case TaskKind::go_nogo:
    case TaskKind::mante: return stim_on + stim_dur;
    default: return stim2_on() + stim_dur;
  }
}

int TaskSpec::rate_window_start() const {
  switch (kind) {
    case TaskKind::go_nogo: return stim_on + stim_dur;          // resp_onset = 75
    case TaskKind::xor_task: return task_end() + 40;             // o[200:]
    case TaskKind::mante: return std::max(0, (T - 1) - 200);    // o[-200:]
    case TaskKind::dms_cty: return task_end();                   // o[task_end_T:]
    case TaskKind::dms_wm: return task_end() + 40;               // as XOR
  }
  return 0;
}

int64_t TaskSpec::lif_window_start(int substeps) const {
  // The MATLAB grid search's out(k:end), 1-based: Go-NoGo k = 10000 (0.5 s), XOR k = 20000
  // (1.0 s), Mante k = 26000 (1.3 s), with 100 LIF steps per rate step.
  switch (kind) {
    case TaskKind::go_nogo: return int64_t(2 * stim_on) * substeps - 1;
    case TaskKind::xor_task: return int64_t(task_end() + 40) * substeps - 1;
    case TaskKind::mante: return int64_t(stim_on + stim_dur + 10) * substeps - 1;
    case TaskKind::dms_cty: return int64_t(task_end()) * substeps;
    case TaskKind::dms_wm: return int64_t(task_end() + 40) * substeps;
  }
  return 0;
}

std::string TaskSpec::name() const { return task_name(kind); }

TaskKind parse_task(const std::string& name) {
  if (name == "go-nogo" || name == "gonogo" || name == "go_nogo") return TaskKind::go_nogo;
  if (name == "xor") return TaskKind::xor_task;
  if (name == "mante") return TaskKind::mante;
  if (name == "dms" || name == "dms-cty") return TaskKind::dms_cty;
  if (name == "dms-wm") return TaskKind::dms_wm;
  RSNN_FAIL("unknown task '", name, "' (expected go-nogo, xor, mante, dms or dms-wm)");
}

std::string task_name(TaskKind k) {
  switch (k) {
    case TaskKind::go_nogo: return "go-nogo";
    case TaskKind::xor_task: return "xor";
    case TaskKind::mante: return "mante";
    case TaskKind::dms_cty: return "dms";
    case TaskKind::dms_wm: return "dms-wm";
  }
  return "?";
}

TaskSpec task_defaults(TaskKind k) {
  TaskSpec s;
  s.kind = k;
  switch (k) {
    case TaskKind::go_nogo: s.T = 200; s.stim_on = 50; s.stim_dur = 25; s.delay = 0; break;
    case TaskKind::xor_task: s.T = 300; s.stim_on = 50; s.stim_dur = 50; s.delay = 10; break;
    case TaskKind::mante: s.T = 500; s.stim_on = 50; s.stim_dur = 200; s.delay = 0; break;
    case TaskKind::dms_cty: s.T = 200; s.stim_on = 50; s.stim_dur = 25; s.delay = 75; break;
    // wmRNN: u(1,31:80), u(2,231:280) of 411 columns (MATLAB): 250-ms stimuli, 750-ms delay.
    case TaskKind::dms_wm: s.T = 410; s.stim_on = 30; s.stim_dur = 50; s.delay = 150; break;
  }
  return s;
}

TaskSpec dms_wm_short() {
  TaskSpec s = task_defaults(TaskKind::dms_wm);
  s.delay = 10;                 // 50 ms
  s.T = s.task_end() + 130;     // the same 650-ms response period as the long version
  return s;
}

namespace {
void check_spec(const TaskSpec& s) {
  RSNN_CHECK(s.T >= 2 && s.stim_on >= 0 && s.stim_dur > 0 && s.delay >= 0, "task ", s.name(),
             ": bad timing (T ", s.T, ", stim_on ", s.stim_on, ", stim_dur ", s.stim_dur, ", delay ",
             s.delay, ")");
  RSNN_CHECK(s.task_end() <= s.T, "task ", s.name(), ": stimuli end at step ", s.task_end(),
             ", after the trial's ", s.T, " steps");
}
void fill(std::vector<float>& v, int begin, int end, float value) {
  for (int i = std::max(begin, 0); i < std::min<int>(end, int(v.size())); ++i) v[i] = value;
}
}  // namespace

Trial make_trial(const TaskSpec& s, uint64_t seed, uint64_t trial, int extra_cols) {
  check_spec(s);
  RSNN_CHECK(extra_cols >= 0, "make_trial: negative extra_cols ", extra_cols);
  const uint64_t st = stream_id(Draw::task, trial);
  auto coin = [&](uint64_t i) { return philox::uniform(seed, st, i); };
  Trial t;
  t.C = s.n_inputs();
  t.Tc = s.T + extra_cols;
  t.u.assign(size_t(t.C) * t.Tc, 0.f);
  t.z.assign(s.T, 0.f);
  auto row = [&](int c, int begin, int end, float v) {
    for (int k = begin; k < end; ++k) t.u[size_t(c) * t.Tc + k] = v;
  };
  const int on = s.stim_on, off = s.stim_on + s.stim_dur;
  switch (s.kind) {
    case TaskKind::go_nogo: {
      t.label = coin(0) <= 0.5f ? 1 : 0;  // rand() <= 0.5: Go
      if (t.label == 1) {
        row(0, on, off, 1.f);
        fill(t.z, off, s.T, 1.f);
      }
      break;
    }
    case TaskKind::xor_task:
    case TaskKind::dms_cty:
    case TaskKind::dms_wm: {
      const float a = coin(0) < 0.5f ? 1.f : -1.f, b = coin(1) < 0.5f ? 1.f : -1.f;
      row(0, on, off, a);
      row(1, s.stim2_on(), s.task_end(), b);
      t.label = a * b > 0 ? 1 : -1;  // 'same' +1, 'diff' -1
      const int e = s.task_end();
      if (s.kind == TaskKind::dms_cty)
        fill(t.z, e, e + 25, float(t.label));
      else
        fill(t.z, e + 10, e + 110, float(t.label));
      break;
    }
    case TaskKind::mante: {
      const float off0 = coin(0) < 0.5f ? 1.f : -1.f, off1 = coin(1) < 0.5f ? 1.f : -1.f;
      const bool attend0 = coin(2) < 0.5f;
      // Stream noise: element k of channel c at index 16 + c * stim_dur + k (own block range).
      for (int k = on; k < off; ++k) {
        t.u[0 * size_t(t.Tc) + k] =
            normal_at(seed, st, 16 + uint64_t(k - on)) + float(off0 * s.mante_offset);
        t.u[1 * size_t(t.Tc) + k] =
            normal_at(seed, st, 16 + uint64_t(s.stim_dur) + uint64_t(k - on)) +
            float(off1 * s.mante_offset);
      }
      row(attend0 ? 2 : 3, 0, t.Tc, 1.f);  // context on for the whole trial
      t.label = attend0 ? int(off0) : int(off1);
      fill(t.z, off, s.T, float(t.label));
      break;
    }
  }
  return t;
}

bool rate_correct(const TaskSpec& s, int label, const float* o, int64_t n) {
  const int64_t w = s.rate_window_start();
  RSNN_CHECK(w < n, "rate_correct: evaluation window starts at ", w, ", output has ", n, " steps");
  float mx = -INFINITY, mn = INFINITY, mabs = 0;
  for (int64_t k = w; k < n; ++k) {
    mx = std::max(mx, o[k]);
    mn = std::min(mn, o[k]);
    mabs = std::max(mabs, std::fabs(o[k]));
  }
  if (s.kind == TaskKind::go_nogo) return label == 1 ? mx > 0.7f : mabs < 0.3f;
  return label == 1 ? mx > 0.7f : mn < -0.7f;
}

bool lif_correct(const TaskSpec& s, int label, const float* out, int64_t n, int substeps) {
  const int64_t w = s.lif_window_start(substeps);
  RSNN_CHECK(w >= 0 && w < n, "lif_correct: evaluation window starts at step ", w,
             ", the simulation has ", n, " steps");
  float mx = -INFINITY, mn = INFINITY;
  for (int64_t k = w; k < n; ++k) {
    mx = std::max(mx, out[k]);
    mn = std::min(mn, out[k]);
  }
  if (s.kind == TaskKind::go_nogo) return label == 1 ? mx > 0.7f : mx < 0.3f;  // no abs (MATLAB)
  return label == 1 ? mx > 0.7f : mn < -0.7f;
}

}  // namespace rsnn::rate
