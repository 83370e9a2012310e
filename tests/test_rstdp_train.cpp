// The R-STDP schedule: IDX data sets, C2 bits, the adaptive-rate epoch, checkpoint/resume,
// the CLI's flag checks, and a short Fashion-MNIST run that beats chance by a wide margin.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kernels/rstdp_layer3.h"
#include "models/rstdp/train.h"
#include "runtime/random.h"
#include "runtime/tensor.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::rstdp;
namespace fs = std::filesystem;

namespace {

const std::string kFashion = "/usr/share/datasets/fashion-mnist";
bool have_fashion() { return fs::exists(kFashion + "/train-images-idx3-ubyte.gz"); }

// A plain IDX file: uint8 data of the given dimensions.
void write_idx(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::ofstream f(path, std::ios::binary);
  const unsigned char head[4] = {0, 0, 0x08, static_cast<unsigned char>(dims.size())};
  f.write(reinterpret_cast<const char*>(head), 4);
  for (uint32_t d : dims) {
    const unsigned char be[4] = {static_cast<unsigned char>(d >> 24), static_cast<unsigned char>(d >> 16),
                                 static_cast<unsigned char>(d >> 8), static_cast<unsigned char>(d)};
    f.write(reinterpret_cast<const char*>(be), 4);
  }
  f.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
}

// A quiet run on a Fashion-MNIST subset with the given epochs per layer, logging into `log`,
// in the folder `out_dir`.
TrainConfig fashion_cfg(int train, int test, int e1, int e2, int e3, std::ostream& log,
                        const std::string& out_dir) {
  TrainConfig c;
  c.data_dir = kFashion;
  c.train_subset = train, c.test_subset = test;
  c.epochs1 = e1, c.epochs2 = e2, c.epochs3 = e3;
  c.progress = false, c.plots = false;
  c.log = &log;
  c.out_dir = out_dir;
  return c;
}

using test::CmdResult;
CmdResult run_cli(const std::string& args) { return test::run_rsnn(args); }

}  // namespace

TEST(RstdpData, PlainIdxFolderAndItsChecks) {
  const test::TempDir tmp("rsnn_rstdp_idx");
  const std::string& d = tmp.dir();
  write_idx(d + "/train-images-idx3-ubyte", {3, 28, 28}, std::vector<uint8_t>(3 * 784, 7));
  write_idx(d + "/train-labels-idx1-ubyte", {3}, {4, 0, 9});
  const Dataset ds = load_split(d, "train", 1, 2);
  EXPECT_EQ(ds.n, 2);
  EXPECT_EQ(ds.rows, 28);
  EXPECT_EQ(ds.labels, (std::vector<int>{0, 9}));
  EXPECT_EQ(ds.image(1)[5], 7);
  EXPECT_THROW(load_split(d, "train", 2, 2), Error);   // past the end
  EXPECT_THROW(load_split(d, "t10k"), Error);          // missing files
  EXPECT_THROW(load_split(d, "valid"), Error);         // unknown split
  EXPECT_THROW(load_split(d + "/nope", "train"), Error);
  write_idx(d + "/train-labels-idx1-ubyte", {3}, {4, 12, 9});
  try {
    load_split(d, "train");
    FAIL() << "label 12 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label 12"), std::string::npos) << e.what();
  }
  write_idx(d + "/train-labels-idx1-ubyte", {2}, {4, 1});
  EXPECT_THROW(load_split(d, "train"), Error);  // 3 images, 2 labels
}

TEST(RstdpData, FashionMnistGzip) {
  if (!have_fashion()) GTEST_SKIP() << kFashion << " absent (Debian package dataset-fashion-mnist)";
  const Dataset te = load_split(kFashion, "t10k");
  EXPECT_EQ(te.n, 10000);
  EXPECT_EQ(te.rows, 28);
  EXPECT_EQ(te.cols, 28);
  std::vector<int> count(10, 0);
  for (int l : te.labels) ++count[l];
  for (int c : count) EXPECT_EQ(c, 1000);  // Fashion-MNIST's test set is balanced
}

TEST(RstdpTrain, C2WaveBitsKeepTheCentreAndRejectPaddingSpikes) {
  Wave w;
  w.C = 250, w.H = 8, w.W = 8;
  w.t.assign(size_t(w.size()), kNever);
  w.t[(size_t(17) * 8 + 3) * 8 + 5] = 4;  // channel 17 at padded (3, 5) -> input (1, 3)
  std::vector<uint64_t> bits(kL3Words);
  c2_wave_bits(w, bits.data());
  EXPECT_EQ(l3_count(bits.data()), 1);
  EXPECT_TRUE(l3_bit(bits.data(), (1 * 4 + 3) * kL3In + 17));
  w.t[(size_t(2) * 8 + 0) * 8 + 3] = 0;  // padding
  EXPECT_THROW(c2_wave_bits(w, bits.data()), Error);
  w.H = 7;
  EXPECT_THROW(c2_wave_bits(w, bits.data()), Error);
}

