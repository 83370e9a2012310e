// Data-parallel `rsnn rate train` (issue 19): a batch of 10 cut into 4 shards (3, 3, 2, 2)
// gives the same model bit for bit on 1, 2 and 4 MPI ranks; the shards' losses add up to the
// batch's; sharded evaluation equals the one-call evaluation; bad --shards values are
// one-line errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "models/rate/model_file.h"
#include "models/rate/rate_train.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::rate;

namespace {

const char* kTrain =
    "rate train --task go-nogo --N 24 --batch 10 --max-trials 120 --eval-freq 40 --eval-trials 10"
    " --seed 3 --plot off --threads 1 --name r";

std::string model_path(const std::string& out) {
  return out + "/models/go-nogo/P_rec_0.2_Taus_4.0_10.0/r.h5";
}

// Runs `rate train` on `np` ranks (0: plain, no mpirun) into `out`; returns the output.
std::string train(int np, const std::string& extra, const std::string& out) {
  const std::string cmd = (np > 0 ? test::mpirun(np) : std::string()) + test::rsnn_exe() + " " +
                          kTrain + " " + extra + " --out " + out;
  const test::CmdResult r = test::run_command(cmd);
  EXPECT_EQ(r.rc, 0) << cmd << "\n" << r.out;
  return r.out;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined()) return a.defined() == b.defined();
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// Everything a training run decides (not its timings) is equal bit for bit.
void expect_same_model(const RateModel& a, const RateModel& b, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_TRUE(same_bytes(a.net.w, b.net.w));
  EXPECT_TRUE(same_bytes(a.net.w_out, b.net.w_out));
  EXPECT_TRUE(same_bytes(a.net.b_out, b.net.b_out));
  EXPECT_TRUE(same_bytes(a.net.taus_gaus, b.net.taus_gaus));
  EXPECT_TRUE(same_bytes(a.eval_os, b.eval_os));
  EXPECT_TRUE(same_bytes(a.x, b.x));
  EXPECT_TRUE(same_bytes(a.o, b.o));
  EXPECT_EQ(a.losses, b.losses);
  EXPECT_EQ(a.eval_labels, b.eval_labels);
  ASSERT_EQ(a.evals.size(), b.evals.size());
  for (size_t i = 0; i < a.evals.size(); ++i) {
    EXPECT_EQ(a.evals[i].tr, b.evals[i].tr);
    EXPECT_EQ(a.evals[i].perf, b.evals[i].perf);
    EXPECT_EQ(a.evals[i].loss, b.evals[i].loss);
  }
  EXPECT_EQ(a.tr, b.tr);
}

int count(const std::string& s, const std::string& part) {
  int n = 0;
  for (size_t p = s.find(part); p != std::string::npos; p = s.find(part, p + 1)) ++n;
  return n;
}

}  // namespace

TEST(RateDist, ShardsGiveTheSameModelOnAnyRankCount) {
  test::TempDir dir("rsnn_rate_dist");
  train(0, "--shards 4", dir.path("one"));
  const std::string out2 = train(2, "--shards 4", dir.path("two"));
  train(4, "--shards 4", dir.path("four"));
  train(0, "", dir.path("plain"));
  const RateModel one = load_rate_model(model_path(dir.path("one")));
  ASSERT_EQ(one.losses.size(), 12u);
  ASSERT_EQ(one.evals.size(), 3u);
  expect_same_model(one, load_rate_model(model_path(dir.path("two"))), "2 ranks");
  expect_same_model(one, load_rate_model(model_path(dir.path("four"))), "4 ranks");
  // Only rank 0 prints: one final line, each evaluation once.
  EXPECT_EQ(count(out2, "did NOT converge"), 1) << out2;
  EXPECT_EQ(count(out2, "tr    59 |"), 1) << out2;

  // The same mathematics as the whole batch in one step: the first loss (before any update)
  // agrees to rounding, and so do the weights after a few steps.
  const RateModel plain = load_rate_model(model_path(dir.path("plain")));
  ASSERT_EQ(plain.losses.size(), one.losses.size());
  EXPECT_NEAR(plain.losses[0], one.losses[0], 1e-5 * plain.losses[0]);
  const std::vector<float> w1 = one.net.w.to_vector<float>(), wp = plain.net.w.to_vector<float>();
  double dmax = 0;
  for (size_t i = 0; i < w1.size(); ++i) dmax = std::max(dmax, double(std::fabs(w1[i] - wp[i])));
  EXPECT_LT(dmax, 1e-3);
}

