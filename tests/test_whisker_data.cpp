// Whisker data (spec §2): validation, the spike and real-valued encodings, deprivation,
// splitting, and the HDF5 layout with every error path.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>
#include <string>

#include "models/barrel/whisker_data.h"
#include "runtime/hdf5_io.h"
#include "runtime/philox.h"
#include "runtime/threads.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::barrel;

namespace {

// Flat index of (n, sweep, frame, whisker, segment, axis) in force/torque.
int64_t at(int64_t n, int64_t sw, int64_t f, int64_t w, int64_t s, int64_t ax) {
  return ((((n * kSweeps + sw) * kFrames + f) * kWhiskers + w) * kSegments + s) * kAxes + ax;
}

// Every force and torque vector set to magnitude mf / mt (along x / y).
WhiskerData constant_magnitude(int64_t n, float mf, float mt) {
  WhiskerData d = WhiskerData::zeros(n);
  float* f = d.force.data<float>();
  float* t = d.torque.data<float>();
  for (int64_t i = 0; i < d.force.numel(); i += 3) {
    f[i] = mf;
    t[i + 1] = mt;
  }
  return d;
}

// A fresh temporary folder, removed with its files at the end of the test.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(WhiskerEncoding, MagnitudeAndProbabilityElementMath) {
  EXPECT_FLOAT_EQ(contact_magnitude(3.0f, 4.0f, 0.0f), 5.0f);
  EXPECT_FLOAT_EQ(contact_magnitude(0.0f, 0.0f, 0.0f), 1e-5f);   // zero -> 1e-5
  EXPECT_FLOAT_EQ(contact_magnitude(0.0f, -2.0f, 0.0f), 2.0f);
  const float e2 = std::exp(2.0f), e4 = std::exp(4.0f);
  EXPECT_FLOAT_EQ(spike_probability(e2, e2), 0.5f);
  EXPECT_FLOAT_EQ(spike_probability(e4, e4), 0.5f);
  // sigmoid(ln m - c) == m / (m + e^c)
  const double m = 3.7;
  EXPECT_NEAR(spike_probability(static_cast<float>(m), e2), 1.0 / (1.0 + std::exp(-(std::log(m) - 2.0))), 1e-6);
  EXPECT_NEAR(spike_probability(1e-5f, e2), 1e-5 / (1e-5 + std::exp(2.0)), 1e-12);
}

TEST(WhiskerEncoding, ProbabilityLayoutUsesSweepZeroAndWhiskerTimes3PlusSegment) {
  WhiskerData d = WhiskerData::zeros(2);
  float* f = d.force.data<float>();
  float* t = d.torque.data<float>();
  // sample 1, sweep 0, frame 7, whisker 10, segment 2: force (3, 4, 0), torque (0, 0, 2)
  f[at(1, 0, 7, 10, 2, 0)] = 3;
  f[at(1, 0, 7, 10, 2, 1)] = 4;
  t[at(1, 0, 7, 10, 2, 2)] = 2;
  f[at(1, 1, 7, 10, 2, 0)] = 100;  // sweep 1 is ignored
  const Tensor p = spike_probabilities(d);
  ASSERT_EQ(p.shape(), (Shape{2, 2, kFrames, kSpikeInputs}));
  const float* pp = p.data<float>();
  auto P = [&](int64_t n, int64_t ch, int64_t fr, int64_t i) {
    return pp[((n * 2 + ch) * kFrames + fr) * kSpikeInputs + i];
  };
  const int64_t input = 10 * 3 + 2;
  EXPECT_FLOAT_EQ(P(1, 0, 7, input), 5.0f / (5.0f + std::exp(2.0f)));
  EXPECT_FLOAT_EQ(P(1, 1, 7, input), 2.0f / (2.0f + std::exp(4.0f)));
  const float silent_f = 1e-5f / (1e-5f + std::exp(2.0f));
  EXPECT_FLOAT_EQ(P(1, 0, 8, input), silent_f);
  EXPECT_FLOAT_EQ(P(1, 0, 7, input - 1), silent_f);
  EXPECT_FLOAT_EQ(P(0, 0, 7, input), silent_f);
  // Another sweep can be asked for explicitly.
  const Tensor p1 = spike_probabilities(d, 1);
  EXPECT_FLOAT_EQ(p1.data<float>()[((1 * 2 + 0) * kFrames + 7) * kSpikeInputs + input],
                  100.0f / (100.0f + std::exp(2.0f)));
  EXPECT_THROW(spike_probabilities(d, 12), Error);
}

