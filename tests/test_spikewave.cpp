// Spike-wave ops (kernels/spikewave.h): input coding against closed forms and known orders,
// the layer ops on hand-made cases, and the fast path against the per-step reference (and
// the CUDA twin when a device is usable) on random inputs.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "kernels/spikewave.h"
#include "kernels/spikewave_math.h"
#include "runtime/idx.h"
#include "runtime/philox.h"
#include "test_util.h"

using namespace rsnn;
using namespace rsnn::sw;

namespace {

double dog_closed_form(int win, double s1, double s2, int y, int x, double* mean_out = nullptr) {
  const int w = win / 2;
  auto raw = [&](int yy, int xx) {
    const double r2 = double(xx * xx + yy * yy);
    return (std::exp(-r2 / (2 * s1 * s1)) / (s1 * s1) - std::exp(-r2 / (2 * s2 * s2)) / (s2 * s2)) /
           (2 * M_PI);
  };
  double mean = 0, mx = -1e300;
  for (int a = -w; a <= w; ++a)
    for (int b = -w; b <= w; ++b) mean += raw(a, b);
  mean /= double(win * win);
  for (int a = -w; a <= w; ++a)
    for (int b = -w; b <= w; ++b) mx = std::max(mx, raw(a, b) - mean);
  if (mean_out) *mean_out = mean;
  return (raw(y, x) - mean) / mx;
}

// Random first-spike times with about `p_never` never-spiking entries.
std::vector<uint8_t> random_wave(size_t n, int T, double p_never, uint64_t seed) {
  std::vector<uint8_t> t(n);
  for (size_t i = 0; i < n; ++i)
    t[i] = philox::uniform(seed, 1, i) < p_never ? uint8_t(T)
                                                 : uint8_t(philox::u32(seed, 2, i) % T);
  return t;
}

std::vector<float> random_weights(size_t n, double mean, double sd, uint64_t seed) {
  std::vector<float> w(n);
  for (size_t i = 0; i < n; ++i)
    w[i] = std::max(0.0f, float(mean + sd * philox::normal(seed, 3, i)));
  return w;
}

}  // namespace

// ---- input coding ----------------------------------------------------------------------

TEST(DogKernel, MatchesClosedFormAndKnownCentres) {
  const int wins[3] = {3, 7, 13};
  const double off_centre[3] = {-6.41, -9.78, -9.58};
  for (int s = 0; s < 3; ++s) {
    const int win = wins[s];
    for (int off = 0; off < 2; ++off) {
      const double s1 = win / 9.0 * (off ? 2 : 1), s2 = win / 9.0 * (off ? 1 : 2);
      const std::vector<float> k = dog_kernel(win, s1, s2);
      ASSERT_EQ(k.size(), size_t(win * win));
      double sum = 0, mx = -1e9;
      for (int y = 0; y < win; ++y)
        for (int x = 0; x < win; ++x) {
          const double want = dog_closed_form(win, s1, s2, y - win / 2, x - win / 2);
          EXPECT_NEAR(k[y * win + x], want, 1e-6 * std::max(1.0, std::abs(want)));
          sum += k[y * win + x];
          mx = std::max(mx, double(k[y * win + x]));
        }
      EXPECT_EQ(mx, 1.0);
      EXPECT_NEAR(sum, 0.0, 1e-4);
      const float centre = k[(win / 2) * win + win / 2];
      if (off)
        EXPECT_NEAR(centre, off_centre[s], 0.005) << "window " << win;
      else
        EXPECT_EQ(centre, 1.0f) << "window " << win;
    }
  }
  EXPECT_THROW(dog_kernel(4, 1, 2), Error);
  EXPECT_THROW(dog_kernel(3, 1, 1), Error);
}

