// MICrONS training runs (spec §2) on field 6_6_2 with reduced schedules.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "models/microns/train.h"
#include "runtime/threads.h"
#include "test_util.h"

using namespace rsnn;
using namespace rsnn::microns;

namespace {

std::string field_dir() { return test::shared_data_dir() + "/microns/6_6_2"; }

#define SKIP_WITHOUT_662()                                                               \
  do {                                                                                   \
    if (!std::filesystem::exists(field_dir() + "/sttc_matrix.npy"))                      \
      GTEST_SKIP() << "MICrONS field 6_6_2 not found under " << field_dir();             \
  } while (0)

const Field& field662() {
  static const Field f = [] {
    LoadOptions o;
    o.positions_path = test::shared_data_dir() + "/microns/6_6_2_derived/positions_plain_int64_Nx3.npy";
    return load_field(field_dir(), o);
  }();
  return f;
}

// The first n neurons of 6_6_2 as a field of its own (grid nx x ny x nz = n), so that a
// test run costs a fraction of the full one.
Field subfield(const Field& f, int n, Grid g) {
  Field s;
  s.name = f.name + "_first" + std::to_string(n);
  s.N = n;
  s.grid = g;
  auto sub = [&](const std::vector<double>& a) {
    std::vector<double> b(size_t(n) * n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) b[size_t(i) * n + j] = a[size_t(i) * f.N + j];
    return b;
  };
  s.connectome = sub(f.connectome);
  s.sttc = sub(f.sttc);
  s.corr = sub(f.corr);
  s.precision = sub(f.precision);
  s.positions.assign(f.positions.begin(), f.positions.begin() + 3 * n);
  s.root_ids.assign(f.root_ids.begin(), f.root_ids.begin() + n);
  s.unit_ids.assign(f.unit_ids.begin(), f.unit_ids.begin() + n);
  s.target_ids.assign(f.target_ids.begin(), f.target_ids.begin() + n);
  return s;
}


const Field& sub144() {
  static const Field f = subfield(field662(), 144, Grid{12, 6, 2});
  return f;
}

// A reduced task-1 schedule: by default 6 epochs of 20 batches of 64 (120 steps), 512 test
// trials.
TrainConfig short_cfg(const char* variant, int epochs = 6, int batches = 20, int n_test = 512) {
  TrainConfig c;
  c.variant = variant;
  c.epochs = epochs;
  c.batches = batches;
  c.batch = 64;
  c.n_test = n_test;
  return c;
}

}  // namespace

// The spec's headline on task 1: the bio init keeps the goal over the delay (diagonal
// self-excitation the spatial penalties do not touch), the orthogonal one loses it to the
// regularizer and is stuck near the choices-only ceiling 5/8. Also: the loss falls.
TEST(MicronsTrain, BioBeatsOrthogonalOnTask1AndLossFalls) {
  SKIP_WITHOUT_662();
  // One thread: the BLAS summation order (and so the run) does not depend on the machine.
  set_num_threads(1);
  FieldCache cache(sub144());
  const TrainResult bio = train_run(cache, short_cfg("W*D*C"), Device::cpu());
  const TrainResult orth = train_run(cache, short_cfg("WD*C"), Device::cpu());
  ASSERT_TRUE(bio.finite);
  ASSERT_TRUE(orth.finite);
  ASSERT_EQ(bio.epochs.size(), 6u);
  EXPECT_LT(bio.epochs.back().loss, 0.5 * bio.epochs.front().loss);
  EXPECT_LT(orth.epochs.back().loss, orth.epochs.front().loss);
  EXPECT_GT(bio.val_accuracy, 0.85);
  // An orthogonal run can keep part of the goal (WD* reaches 0.79 in the paper): compare.
  EXPECT_GT(bio.val_accuracy, orth.val_accuracy + 0.1);
  EXPECT_GT(bio.accuracy, orth.accuracy + 0.15);
  EXPECT_EQ(bio.N, 144);
  EXPECT_EQ(bio.W_rec.size(), 144u * 144);
  // Epoch logs are what the result reports.
  EXPECT_EQ(bio.accuracy, bio.epochs.back().accuracy);
  EXPECT_EQ(bio.val_loss, bio.epochs.back().val_loss);
}

TEST(MicronsTrain, DeterministicAndKeyed) {
  SKIP_WITHOUT_662();
  FieldCache cache(sub144());
  TrainConfig c = short_cfg("WD", 1, 3, 64);
  const TrainResult a = train_run(cache, c, Device::cpu()), b = train_run(cache, c, Device::cpu());
  EXPECT_EQ(a.W_rec, b.W_rec);
  EXPECT_EQ(a.loss, b.loss);
  // Evaluating only after the last epoch changes nothing but the earlier val_* (NaN).
  TrainConfig c2 = c;
  c2.epochs = 2;
  c2.eval_each_epoch = false;
  TrainConfig c3 = c2;
  c3.eval_each_epoch = true;
  const TrainResult e2 = train_run(cache, c2, Device::cpu()), e3 = train_run(cache, c3, Device::cpu());
  EXPECT_TRUE(std::isnan(e2.epochs[0].val_loss));
  EXPECT_FALSE(std::isnan(e3.epochs[0].val_loss));
  EXPECT_EQ(e2.val_loss, e3.val_loss);
  EXPECT_EQ(e2.W_rec, e3.W_rec);
  c.sim = 1;  // another simulation: another orthogonal draw
  EXPECT_NE(train_run(cache, c, Device::cpu()).W_rec, a.W_rec);
  c.variant = "nope";
  test::expect_error([&] { train_run(cache, c, Device::cpu()); }, {"unknown variant 'nope'"});
}