TEST(WhiskerEncoding, SpikesRepeatEachFrameFiveTimes) {
  WhiskerData d = WhiskerData::zeros(1);
  float* f = d.force.data<float>();
  // A huge magnitude gives p == 1.0f exactly: the frame's 5 steps all spike.
  f[at(0, 0, 3, 4, 1, 0)] = 1e30f;
  const Tensor s = encode_spikes(d, 11);
  ASSERT_EQ(s.shape(), (Shape{1, 2, kSteps, kSpikeInputs}));
  check_dtype(s, DType::u8, "spikes");
  const uint8_t* sp = s.data<uint8_t>();
  const int64_t input = 4 * 3 + 1;
  for (int64_t t = 0; t < kSteps; ++t)
    EXPECT_EQ(sp[t * kSpikeInputs + input], (t >= 15 && t < 20) ? 1 : 0) << "step " << t;
  // Silent inputs (p about 1.35e-6 and 1.8e-7) almost never spike.
  int64_t total = 0;
  for (int64_t i = 0; i < s.numel(); ++i) total += sp[i];
  EXPECT_LE(total, 5 + 2);
  EXPECT_GE(total, 5);
}

TEST(WhiskerEncoding, SpikeRateMatchesProbabilityWithinFourSigma) {
  // Force magnitude e^2 -> p = 0.5; torque magnitude e^4 / 3 -> p = 0.25.
  const WhiskerData d = constant_magnitude(3, std::exp(2.0f), std::exp(4.0f) / 3.0f);
  const Tensor s = encode_spikes(d, 2024);
  const uint8_t* sp = s.data<uint8_t>();
  const int64_t per_channel = kSteps * kSpikeInputs;
  for (int ch = 0; ch < 2; ++ch) {
    const double p = ch == 0 ? 0.5 : 0.25;
    int64_t count = 0, n = 0;
    for (int64_t smp = 0; smp < 3; ++smp)
      for (int64_t i = 0; i < per_channel; ++i, ++n) count += sp[(smp * 2 + ch) * per_channel + i];
    const double rate = static_cast<double>(count) / n;
    const double sigma = std::sqrt(p * (1 - p) / n);
    EXPECT_NEAR(rate, p, 4 * sigma) << "channel " << ch;
  }
}

TEST(WhiskerEncoding, SpikesAreTheDocumentedPhiloxDraws) {
  WhiskerData d = constant_magnitude(2, 5.0f, 60.0f);
  d.force.data<float>()[at(1, 0, 20, 3, 1, 0)] = 0.0f;  // one silent input
  const Tensor s = encode_spikes(d, 77, 5);
  const Tensor p = spike_probabilities(d);
  const uint8_t* sp = s.data<uint8_t>();
  const float* pp = p.data<float>();
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t ch = 0; ch < 2; ++ch)
      for (int64_t t = 0; t < kSteps; ++t)
        for (int64_t i = 0; i < kSpikeInputs; ++i) {
          const uint64_t index = static_cast<uint64_t>(((n * 2 + ch) * kSteps + t) * kSpikeInputs + i);
          const float prob = pp[((n * 2 + ch) * kFrames + t / kRepeat) * kSpikeInputs + i];
          ASSERT_EQ(sp[index], philox::bernoulli(77, 5, index, prob) ? 1 : 0)
              << "sample " << n << " channel " << ch << " step " << t << " input " << i;
        }
}

