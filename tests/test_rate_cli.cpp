// The rate/spiking commands end to end: a tiny training run, evaluation, grid search and a
// recorded LIF simulation, with atomic outputs; bad input gets a one-line error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "models/rate/model_file.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::rate;

namespace {
using test::CmdResult;
CmdResult run(const std::string& args) { return test::run_rsnn(args); }
bool exists(const std::string& p) { return std::ifstream(p).good(); }
int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}
}  // namespace

TEST(RateCli, TrainEvalGridSearchRecord) {
  const test::TempDir tmp("rsnn_rate_cli");
  const std::string& dir = tmp.dir();
  CmdResult tr = run("rate train --task go-nogo --N 24 --max-trials 120 --eval-trials 8 --seed 3 --out " +
               dir + " --name tiny --mat --plot off --threads 1");
  ASSERT_EQ(tr.rc, 0) << tr.out;
  EXPECT_NE(tr.out.find("tr     1 | perf"), std::string::npos) << tr.out;  // progress at every evaluation
  EXPECT_NE(tr.out.find("tr   101 | perf"), std::string::npos) << tr.out;
  const std::string base = dir + "/models/go-nogo/P_rec_0.2_Taus_4.0_10.0/tiny";
  ASSERT_TRUE(exists(base + ".h5")) << tr.out;
  EXPECT_TRUE(exists(base + ".mat"));
  EXPECT_TRUE(exists(base + "_log.csv"));
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(base).parent_path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();  // renamed
  RateModel m = load_rate_model(base + ".h5");
  EXPECT_EQ(m.net.N(), 24);
  EXPECT_EQ(m.evals.size(), 2u);

  CmdResult ev = run("rate eval --model " + base + ".h5 --trials 6 --csv " + dir + "/o.csv");
  ASSERT_EQ(ev.rc, 0) << ev.out;
  EXPECT_NE(ev.out.find("performance"), std::string::npos);
  std::ifstream csv(dir + "/o.csv");
  std::string all((std::istreambuf_iterator<char>(csv)), {});
  EXPECT_EQ(lines(all), 7);

  CmdResult gs = run("spiking grid-search --model " + base + ".h5 --scaling-factors 20,40 --trials 3 --downsample 4 --threads 2");
  ASSERT_EQ(gs.rc, 0) << gs.out;
  EXPECT_NE(gs.out.find("best scaling factor"), std::string::npos) << gs.out;
  RateModel g = load_rate_model(base + ".h5");
  ASSERT_EQ(g.all_perfs.size(), 2u);
  EXPECT_TRUE(g.opt_scaling_factor == 20 || g.opt_scaling_factor == 40);
  EXPECT_TRUE(exists(base + "_grid.csv"));
  CmdResult again = run("spiking grid-search --model " + base + ".h5 --scaling-factors 20,40 --trials 3");
  EXPECT_EQ(again.rc, 0);
  EXPECT_NE(again.out.find("already has opt_scaling_factor"), std::string::npos) << again.out;

  CmdResult se = run("spiking eval --model " + base + ".h5 --trials 4 --downsample 4 --record " + dir +
               "/rec.h5 --stride 50 --plot off");
  ASSERT_EQ(se.rc, 0) << se.out;
  EXPECT_NE(se.out.find("performance"), std::string::npos);
  EXPECT_TRUE(exists(dir + "/rec.h5"));
}

TEST(RateCli, MultiAreaTraining) {
  const test::TempDir tmp("rsnn_rate_cli_areas");
  const std::string& dir = tmp.dir();
  CmdResult tr = run("rate train --task xor --N 12 --areas 3 --p-inter 0.4 --max-trials 3 --eval-trials 2 "
                     "--out " + dir + " --name areas --plot off --threads 1");
  ASSERT_EQ(tr.rc, 0) << tr.out;
  EXPECT_NE(tr.out.find("36-unit 3-area"), std::string::npos) << tr.out;
  RateModel m = load_rate_model(dir + "/models/xor/P_rec_0.2_Taus_4.0_10.0/areas.h5");
  EXPECT_EQ(m.net.N(), 36);
  EXPECT_EQ(m.net.cfg.n_areas, 3);
  EXPECT_DOUBLE_EQ(m.net.cfg.P_inter, 0.4);
  CmdResult bad = run("rate train --N 10 --areas 2 --p-inter 0 --plot off --out " + dir);
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.out.find("P_inter"), std::string::npos) << bad.out;
}

TEST(RateCli, BadInputGetsOneLineError) {
  for (const std::string& args :
       {std::string("rate train --task stroop --plot off"), std::string("rate train --act tanh --plot off"),
        std::string("rate train --taus 10 4 --plot off"), std::string("rate eval --model /nonexistent.h5"),
        std::string("spiking grid-search --model /nonexistent.h5"),
        std::string("spiking grid-search --model /nonexistent.h5 --scaling-factors 20:x:30")}) {
    CmdResult r = run(args);
    EXPECT_NE(r.rc, 0) << args;
    EXPECT_NE(r.out.find("error"), std::string::npos) << args << ": " << r.out;
    EXPECT_LE(lines(r.out), 2) << args << ": " << r.out;
  }
}