TEST(DogKernel, BankIsPaddedTo13InSpecOrder) {
  const std::vector<float> bank = mozafari_dog_bank();
  ASSERT_EQ(bank.size(), size_t(6 * 169));
  const std::vector<float> k7off = dog_kernel(7, 14 / 9.0, 7 / 9.0);
  for (int y = 0; y < 13; ++y)
    for (int x = 0; x < 13; ++x) {
      const bool inside = y >= 3 && y < 10 && x >= 3 && x < 10;
      EXPECT_EQ(bank[3 * 169 + y * 13 + x], inside ? k7off[(y - 3) * 7 + (x - 3)] : 0.0f);
      if (y < 5 || y > 7 || x < 5 || x > 7) {
        EXPECT_EQ(bank[0 * 169 + y * 13 + x], 0.0f);
      }
    }
  EXPECT_EQ(bank[0 * 169 + 6 * 13 + 6], 1.0f);
  EXPECT_LT(bank[1 * 169 + 6 * 13 + 6], -6.0f);
}

TEST(DogFilter, ImpulseGivesTheKernelAndThresholdZeroesLowValues) {
  // A single bright pixel: the cross-correlation is the (symmetric) kernel times 200 around it.
  std::vector<float> img(15 * 15, 0.0f);
  img[7 * 15 + 7] = 200.0f;
  const std::vector<float> k = dog_kernel(5, 5 / 9.0, 10 / 9.0);
  std::vector<float> out(15 * 15);
  dog_filter(img.data(), 15, 15, k.data(), 1, 5, -1e30f, out.data());
  for (int y = 0; y < 15; ++y)
    for (int x = 0; x < 15; ++x) {
      const int dy = y - 7, dx = x - 7;
      const float want = (std::abs(dy) <= 2 && std::abs(dx) <= 2)
                             ? float(double(k[(2 - dy) * 5 + (2 - dx)]) * 200.0) : 0.0f;
      EXPECT_EQ(out[y * 15 + x], want) << y << "," << x;
    }
  dog_filter(img.data(), 15, 15, k.data(), 1, 5, 50.0f, out.data());
  EXPECT_EQ(out[7 * 15 + 7], 200.0f);  // centre 1 * 200 stays
  for (float v : out) EXPECT_TRUE(v == 0.0f || v >= 50.0f);
}

TEST(LocalNormalize, MatchesBruteForceBoxMean) {
  const int C = 2, H = 9, W = 11, r = 3;
  std::vector<float> x(C * H * W);
  for (size_t i = 0; i < x.size(); ++i) x[i] = philox::uniform(5, 0, i) < 0.5 ? 0.0f : float(i % 7 + 1);
  std::vector<float> y = x;
  local_normalize(y.data(), C, H, W, r);
  for (int c = 0; c < C; ++c)
    for (int i = 0; i < H; ++i)
      for (int j = 0; j < W; ++j) {
        double s = 0;
        for (int a = i - r; a <= i + r; ++a)
          for (int b = j - r; b <= j + r; ++b)
            if (a >= 0 && a < H && b >= 0 && b < W) s += x[(c * H + a) * W + b];
        const float mean = float(s / 49.0) + 1e-12f;
        EXPECT_EQ(y[(c * H + i) * W + j], x[(c * H + i) * W + j] / mean);
      }
}

TEST(LatencyCode, KnownOrderChunksAndRemainder) {
  // 11 nonzeros, T = 3: bin 3, 9 spike, the 2 smallest never; ties by lower index.
  const std::vector<float> x = {5, 0, 9, 1, 7, 7, 0, 2, 8, 3, 4, 6, 0.5f};
  std::vector<uint8_t> t(x.size());
  const LatencyStats st = latency_code(x.data(), int64_t(x.size()), 3, t.data());
  EXPECT_EQ(st.nonzero, 11);
  EXPECT_EQ(st.bin_size, 3);
  EXPECT_EQ(st.spiked, 9);
  // descending: 9(2) 8(8) 7(4) | 7(5) 6(11) 5(0) | 4(10) 3(9) 2(7) | 1(3) 0.5(12) never
  const std::vector<uint8_t> want = {1, 3, 0, 3, 0, 1, 3, 2, 0, 2, 2, 1, 3};
  EXPECT_EQ(t, want);
  // The tie 7 at indices 4 and 5 straddles a chunk boundary: the lower index goes first.
  EXPECT_LT(t[4], t[5]);
}