TEST(WhiskerEncoding, SpikesAreDeterministicAcrossThreadsSeedsAndSlices) {
  WhiskerData d = constant_magnitude(4, 5.0f, 60.0f);
  const int saved = num_threads();
  set_num_threads(1);
  const Tensor a = encode_spikes(d, 9, 3);
  set_num_threads(2);
  const Tensor b = encode_spikes(d, 9, 3);
  set_num_threads(saved);
  ASSERT_EQ(a.nbytes(), b.nbytes());
  EXPECT_EQ(std::memcmp(a.data<uint8_t>(), b.data<uint8_t>(), a.nbytes()), 0);
  const Tensor c = encode_spikes(d, 10, 3);
  EXPECT_NE(std::memcmp(a.data<uint8_t>(), c.data<uint8_t>(), a.nbytes()), 0);
  const Tensor e = encode_spikes(d, 9, 4);
  EXPECT_NE(std::memcmp(a.data<uint8_t>(), e.data<uint8_t>(), a.nbytes()), 0);
  // Encoding samples 2..3 alone with sample_offset 2 reproduces rows 2..3.
  const WhiskerData tail = subset(d, {2, 3});
  const Tensor t = encode_spikes(tail, 9, 3, 0, 2);
  const size_t row = static_cast<size_t>(2 * kSteps * kSpikeInputs);
  EXPECT_EQ(std::memcmp(t.data<uint8_t>(), a.data<uint8_t>() + 2 * row, 2 * row), 0);
}

TEST(WhiskerEncoding, RealValuedNormalisesAcrossSweepsByHand) {
  WhiskerData d = WhiskerData::zeros(2);
  float* f = d.force.data<float>();
  float* t = d.torque.data<float>();
  // sample 1, frame 9, whisker 30, segment 1
  f[at(1, 0, 9, 30, 1, 0)] = 3;   // Fx: sweeps 0 and 1 -> norm 5
  f[at(1, 1, 9, 30, 1, 0)] = 4;
  f[at(1, 4, 9, 30, 1, 2)] = 7;   // Fz: zero in sweep 0 -> 0 / 7 = 0
  t[at(1, 0, 9, 30, 1, 1)] = 1;   // Ty: only sweep 0 -> 1
  t[at(1, 0, 9, 30, 1, 2)] = 2;   // Tz: sweeps 0 and 5 -> 2 / sqrt(8)
  t[at(1, 5, 9, 30, 1, 2)] = 2;
  t[at(1, 0, 9, 30, 1, 0)] = -6;  // Tx: sweeps 0, 11 -> -6 / 10
  t[at(1, 11, 9, 30, 1, 0)] = 8;
  const Tensor x = encode_real(d);
  ASSERT_EQ(x.shape(), (Shape{2, kFrames, kRealFeatures}));
  const float* px = x.data<float>();
  const int64_t base = (1 * kFrames + 9) * kRealFeatures + 30 * 18 + 1 * 6;
  EXPECT_FLOAT_EQ(px[base + 0], 0.6f);
  EXPECT_FLOAT_EQ(px[base + 1], 0.0f);  // all-zero across sweeps: 0 / max(0, 1e-12)
  EXPECT_FLOAT_EQ(px[base + 2], 0.0f);
  EXPECT_FLOAT_EQ(px[base + 3], -0.6f);
  EXPECT_FLOAT_EQ(px[base + 4], 1.0f);
  EXPECT_FLOAT_EQ(px[base + 5], static_cast<float>(2.0 / std::sqrt(8.0)));
  int64_t nonzero = 0;
  for (int64_t i = 0; i < x.numel(); ++i) nonzero += px[i] != 0.0f;
  EXPECT_EQ(nonzero, 4);
  // Sweep 4 reads the Fz value (7 / 7).
  const Tensor x4 = encode_real(d, 4);
  EXPECT_FLOAT_EQ(x4.data<float>()[base + 2], 1.0f);
}

TEST(WhiskerEncoding, RealValuedThreadCountDoesNotMatter) {
  WhiskerData d = constant_magnitude(3, 2.0f, 3.0f);
  d.force.data<float>()[at(2, 3, 50, 7, 0, 1)] = 9.0f;
  const int saved = num_threads();
  set_num_threads(1);
  const Tensor a = encode_real(d);
  set_num_threads(2);
  const Tensor b = encode_real(d);
  set_num_threads(saved);
  EXPECT_EQ(std::memcmp(a.data<float>(), b.data<float>(), a.nbytes()), 0);
}

