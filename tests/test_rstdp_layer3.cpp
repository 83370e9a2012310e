// Layer 3 of the R-STDP network: hand-made decisions and updates, the adaptive rates, and
// the fast batched path against the per-sample reference (identical decisions and weights).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernels/rstdp_layer3.h"
#include "runtime/philox.h"
#include "runtime/random.h"
#include "runtime/tensor.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::rstdp;

namespace {

void set_bit(std::vector<uint64_t>& bits, size_t sample, int c, int iy, int ix) {
  const int i = (iy * kL3Side + ix) * kL3In + c;
  bits[sample * kL3Words + (i >> 6)] |= uint64_t(1) << (i & 63);
}

// n random maps, each input spiked with probability p.
std::vector<uint64_t> random_maps(int64_t n, double p, uint64_t seed) {
  Tensor t = Tensor::empty({n, kL3In * kL3Pos}, DType::u8);
  fill_bernoulli(t, seed, 7, p);
  std::vector<uint64_t> bits(size_t(n) * kL3Words);
  for (int64_t i = 0; i < n; ++i) l3_pack(t.data<uint8_t>() + i * kL3In * kL3Pos, bits.data() + i * kL3Words);
  return bits;
}

float w_at(const Layer3& l3, int f, int c, int ky, int kx) {
  return l3.w[size_t(f) * kL3KernelSize + (c * kL3K + ky) * kL3K + kx];
}

}  // namespace

TEST(RstdpLayer3, PackKeepsEveryBit) {
  std::vector<uint8_t> sp(kL3In * kL3Pos, 0);
  sp[0] = sp[17] = sp[kL3In * kL3Pos - 1] = 1;  // (c0,q0), (c1,q1), (c249,q15)
  std::vector<uint64_t> bits(kL3Words);
  l3_pack(sp.data(), bits.data());
  EXPECT_EQ(l3_count(bits.data()), 3);
  EXPECT_TRUE(l3_bit(bits.data(), 0 * kL3In + 0));
  EXPECT_TRUE(l3_bit(bits.data(), 1 * kL3In + 1));
  EXPECT_TRUE(l3_bit(bits.data(), 15 * kL3In + 249));
  EXPECT_FALSE(l3_bit(bits.data(), 1 * kL3In + 0));
}

TEST(RstdpLayer3, HandMadePotentialsAndDecision) {
  Layer3 l3;
  std::fill(l3.w.begin(), l3.w.end(), 0.5f);
  // Feature 45 (class 2) gets a larger weight on channel 3 at the centre tap.
  l3.w[size_t(45) * kL3KernelSize + (3 * kL3K + 2) * kL3K + 2] = 0.75f;
  std::vector<uint64_t> bits(kL3Words);
  set_bit(bits, 0, 3, 1, 2);  // channel 3 at input (1, 2)
  std::vector<double> pot(kL3Features * kL3Pos);
  l3_potentials_ref(l3, bits.data(), pot.data());
  // Input (1,2) lies in the windows of outputs y in 0..3, x in 0..3 (|dy|, |dx| <= 2).
  EXPECT_EQ(pot[0 * kL3Pos + 0], 0.5);
  EXPECT_EQ(pot[45 * kL3Pos + 1 * 4 + 2], 0.75);  // centre tap
  EXPECT_EQ(pot[45 * kL3Pos + 0], 0.5);
  const L3Decision d = l3_decide(pot.data());
  EXPECT_EQ(d.feature(), 45);
  EXPECT_EQ(d.position(), 1 * 4 + 2);
  EXPECT_EQ(d.cls(), 2);
  // Silence when nothing spiked.
  std::vector<uint64_t> none(kL3Words, 0);
  l3_potentials_ref(l3, none.data(), pot.data());
  EXPECT_EQ(l3_decide(pot.data()).winner, -1);
  EXPECT_EQ(l3_decide(pot.data()).cls(), -1);
}

TEST(RstdpLayer3, TiesGoToTheFirstIndexAndKeysRoundAsSpykeTorch) {
  std::vector<double> pot(kL3Features * kL3Pos, 0.0);
  pot[40] = 7.0, pot[20] = 7.0, pot[3000] = 7.0;
  EXPECT_EQ(l3_decide(pot.data()).winner, 20);
  // 100 and 100.00001 differ in float32, but p + 15 * max rounds both to 1600 (ulp 1.2e-4),
  // so SpykeTorch's key makes them a tie, which the first index wins.
  std::fill(pot.begin(), pot.end(), 0.0);
  pot[16] = 100.0, pot[100] = 100.00001;
  ASSERT_LT(float(pot[16]), float(pot[100]));
  EXPECT_EQ(l3_decide(pot.data()).winner, 16);
  // A gap above the key's resolution decides by value.
  pot[100] = 100.001;
  EXPECT_EQ(l3_decide(pot.data()).winner, 100);
}

