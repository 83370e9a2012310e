// The live progress report of `rsnn rate train` (issue 17 item 3): the mid-run snapshot holds
// what the four panels need (losses so far, the last trial's x traces, target and output), and
// tools/plot_rate.py draws the PNG from the snapshot and from the final model alike.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>

#include "models/rate/model_file.h"
#include "runtime/process.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::rate;

namespace {
// True when `path` starts with the PNG signature.
bool is_png(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char sig[8] = {};
  f.read(sig, 8);
  return f.gcount() == 8 && std::string(sig + 1, 3) == "PNG" && uint8_t(sig[0]) == 0x89;
}

void expect_four_panel_data(const RateModel& m, const std::string& what) {
  const int64_t T = m.task.T, N = m.net.N();
  ASSERT_TRUE(m.x.defined()) << what << ": no x";
  EXPECT_EQ(m.x.size(0), T) << what;
  EXPECT_EQ(m.x.size(1), N) << what;
  ASSERT_TRUE(m.target.defined() && m.o.defined()) << what << ": no target / output";
  EXPECT_EQ(m.target.numel(), T) << what;
  EXPECT_EQ(m.o.numel(), T - 1) << what;
  EXPECT_FALSE(m.evals.empty()) << what;
  // batch 1: one loss per training trial 0..tr
  ASSERT_EQ(int64_t(m.losses.size()), m.tr + 1) << what;
  for (double l : m.losses) EXPECT_TRUE(std::isfinite(l) && l >= 0) << what;
}
}  // namespace

TEST(RateProgress, MidRunSnapshotHasTheFourPanelsData) {
  // This tree's script, for the training run's plots and the direct call below alike.
  const std::string script = std::string(RSNN_SOURCE_DIR) + "/tools/plot_rate.py";
  ::setenv("RSNN_PLOT_SCRIPT", script.c_str(), 1);
  const PythonScript ps = find_python_script("plot_rate.py", "RSNN_PLOT_SCRIPT", "matplotlib, h5py");
  if (!ps.found()) GTEST_SKIP() << ps.why_not;
  const test::TempDir tmp("rsnn_rate_progress");
  const std::string& dir = tmp.dir();
  test::CmdResult tr = test::run_rsnn("rate train --task go-nogo --N 24 --max-trials 120 --eval-trials 8 "
                                      "--seed 5 --out " + dir + " --name prog --plot on --threads 1");
  ASSERT_EQ(tr.rc, 0) << tr.out;
  const std::string base = dir + "/models/go-nogo/P_rec_0.2_Taus_4.0_10.0/prog";
  const std::string snap = base + "_progress.h5";
  ASSERT_TRUE(std::ifstream(snap).good()) << tr.out;
  RateModel s = load_rate_model(snap);
  RateModel f = load_rate_model(base + ".h5");
  // The snapshot is from an evaluation (trial 1 or 101), before training ended at trial 119.
  EXPECT_TRUE(s.tr == 1 || s.tr == 101) << s.tr;
  EXPECT_EQ(f.tr, 119);
  expect_four_panel_data(s, "snapshot");
  expect_four_panel_data(f, "final model");
  // The snapshot's losses are the first ones of the run.
  for (size_t k = 0; k < s.losses.size(); ++k) EXPECT_DOUBLE_EQ(s.losses[k], f.losses[k]) << k;
  EXPECT_TRUE(is_png(base + "_progress.png"));

  // The same script draws the snapshot (the final PNG above came from the final model).
  const std::string png = dir + "/snapshot.png";
  test::CmdResult p = test::run_command(ps.python + " " + ps.script + " train " + snap + " " + png);
  ASSERT_EQ(p.rc, 0) << p.out;
  EXPECT_TRUE(is_png(png));
  if (const char* keep = std::getenv("RSNN_KEEP_PROGRESS_PNG"))  // to look at the panels
    std::system(("cp " + png + " " + base + "_progress.png " + keep).c_str());
}