TEST(WhiskerDeprivation, ZeroesOnlyTheChosenWhiskers) {
  const WhiskerData d = constant_magnitude(2, 3.0f, 4.0f);
  const WhiskerData g = deprive(d, {0, 30});
  const float* f = g.force.data<float>();
  const float* t = g.torque.data<float>();
  EXPECT_EQ(f[at(1, 11, 109, 0, 2, 0)], 0.0f);
  EXPECT_EQ(t[at(0, 3, 10, 30, 0, 1)], 0.0f);
  EXPECT_EQ(f[at(1, 11, 109, 1, 0, 0)], 3.0f);
  EXPECT_EQ(t[at(0, 3, 10, 29, 2, 1)], 4.0f);
  EXPECT_EQ(d.force.data<float>()[at(1, 11, 109, 0, 2, 0)], 3.0f) << "deprive must copy";
  // Deprived inputs become silent in the spike encoding.
  const Tensor p = spike_probabilities(g);
  EXPECT_FLOAT_EQ(p.data<float>()[0], 1e-5f / (1e-5f + std::exp(2.0f)));
  EXPECT_THROW(deprive(d, {31}), Error);
  EXPECT_THROW(deprive(d, {-1}), Error);
}

TEST(WhiskerDeprivation, TrialSetsFollowTheOriginalProtocol) {
  const auto one = deprivation_sets(1, 50, 515);
  ASSERT_EQ(one.size(), 31u);
  for (int w = 0; w < 31; ++w) EXPECT_EQ(one[w], std::vector<int>{w});
  const auto three = deprivation_sets(3, 50, 515);
  ASSERT_EQ(three.size(), 50u);
  std::set<std::vector<int>> distinct;
  for (const auto& s : three) {
    ASSERT_EQ(s.size(), 3u);
    EXPECT_EQ(std::set<int>(s.begin(), s.end()).size(), 3u);
    for (int w : s) {
      EXPECT_GE(w, 0);
      EXPECT_LT(w, 30);  // whisker 30 is never drawn for k >= 2
    }
    distinct.insert(s);
  }
  EXPECT_GT(distinct.size(), 40u);
  EXPECT_EQ(deprivation_sets(3, 50, 515), three);
  EXPECT_NE(deprivation_sets(3, 50, 516), three);
  EXPECT_THROW(deprivation_sets(31, 5, 1), Error);
  EXPECT_THROW(deprivation_sets(0, 5, 1), Error);
}

TEST(WhiskerSplit, StratifiedSplitKeepsClassProportions) {
  WhiskerData d = WhiskerData::zeros(30);
  int32_t* l = d.label.data<int32_t>();
  for (int i = 0; i < 30; ++i) {
    l[i] = i % 3;
    d.force.data<float>()[at(i, 0, 0, 0, 0, 0)] = static_cast<float>(i);  // identifies the sample
  }
  const auto [train, test] = split_stratified(d, 0.2, 5);
  EXPECT_EQ(train.size(), 24);
  EXPECT_EQ(test.size(), 6);
  EXPECT_EQ(class_counts(test), (std::vector<int64_t>{2, 2, 2}));
  std::set<int> seen;
  for (const WhiskerData* part : {&train, &test})
    for (int64_t i = 0; i < part->size(); ++i) {
      const int id = static_cast<int>(part->force.data<float>()[at(i, 0, 0, 0, 0, 0)]);
      EXPECT_EQ(part->label.data<int32_t>()[i], id % 3);
      EXPECT_TRUE(seen.insert(id).second) << "sample " << id << " in both parts";
    }
  EXPECT_EQ(seen.size(), 30u);
}

TEST(WhiskerLabels, CategoriesMapToClasses) {
  EXPECT_EQ(label_of_category(53.0, "x"), 0);
  EXPECT_EQ(label_of_category(55.0, "x"), 1);
  EXPECT_EQ(label_of_category(113.0, "x"), 2);
  EXPECT_EQ(category_of_label(2), 113.0);
  EXPECT_STREQ(class_name(1), "box");
  const std::string msg = error_of([] { label_of_category(54.0, "file.h5: dataset 'label'"); });
  EXPECT_NE(msg.find("file.h5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown label 54"), std::string::npos) << msg;
}