TEST(RstdpLayer3, RewardAndPunishUpdateTheWinnerOnlyWithClamp) {
  Layer3 l3;
  std::fill(l3.w.begin(), l3.w.end(), 0.5f);
  const int f = 130;
  l3.w[size_t(f) * kL3KernelSize + (9 * kL3K + 0) * kL3K + 0] = 0.798f;  // near the upper bound
  l3.w[size_t(f) * kL3KernelSize + (9 * kL3K + 4) * kL3K + 4] = 0.201f;  // near the lower bound
  std::vector<uint64_t> bits(kL3Words);
  set_bit(bits, 0, 9, 0, 0);  // padded position (2, 2)
  set_bit(bits, 0, 9, 2, 3);  // padded position (4, 5)
  L3Decision d;
  d.winner = f * kL3Pos + 0;  // output (0, 0): its window covers padded rows/cols 0..4
  const L3Rates reward{0.004f, -0.003f};
  Layer3 r = l3;
  l3_update_ref(r, bits.data(), d, reward);
  // Output (0,0) sees input (iy, ix) at tap (iy + 2, ix + 2).
  EXPECT_EQ(w_at(r, f, 9, 2, 2), 0.5f + 0.004f);                // spiked: LTP
  EXPECT_EQ(w_at(r, f, 9, 4, 4), 0.2f);                         // input (2,2) not spiked: LTD, clamped
  EXPECT_EQ(w_at(r, f, 9, 0, 0), 0.798f - 0.003f);              // padding: LTD
  EXPECT_EQ(w_at(r, f, 10, 2, 2), 0.5f - 0.003f);               // other channel: LTD
  EXPECT_EQ(w_at(r, f + 1, 9, 2, 2), 0.5f);                     // other feature untouched
  const L3Rates punish{-0.004f, 0.0005f};
  Layer3 p = l3;
  p.w[size_t(f) * kL3KernelSize + (9 * kL3K + 2) * kL3K + 2] = 0.203f;
  l3_update_ref(p, bits.data(), d, punish);
  EXPECT_EQ(w_at(p, f, 9, 2, 2), 0.2f);                         // clamped at the lower bound
  EXPECT_EQ(w_at(p, f, 9, 0, 0), 0.798f + 0.0005f);             // LTD side of anti-STDP
  Layer3 u = l3;
  u.w[size_t(f) * kL3KernelSize + (9 * kL3K + 2) * kL3K + 2] = 0.799f;
  l3_update_ref(u, bits.data(), d, reward);
  EXPECT_EQ(w_at(u, f, 9, 2, 2), 0.8f);                         // clamped at the upper bound
}

// SpykeTorch clamps the whole weight tensor after every STDP call: the first update clamps
// every kernel's initial weights, but that first decision still sees them unclamped.
TEST(RstdpLayer3, FirstUpdateClampsEveryKernel) {
  Layer3 l3;
  std::fill(l3.w.begin(), l3.w.end(), 0.5f);
  std::fill_n(l3.w.begin() + 30 * kL3KernelSize, kL3KernelSize, 0.9f);  // class 1, above 0.8
  std::fill_n(l3.w.begin(), kL3KernelSize, 0.8f);                       // class 0
  l3.w[size_t(150) * kL3KernelSize + 7] = 0.95f;  // a kernel that never wins
  l3.w[size_t(151) * kL3KernelSize + 8] = 0.1f;
  std::vector<uint64_t> bits(2 * kL3Words);
  for (int s = 0; s < 2; ++s) set_bit(bits, s, 5, 1, 1);
  const std::vector<int> labels{1, 0};
  const RStdpRates rates;
  Layer3 ref = l3;
  const std::vector<L3Outcome> o = l3_train_ref(ref, bits.data(), labels.data(), 2, rates);
  // Sample 1: feature 30 wins on its unclamped 0.9 (clamped first, feature 0 would win the
  // tie at 0.8). Sample 2: every weight of feature 30 is now 0.8 (the taps that saw no spike
  // too), a tie that the lower index, feature 0, wins.
  EXPECT_EQ(o, (std::vector<L3Outcome>{L3Outcome::correct, L3Outcome::correct}));
  for (float w : ref.w) ASSERT_TRUE(w >= kL3Lo && w <= kL3Hi) << w;
  EXPECT_EQ(w_at(ref, 150, 0, 1, 2), 0.8f);
  EXPECT_EQ(w_at(ref, 151, 0, 1, 3), 0.2f);
  EXPECT_EQ(w_at(ref, 30, 100, 4, 4), 0.8f);
  for (int batch : {1, 2}) {
    Layer3Fast fast(l3, batch);
    EXPECT_EQ(fast.train(bits.data(), labels.data(), 2, rates), o) << "batch " << batch;
    EXPECT_TRUE(fast.layer().w == ref.w) << "batch " << batch;
  }
  Layer3 c = l3;
  EXPECT_TRUE(l3_clamp_all(c));
  EXPECT_FALSE(l3_clamp_all(c));
}

