// The synthetic whisker-sweep generator: layout, labels, determinism, physics sanity and
// class separability.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "models/barrel/baseline.h"
#include "models/barrel/whisker_data.h"
#include "models/barrel/whisker_synth.h"
#include "runtime/threads.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::barrel;

namespace {
// One small data set shared by the tests (generation is the slow part).
const WhiskerData& small_set() {
  static const WhiskerData d = synthesize_whisker_data(24, 7, kTrainStream);
  return d;
}
}  // namespace

TEST(WhiskerArray, ThirtyOneWhiskersInTheRatLayout) {
  const auto& w = whisker_array();
  ASSERT_EQ(w.size(), 31u);
  EXPECT_EQ(w[0].name, "A0");
  EXPECT_EQ(w[4].name, "A4");
  EXPECT_EQ(w[5].name, "B0");
  EXPECT_EQ(w[30].name, "E6");
  std::set<std::string> names;
  for (const auto& x : w) {
    names.insert(x.name);
    EXPECT_GT(x.length, 3.0) << x.name;
    EXPECT_LT(x.length, 55.0) << x.name;
    EXPECT_NEAR(geom::norm(x.dir), 1.0, 1e-12);
    EXPECT_NEAR(geom::norm(x.bend), 1.0, 1e-12);
    EXPECT_NEAR(geom::dot(x.dir, x.bend), 0.0, 1e-12);
    EXPECT_GT(x.dir.x, 0.0) << x.name << " must point away from the face (lateral)";
  }
  EXPECT_EQ(names.size(), 31u);
  // Within a row, lengths decrease rostrally and base points move rostrally (+y).
  for (size_t i = 1; i < w.size(); ++i) {
    if (w[i].row != w[i - 1].row) continue;
    EXPECT_LT(w[i].length, w[i - 1].length) << w[i].name;
    EXPECT_GT(w[i].base.y, w[i - 1].base.y) << w[i].name;
  }
  // Dorsal rows sit above ventral rows.
  EXPECT_GT(w[2].base.z, w[27].base.z);
}

TEST(WhiskerSynth, ShapeLabelsAndSummary) {
  const WhiskerData& d = small_set();
  validate(d, "synthetic");
  EXPECT_EQ(d.force.shape(), whisker_data_shape(24));
  const auto counts = class_counts(d);
  EXPECT_EQ(counts[0], 8);
  EXPECT_EQ(counts[1], 8);
  EXPECT_EQ(counts[2], 8);
  const WhiskerSummary s = summarize(d);
  for (int c = 0; c < 3; ++c) {
    std::printf("class %s: mean |F| %.3g, mean |tau| %.3g, frames with contact %.3f, whisker-frames %.4f\n",
                class_name(c), s.mean_force[c], s.mean_torque[c], s.contact_frames[c],
                s.contact_whiskers[c]);
  }
  EXPECT_GT(s.contact_frames_all, 0.1);
  EXPECT_LT(s.contact_frames_all, 0.9);
}

TEST(WhiskerSynth, DeterministicForASeedAndThreadCount) {
  const int saved = num_threads();
  set_num_threads(1);
  const WhiskerData a = synthesize_whisker_data(3, 7, kTrainStream);
  set_num_threads(2);
  const WhiskerData b = synthesize_whisker_data(3, 7, kTrainStream);
  set_num_threads(saved);
  EXPECT_EQ(std::memcmp(a.force.data<float>(), b.force.data<float>(), a.force.nbytes()), 0);
  EXPECT_EQ(std::memcmp(a.torque.data<float>(), b.torque.data<float>(), a.torque.nbytes()), 0);
  EXPECT_EQ(a.label.to_vector<int32_t>(), b.label.to_vector<int32_t>());
  const WhiskerData c = synthesize_whisker_data(3, 8, kTrainStream);
  EXPECT_NE(std::memcmp(a.force.data<float>(), c.force.data<float>(), a.force.nbytes()), 0);
  const WhiskerData t = synthesize_whisker_data(3, 7, kTestStream);
  EXPECT_NE(std::memcmp(a.force.data<float>(), t.force.data<float>(), a.force.nbytes()), 0);
}