TEST(WhiskerValidate, ClearErrorsForBadShapesValuesAndLabels) {
  WhiskerData ok = WhiskerData::zeros(2);
  EXPECT_NO_THROW(validate(ok, "data.h5"));

  WhiskerData rank = ok;
  rank.force = Tensor::zeros({2, 12, 110, 93, 3}, DType::f32);
  std::string msg = error_of([&] { validate(rank, "data.h5"); });
  EXPECT_NE(msg.find("data.h5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'force'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rank 6"), std::string::npos) << msg;

  WhiskerData dims = ok;
  dims.torque = Tensor::zeros({2, 12, 110, 30, 3, 3}, DType::f32);
  msg = error_of([&] { validate(dims, "data.h5"); });
  EXPECT_NE(msg.find("'torque'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2, 12, 110, 31, 3, 3]"), std::string::npos) << msg;

  WhiskerData count = ok;
  count.label = Tensor::zeros({3}, DType::i32);
  msg = error_of([&] { validate(count, "data.h5"); });
  EXPECT_NE(msg.find("2 samples but 'label' has 3"), std::string::npos) << msg;

  WhiskerData nan = WhiskerData::zeros(2);
  nan.torque.data<float>()[at(1, 2, 3, 4, 1, 2)] = std::nanf("");
  msg = error_of([&] { validate(nan, "data.h5"); });
  EXPECT_NE(msg.find("'torque'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sample 1, sweep 2, frame 3, whisker 4, segment 1, axis 2"), std::string::npos) << msg;

  WhiskerData inf = WhiskerData::zeros(1);
  inf.force.data<float>()[5] = INFINITY;
  EXPECT_THROW(validate(inf, "data.h5"), Error);

  WhiskerData lab = WhiskerData::zeros(2);
  lab.label.data<int32_t>()[1] = 3;
  msg = error_of([&] { validate(lab, "data.h5"); });
  EXPECT_NE(msg.find("sample 1 has class id 3"), std::string::npos) << msg;

  WhiskerData missing = ok;
  missing.torque = Tensor();
  msg = error_of([&] { validate(missing, "data.h5"); });
  EXPECT_NE(msg.find("'torque' is missing"), std::string::npos) << msg;
}

TEST(WhiskerH5, RoundTripKeepsValuesAndLabels) {
  rsnn::test::TempDir dir("rsnn_whisker");
  WhiskerData d = constant_magnitude(3, 1.5f, -2.5f);
  d.force.data<float>()[at(2, 11, 109, 30, 2, 2)] = 123.25f;
  d.label.data<int32_t>()[0] = 2;
  d.label.data<int32_t>()[1] = 0;
  d.label.data<int32_t>()[2] = 1;
  const std::string path = dir.path("w.h5");
  write_whisker_h5(path, d, {{"generator", "test"}});
  const WhiskerData r = read_whisker_h5(path);
  EXPECT_EQ(r.label.to_vector<int32_t>(), (std::vector<int32_t>{2, 0, 1}));
  ASSERT_EQ(r.force.shape(), whisker_data_shape(3));
  EXPECT_EQ(std::memcmp(r.force.data<float>(), d.force.data<float>(), d.force.nbytes()), 0);
  EXPECT_EQ(std::memcmp(r.torque.data<float>(), d.torque.data<float>(), d.torque.nbytes()), 0);
  // The file holds the original encoding: labels as ShapeNet categories.
  const H5File f = H5File::open_read(path);
  EXPECT_EQ(f.read_as("label", DType::f64).to_vector<double>(), (std::vector<double>{113, 53, 55}));
  EXPECT_EQ(f.dataset_dtype("force"), DType::f32);
  EXPECT_EQ(f.get_attr_string("/", "generator"), "test");
}

