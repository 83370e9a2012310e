// Issue 15 regressions of the barrel checkpoint: a damaged file gives one clear error and never
// memory corruption; NaN anywhere is named with its file and dataset.
#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "models/barrel/anatomy.h"
#include "models/barrel/whisker_synth.h"
#include "runtime/atomic_file.h"

#include "models/barrel/model.h"
#include "models/barrel/train.h"
#include "models/rate/model_file.h"
#include "runtime/hdf5_io.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::barrel;

namespace {

BarrelConfig tiny_config() {
  BarrelConfig c = BarrelConfig::real_default();
  c.T = 4;
  return c;
}

// A valid checkpoint (with Adam state) in `dir`; returns its path.
std::string write_checkpoint(const test::TempDir& dir) {
  BarrelModel m(tiny_config());
  ag::Adam adam(m.param_groups(0.01));
  const std::string path = dir.path("c.h5");
  save_checkpoint(path, m, &adam, 1, 1, 0.5);
  return path;
}

std::string load_error(const std::string& path) {
  try {
    load_checkpoint(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Set element `k` of an int32 dataset in place.
void poke_i32(const std::string& path, const std::string& dataset, int64_t k, int32_t value) {
  H5File f = H5File::open_rw(path);
  Tensor t = f.read(dataset);
  t.data<int32_t>()[k] = value;
  f.write(dataset, t);
  f.close();
}

}  // namespace

TEST(HardeningCheckpoint, OutOfRangePreIndexIsAnErrorNotACrash) {
  test::TempDir dir;
  const std::string path = write_checkpoint(dir);
  const int64_t nnz = H5File::open_read(path).dataset_shape("/projection/pre_idx")[0];
  for (int32_t bad : {100000000, -7, 4418}) {
    poke_i32(path, "/projection/pre_idx", nnz / 2, bad);
    const std::string e = load_error(path);
    EXPECT_NE(e.find(path), std::string::npos) << e;
    EXPECT_NE(e.find("pre_idx"), std::string::npos) << e;
    EXPECT_NE(e.find("range"), std::string::npos) << e;
  }
}

TEST(HardeningCheckpoint, BrokenRowPointersAreAnError) {
  test::TempDir dir;
  const std::string path = write_checkpoint(dir);
  Tensor ptr = H5File::open_read(path).read("/projection/post_ptr");
  const int64_t N = ptr.numel() - 1;
  auto with_ptr = [&](int64_t k, int64_t value) {
    Tensor t = ptr.clone();
    t.data<int64_t>()[k] = value;
    H5File f = H5File::open_rw(path);
    f.write("/projection/post_ptr", t);
    f.close();
    return load_error(path);
  };
  // Decreasing in the middle, a last entry beyond nnz, a negative last entry, a non-zero first.
  EXPECT_NE(with_ptr(N / 2, 0).find("post_ptr"), std::string::npos);
  EXPECT_NE(with_ptr(N, ptr.data<int64_t>()[N] + 1000).find("post_ptr"), std::string::npos);
  EXPECT_NE(with_ptr(N, -3).find("post_ptr"), std::string::npos);
  EXPECT_NE(with_ptr(0, 5).find("post_ptr"), std::string::npos);
  // Restored, it loads again.
  EXPECT_EQ(with_ptr(0, 0), "(no error)");
}

TEST(HardeningCheckpoint, BadSourceSignIsAnError) {
  test::TempDir dir;
  const std::string path = write_checkpoint(dir);
  H5File f = H5File::open_rw(path);
  Tensor s = f.read("/projection/source_sign");
  s.data<float>()[3] = 0.5f;
  f.write("/projection/source_sign", s);
  f.close();
  EXPECT_NE(load_error(path).find("source_sign"), std::string::npos);
}

TEST(HardeningCheckpoint, UnknownLossAttributeIsAnError) {
  test::TempDir dir;
  const std::string path = write_checkpoint(dir);
  {
    H5File f = H5File::open_rw(path);
    f.set_attr("/", "loss", "bogus");
    f.close();
  }
  const std::string e = load_error(path);
  EXPECT_NE(e.find("unknown loss 'bogus'"), std::string::npos) << e;
}

// ---- defect 7: NaN in any loaded dataset names file and dataset ----

TEST(HardeningCheckpoint, NanInAdamStateIsNamed) {
  test::TempDir dir;
  const std::string path = write_checkpoint(dir);
  {
    H5File f = H5File::open_rw(path);
    Tensor v = f.read("/optimizer/3/v");
    v.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
    f.write("/optimizer/3/v", v);
    f.close();
  }
  std::unique_ptr<BarrelModel> m = load_checkpoint(path);
  ag::Adam adam(m->param_groups(0.01));
  ag::StepLR sched(adam, 20, 0.8);
  try {
    load_training_state(path, adam, sched);
    ADD_FAILURE() << "NaN in the Adam state was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("/optimizer/3/v"), std::string::npos) << msg;
  }
}

TEST(HardeningCheckpoint, NanInBaseThresholdIsNamed) {
  test::TempDir dir;
  const std::string path = write_checkpoint(dir);
  {
    H5File f = H5File::open_rw(path);
    Tensor b = f.read("/b_base");
    b.data<float>()[7] = std::numeric_limits<float>::infinity();
    f.write("/b_base", b);
    f.close();
  }
  EXPECT_NE(load_error(path).find("/b_base"), std::string::npos);
}

// ---- defect 3: a checkpoint is self-sufficient; the tables are compiled in ----

TEST(HardeningCheckpoint, LoadingReadsNoConnectionTables) {
  test::TempDir dir;
  const std::string path = write_checkpoint(dir);
  const std::unique_ptr<BarrelModel> want = load_checkpoint(path);
  // With the table folder pointing nowhere, reading the tables throws; a checkpoint holds its
  // whole projection and must not need them.
  const char* old = std::getenv("RSNN_DATA_DIR");
  const std::string saved = old ? old : "";
  ::setenv("RSNN_DATA_DIR", "/nonexistent-rsnn-data", 1);
  EXPECT_THROW(default_tables(), Error);
  std::unique_ptr<BarrelModel> got;
  EXPECT_NO_THROW(got = load_checkpoint(path));
  if (old) ::setenv("RSNN_DATA_DIR", saved.c_str(), 1); else ::unsetenv("RSNN_DATA_DIR");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->projection().pre_idx.to_vector<int32_t>(), want->projection().pre_idx.to_vector<int32_t>());
  EXPECT_EQ(got->parameter("w").value().to_vector<float>(), want->parameter("w").value().to_vector<float>());
}

TEST(HardeningCheckpoint, BuiltInTablesEqualTheShippedFilesAndNeedNoFolder) {
  const ConnectionTables files = load_tables(std::string(RSNN_SOURCE_DIR) + "/data/barrel");
  test::TempDir elsewhere;
  const std::string cwd = std::filesystem::current_path().string();
  std::filesystem::current_path(elsewhere.dir());  // no data/ folder here
  ConnectionTables built_in;
  EXPECT_NO_THROW(built_in = shipped_tables());
  std::filesystem::current_path(cwd);
  ASSERT_TRUE(built_in.exc.defined());
  EXPECT_EQ(built_in.thalamic.to_vector<double>(), files.thalamic.to_vector<double>());
  EXPECT_EQ(built_in.exc.to_vector<double>(), files.exc.to_vector<double>());
  EXPECT_EQ(built_in.inh.to_vector<double>(), files.inh.to_vector<double>());
}

// ---- defect 4: crash consistency of the run folder ----

namespace {
// A pid that no process has now (for a stale temporary file).
long dead_pid() {
  for (long pid = 4000000; pid > 1000; pid -= 7919)
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return pid;
  return -1;
}

std::vector<std::string> log_epochs(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) out.push_back(line.substr(0, line.find(',')));
  return out;
}

TrainOptions tiny_train(const std::string& run_dir, int64_t epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch = 4;
  o.run_dir = run_dir;
  o.progress = false;
  return o;
}
}  // namespace

TEST(HardeningCheckpoint, ResumeRewritesTheLogToTheCheckpointAndSweepsStaleTemps) {
  test::TempDir dir;
  const std::string run = dir.path("run");
  const BarrelConfig cfg = tiny_config();
  const EncodedSet set = encode_for(cfg, synthesize_whisker_data(4, 5, kTrainStream), 5);
  {
    BarrelModel m(cfg);
    train(m, set, EncodedSet{}, tiny_train(run, 1));
  }
  // A kill after the log of epoch 2 was committed but before its checkpoint (the old order),
  // and temporary files of killed writers.
  { std::ofstream(run + "/log.csv", std::ios::app) << "2,1,0.5,0,0,0.008,1\n"; }
  const long pid = dead_pid();
  ASSERT_GT(pid, 0);
  const std::string stale_ckpt = run + "/checkpoint.h5.tmp-" + std::to_string(pid) + "-0";
  const std::string stale_log = run + "/log.csv.tmp-" + std::to_string(pid) + "-3";
  const std::string live = run + "/checkpoint.h5.tmp-" + std::to_string(::getppid()) + "-0";
  for (const std::string& f : {stale_ckpt, stale_log, live}) std::ofstream(f) << "partial";

  std::unique_ptr<BarrelModel> m = load_checkpoint(run + "/checkpoint.h5");
  TrainOptions o = tiny_train(run, 2);
  o.resume = true;
  train(*m, set, EncodedSet{}, o);
  EXPECT_EQ(log_epochs(run + "/log.csv"), (std::vector<std::string>{"1", "2"}));
  EXPECT_FALSE(std::filesystem::exists(stale_ckpt));
  EXPECT_FALSE(std::filesystem::exists(stale_log));
  EXPECT_TRUE(std::filesystem::exists(live));  // a running process's file stays
  EXPECT_EQ(H5File::open_read(run + "/checkpoint.h5").get_attr_int("/", "epoch"), 2);
}

TEST(HardeningCheckpoint, CheckpointEveryKEpochsAndAlwaysTheLast) {
  test::TempDir dir;
  const std::string run = dir.path("run");
  const BarrelConfig cfg = tiny_config();
  const EncodedSet set = encode_for(cfg, synthesize_whisker_data(4, 5, kTrainStream), 5);
  BarrelModel m(cfg);
  TrainOptions o = tiny_train(run, 3);
  o.checkpoint_every = 2;
  train(m, set, EncodedSet{}, o);
  EXPECT_EQ(H5File::open_read(run + "/checkpoint.h5").get_attr_int("/", "epoch"), 3);
  EXPECT_EQ(log_epochs(run + "/log.csv"), (std::vector<std::string>{"1", "2", "3"}));
  o.checkpoint_every = 0;
  BarrelModel m2(cfg);
  EXPECT_THROW(train(m2, set, EncodedSet{}, o), Error);
}

TEST(HardeningCheckpoint, RemoveStaleTempsKeepsOtherFiles) {
  test::TempDir dir;
  const long pid = dead_pid();
  ASSERT_GT(pid, 0);
  const std::string target = dir.path("a.csv");
  const std::string stale = target + ".tmp-" + std::to_string(pid) + "-12";
  const std::string mine = target + ".tmp-" + std::to_string(::getpid()) + "-1";
  const std::string other = dir.path("b.csv.tmp-") + std::to_string(pid) + "-0";
  for (const std::string& f : {stale, mine, other, target}) std::ofstream(f) << "x";
  EXPECT_EQ(remove_stale_temps(target), 1);
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(mine));
  EXPECT_TRUE(std::filesystem::exists(other));
  EXPECT_TRUE(std::filesystem::exists(target));
}

// ---- defect 2: one atomic writer ----

TEST(HardeningCheckpoint, RateModelWriterFailsOnOneLineWithoutAnHdf5Stack) {
  test::TempDir dir;
  rate::RateModel m;
  // A folder that does not exist: one line with the path and the reason, and no HDF5 error
  // stack on stderr. A fresh thread: HDF5's printing is per thread and on by default there.
  std::string message, kind;
  testing::internal::CaptureStderr();
  std::thread([&] {
    try {
      rate::save_rate_model(dir.path("missing/m.h5"), m);
      kind = "no error";
    } catch (const Error& e) {
      message = e.what();
      kind = "rsnn::Error";
    } catch (const std::exception& e) {
      message = e.what();
      kind = "other";
    }
  }).join();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(kind, "rsnn::Error") << message;
  EXPECT_NE(message.find("missing/m.h5"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_EQ(err.find("HDF5-DIAG"), std::string::npos) << err;
  EXPECT_TRUE(std::filesystem::is_empty(dir.dir()));  // no temporary left behind
}