TEST(WhiskerSynth, SceneParametersFollowTheOriginalRanges) {
  for (int64_t i = 0; i < 200; ++i) {
    const SceneParams s = scene_params(3, 0, i, static_cast<int>(i % 3));
    EXPECT_GE(s.speed, -14.0);
    EXPECT_LE(s.speed, -7.0);
    EXPECT_GE(s.scale, 25.0);
    EXPECT_LE(s.scale, 135.0);
    // A proper rotation: orthonormal rows, determinant +1.
    const geom::Mat3& R = s.rotation;
    const geom::Vec3 r0{R.m[0], R.m[1], R.m[2]}, r1{R.m[3], R.m[4], R.m[5]}, r2{R.m[6], R.m[7], R.m[8]};
    EXPECT_NEAR(geom::dot(r0, r0), 1.0, 1e-12);
    EXPECT_NEAR(geom::dot(r0, r1), 0.0, 1e-12);
    EXPECT_NEAR(geom::dot(geom::cross(r0, r1), r2), 1.0, 1e-12);
    // The object starts rostral of the field and ends caudal of it (it sweeps past).
    EXPECT_GT(s.center.y, 0.0);
  }
  const std::vector<int32_t> l = synth_labels(218, 515, kTrainStream);
  EXPECT_EQ(std::count(l.begin(), l.end(), 0), 73);
  EXPECT_EQ(std::count(l.begin(), l.end(), 1), 73);
  EXPECT_EQ(std::count(l.begin(), l.end(), 2), 72);
  EXPECT_NE(l, synth_labels(218, 516, kTrainStream)) << "labels are shuffled by the seed";
}

TEST(WhiskerSynth, NoObjectNearTheWhiskersMeansExactZeros) {
  SceneParams s = scene_params(1, 0, 0, 1);
  s.center = geom::Vec3{500.0, s.center.y, s.center.z};  // far lateral of every whisker
  std::vector<float> f(whisker_data_shape(1)[1] * kFrames * kWhiskers * kSegments * kAxes, 1.0f);
  std::vector<float> t(f.size(), 1.0f);
  simulate_sample(s, 1, 0, 0, f.data(), t.data());
  EXPECT_TRUE(std::all_of(f.begin(), f.end(), [](float v) { return v == 0.0f; }));
  EXPECT_TRUE(std::all_of(t.begin(), t.end(), [](float v) { return v == 0.0f; }));
}

TEST(WhiskerSynth, ContactPhysicsIsConsistent) {
  // A large box held against the whole array for all frames (speed 0): every frame has contact.
  SceneParams s = scene_params(1, 0, 0, 1);
  s.scale = 120.0;
  s.speed = 0.0;
  s.rotation = geom::Mat3{};
  s.box.handle = false;
  s.center = geom::Vec3{6.0 + 25.0 + 0.5 * 120.0, -8.0, -4.0};  // near face 25 mm lateral of the pad
  const size_t n = static_cast<size_t>(kSweeps * kFrames * kWhiskers * kSegments * kAxes);
  std::vector<float> f(n), t(n);
  simulate_sample(s, 1, 0, 0, f.data(), t.data());
  auto idx = [](int64_t sw, int64_t fr, int64_t w, int64_t sg, int64_t ax) {
    return static_cast<size_t>((((sw * kFrames + fr) * kWhiskers + w) * kSegments + sg) * kAxes + ax);
  };
  int contacts = 0;
  for (int64_t w = 0; w < kWhiskers; ++w) {
    const size_t i0 = idx(0, 0, w, 0, 0);
    const geom::Vec3 F0{f[i0], f[i0 + 1], f[i0 + 2]};
    if (geom::norm(F0) == 0) continue;
    ++contacts;
    // The box face pushes the whisker back towards the face (-x).
    EXPECT_LT(F0.x, 0.0) << whisker_array()[w].name;
    // Static object: identical across frames (the noise differs, so compare loosely).
    const size_t i9 = idx(0, 99, w, 0, 0);
    EXPECT_NEAR(f[i9], f[i0], 0.15 * geom::norm(F0) + 1e-6);
    // The same force at the three joints (up to 3 % noise). Torques are moments of that
    // force, tau_j = (x_c - x_j) x F, so they are perpendicular to it, and joints 0 and 2
    // differ by (x_2 - x_0) x F with |x_2 - x_0| <= 2 L / 20.
    const size_t i2 = idx(0, 0, w, 2, 0);
    const geom::Vec3 F2{f[i2], f[i2 + 1], f[i2 + 2]};
    EXPECT_NEAR(geom::norm(F2), geom::norm(F0), 0.2 * geom::norm(F0));
    const geom::Vec3 T0{t[i0], t[i0 + 1], t[i0 + 2]}, T2{t[i2], t[i2 + 1], t[i2 + 2]};
    const double noise = 0.12 * (geom::norm(T0) + geom::norm(T2));
    EXPECT_LT(std::fabs(geom::dot(T0, F0)), 0.2 * geom::norm(T0) * geom::norm(F0) + 1e-6);
    EXPECT_LE(geom::norm(T0 - T2), 0.1 * whisker_array()[w].length * geom::norm(F0) * 1.1 + noise);
  }
  // Long whiskers reach a face 25 mm out; the short rostral ones (C6: 3 mm) do not.
  EXPECT_GT(contacts, 5);
  EXPECT_LT(contacts, 31);
  const size_t c6 = idx(0, 0, 17, 0, 0);
  EXPECT_EQ(whisker_array()[17].name, "C6");
  EXPECT_EQ(f[c6], 0.0f);
}