TEST(LatencyCode, FewNonzerosNeverSpikeAndBadValuesThrow) {
  std::vector<float> x = {1, 2, 0, 3};
  std::vector<uint8_t> t(4);
  const LatencyStats st = latency_code(x.data(), 4, 15, t.data());
  EXPECT_EQ(st.bin_size, 0);
  for (uint8_t v : t) EXPECT_EQ(v, 15);
  x[1] = -1.0f;
  EXPECT_THROW(latency_code(x.data(), 4, 15, t.data()), Error);
  x[1] = NAN;
  EXPECT_THROW(latency_code(x.data(), 4, 15, t.data()), Error);
}

TEST(PadWave, PadsWithNever) {
  const std::vector<uint8_t> in = {0, 1, 2, 3, 4, 5};  // 1 x 2 x 3
  std::vector<uint8_t> out(4 * 5);
  pad_wave(in.data(), 1, 2, 3, 1, 15, out.data());
  const std::vector<uint8_t> want = {15, 15, 15, 15, 15, 15, 0, 1, 2, 15,
                                     15, 3, 4, 5, 15, 15, 15, 15, 15, 15};
  EXPECT_EQ(out, want);
}

// ---- layer ops on hand-made cases --------------------------------------------------------

TEST(IfConv, HandMadePotentialsAndStrictThreshold) {
  // One 2x2 kernel over a 2x3 input, two output features, T = 4.
  // input times:  0 1 3      features: f0 weights [1 2 / 3 4], f1 weights [0.5 0.5 / 0.5 0.5]
  //               2 4 0      (4 = never)
  const int T = 4;
  const std::vector<uint8_t> tin = {0, 1, 3, 2, 4, 0};
  const std::vector<float> w = {1, 2, 3, 4, 0.5f, 0.5f, 0.5f, 0.5f};
  std::vector<float> wt(4 * 8);
  transpose_weights(w.data(), 2, 4, wt.data());
  // Position (0,0): inputs t=0 (w 1), t=1 (w 2), t=2 (w 3), never (w 4).
  //   f0 pot: 1, 3, 6, 6; theta 3 -> strict: fires at t=2 (pot 6), not at t=1 (pot == 3).
  // Position (0,1): inputs t=1 (w1), t=3 (w2), never (w3), t=0 (w4).
  //   f0 pot: 4, 5, 5, 7 -> fires at t=0 (4 > 3).
  //   f1 pot: 0.5, 1, 1, 1.5 -> never.
  for (int path = 0; path < 2; ++path) {
    std::vector<uint8_t> t(4);
    std::vector<float> pf(4), pl(4);
    if (path == 0)
      if_conv_fire(tin.data(), 1, 2, 3, wt.data(), 2, 2, T, 3.0f, t.data(), pf.data(), pl.data());
    else
      if_conv_fire_ref(tin.data(), 1, 2, 3, w.data(), 2, 2, T, 3.0f, t.data(), pf.data(), pl.data());
    EXPECT_EQ(t, (std::vector<uint8_t>{2, 0, 4, 4})) << "path " << path;
    EXPECT_EQ(pf, (std::vector<float>{6, 4, 0, 0}));
    EXPECT_EQ(pl, (std::vector<float>{6, 7, 1.5f, 1.5f}));
  }
}

TEST(PoolWave, EarliestSpikeInWindowFloorMode) {
  // 1 x 3 x 5, kernel 2 stride 2 -> 1 x 1 x 2 (the last row and column are dropped).
  const std::vector<uint8_t> in = {9, 4, 7, 9, 0,  //
                                   6, 9, 9, 5, 0,  //
                                   0, 0, 0, 0, 0};
  for (int path = 0; path < 2; ++path) {
    std::vector<uint8_t> out(2);
    if (path == 0)
      pool_wave(in.data(), 1, 3, 5, 2, 2, out.data());
    else
      pool_wave_ref(in.data(), 1, 3, 5, 2, 2, 9, out.data());
    EXPECT_EQ(out, (std::vector<uint8_t>{4, 5})) << "path " << path;
  }
}