// TF 2.21 / Keras 3.15, a Dense(4, softmax) with logits (30, 0, 0, 0) and target class 1:
// categorical_crossentropy = 30.0 and d loss / d logits = (1, -1, 9.3576e-14, 9.3576e-14),
// i.e. Keras used the logits; the clipped formula would give -log(1e-7) and no gradient.
TEST(MicronsTrain, CrossEntropyFormsMatchKerasAndTheClippedFormula) {
  const float z[4] = {30, 0, 0, 0};
  double g[4];
  EXPECT_NEAR(categorical_ce(z, 4, 1, CeForm::logits, g), 30.0, 1e-9);
  EXPECT_NEAR(g[0], 1.0, 1e-12);
  EXPECT_NEAR(g[1], -1.0, 1e-12);
  EXPECT_NEAR(g[2], 9.3576e-14, 1e-17);
  EXPECT_NEAR(categorical_ce(z, 4, 1, CeForm::clipped, g), -std::log(1e-7), 1e-12);
  for (double v : g) EXPECT_EQ(v, 0.0);
  // Inside the clip both forms are log-softmax with gradient p - onehot.
  const float y[3] = {0.5f, -1.0f, 2.0f};
  const double lse = std::log(std::exp(0.5) + std::exp(-1.0) + std::exp(2.0));
  double gl[3], gc[3];
  EXPECT_NEAR(categorical_ce(y, 3, 0, CeForm::logits, gl), lse - 0.5, 1e-12);
  EXPECT_NEAR(categorical_ce(y, 3, 0, CeForm::clipped, gc), lse - 0.5, 1e-12);
  for (int c = 0; c < 3; ++c) {
    const double want = std::exp(double(y[c]) - lse) - (c == 0);
    EXPECT_NEAR(gl[c], want, 1e-12);
    EXPECT_NEAR(gc[c], want, 1e-12);
  }
  EXPECT_EQ(parse_ce_form("clipped", "--ce"), CeForm::clipped);
  EXPECT_STREQ(ce_form_name(CeForm::logits), "logits");
  test::expect_error([] { parse_ce_form("clip", "--ce"); }, {"--ce: expected logits or clipped, got 'clip'"});
}

// The form is used in training: a run that saturates some trials differs between the two.
TEST(MicronsTrain, CrossEntropyFormChangesASaturatedRun) {
  SKIP_WITHOUT_662();
  FieldCache cache(sub144());
  TrainConfig c = short_cfg("W", 1, 4, 64);
  c.lr = 0.5;  // large steps push trials past the clip
  const TrainResult a = train_run(cache, c, Device::cpu());
  c.ce = CeForm::clipped;
  const TrainResult b = train_run(cache, c, Device::cpu());
  ASSERT_TRUE(a.finite && b.finite);
  EXPECT_NE(a.W_rec, b.W_rec);
}

// A diverging run finishes with finite = false and NaN losses instead of throwing; its
// accuracy is then Keras's argmax of NaN (class 0).
TEST(MicronsTrain, DivergedRunReportsNotFinite) {
  SKIP_WITHOUT_662();
  FieldCache cache(sub144());
  TrainConfig c = short_cfg("W", 2, 4, 64);
  c.lr = 1e3;
  const TrainResult r = train_run(cache, c, Device::cpu());
  EXPECT_FALSE(r.finite);
  EXPECT_TRUE(std::isnan(r.loss));
  EXPECT_TRUE(std::isnan(r.val_loss));
  EXPECT_GE(r.accuracy, 0.0);
  EXPECT_LE(r.accuracy, 0.5);
}

TEST(MicronsTrain, SignConstraintKeepsWrecNonNegative) {
  SKIP_WITHOUT_662();
  FieldCache cache(sub144());
  TrainConfig c = short_cfg("W*D*C", 1, 3, 64);
  c.sign_constraint = true;
  const TrainResult r = train_run(cache, c, Device::cpu());
  ASSERT_TRUE(r.finite);
  for (float w : r.W_rec) ASSERT_GE(w, 0.f);
}

TEST(MicronsTrain, CudaMatchesCpu) {
  RSNN_SKIP_WITHOUT_CUDA();
  SKIP_WITHOUT_662();
  FieldCache cache(sub144());
  TrainConfig c = short_cfg("W*D*C*", 2, 5, 128);
  const TrainResult a = train_run(cache, c, Device::cpu()), b = train_run(cache, c, Device::cuda());
  ASSERT_TRUE(b.finite);
  EXPECT_NEAR(a.loss, b.loss, 1e-3 * std::fabs(a.loss));
  EXPECT_NEAR(a.val_loss, b.val_loss, 1e-3 * std::fabs(a.val_loss));
  double worst = 0;
  for (size_t i = 0; i < a.W_rec.size(); ++i)
    worst = std::max(worst, double(std::fabs(a.W_rec[i] - b.W_rec[i])));
  EXPECT_LT(worst, 1e-3);
}