TEST(WhiskerSynth, ClassesDiffer) {
  const WhiskerSummary s = summarize(small_set());
  // Solid boxes touch more whiskers than hollow helmets, which touch more than thin planes.
  EXPECT_GT(s.contact_whiskers[1], 1.2 * s.contact_whiskers[0]);
  EXPECT_GT(s.contact_whiskers[0], 1.2 * s.contact_whiskers[2]);
  // Class-mean force profiles over the whiskers differ.
  const WhiskerData& d = small_set();
  std::vector<std::vector<double>> profile(3, std::vector<double>(kWhiskers, 0.0));
  const float* f = d.force.data<float>();
  const int32_t* l = d.label.data<int32_t>();
  for (int64_t n = 0; n < d.size(); ++n)
    for (int64_t sf = 0; sf < kSweeps * kFrames; ++sf)
      for (int64_t w = 0; w < kWhiskers; ++w) {
        const float* v = f + ((n * kSweeps * kFrames + sf) * kWhiskers + w) * kSegments * kAxes;
        profile[l[n]][w] += std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
      }
  for (int a = 0; a < 3; ++a)
    for (int b = a + 1; b < 3; ++b) {
      double diff = 0, size = 0;
      for (int64_t w = 0; w < kWhiskers; ++w) {
        diff += std::fabs(profile[a][w] - profile[b][w]);
        size += profile[a][w] + profile[b][w];
      }
      EXPECT_GT(diff / size, 0.15) << class_name(a) << " vs " << class_name(b);
    }
}

TEST(SoftmaxBaseline, GradientMatchesFiniteDifferences) {
  const int64_t N = 7, D = 4, K = 3;
  std::vector<double> x(N * D), params(K * D + K);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(1.3 * i + 0.2);
  for (size_t i = 0; i < params.size(); ++i) params[i] = 0.3 * std::cos(0.7 * i);
  const Tensor X = Tensor::from_vector(x, {N, D});
  const std::vector<int32_t> y{0, 1, 2, 2, 1, 0, 1};
  std::vector<double> g;
  softmax_objective(params, X, y, K, 0.05, &g);
  for (size_t i = 0; i < params.size(); ++i) {
    std::vector<double> p = params, m = params;
    p[i] += 1e-6;
    m[i] -= 1e-6;
    const double fd = (softmax_objective(p, X, y, K, 0.05, nullptr) -
                       softmax_objective(m, X, y, K, 0.05, nullptr)) / 2e-6;
    EXPECT_NEAR(g[i], fd, 1e-7) << "parameter " << i;
  }
}