TEST(PointwiseInhibition, EarliestThenLargestThenLowestIndex) {
  // 4 features at 3 positions (H = 1, W = 3), T = 5.
  // pos 0: f1 earliest (t 1) wins over f0 (t 2, larger pot).
  // pos 1: f0 and f2 at t 0; f2 has the larger potential.
  // pos 2: f1, f2 and f3 tie in time and potential: f1 (lowest index) wins.
  // Index c * 3 + pos.
  const std::vector<uint8_t> t0 = {2, 0, 5, 1, 5, 3, 5, 0, 3, 5, 5, 3};
  const std::vector<float> p0 = {9, 4, 0, 5, 0, 6, 0, 6, 6, 0, 0, 6};
  for (int path = 0; path < 2; ++path) {
    std::vector<uint8_t> t = t0;
    std::vector<float> p = p0, pl = p0;
    if (path == 0)
      pointwise_inhibition(t.data(), p.data(), pl.data(), 4, 1, 3, 5);
    else
      pointwise_inhibition_ref(t.data(), p.data(), pl.data(), 4, 1, 3, 5);
    std::vector<uint8_t> wt(12, 5);
    std::vector<float> wp(12, 0.0f);
    wt[3] = 1; wp[3] = 5;    // f1 pos 0
    wt[7] = 0; wp[7] = 6;    // f2 pos 1
    wt[5] = 3; wp[5] = 6;    // f1 pos 2
    EXPECT_EQ(t, wt) << "path " << path;
    EXPECT_EQ(p, wp) << "path " << path;
    EXPECT_EQ(pl, wp) << "path " << path;
  }
}

TEST(KWinners, OrderOneWinnerPerFeatureAndRadius) {
  // 3 features on 1 x 6, T = 10. Candidates in winner order:
  //   A f0 x1 t0 p5; B f1 x2 t0 p4; C f0 x5 t1 p9; D f2 x5 t1 p8; E f2 x0 t2 p7; F f1 x4 t3 p1
  // k = 3, r = 1: A wins; B is within 1 of A -> out; C is feature 0 again -> out;
  //   D wins (x5 is 4 from x1); E (f2 used) out; F: x4 is within 1 of D -> out. Two winners.
  // r = 0: no spatial exclusion: A, B, D.
  const int C = 3, W = 6, T = 10;
  std::vector<uint8_t> t(C * W, T);
  std::vector<float> p(C * W, 0.0f);
  auto set = [&](int f, int x, int tt, float pp) { t[f * W + x] = uint8_t(tt); p[f * W + x] = pp; };
  set(0, 1, 0, 5); set(1, 2, 0, 4); set(0, 5, 1, 9); set(2, 5, 1, 8); set(2, 0, 2, 7); set(1, 4, 3, 1);
  for (int path = 0; path < 2; ++path) {
    auto run = [&](int k, int r) {
      return path == 0 ? k_winners(t.data(), p.data(), C, 1, W, T, k, r)
                       : k_winners_ref(t.data(), p.data(), C, 1, W, T, k, r);
    };
    auto w = run(3, 1);
    ASSERT_EQ(w.size(), 2u) << "path " << path;
    EXPECT_EQ(w[0].f, 0); EXPECT_EQ(w[0].x, 1); EXPECT_EQ(w[0].t, 0); EXPECT_EQ(w[0].pot, 5.0f);
    EXPECT_EQ(w[1].f, 2); EXPECT_EQ(w[1].x, 5); EXPECT_EQ(w[1].t, 1);
    w = run(3, 0);
    ASSERT_EQ(w.size(), 3u) << "path " << path;
    EXPECT_EQ(w[1].f, 1); EXPECT_EQ(w[1].x, 2);
    EXPECT_EQ(w[2].f, 2); EXPECT_EQ(w[2].x, 5);
    EXPECT_EQ(run(1, 3).size(), 1u);
    EXPECT_EQ(run(0, 3).size(), 0u);
  }
  // A full tie goes to the lower flat index (feature first).
  std::vector<uint8_t> t2 = {1, 1};
  std::vector<float> p2 = {2, 2};
  EXPECT_EQ(k_winners(t2.data(), p2.data(), 2, 1, 1, 4, 1, 0)[0].f, 0);
  EXPECT_EQ(k_winners_ref(t2.data(), p2.data(), 2, 1, 1, 4, 1, 0)[0].f, 0);
}