TEST(RstdpTrain, EpochAdaptsTheRatesAfterEveryBatch) {
  const int64_t n = 50;
  Tensor t = Tensor::empty({n, kL3Bits}, DType::u8);
  fill_bernoulli(t, 3, 1, 0.15);
  std::vector<uint64_t> bits(size_t(n) * kL3Words);
  for (int64_t i = 0; i < n; ++i) l3_pack(t.data<uint8_t>() + i * kL3Bits, &bits[i * kL3Words]);
  std::vector<int> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = int(i % 3);
  const Layer3 init = make_layer3(2);
  // By hand: batches of 20, 20, 10 with the rates of the previous batch's fractions.
  Layer3 ref = init;
  RStdpRates r;
  double sum = 0;
  for (int64_t s0 = 0; s0 < n; s0 += 20) {
    const int64_t m = std::min<int64_t>(20, n - s0);
    L3Counts c;
    for (L3Outcome o : l3_train_ref(ref, &bits[s0 * kL3Words], &labels[s0], m, r)) c.add(o);
    sum += double(c.correct) / m;
    r = adapt_rates(double(c.correct) / m, double(c.wrong) / m);
  }
  Layer3Fast fast(init, 8);
  RStdpRates rf;
  const double acc = layer3_epoch(fast, rf, bits.data(), labels.data(), n, 20, nullptr);
  EXPECT_EQ(acc, sum / 3);
  EXPECT_TRUE(fast.layer().w == ref.w);
  EXPECT_EQ(rf.reward.ltp, r.reward.ltp);
  EXPECT_EQ(rf.punish.ltd, r.punish.ltd);
  EXPECT_NE(rf.punish.ltp, RStdpRates().punish.ltp);  // the rates did adapt
}

TEST(RstdpTrain, ResumeGivesTheSameRunAndChecksItsFlags) {
  if (!have_fashion()) GTEST_SKIP() << kFashion << " absent";
  std::ostringstream log;
  const test::TempDir full("rsnn_rstdp_full"), resume("rsnn_rstdp_resume");
  TrainConfig c = fashion_cfg(250, 120, 1, 1, 2, log, full.dir());
  c.adapt_every = 100;
  const TrainState a = train_rstdp(c);
  TrainConfig c1 = c;
  c1.out_dir = resume.dir();
  c1.epochs3 = 1;
  train_rstdp(c1);
  c1.epochs3 = 2;
  const TrainState b = train_rstdp(c1);  // resumes: layer 3's second epoch only
  EXPECT_NE(log.str().find("resuming"), std::string::npos);
  EXPECT_TRUE(a.l12.w1 == b.l12.w1);
  EXPECT_TRUE(a.l12.w2 == b.l12.w2);
  EXPECT_TRUE(a.l3.w == b.l3.w);
  EXPECT_TRUE(a.best_l3.w == b.best_l3.w);
  EXPECT_EQ(a.rates.reward.ltp, b.rates.reward.ltp);
  ASSERT_EQ(a.history.size(), 4u);
  ASSERT_EQ(b.history.size(), 4u);
  for (size_t i = 0; i < a.history.size(); ++i) {
    EXPECT_EQ(a.history[i].layer, b.history[i].layer);
    EXPECT_EQ(a.history[i].train_acc, b.history[i].train_acc);
    EXPECT_EQ(a.history[i].test_acc, b.history[i].test_acc);
  }
  const TrainState loaded = load_checkpoint(c1.out_dir + "/checkpoint.h5");
  EXPECT_TRUE(loaded.l3.w == b.l3.w);
  EXPECT_EQ(loaded.done3, 2);
  TrainConfig bad = c1;
  bad.seed = 9;
  EXPECT_THROW(train_rstdp(bad), Error);  // another seed in the same run folder
  bad = c1;
  bad.epochs3 = 1;
  EXPECT_THROW(train_rstdp(bad), Error);  // fewer epochs than done
  EXPECT_TRUE(fs::exists(c1.out_dir + "/history.csv"));
  EXPECT_TRUE(fs::exists(c1.out_dir + "/c2_cache.h5"));
}

TEST(RstdpTrain, ShortFashionRunBeatsChance) {
  if (!have_fashion()) GTEST_SKIP() << kFashion << " absent";
  std::ostringstream log;
  // Layers 1-2 need about 2,500 samples before their rates (doubled every 500) are large.
  const test::TempDir tmp("rsnn_rstdp_short");
  TrainConfig c = fashion_cfg(1500, 500, 2, 2, 6, log, tmp.dir());
  c.threads = 1;
  const TrainState s = train_rstdp(c);
  EXPECT_GE(s.best_test, 0.45) << log.str();  // chance is 0.10 (measured: 0.606)
  EXPECT_EQ(s.history.back().layer, 3);
}

TEST(RstdpCli, FlagsAreValidated) {
  CmdResult r = run_cli("rstdp train --epochs-l3 2");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("--out"), std::string::npos) << r.out;
  r = run_cli("rstdp train --out /tmp/x --epochs-l3 -1");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("--epochs-l3"), std::string::npos) << r.out;
  r = run_cli("rstdp train --out /tmp/x --batch 0");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("--batch"), std::string::npos) << r.out;
  const test::TempDir tmp("rsnn_rstdp_cli");
  const std::string& d = tmp.dir();
  r = run_cli("rstdp train --out " + d + " --data " + d + "/nope --no-plots");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("nope"), std::string::npos) << r.out;
  r = run_cli("rstdp eval --checkpoint " + d + "/none.h5");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("--checkpoint"), std::string::npos) << r.out;
  r = run_cli("rstdp eval --checkpoint x.h5 --which middle");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("--which"), std::string::npos) << r.out;
}