TEST(RstdpLayer3, AdaptiveRatesScaleWithHitsAndMisses) {
  const RStdpRates r = adapt_rates(0.7, 0.2);
  EXPECT_EQ(r.reward.ltp, float(double(0.004f) * 0.2));
  EXPECT_EQ(r.reward.ltd, float(double(-0.003f) * 0.2));
  EXPECT_EQ(r.punish.ltp, float(double(-0.004f) * 0.7));
  EXPECT_EQ(r.punish.ltd, float(double(0.0005f) * 0.7));
  const RStdpRates z = adapt_rates(1.0, 0.0);
  EXPECT_EQ(z.reward.ltp, 0.0f);
  EXPECT_THROW(adapt_rates(0.8, 0.3), Error);
  EXPECT_THROW(adapt_rates(-0.1, 0.3), Error);
}

TEST(RstdpLayer3, FastTrainingMatchesTheReferenceExactly) {
  const int64_t n = 160;
  Layer3 l3 = make_layer3(5);
  // Kernel 7 a copy of kernel 3: exact ties in the potentials until their updates diverge.
  std::memcpy(&l3.w[7 * kL3KernelSize], &l3.w[3 * kL3KernelSize], sizeof(float) * kL3KernelSize);
  std::vector<uint64_t> bits = random_maps(n, 0.12, 11);
  std::memset(&bits[20 * kL3Words], 0, sizeof(uint64_t) * kL3Words);  // one silent sample
  std::vector<int> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = int(i * 7 % 10);
  const RStdpRates rates = adapt_rates(0.3, 0.6);
  Layer3 ref = l3;
  const std::vector<L3Outcome> o_ref = l3_train_ref(ref, bits.data(), labels.data(), n, rates);
  for (int batch : {1, 7, 32, 33}) {
    Layer3Fast fast(l3, batch);
    if (batch == 33) fast.set_threads(2);  // the products split over two threads
    const std::vector<L3Outcome> o_fast = fast.train(bits.data(), labels.data(), n, rates);
    ASSERT_EQ(o_fast, o_ref) << "batch " << batch;
    EXPECT_TRUE(fast.layer().w == ref.w) << "batch " << batch;
  }
  EXPECT_EQ(o_ref[20], L3Outcome::silence);
  int updates = 0;
  for (L3Outcome o : o_ref) updates += o != L3Outcome::silence;
  EXPECT_GT(updates, n - 2);
  EXPECT_FALSE(ref.w == l3.w);
}

TEST(RstdpLayer3, FastInferenceMatchesTheReference) {
  const int64_t n = 90;
  Layer3 l3 = make_layer3(9);
  std::vector<uint64_t> bits = random_maps(n, 0.2, 3);
  const std::vector<L3Decision> ref = l3_infer_ref(l3, bits.data(), n);
  for (int threads : {1, 2}) {
    const std::vector<L3Decision> fast = Layer3Fast(l3, 16).infer(bits.data(), n, threads);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(fast[i].winner, ref[i].winner) << i;
  }
}

TEST(RstdpLayer3, CudaInferenceMatchesTheReference) {
  RSNN_SKIP_WITHOUT_CUDA();
  const int64_t n = 1500;
  Layer3 l3 = make_layer3(4);
  std::vector<uint64_t> bits = random_maps(n, 0.15, 8);
  const std::vector<L3Decision> ref = Layer3Fast(l3, 32).infer(bits.data(), n, 2);
  const std::vector<L3Decision> gpu = l3_infer_cuda(l3, bits.data(), n);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(gpu[i].winner, ref[i].winner) << i;
}