TEST(Stdp, HandMadeUpdateWithStabilizerAndClamp) {
  // 1 input channel 2 x 3, kernel 2 x 2, 2 features; winner f1 at (0, 1), t_out = 2.
  // Inputs under the winner: t 1 (LTP), 2 (LTP: same step), never (LTD), 3 (LTD).
  const int T = 5;
  const std::vector<uint8_t> tin = {0, 1, 2, 9, 5, 3};
  std::vector<float> w0 = {0.5f, 1.2f, 0.5f, 0.5f, 0.5f, 0.25f, 0.75f, 1.0f};
  const std::vector<Winner> win = {Winner{1, 0, 1, 2, 7.0f}};
  StdpParams prm;
  prm.a_plus = 0.1f;
  prm.a_minus = -0.2f;
  std::vector<float> want = w0;
  want[1] = 1.0f;  // the whole tensor is clamped, not only the winner
  want[4] = std::fma(0.1f, 0.5f * 0.5f, 0.5f);
  want[5] = std::fma(0.1f, 0.25f * 0.75f, 0.25f);
  want[6] = std::fma(-0.2f, 0.75f * 0.25f, 0.75f);
  want[7] = 1.0f;  // w (1 - w) = 0: stays at the bound
  for (int path = 0; path < 3; ++path) {
    std::vector<float> w = w0, wt(4 * 8);
    transpose_weights(w.data(), 2, 4, wt.data());
    if (path == 0) stdp_update(w.data(), wt.data(), 2, 1, 2, tin.data(), 2, 3, win, prm);
    if (path == 1) stdp_update_ref(w.data(), 2, 1, 2, tin.data(), 2, 3, T, win, prm);
    if (path == 2) stdp_update(w.data(), nullptr, 2, 1, 2, tin.data(), 2, 3, win, prm);
    EXPECT_EQ(w, want) << "path " << path;
    if (path == 0) {
      std::vector<float> wt2(4 * 8);
      transpose_weights(w.data(), 2, 4, wt2.data());
      EXPECT_EQ(wt, wt2);
    }
  }
  // Without the stabilizer: w + a, clamped to [0.2, 0.8].
  prm.stabilize = false;
  prm.lo = 0.2f;
  prm.hi = 0.8f;
  std::vector<float> w = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.75f, 0.3f, 0.5f};
  stdp_update(w.data(), nullptr, 2, 1, 2, tin.data(), 2, 3, win, prm);
  EXPECT_EQ(w, (std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f, 0.6f, 0.8f, 0.2f, 0.3f}));
  EXPECT_THROW(stdp_update(w.data(), nullptr, 2, 1, 2, tin.data(), 2, 3,
                           {Winner{1, 1, 1, 2, 1.0f}}, prm),
               Error);
}

TEST(SpikewaveMath, ElementRules) {
  EXPECT_TRUE(stdp_ltp(3, 3));
  EXPECT_TRUE(stdp_ltp(2, 3));
  EXPECT_FALSE(stdp_ltp(4, 3));
  EXPECT_TRUE(beats(1, 0.5f, 2, 9.0f));
  EXPECT_TRUE(beats(1, 0.6f, 1, 0.5f));
  EXPECT_FALSE(beats(1, 0.5f, 1, 0.5f));
  float pot = 0, pf = 0;
  uint8_t tf = 9;
  if_step(pot, 2.0f, 0, 2.0f, tf, pf, 9);
  EXPECT_EQ(tf, 9);  // 2 > 2 is false
  if_step(pot, 0.5f, 1, 2.0f, tf, pf, 9);
  EXPECT_EQ(tf, 1);
  EXPECT_EQ(pf, 2.5f);
  if_step(pot, 1.0f, 2, 2.0f, tf, pf, 9);
  EXPECT_EQ(tf, 1);  // at most one spike: the first crossing stays
  EXPECT_EQ(pot, 3.5f);
}

