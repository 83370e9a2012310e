// Layers 1-2 of the convolutional STDP network (models/rstdp/): input coding on a real
// Fashion-MNIST image, shapes, the fast path against the per-step reference over several
// STDP steps, the learning-rate schedule, thread safety, and HDF5 save/load.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "models/rstdp/layers12.h"
#include "runtime/hdf5_io.h"
#include "runtime/idx.h"
#include "runtime/philox.h"
#include "test_util.h"

using namespace rsnn;
using namespace rsnn::rstdp;

namespace {

const char* kFashionTrain = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

// A synthetic 28 x 28 image: a few random bright rectangles (edges for the DoG filters).
std::vector<uint8_t> synthetic_image(uint64_t seed) {
  std::vector<uint8_t> img(28 * 28, 0);
  for (int r = 0; r < 4; ++r) {
    const int y0 = int(philox::u32(seed, 1, 4 * r) % 20), x0 = int(philox::u32(seed, 1, 4 * r + 1) % 20);
    const int h = 3 + int(philox::u32(seed, 1, 4 * r + 2) % 8), w = 3 + int(philox::u32(seed, 1, 4 * r + 3) % 8);
    const uint8_t v = uint8_t(120 + philox::u32(seed, 2, r) % 136);
    for (int y = y0; y < std::min(28, y0 + h); ++y)
      for (int x = x0; x < std::min(28, x0 + w); ++x) img[y * 28 + x] = v;
  }
  return img;
}

// Fashion-MNIST train images [0, n) when the data set is installed, else synthetic ones.
std::vector<Wave> sample_waves(int n) {
  std::vector<Wave> waves;
  if (std::filesystem::exists(kFashionTrain)) {
    const Tensor imgs = idx_load(kFashionTrain);
    const std::vector<Wave> w = encode_images(imgs.data<uint8_t>(), n, 28, 28);
    return w;
  }
  for (int i = 0; i < n; ++i) waves.push_back(encode_image(synthetic_image(i + 1).data(), 28, 28));
  return waves;
}

void expect_same(const Layers12& a, const Layers12& b) {
  EXPECT_EQ(a.w1, b.w1);
  EXPECT_EQ(a.w2, b.w2);
  EXPECT_EQ(a.w1t, b.w1t);
  EXPECT_EQ(a.w2t, b.w2t);
  EXPECT_EQ(a.rates1.a_plus, b.rates1.a_plus);
  EXPECT_EQ(a.rates2.a_minus, b.rates2.a_minus);
  EXPECT_EQ(a.rates1.counter, b.rates1.counter);
  EXPECT_EQ(a.rates2.counter, b.rates2.counter);
}

}  // namespace

TEST(Encode, FashionMnistTrainImage0) {
  if (!std::filesystem::exists(kFashionTrain)) GTEST_SKIP() << kFashionTrain << " not installed";
  const Tensor imgs = idx_load(kFashionTrain);
  sw::LatencyStats st;
  const Wave w = encode_image(imgs.data<uint8_t>(), 28, 28, &st);
  EXPECT_EQ(st.nonzero, 1406);
  EXPECT_EQ(st.bin_size, 93);
  EXPECT_EQ(st.spiked, 1395);
  ASSERT_EQ(w.C, 6);
  ASSERT_EQ(w.H, 32);
  ASSERT_EQ(w.W, 32);
  std::vector<int> per_step(kSteps + 1, 0);
  for (uint8_t t : w.t) per_step[t]++;
  for (int s = 0; s < kSteps; ++s) EXPECT_EQ(per_step[s], 93) << "step " << s;
  EXPECT_EQ(per_step[kSteps], 6 * 32 * 32 - 1395);
  // The 11 nonzero values that never spike are the smallest nonzeros.
  const std::vector<float> dog = dog_normalized(imgs.data<uint8_t>(), 28, 28);
  float min_spiked = 1e30f, max_never = 0.0f;
  int never_nonzero = 0;
  for (int c = 0; c < 6; ++c)
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        const float v = dog[(c * 28 + y) * 28 + x];
        if (v == 0.0f) continue;
        if (w.at(c, y + 2, x + 2) == kNever) {
          ++never_nonzero;
          max_never = std::max(max_never, v);
        } else {
          min_spiked = std::min(min_spiked, v);
        }
      }
  EXPECT_EQ(never_nonzero, 11);
  EXPECT_LE(max_never, min_spiked);
}