TEST(RateDist, ShardedLossesAddUpToTheBatchMean) {
  // Two shards of a batch of 5, each divided by the whole batch: their gradients add up to
  // the whole batch's gradient, their values to its mean.
  const int64_t B = 5, K = 7;
  std::vector<float> ov(B * K), zv(B * (K + 1));
  for (size_t i = 0; i < ov.size(); ++i) ov[i] = float(std::sin(0.7 * double(i)));
  for (size_t i = 0; i < zv.size(); ++i) zv[i] = float(std::cos(0.3 * double(i)));
  const Tensor o = Tensor::from_vector(ov, {B, K}), z = Tensor::from_vector(zv, {B, K + 1});
  for (LossKind kind : {LossKind::l2, LossKind::l1}) {
    ag::Var whole(o.clone(), true);
    ag::Var lw = rate_loss(whole, z, kind);
    ag::backward(lw);
    double sum = 0;
    std::vector<float> g(B * K);
    for (auto [b0, n] : {std::pair<int64_t, int64_t>{0, 2}, {2, 3}}) {
      ag::Var part(o.narrow0(b0, n).clone(), true);
      ag::Var lp = rate_loss(part, z.narrow0(b0, n), kind, B);
      ag::backward(lp);
      sum += lp.value().item<double>();
      const std::vector<float> gp = part.grad().to_vector<float>();
      std::copy(gp.begin(), gp.end(), g.begin() + b0 * K);
    }
    EXPECT_NEAR(sum, lw.value().item<double>(), 1e-5);
    const std::vector<float> gw = whole.grad().to_vector<float>();
    for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], gw[i], 1e-7) << i;
  }
}

TEST(RateDist, ShardedEvaluationEqualsOneCall) {
  RateConfig c;
  c.N = 20;
  c.n_in = 2;
  const RateNet net = init_rate_net(c, 5);
  const TaskSpec task = task_defaults(TaskKind::xor_task);
  const EvalResult one = evaluate_rate(net, task, LossKind::l2, 9, 100, 11);
  const EvalResult sharded = evaluate_rate_sharded(net, task, LossKind::l2, 9, 100, 11, 3);
  EXPECT_EQ(one.labels, sharded.labels);
  EXPECT_EQ(one.perf, sharded.perf);
  EXPECT_NEAR(one.loss, sharded.loss, 1e-6 * one.loss);
  ASSERT_EQ(one.o.shape(), sharded.o.shape());
  const std::vector<float> a = one.o.to_vector<float>(), b = sharded.o.to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5f) << i;
  // More shards than trials: the empty ones add nothing.
  EXPECT_EQ(evaluate_rate_sharded(net, task, LossKind::l2, 9, 100, 2, 4).labels.size(), 2u);
}

TEST(RateDist, BadShardCountsAreErrors) {
  test::TempDir dir("rsnn_rate_dist_bad");
  const std::string base = test::rsnn_exe() + " " + kTrain + " --out " + dir.dir();
  const test::CmdResult big = test::run_command(base + " --shards 11");
  EXPECT_NE(big.rc, 0);
  EXPECT_NE(big.out.find("--shards 11 is more than the batch of 10"), std::string::npos) << big.out;
  const test::CmdResult neg = test::run_command(base + " --shards -2");
  EXPECT_NE(neg.rc, 0);
  EXPECT_NE(neg.out.find("--shards must be >= 0"), std::string::npos) << neg.out;
  const test::CmdResult odd = test::run_command(test::mpirun(2) + base + " --shards 3");
  EXPECT_NE(odd.rc, 0);
  EXPECT_NE(odd.out.find("--shards 3 is not a multiple of the 2 MPI ranks"), std::string::npos)
      << odd.out;
  // Refused before any work: no model, no log.
  EXPECT_FALSE(std::ifstream(model_path(dir.dir())).good());
}
