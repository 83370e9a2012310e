// Data-parallel `rsnn micron train` (issue 19): a batch cut into 4 shards gives the same
// W_rec and per-epoch log bit for bit on 1, 2 and 4 MPI ranks (the test set, 2 batches of
// up to 512, dealt to the ranks too); the sharded run is the same mathematics as the plain
// one; bad --shards values are one-line errors before any work. `micron sweep` under
// mpirun deals whole runs to the ranks and writes the one-rank sweep's tables.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/npy.h"
#include "tests/test_util.h"

using namespace rsnn;
namespace fs = std::filesystem;

namespace {

std::string data_dir() { return test::shared_data_dir() + "/microns"; }

// A tiny run: 2 epochs of 3 batches of 16 trials, regularizer with the EMD term, NonNeg.
std::string train_args() {
  const std::string d = data_dir();
  return "micron train --field " + d + "/6_6_2 --positions " + d +
         "/6_6_2_derived/positions_plain_int64_Nx3.npy"
         " --null-clustering 0.194422 --null-efficiency 0.590016 --variant 'W*D*C*' --task 3"
         " --sign-constraint --epochs 2 --batches 3 --batch 16 --n-test 600 --threads 1 --name m";
}

std::string train(int np, const std::string& extra, const std::string& out) {
  const std::string cmd = (np > 0 ? test::mpirun(np) : std::string()) + test::rsnn_exe() + " " +
                          train_args() + " " + extra + " --out " + out;
  const test::CmdResult r = test::run_command(cmd);
  EXPECT_EQ(r.rc, 0) << cmd << "\n" << r.out;
  return r.out;
}

std::string slurp(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  std::ostringstream ss;
  ss << is.rdbuf();
  return ss.str();
}

// The first epoch's training loss from an epochs CSV (second line, second field).
double first_loss(const std::string& csv) {
  const size_t line = csv.find('\n');
  const size_t comma = csv.find(',', line);
  return std::stod(csv.substr(comma + 1));
}

#define SKIP_WITHOUT_MICRONS()                                                          \
  do {                                                                                  \
    if (!fs::exists(data_dir() + "/6_6_2"))                                             \
      GTEST_SKIP() << "MICrONS data not found at " << data_dir() << " (shared data)";   \
  } while (0)

}  // namespace

TEST(MicronsDist, ShardsGiveTheSameWeightsOnAnyRankCount) {
  SKIP_WITHOUT_MICRONS();
  test::TempDir dir("rsnn_microns_dist");
  train(0, "--shards 4", dir.path("one"));
  const std::string out2 = train(2, "--shards 4", dir.path("two"));
  train(4, "--shards 4", dir.path("four"));
  const std::string w1 = slurp(dir.path("one/m_W.npy")), e1 = slurp(dir.path("one/m_epochs.csv"));
  ASSERT_GT(w1.size(), 312u * 312u * 4u);
  ASSERT_EQ(std::count(e1.begin(), e1.end(), '\n'), 3) << e1;
  for (const char* r : {"two", "four"}) {
    EXPECT_TRUE(slurp(dir.path(std::string(r) + "/m_W.npy")) == w1) << r << ": W_rec differs";
    EXPECT_EQ(slurp(dir.path(std::string(r) + "/m_epochs.csv")), e1) << r;
    EXPECT_TRUE(fs::exists(dir.path(std::string(r) + "/m.json"))) << r;
  }
  // Only rank 0 prints its summary line; the other ranks write nothing.
  const std::string summary = "sim 0: accuracy ";
  size_t lines = 0;
  for (size_t p = out2.find(summary); p != std::string::npos; p = out2.find(summary, p + 1)) ++lines;
  EXPECT_EQ(lines, 1u) << out2;
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path("two"))) files += e.is_regular_file();
  EXPECT_EQ(files, 3u);  // m_W.npy, m_epochs.csv, m.json
}