TEST(Encode, PaddingNeverSpikesAndOrderFollowsIntensity) {
  const auto img = synthetic_image(3);
  const Wave w = encode_image(img.data(), 28, 28);
  ASSERT_EQ(w.t.size(), size_t(6 * 32 * 32));
  for (int c = 0; c < 6; ++c)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x)
        if (y < 2 || y >= 30 || x < 2 || x >= 30) {
          EXPECT_EQ(w.at(c, y, x), kNever);
        }
  const std::vector<float> dog = dog_normalized(img.data(), 28, 28);
  // Earlier spikes carry larger values.
  for (size_t i = 0; i < dog.size(); i += 7)
    for (size_t j = 0; j < dog.size(); j += 11) {
      const int ci = int(i / 784), yi = int(i % 784) / 28, xi = int(i % 28);
      const int cj = int(j / 784), yj = int(j % 784) / 28, xj = int(j % 28);
      if (w.at(ci, yi + 2, xi + 2) < w.at(cj, yj + 2, xj + 2)) {
        EXPECT_GE(dog[i], dog[j]);
      }
    }
  EXPECT_THROW(encode_image(img.data(), 0, 28), Error);
}

TEST(Layers12, InitialWeightsAreSeededNormal) {
  const Layers12 a = make_layers12(7), b = make_layers12(7), c = make_layers12(8);
  ASSERT_EQ(a.w1.size(), size_t(30 * 6 * 25));
  ASSERT_EQ(a.w2.size(), size_t(250 * 30 * 9));
  EXPECT_EQ(a.w1, b.w1);
  EXPECT_EQ(a.w2, b.w2);
  EXPECT_NE(a.w1, c.w1);
  double m = 0, m2 = 0;
  for (float v : a.w2) {
    m += v;
    m2 += double(v) * v;
  }
  m /= double(a.w2.size());
  const double sd = std::sqrt(m2 / double(a.w2.size()) - m * m);
  EXPECT_NEAR(m, 0.8, 0.002);
  EXPECT_NEAR(sd, 0.05, 0.002);
  EXPECT_EQ(a.k1, 5);
  EXPECT_EQ(a.r1, 3);
  EXPECT_EQ(a.k2, 8);
  EXPECT_EQ(a.r2, 1);
}

TEST(Layers12, ShapesAndFastEqualsReferenceForward) {
  const Layers12 L = make_layers12(1);
  const std::vector<Wave> waves = sample_waves(2);
  for (const Wave& in : waves) {
    const LayerOutput s1 = layer1_forward(L, in), s1r = layer1_forward(L, in, Path::reference);
    EXPECT_EQ(s1.spikes.C, 30);
    EXPECT_EQ(s1.spikes.H, 28);
    EXPECT_EQ(s1.spikes.t, s1r.spikes.t);
    EXPECT_EQ(s1.pot_first, s1r.pot_first);
    const Wave c1 = c1_output(L, in);
    EXPECT_EQ(c1.C, 30);
    EXPECT_EQ(c1.H, 16);
    EXPECT_EQ(c1.W, 16);
    const Wave c2 = c2_output(L, in), c2r = c2_output(L, in, Path::reference);
    EXPECT_EQ(c2.C, 250);
    EXPECT_EQ(c2.H, 8);
    EXPECT_EQ(c2.W, 8);
    EXPECT_EQ(c2.t, c2r.t);
    int spiked = 0;
    for (uint8_t t : c2.t) spiked += t < kSteps;
    EXPECT_GT(spiked, 0);
    for (int c = 0; c < 250; ++c)
      for (int i = 0; i < 8; ++i) {
        EXPECT_EQ(c2.at(c, 0, i), kNever);
        EXPECT_EQ(c2.at(c, i, 7), kNever);
      }
  }
  Wave bad = waves[0];
  bad.C = 5;
  EXPECT_THROW(c2_output(L, bad), Error);
}