TEST(WhiskerH5, ReadsFloat64DataAndColumnLabels) {
  rsnn::test::TempDir dir("rsnn_whisker");
  const std::string path = dir.path("f64.h5");
  {
    H5File f = H5File::create(path);
    Tensor force = Tensor::full(whisker_data_shape(2), 0.5, DType::f64);
    f.write("force", force);
    f.write("torque", Tensor::zeros(whisker_data_shape(2), DType::f64));
    f.write("label", Tensor::from_vector(std::vector<float>{55.f, 113.f}, {2, 1}));
    f.close();
  }
  const WhiskerData r = read_whisker_h5(path);
  EXPECT_EQ(r.force.dtype(), DType::f32);
  EXPECT_EQ(r.force.data<float>()[17], 0.5f);
  EXPECT_EQ(r.label.to_vector<int32_t>(), (std::vector<int32_t>{1, 2}));
}

TEST(WhiskerH5, EveryErrorNamesTheFileAndDataset) {
  rsnn::test::TempDir dir("rsnn_whisker");
  // Writes a file from the given datasets (undefined tensors are left out).
  auto make = [&](const std::string& name, const Tensor& force, const Tensor& torque, const Tensor& label) {
    const std::string path = dir.path(name);
    H5File f = H5File::create(path);
    if (force.defined()) f.write("force", force);
    if (torque.defined()) f.write("torque", torque);
    if (label.defined()) f.write("label", label);
    f.close();
    return path;
  };
  auto expect_error = [&](const std::string& path, const std::vector<std::string>& needles) {
    const std::string msg = error_of([&] { read_whisker_h5(path); });
    ASSERT_FALSE(msg.empty()) << path << " was accepted";
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  };
  const Tensor good = Tensor::zeros(whisker_data_shape(2), DType::f32);
  const Tensor labels = Tensor::from_vector(std::vector<double>{53, 55});

  expect_error(dir.path("missing.h5"), {});
  expect_error(make("no_torque.h5", good, Tensor(), labels), {"'torque' not found"});
  expect_error(make("no_label.h5", good, good, Tensor()), {"'label' not found"});
  expect_error(make("rank.h5", Tensor::zeros({2, 12, 110, 93, 3}, DType::f32), good, labels),
               {"'force'", "rank 6", "[2, 12, 110, 93, 3]"});
  expect_error(make("dims.h5", good, Tensor::zeros({2, 12, 110, 31, 3, 2}, DType::f32), labels),
               {"'torque'", "[2, 12, 110, 31, 3, 2]", "expected [2, 12, 110, 31, 3, 3]"});
  expect_error(make("count.h5", good, good, Tensor::from_vector(std::vector<double>{53, 55, 113})),
               {"'force' has 2 samples but 'label' has 3"});
  expect_error(make("label_rank.h5", good, good, Tensor::zeros({2, 2}, DType::f64)),
               {"'label'", "expected shape [N]"});
  expect_error(make("unknown.h5", good, good, Tensor::from_vector(std::vector<double>{53, 54})),
               {"'label'", "sample 1", "unknown label 54"});
  Tensor nan = good.clone();
  nan.data<float>()[at(1, 0, 5, 6, 0, 1)] = std::nanf("");
  expect_error(make("nan.h5", nan, good, labels), {"'force'", "non-finite", "sample 1, sweep 0, frame 5, whisker 6"});
  Tensor inf = good.clone();
  inf.data<float>()[7] = -INFINITY;
  expect_error(make("inf.h5", good, inf, labels), {"'torque'", "non-finite"});
  // Not an HDF5 file at all.
  const std::string text = dir.path("text.h5");
  { std::FILE* f = std::fopen(text.c_str(), "w"); std::fputs("not hdf5", f); std::fclose(f); }
  expect_error(text, {});
}

TEST(WhiskerH5, WriterRefusesInvalidDataAndLeavesNoFile) {
  rsnn::test::TempDir dir("rsnn_whisker");
  WhiskerData d = WhiskerData::zeros(1);
  d.label.data<int32_t>()[0] = 5;
  const std::string path = dir.path("bad.h5");
  EXPECT_THROW(write_whisker_h5(path, d), Error);
  std::FILE* f = std::fopen(path.c_str(), "r");
  EXPECT_EQ(f, nullptr);
  if (f) std::fclose(f);
}