TEST(SoftmaxBaseline, FitsSeparableClusters) {
  const int64_t N = 60, D = 5;
  std::vector<double> x(N * D);
  std::vector<int32_t> y(N);
  for (int64_t n = 0; n < N; ++n) {
    y[n] = static_cast<int32_t>(n % 3);
    for (int64_t j = 0; j < D; ++j)
      x[n * D + j] = (j == y[n] ? 3.0 : 0.0) + 0.3 * std::sin(17.0 * n + 3.0 * j);
  }
  const Tensor X = Tensor::from_vector(x, {N, D});
  BaselineOptions opt;
  opt.l2 = 1e-3;
  FitReport rep;
  const SoftmaxModel m = fit_softmax(X, y, 3, opt, &rep);
  EXPECT_TRUE(rep.converged);
  EXPECT_EQ(accuracy(m.predict(X), y), 1.0);
  const Tensor p = m.predict_proba(X);
  for (int64_t n = 0; n < N; ++n) {
    double s = 0;
    for (int k = 0; k < 3; ++k) s += p.data<double>()[n * 3 + k];
    EXPECT_NEAR(s, 1.0, 1e-12);
  }
}

TEST(SoftmaxBaseline, BeatsChanceOnASmallSyntheticSet) {
  const WhiskerData train = synthesize_whisker_data(60, 11, kTrainStream);
  const WhiskerData test = synthesize_whisker_data(30, 11, kTestStream);
  const BaselineResult r = run_baseline(train, test);
  std::printf("baseline on 60/30 synthetic samples: train %.3f, test %.3f (%d iterations)\n",
              r.train_accuracy, r.test_accuracy, r.fit.iterations);
  EXPECT_EQ(r.features, 2 * kRealFeatures);
  EXPECT_GT(r.test_accuracy, 0.5);  // chance is 1/3
  int64_t total = 0;
  for (const auto& row : r.confusion)
    for (int64_t c : row) total += c;
  EXPECT_EQ(total, 30);
}

namespace {
// Runs a shell command; returns its exit status and its stdout+stderr.
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, ""};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}
}  // namespace

TEST(WhiskerCli, SynthBaselineAndSummaryEndToEnd) {
  const std::string exe = RSNN_RSNN_EXE;
  struct stat st;
  if (::stat(exe.c_str(), &st) != 0) GTEST_SKIP() << "the rsnn program is not built: " << exe;
  const rsnn::test::TempDir tmp("rsnn_whisker_cli");
  const std::string& dir = tmp.dir();
  const auto [rc, out] = run(exe + " whisker synth --out " + dir + "/data --train 9 --test 6 --seed 3 --threads 2");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("generated 9 + 6 samples"), std::string::npos) << out;
  EXPECT_NE(out.find("frames touched"), std::string::npos) << out;
  const WhiskerData train = read_whisker_h5(dir + "/data/whisker_train.h5");
  const WhiskerData test = read_whisker_h5(dir + "/data/whisker_test.h5");
  EXPECT_EQ(train.size(), 9);
  EXPECT_EQ(test.size(), 6);
  EXPECT_EQ(class_counts(train), (std::vector<int64_t>{3, 3, 3}));
  // The files hold exactly what the library generates for that seed and stream.
  const WhiskerData again = synthesize_whisker_data(6, 3, kTestStream);
  EXPECT_EQ(std::memcmp(again.torque.data<float>(), test.torque.data<float>(), test.torque.nbytes()), 0);

  const auto [rc2, out2] = run(exe + " whisker baseline --data " + dir + "/data --max-iter 50");
  ASSERT_EQ(rc2, 0) << out2;
  EXPECT_NE(out2.find("test accuracy"), std::string::npos) << out2;

  const auto [rc3, out3] = run(exe + " whisker summary " + dir + "/data/whisker_test.h5 " + dir + "/missing.h5");
  EXPECT_NE(rc3, 0);
  EXPECT_NE(out3.find("6 samples"), std::string::npos) << out3;
  EXPECT_NE(out3.find("missing.h5"), std::string::npos) << out3;

  const auto [rc4, out4] = run(exe + " whisker baseline");
  EXPECT_NE(rc4, 0);
  EXPECT_NE(out4.find("--data"), std::string::npos) << out4;
}