// ---- fast path == reference on random inputs -----------------------------------------------

struct ConvCase {
  int Cin, H, W, Cout, K, T;
  float theta;
  double p_never;
};

TEST(FastVsReference, IfConvOnRandomWavesAnyThreadCount) {
  const ConvCase cases[] = {{6, 12, 11, 30, 5, 15, 15.0f, 0.7},
                            {30, 8, 8, 37, 3, 15, 10.0f, 0.5},
                            {3, 6, 6, 5, 3, 4, 0.0f, 0.9},
                            {2, 5, 5, 3, 5, 15, 1.0f, 0.0},
                            {4, 7, 7, 120, 3, 15, 4.0f, 0.6},   // blocks of 64, 32, 16, 8
                            {2, 6, 6, 9, 3, 40, 2.0f, 0.3},     // T above 32
                            {3, 5, 70, 12, 3, 15, 3.0f, 0.5}};  // a wide map
  uint64_t seed = 10;
  for (const ConvCase& c : cases) {
    const size_t nin = size_t(c.Cin) * c.H * c.W, CKK = size_t(c.Cin) * c.K * c.K;
    const size_t nout = size_t(c.Cout) * (c.H - c.K + 1) * (c.W - c.K + 1);
    const auto tin = random_wave(nin, c.T, c.p_never, ++seed);
    const auto w = random_weights(c.Cout * CKK, 0.8, 0.3, ++seed);
    std::vector<float> wt(CKK * padded_features(c.Cout));
    transpose_weights(w.data(), c.Cout, int(CKK), wt.data());
    std::vector<uint8_t> tr(nout), tf(nout);
    std::vector<float> pfr(nout), plr(nout), pff(nout), plf(nout);
    if_conv_fire_ref(tin.data(), c.Cin, c.H, c.W, w.data(), c.Cout, c.K, c.T, c.theta, tr.data(),
                     pfr.data(), plr.data());
    int fired = 0;
    for (uint8_t v : tr) fired += v < c.T;
    EXPECT_GT(fired, 0);
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      if_conv_fire(tin.data(), c.Cin, c.H, c.W, wt.data(), c.Cout, c.K, c.T, c.theta, tf.data(),
                   pff.data(), plf.data());
      EXPECT_EQ(tf, tr) << "threads " << threads;
      EXPECT_EQ(pff, pfr);
      EXPECT_EQ(plf, plr);
      // Without pot_last the fast path stops a block once all its features fired.
      std::fill(tf.begin(), tf.end(), 0);
      std::fill(pff.begin(), pff.end(), -1.0f);
      if_conv_fire(tin.data(), c.Cin, c.H, c.W, wt.data(), c.Cout, c.K, c.T, c.theta, tf.data(),
                   pff.data(), nullptr);
      EXPECT_EQ(tf, tr);
      EXPECT_EQ(pff, pfr);
    }
    omp_set_num_threads(2);
  }
}