TEST(Layers12, StdpStepsFastEqualReference) {
  Layers12 fast = make_layers12(3), ref = make_layers12(3);
  const std::vector<Wave> waves = sample_waves(6);
  for (const Wave& in : waves) {
    const auto wf = stdp_step_layer1(fast, in);
    const auto wr = stdp_step_layer1(ref, in, Path::reference);
    EXPECT_EQ(wf, wr);
    EXPECT_FALSE(wf.empty());
    EXPECT_LE(wf.size(), size_t(5));
    std::set<int> feats;
    for (size_t i = 0; i < wf.size(); ++i) {
      feats.insert(wf[i].f);
      for (size_t j = 0; j < i; ++j)
        EXPECT_TRUE(std::abs(wf[i].y - wf[j].y) > 3 || std::abs(wf[i].x - wf[j].x) > 3);
    }
    EXPECT_EQ(feats.size(), wf.size());
  }
  expect_same(fast, ref);
  EXPECT_NE(fast.w1, make_layers12(3).w1);  // learning changed something
  for (const Wave& in : std::vector<Wave>(waves.begin(), waves.begin() + 3)) {
    const auto wf = stdp_step_layer2(fast, in);
    const auto wr = stdp_step_layer2(ref, in, Path::reference);
    EXPECT_EQ(wf, wr);
    EXPECT_LE(wf.size(), size_t(8));
  }
  expect_same(fast, ref);
  EXPECT_NE(fast.w2, make_layers12(3).w2);
  for (float v : fast.w2) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
}

TEST(Layers12, LearningRateScheduleDoublesEvery500AndCaps) {
  Layers12 L = make_layers12(4);
  const Wave in = encode_image(synthetic_image(9).data(), 28, 28);
  L.rates1.counter = 498;
  stdp_step_layer1(L, in);
  EXPECT_EQ(L.rates1.counter, 499);
  EXPECT_EQ(L.rates1.a_plus, 0.004);
  stdp_step_layer1(L, in);  // the 500th sample: doubled before its update
  EXPECT_EQ(L.rates1.counter, 0);
  EXPECT_EQ(L.rates1.a_plus, double(float(0.004) * 2.0f));
  EXPECT_EQ(L.rates1.a_minus, double(float(0.004) * 2.0f * -0.75f));
  L.rates1.a_plus = double(0.128f);
  L.rates1.counter = 499;
  stdp_step_layer1(L, in);
  EXPECT_EQ(L.rates1.a_plus, double(0.15f));
  EXPECT_EQ(L.rates1.a_minus, double(0.15f * -0.75f));
  EXPECT_EQ(L.rates2.counter, 0);  // layer 2's schedule untouched
}

TEST(Layers12, C2OutputIsThreadSafe) {
  const Layers12 L = make_layers12(5);
  const std::vector<Wave> waves = sample_waves(8);
  std::vector<Wave> serial, par(waves.size());
  for (const Wave& w : waves) serial.push_back(c2_output(L, w));
#pragma omp parallel for num_threads(2)
  for (int i = 0; i < int(waves.size()); ++i) par[size_t(i)] = c2_output(L, waves[size_t(i)]);
  for (size_t i = 0; i < waves.size(); ++i) EXPECT_EQ(par[i].t, serial[i].t);
}

TEST(Layers12, SaveLoadRoundTripAndValidation) {
  test::TempDir dir;
  const std::string path = dir.path("l12.h5");
  Layers12 L = make_layers12(6);
  L.rates1 = {0.016, -0.012, 17};
  L.r2 = 2;
  {
    H5File f = H5File::create(path);
    save_layers12(f, "layers12", L);
    f.close();
  }
  const Layers12 M = load_layers12(H5File::open_read(path), "layers12");
  expect_same(L, M);
  EXPECT_EQ(M.r2, 2);
  EXPECT_EQ(M.rates1.a_plus, 0.016);
  EXPECT_THROW(load_layers12(H5File::open_read(path), "nope"), Error);
  {
    H5File f = H5File::open_rw(path);
    f.set_attr("layers12", "counter1", int64_t(500));
  }
  EXPECT_THROW(load_layers12(H5File::open_read(path), "layers12"), Error);
  {
    H5File f = H5File::open_rw(path);
    f.set_attr("layers12", "counter1", int64_t(3));
    std::vector<float> w = L.w1;
    w[5] = -0.1f;
    f.write("layers12/w1", Tensor::from_vector(w, {30, 6, 5, 5}));
  }
  try {
    load_layers12(H5File::open_read(path), "layers12");
    ADD_FAILURE() << "negative weight accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("w1"), std::string::npos) << e.what();
  }
  {
    H5File f = H5File::open_rw(path);
    f.write("layers12/w1", Tensor::from_vector(std::vector<float>(150, 0.5f), {6, 25}));
  }
  EXPECT_THROW(load_layers12(H5File::open_read(path), "layers12"), Error);
}
