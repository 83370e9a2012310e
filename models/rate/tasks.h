// The cognitive tasks of the rate-to-spiking framework (spec rate-to-spiking.md §2):
// Go-NoGo, temporal XOR, Mante context-dependent integration and two delayed-match-to-
// sample (DMS) variants. One rate step is 5 ms (20 ms in the cty20010831 DMS timing).
//
// A trial is inputs u (C x Tc, row-major, Tc = T + extra columns), a target z (T) and a
// label. Random draws come from Philox keyed by (seed, trial index): trial k is the same
// whether it is generated alone or inside a batch. All indices are 0-based, half-open.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace rsnn::rate {

enum class TaskKind { go_nogo, xor_task, mante, dms_cty, dms_wm };

// Timing in rate steps. Defaults per task come from task_defaults(); any field can be
// changed afterwards (e.g. the DMS delay for the short-delay curriculum).
struct TaskSpec {
  TaskKind kind = TaskKind::go_nogo;
  int T = 200;         // input columns (steps) of a training trial
  int stim_on = 50;    // first stimulus onset
  int stim_dur = 25;   // stimulus duration
  int delay = 0;       // gap between the two stimuli (XOR, DMS)
  double mante_offset = 0.5;  // Mante: mean of the attended/ignored streams is +-offset

  int n_inputs() const;         // channels C
  int stim2_on() const;         // second stimulus onset (XOR, DMS)
  int task_end() const;         // end of the last stimulus
  // Rate-model evaluation window over the output o (length T-1): [start, T-1).
  int rate_window_start() const;
  // LIF evaluation window over the LIF output (one value per 0.05 ms step): [start, nt).
  int64_t lif_window_start(int substeps = 100) const;
  std::string name() const;
};

// Parse "go-nogo", "xor", "mante", "dms" (cty20010831 timing) or "dms-wm" (wmRNN 750-ms
// delay); throws rsnn::Error naming the accepted values otherwise.
TaskKind parse_task(const std::string& name);
std::string task_name(TaskKind k);
TaskSpec task_defaults(TaskKind k);
// The wmRNN short-delay (50 ms = 10 steps) version used first in the curriculum.
TaskSpec dms_wm_short();

struct Trial {
  int C = 0, Tc = 0;
  std::vector<float> u;  // (C, Tc) row-major
  std::vector<float> z;  // (T) target
  int label = 0;         // Go-NoGo: 1 Go, 0 NoGo; others: +1 / -1
};

// Trial `trial` of stream `seed`. extra_cols appends zero input columns (the LIF
// simulation uses T+1 columns, as the MATLAB grid search does).
Trial make_trial(const TaskSpec& spec, uint64_t seed, uint64_t trial, int extra_cols = 0);

// Training-monitor rule (spec §2): o has T-1 entries (o[k] = output at step k+1).
bool rate_correct(const TaskSpec& spec, int label, const float* o, int64_t n);
// Grid-search rule (spec §4) on a LIF output of n = nt steps.
bool lif_correct(const TaskSpec& spec, int label, const float* out, int64_t n, int substeps = 100);

}  // namespace rsnn::rate