TEST(FastVsReference, PoolInhibitionWinnersAndStdpOnRandomInputs) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const int C = 7, H = 9, W = 10, T = 15;
    const size_t n = size_t(C) * H * W;
    const auto t = random_wave(n, T, 0.6, seed);
    std::vector<float> pf(n);
    for (size_t i = 0; i < n; ++i)
      pf[i] = t[i] < T ? 10.0f + float(philox::u32(seed, 7, i) % 4) : 0.0f;  // many ties
    for (int k : {2, 3}) {
      std::vector<uint8_t> pa(size_t(C) * ((H - k) / k + 1) * ((W - k) / k + 1)), pb(pa.size());
      pool_wave(t.data(), C, H, W, k, k, pa.data());
      pool_wave_ref(t.data(), C, H, W, k, k, T, pb.data());
      EXPECT_EQ(pa, pb);
    }
    std::vector<uint8_t> ta = t, tb = t;
    std::vector<float> pa = pf, pb = pf;
    pointwise_inhibition(ta.data(), pa.data(), nullptr, C, H, W, T);
    pointwise_inhibition_ref(tb.data(), pb.data(), nullptr, C, H, W, T);
    EXPECT_EQ(ta, tb);
    EXPECT_EQ(pa, pb);
    for (int r : {0, 1, 3}) {
      // Before and after inhibition (several spiking features per position or one).
      for (int inh = 0; inh < 2; ++inh) {
        const uint8_t* tt = inh ? ta.data() : t.data();
        const float* pp = inh ? pa.data() : pf.data();
        const auto wa = k_winners(tt, pp, C, H, W, T, 5, r);
        const auto wb = k_winners_ref(tt, pp, C, H, W, T, 5, r);
        EXPECT_FALSE(wa.empty());
        EXPECT_EQ(wa, wb);
        // STDP with these winners of a 3 x 3 layer on a C x (H+2) x (W+2) input.
        const int Cin = 4, K = 3, Cout = C, Hi = H + K - 1, Wi = W + K - 1;
        const auto tin = random_wave(size_t(Cin) * Hi * Wi, T, 0.5, seed + 100);
        auto w = random_weights(size_t(Cout) * Cin * K * K, 0.8, 0.15, seed + 200);
        std::vector<float> wr = w, wt(size_t(Cin) * K * K * padded_features(Cout)), wt2(wt.size());
        transpose_weights(w.data(), Cout, Cin * K * K, wt.data());
        StdpParams prm;
        prm.a_plus = 0.128f;
        prm.a_minus = -0.096f;
        stdp_update(w.data(), wt.data(), Cout, Cin, K, tin.data(), Hi, Wi, wa, prm);
        stdp_update_ref(wr.data(), Cout, Cin, K, tin.data(), Hi, Wi, T, wa, prm);
        EXPECT_EQ(w, wr);
        transpose_weights(w.data(), Cout, Cin * K * K, wt2.data());
        EXPECT_EQ(wt, wt2);
      }
    }
  }
}

// ---- CUDA twin --------------------------------------------------------------------------------

TEST(SpikewaveCuda, MatchesCpu) {
  RSNN_SKIP_WITHOUT_CUDA();
  const int Cin = 30, H = 16, W = 16, Cout = 250, K = 3, T = 15;
  const size_t nin = size_t(Cin) * H * W, CKK = size_t(Cin) * K * K;
  const size_t nout = size_t(Cout) * (H - K + 1) * (W - K + 1);
  const auto tin = random_wave(nin, T, 0.6, 77);
  auto w = random_weights(Cout * CKK, 0.8, 0.05, 78);
  std::vector<float> wt(CKK * padded_features(Cout));
  transpose_weights(w.data(), Cout, int(CKK), wt.data());
  std::vector<uint8_t> ta(nout), tb(nout);
  std::vector<float> pfa(nout), pla(nout), pfb(nout), plb(nout);
  if_conv_fire(tin.data(), Cin, H, W, wt.data(), Cout, K, T, 10.0f, ta.data(), pfa.data(), pla.data());
  if_conv_fire_cuda(tin.data(), Cin, H, W, wt.data(), Cout, K, T, 10.0f, tb.data(), pfb.data(),
                    plb.data());
  EXPECT_EQ(ta, tb);
  EXPECT_EQ(pfa, pfb);
  EXPECT_EQ(pla, plb);
  pointwise_inhibition(ta.data(), pfa.data(), nullptr, Cout, H - K + 1, W - K + 1, T);
  const auto win = k_winners(ta.data(), pfa.data(), Cout, H - K + 1, W - K + 1, T, 8, 1);
  ASSERT_FALSE(win.empty());
  std::vector<float> wc = w;
  StdpParams prm;
  stdp_update(w.data(), nullptr, Cout, Cin, K, tin.data(), H, W, win, prm);
  stdp_update_cuda(wc.data(), Cout, Cin, K, tin.data(), H, W, win, prm);
  EXPECT_EQ(w, wc);
}
