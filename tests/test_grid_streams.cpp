// Issue 17 item 2: the grid search and the evaluations draw their trials from streams that
// never overlap training's. For the same seed, no grid-search (or evaluation) Mante input equals
// a training input, and their LIF noise is keyed by trial ids no training trial has.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "models/rate/grid_search.h"
#include "models/rate/rng.h"
#include "models/rate/tasks.h"

using namespace rsnn::rate;

namespace {
// The noisy stimulus of a Mante trial as bytes: equal inputs give equal keys.
std::string key(const Trial& t) {
  return std::string(reinterpret_cast<const char*>(t.u.data()), t.u.size() * sizeof(float));
}
}  // namespace

TEST(GridStreams, IdsOfEachPurposeAreDisjoint) {
  const TrialSet sets[] = {TrialSet::train, TrialSet::train_eval, TrialSet::rate_eval, TrialSet::lif_eval,
                           TrialSet::grid};
  for (TrialSet a : sets)
    for (TrialSet b : sets) {
      if (a == b) continue;
      // the first and last id of a set lie outside every other set
      for (uint64_t k : {uint64_t(0), kTrialSetSpan - 1}) {
        const uint64_t id = trial_id(a, k);
        EXPECT_FALSE(id >= trial_id(b, 0) && id <= trial_id(b, kTrialSetSpan - 1));
      }
    }
  // The grid search's ids are its own (they used to be 0, 1, 2, ...: training's).
  EXPECT_EQ(grid_trial_id(0), trial_id(TrialSet::grid, 0));
  EXPECT_EQ(grid_trial_id(1199), trial_id(TrialSet::grid, 1199));
  EXPECT_GE(grid_trial_id(0), kTrialSetSpan);
  // Stream ids stay apart too (the purpose of the draw in the high bits, the id below).
  EXPECT_NE(stream_id(Draw::task, grid_trial_id(5)), stream_id(Draw::task, trial_id(TrialSet::train, 5)));
  EXPECT_NE(stream_id(Draw::lif_noise, grid_trial_id(5)), stream_id(Draw::lif_noise, trial_id(TrialSet::train, 5)));
}

TEST(GridStreams, NoGridOrEvaluationInputEqualsATrainingInput) {
  const TaskSpec task = task_defaults(TaskKind::mante);
  for (uint64_t seed : {uint64_t(1), uint64_t(7)}) {
    // 6,000 training trials (the original's maximum), as train_rate numbers them.
    std::set<std::string> train;
    for (uint64_t k = 0; k < 6000; ++k) train.insert(key(make_trial(task, seed, trial_id(TrialSet::train, k))));
    ASSERT_EQ(train.size(), 6000u);  // the stimuli are noisy: every trial differs
    auto count_shared = [&](auto id_of, int n) {
      int shared = 0;
      for (int q = 0; q < n; ++q) shared += train.count(key(make_trial(task, seed, id_of(q))));
      return shared;
    };
    // The default grid: 12 factors x 100 trials.
    EXPECT_EQ(count_shared([](int q) { return grid_trial_id(q); }, 1200), 0) << "seed " << seed;
    EXPECT_EQ(count_shared([](int q) { return trial_id(TrialSet::train_eval, q); }, 6000), 0);
    EXPECT_EQ(count_shared([](int q) { return trial_id(TrialSet::rate_eval, q); }, 500), 0);
    EXPECT_EQ(count_shared([](int q) { return trial_id(TrialSet::lif_eval, q); }, 500), 0);
    // The check can fail: the training ids themselves are found.
    EXPECT_EQ(count_shared([](int q) { return trial_id(TrialSet::train, q); }, 100), 100);
  }
}