TEST(MicronsDist, ShardedRunIsThePlainRunToRounding) {
  SKIP_WITHOUT_MICRONS();
  test::TempDir dir("rsnn_microns_dist_plain");
  train(0, "--shards 4", dir.path("four"));
  train(0, "", dir.path("plain"));
  // The first epoch's mean loss agrees to rounding (CE summed per shard, one regularizer).
  const double a = first_loss(slurp(dir.path("four/m_epochs.csv")));
  const double b = first_loss(slurp(dir.path("plain/m_epochs.csv")));
  EXPECT_NEAR(a, b, 1e-5 * std::fabs(b));
  const std::vector<float> w4 = npy_load(dir.path("four/m_W.npy")).to_vector<float>();
  const std::vector<float> wp = npy_load(dir.path("plain/m_W.npy")).to_vector<float>();
  ASSERT_EQ(w4.size(), wp.size());
  double dmax = 0;
  for (size_t i = 0; i < w4.size(); ++i) dmax = std::max(dmax, double(std::fabs(w4[i] - wp[i])));
  EXPECT_LT(dmax, 1e-4);
}

TEST(MicronsDist, BadShardCountsAreErrors) {
  SKIP_WITHOUT_MICRONS();
  test::TempDir dir("rsnn_microns_dist_bad");
  const std::string base = test::rsnn_exe() + " " + train_args() + " --out " + dir.path("o");
  const test::CmdResult big = test::run_command(base + " --shards 17");
  EXPECT_NE(big.rc, 0);
  EXPECT_NE(big.out.find("--shards 17 is more than the batch of 16"), std::string::npos) << big.out;
  const test::CmdResult neg = test::run_command(base + " --shards -1");
  EXPECT_NE(neg.rc, 0);
  EXPECT_NE(neg.out.find("--shards must be >= 0"), std::string::npos) << neg.out;
  const test::CmdResult odd = test::run_command(test::mpirun(4) + base + " --shards 6");
  EXPECT_NE(odd.rc, 0);
  EXPECT_NE(odd.out.find("--shards 6 is not a multiple of the 4 MPI ranks"), std::string::npos)
      << odd.out;
  EXPECT_FALSE(fs::exists(dir.path("o")));  // refused before the output folder is made
}

TEST(MicronsDist, SweepOnRanksWritesTheOneRankTables) {
  SKIP_WITHOUT_MICRONS();
  test::TempDir dir("rsnn_microns_dist_sweep");
  const std::string d = data_dir();
  const std::string args =
      "micron sweep --field " + d + "/6_6_2 --positions " + d +
      "/6_6_2_derived/positions_plain_int64_Nx3.npy --null-clustering 0.194422"
      " --null-efficiency 0.590016 --tasks 3 --variants 'W,WD' --sims 2 --epochs 1 --batches 1"
      " --batch 8 --n-test 16 --threads 1 --plot off --out ";
  const test::CmdResult one = test::run_rsnn(args + dir.path("one"));
  ASSERT_EQ(one.rc, 0) << one.out;
  const std::string exe = test::rsnn_exe() + " " + args;
  const test::CmdResult two = test::run_command(test::mpirun(2) + exe + dir.path("two"));
  ASSERT_EQ(two.rc, 0) << two.out;
  EXPECT_NE(two.out.find("4 to train on 2 ranks x 1 thread(s)"), std::string::npos) << two.out;
  for (const std::string f : {"metrics.csv", "metrics_SD.csv", "summary_ci.csv", "config.txt",
                              "Task3/Accuracy_raw.csv", "Task3/Modularity_raw.csv"}) {
    const std::string a = slurp(dir.path("one/" + f));
    EXPECT_FALSE(a.empty()) << f;
    EXPECT_EQ(a, slurp(dir.path("two/" + f))) << f;
  }
  // Resumed on another rank count: every run is found on disk, none retrained.
  const test::CmdResult again = test::run_command(test::mpirun(3) + exe + dir.path("two"));
  ASSERT_EQ(again.rc, 0) << again.out;
  EXPECT_NE(again.out.find("4 already done, 0 to train"), std::string::npos) << again.out;
}
