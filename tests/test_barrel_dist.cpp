// Data-parallel barrel training (`mpirun -np N rsnn barrel train --shards S`): the same
// --shards gives bit-identical checkpoints and logs on 1, 2 and 4 ranks, --resume continues
// on another rank count, and shard counts that cannot work are one-line errors before training.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "models/barrel/model.h"
#include "runtime/hdf5_io.h"
#include "runtime/random.h"
#include "test_util.h"

namespace {
using namespace rsnn;
using test::CmdResult;
using test::mpirun;
using test::rsnn_exe;
using test::run_command;

// A tiny run: 11 training samples in batches of 6 and 5, cut into 4 uneven shards (2,2,1,1 and
// 2,1,1,1); 4 test samples in one batch. Real form with 3 steps keeps each batch cheap.
const std::string kTrain =
    " barrel train --synth-train 11 --synth-test 4 --batch 6 --form real --steps 3 --threads 1";

// Every dataset of a checkpoint's parameters and optimizer moments, as raw bytes, with the
// attributes that training state depends on.
std::map<std::string, std::string> checkpoint_state(const std::string& path) {
  H5File f = H5File::open_read(path);
  std::map<std::string, std::string> out;
  auto add = [&](const std::string& name) {
    const Tensor t = f.read(name);
    out[name] = std::string(static_cast<const char*>(t.raw()), t.nbytes());
  };
  for (const std::string& k : f.list("/params")) add("/params/" + k);
  for (const std::string& k : f.list("/optimizer")) {
    add("/optimizer/" + k + "/m");
    add("/optimizer/" + k + "/v");
    out["/optimizer/" + k + "@step"] = std::to_string(f.get_attr_int("/optimizer/" + k, "step"));
  }
  out["@epoch"] = std::to_string(f.get_attr_int("/", "epoch"));
  out["@scheduler"] = std::to_string(f.get_attr_int("/scheduler", "last_epoch"));
  std::ostringstream acc;
  acc.precision(17);
  acc << f.get_attr_double("/", "test_accuracy");
  out["@test_accuracy"] = acc.str();
  return out;
}

// Names the first entry that differs (the bytes themselves are too long to print).
void expect_same_state(const std::string& a, const std::string& b) {
  const auto sa = checkpoint_state(a), sb = checkpoint_state(b);
  ASSERT_GT(sa.size(), 20u) << a;  // the real form has 11 parameters, each with m and v
  ASSERT_EQ(sa.size(), sb.size()) << a << " vs " << b;
  for (const auto& [name, bytes] : sa) {
    ASSERT_TRUE(sb.count(name)) << name << " missing in " << b;
    EXPECT_TRUE(bytes == sb.at(name)) << name << " differs between " << a << " and " << b;
  }
}

// log.csv without its last column (wall seconds).
std::string log_without_seconds(const std::string& path) {
  std::ifstream in(path);
  std::string line, out;
  while (std::getline(in, line)) out += line.substr(0, line.rfind(',')) + "\n";
  return out;
}

// mpirun with a time limit: a rank left waiting in a collective fails the test, not hangs it.
std::string launch(int np) { return "timeout 300 env " + mpirun(np); }

std::string train(const std::string& launcher, const std::string& out, const std::string& extra) {
  const CmdResult r = run_command(launcher + rsnn_exe() + kTrain + " --out " + out + " " + extra);
  EXPECT_EQ(r.rc, 0) << r.out;
  return r.out;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.nbytes() == b.nbytes() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// A shard's initial state is its rows of the whole batch's state: drawn (Philox) or stored
// (a converted model's per-B table).
TEST(BarrelDist, ShardStartsFromItsRowsOfTheBatchState) {
  barrel::BarrelConfig cfg = barrel::BarrelConfig::real_default();
  cfg.T = 3;
  barrel::BarrelModel m(cfg);
  Tensor v4, a4, s4, v, a, s;
  m.initial_state(4, v4, a4, s4);
  m.initial_state(2, v, a, s, barrel::BatchRows{1, 4});
  EXPECT_TRUE(same_bits(v, v4.narrow0(1, 2).clone()));
  EXPECT_TRUE(same_bits(s, s4.narrow0(1, 2).clone()));
  EXPECT_TRUE(same_bits(a, a4.narrow0(1, 2).clone()));
  // Not the first rows of a batch of 2 (the draws are numbered across the whole batch).
  Tensor v2, a2, s2;
  m.initial_state(2, v2, a2, s2);
  EXPECT_FALSE(same_bits(v, v2));

  Tensor sv = Tensor::empty({4, m.neurons()}), ss = Tensor::empty({4, m.neurons()});
  fill_uniform(sv, 9, 1, 0.0, 1.0);
  fill_uniform(ss, 9, 2, 0.0, 1.0);
  m.set_stored_initial_state(sv, ss);
  m.initial_state(3, v, a, s, barrel::BatchRows{1, 4});
  EXPECT_TRUE(same_bits(v, sv.narrow0(1, 3).clone()));
  EXPECT_TRUE(same_bits(s, ss.narrow0(1, 3).clone()));
  // A shard of a batch size without a stored state fails like the whole batch would.
  test::expect_error([&] { m.initial_state(1, v, a, s, barrel::BatchRows{0, 2}); }, {"B = 2"});
  test::expect_error([&] { m.initial_state(3, v, a, s, barrel::BatchRows{2, 4}); }, {"rows [2, 5)"});
}

TEST(BarrelDist, OneTwoAndFourRanksGiveTheSameBits) {
  test::TempDir dir("rsnn_barrel_dist");
  const std::string one = dir.path("one"), two = dir.path("two"), four = dir.path("four");
  const std::string out1 = train("", one, "--epochs 1 --shards 4");
  const std::string out2 = train(launch(2), two, "--epochs 1 --shards 4");
  const std::string out4 = train(launch(4), four, "--epochs 1 --shards 4");
  expect_same_state(one + "/checkpoint.h5", two + "/checkpoint.h5");
  expect_same_state(one + "/checkpoint.h5", four + "/checkpoint.h5");
  const std::string log1 = log_without_seconds(one + "/log.csv");
  EXPECT_EQ(std::count(log1.begin(), log1.end(), '\n'), 2) << log1;  // header + 1 epoch
  EXPECT_EQ(log1, log_without_seconds(two + "/log.csv"));
  EXPECT_EQ(log1, log_without_seconds(four + "/log.csv"));
  // Only rank 0 prints: one summary line and one data line, whatever the rank count.
  for (const std::string* o : {&out1, &out2, &out4}) {
    size_t summaries = 0, generated = 0;
    for (size_t p = 0; (p = o->find("first loss", p)) != std::string::npos; ++p) ++summaries;
    for (size_t p = 0; (p = o->find("synthetic training samples", p)) != std::string::npos; ++p) ++generated;
    EXPECT_EQ(summaries, 1u) << *o;
    EXPECT_EQ(generated, 1u) << *o;
  }
  EXPECT_NE(out4.find("4 MPI ranks"), std::string::npos) << out4;

  // `barrel eval` sharded over 2 ranks prints, once, what one rank prints for the same shards.
  const std::string eval = rsnn_exe() + " barrel eval --checkpoint " + one +
                           "/checkpoint.h5 --synth-test 4 --batch 2 --shards 2 --threads 1";
  const CmdResult e1 = run_command(eval), e2 = run_command(launch(2) + eval);
  ASSERT_EQ(e1.rc, 0) << e1.out;
  ASSERT_EQ(e2.rc, 0) << e2.out;
  const size_t at1 = e1.out.find("test samples 4"), at2 = e2.out.find("test samples 4");
  ASSERT_NE(at1, std::string::npos) << e1.out;
  ASSERT_NE(at2, std::string::npos) << e2.out;
  EXPECT_EQ(e1.out.substr(at1, e1.out.find('\n', at1) - at1), e2.out.substr(at2, e2.out.find('\n', at2) - at2));
  EXPECT_EQ(e2.out.find("test samples", at2 + 1), std::string::npos) << "printed twice:\n" << e2.out;
}

TEST(BarrelDist, ResumeOnAnotherRankCount) {
  test::TempDir dir("rsnn_barrel_dist");
  const std::string straight = dir.path("straight"), split = dir.path("split");
  train("", straight, "--epochs 2 --shards 2");
  train(launch(2), split, "--epochs 1 --shards 2");
  const std::string resumed = train("", split, "--epochs 2 --shards 2 --resume");
  EXPECT_NE(resumed.find("resuming from"), std::string::npos) << resumed;
  expect_same_state(straight + "/checkpoint.h5", split + "/checkpoint.h5");
  EXPECT_EQ(log_without_seconds(straight + "/log.csv"), log_without_seconds(split + "/log.csv"));
}

TEST(BarrelDist, BadShardCountsFailBeforeTraining) {
  test::TempDir dir("rsnn_barrel_dist");
  auto fails = [&](const std::string& launcher, const std::string& args,
                   const std::vector<std::string>& parts) {
    const CmdResult r = run_command(launcher + rsnn_exe() + kTrain + " --epochs 1 --out " +
                                    dir.path("bad") + " " + args);
    EXPECT_NE(r.rc, 0) << r.out;
    for (const std::string& p : parts) EXPECT_NE(r.out.find(p), std::string::npos) << p << "\n" << r.out;
    EXPECT_EQ(r.out.find("train ["), std::string::npos) << "training started:\n" << r.out;
  };
  fails(launch(2), "--shards 3", {"--shards 3", "multiple of the 2"});
  fails("", "--shards 7", {"--shards 7", "batch of 6"});
  // 11 samples in batches of 6 leave a last batch of 5: 6 shards cannot cover it.
  fails("", "--shards 6", {"--shards 6", "last batch of the training set", "leave 5"});
  fails("", "--shards 5", {"--shards 5", "batch of 4", "test set"});
  // The memory check counts one shard's forward (a rank runs its shards one at a time).
  fails("RSNN_MEMORY_LIMIT=100M ", "--shards 4", {"barrel train (batch 6, shards of up to 2 samples", "--shards"});
  EXPECT_FALSE(std::filesystem::exists(dir.path("bad") + "/checkpoint.h5"));
}

}  // namespace
