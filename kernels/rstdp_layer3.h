// Layer 3 of the Mozafari et al. (2019) deep convolutional SNN (spec rstdp-conv-snn.md §3b):
// 200 features of 250x5x5 over the padded 8x8 C2 map -> 200x4x4 final potentials, a global
// winner, and the R-STDP update of the winner's kernel.
//
// Layer 3 fires only at the last step, so everything depends on the binary "ever spiked"
// C2 map. Padding never spikes, so only its central 4x4 (250 x 16 = 4000 bits) is stored:
// bit (q * 250 + c) for input position q = iy * 4 + ix, packed in kL3Words uint64 words.
//
// Exact semantics (the reference and the fast path agree bit for bit):
//  - potential p[f][y][x] = sum of W[f][c][ky][kx] over spiked inputs in the window, summed
//    exactly (double: every weight is a float >= 0.125, a multiple of 2^-26, and a sum of
//    <= 6250 of them stays below 2^13, so 39 bits suffice), then rounded to float32;
//  - SpykeTorch's winner key: v = fl32(15 * max p), key = fl32(p + v) for p > 0; the winner
//    is the first maximal key in (f, y, x) order; -1 (silence) when no p > 0;
//  - class = f / 20;
//  - reward: w = clamp(fl32(w + (spiked ? ltp : ltd)), 0.2, 0.8) on the winner's kernel
//    over its receptive field (padding counts as never spiked); punish likewise with the
//    anti-STDP rates. No w(1-w) factor. Then, as SpykeTorch clamps the whole weight tensor
//    after every update, every weight is clamped to [0.2, 0.8]: the first update (the first
//    sample that is not silent) clamps the initial weights of all kernels; the decision of
//    that first sample still sees them unclamped.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/cuda_entry.h"
#include "runtime/hd.h"

namespace rsnn::rstdp {

constexpr int kL3In = 250;       // C2 features
constexpr int kL3Features = 200;
constexpr int kL3K = 5;          // kernel size
constexpr int kL3Side = 4;       // real C2 map side (the 8x8 map minus a padding of 2)
constexpr int kL3Pad = 2;
constexpr int kL3Pos = kL3Side * kL3Side;                // 16 input and 16 output positions
constexpr int kL3Bits = kL3In * kL3Pos;                  // 4000
constexpr int kL3Words = (kL3Bits + 63) / 64;            // 63
constexpr int kL3KernelSize = kL3In * kL3K * kL3K;       // 6250
constexpr int kL3Weights = kL3Features * kL3KernelSize;  // 1,250,000
constexpr int kL3PerClass = 20;
constexpr float kL3Lo = 0.2f, kL3Hi = 0.8f;
// FLOPs of one sample's potentials as dense products over the real (unpadded) inputs:
// each output row y sees 3 or 4 input rows (3+4+4+3 = 14), likewise columns: 2 * 200 * 250 * 14 * 14.
constexpr double kL3FlopsPerSample = 2.0 * kL3Features * kL3In * 14 * 14;

// ---- element math shared by CPU and CUDA ----
RSNN_HD float l3_update_weight(float w, bool pre_spiked, float ltp, float ltd) {
  const float v = w + (pre_spiked ? ltp : ltd);
  return v < kL3Lo ? kL3Lo : (v > kL3Hi ? kL3Hi : v);
}
RSNN_HD float l3_key(float p, float v) { return p + v; }
// Does input position (iy, ix) lie in the window of output (y, x)? Sets the kernel tap.
RSNN_HD bool l3_tap(int y, int x, int iy, int ix, int& ky, int& kx) {
  ky = iy - y + kL3Pad;
  kx = ix - x + kL3Pad;
  return ky >= 0 && ky < kL3K && kx >= 0 && kx < kL3K;
}
RSNN_HD bool l3_bit(const uint64_t* bits, int i) { return (bits[i >> 6] >> (i & 63)) & 1u; }

struct L3Active;

// Learning rates of one update kind (LTP where the input spiked, LTD elsewhere).
struct L3Rates {
  float ltp = 0, ltd = 0;
};
// The four R-STDP rates; base values from MozafariDeep.py.
struct RStdpRates {
  L3Rates reward{0.004f, -0.003f};
  L3Rates punish{-0.004f, 0.0005f};
};
// Adaptive rates after a batch (MozafariDeep.py): reward rates scaled by the fraction of
// wrong decisions, punishment rates by the fraction of correct ones (silence in neither).
// Products in double from the float base rates, rounded to float as torch stores them.
RStdpRates adapt_rates(double correct_frac, double wrong_frac);

// The decision for one sample.
struct L3Decision {
  int winner = -1;  // flat index f * 16 + y * 4 + x, or -1 (silence)
  int feature() const { return winner < 0 ? -1 : winner / kL3Pos; }
  int position() const { return winner < 0 ? -1 : winner % kL3Pos; }
  int cls() const { return winner < 0 ? -1 : feature() / kL3PerClass; }
};

// Weights [f][c][ky][kx] (SpykeTorch's 200x250x5x5 layout), float32.
struct Layer3 {
  std::vector<float> w = std::vector<float>(kL3Weights, 0.0f);
};
// normal(0.8, 0.05), keyed by (seed, stream "layer3").
Layer3 make_layer3(uint64_t seed);

// Binary map helpers. `spiked` is [c][iy][ix] (250 x 4 x 4) of 0/1.
void l3_pack(const uint8_t* spiked, uint64_t* bits);
int l3_count(const uint64_t* bits);

// ---- the plain per-sample reference ----
// Exact potentials [f][y][x] (double) of one sample.
void l3_potentials_ref(const Layer3& l3, const uint64_t* bits, double* pot);
// The decision from exact potentials [f][y][x].
L3Decision l3_decide(const double* pot);
// Update the winner's kernel, then clamp every weight (no-op for silence).
void l3_update_ref(Layer3& l3, const uint64_t* bits, const L3Decision& d, const L3Rates& r);
// Only the winner's kernel (equal to l3_update_ref once every weight is in [0.2, 0.8]).
void l3_update_winner(Layer3& l3, const uint64_t* bits, const L3Decision& d, const L3Rates& r);
// Clamp every weight to [0.2, 0.8]; returns whether any weight changed.
bool l3_clamp_all(Layer3& l3);

// Result of one training sample.
enum class L3Outcome : int8_t { correct = 0, wrong = 1, silence = 2 };
struct L3Counts {
  int64_t correct = 0, wrong = 0, silence = 0;
  void add(L3Outcome o) { (o == L3Outcome::correct ? correct : o == L3Outcome::wrong ? wrong : silence)++; }
  int64_t total() const { return correct + wrong + silence; }
};

// Sequential R-STDP over samples [0, n) with fixed rates: decide, then reward or punish.
// Returns the per-sample outcomes. The reference walks one sample at a time.
std::vector<L3Outcome> l3_train_ref(Layer3& l3, const uint64_t* bits, const int* labels, int64_t n,
                                    const RStdpRates& rates);
// Decisions of a frozen layer (the test pass).
std::vector<L3Decision> l3_infer_ref(const Layer3& l3, const uint64_t* bits, int64_t n);

// ---- the fast CPU path ----
// Potentials of a batch as dense float products (sgemm) against a [ky][kx][c][f] copy of
// the weights, then a sequential walk that recomputes exactly, per sample, only the kernels
// changed earlier in the batch, and refines near-maximal candidates exactly. Same decisions
// and weights as the reference.
class Layer3Fast {
 public:
  explicit Layer3Fast(const Layer3& l3, int batch = 32);
  const Layer3& layer() const { return l3_; }
  void set_layer(const Layer3& l3);  // replace the weights
  int batch() const { return batch_; }
  // Threads for the batch products of train() (the walk is sequential); 1 by default.
  void set_threads(int threads);

  // As l3_train_ref.
  std::vector<L3Outcome> train(const uint64_t* bits, const int* labels, int64_t n,
                               const RStdpRates& rates);
  // As l3_infer_ref, split over `threads` OpenMP threads (0: all).
  std::vector<L3Decision> infer(const uint64_t* bits, int64_t n, int threads = 1) const;

 private:
  // Float potentials [B][16][200] of samples [0, B) under the current weights; x and s are
  // scratch of B x 4000 and B x 3200 floats.
  void batch_potentials(const uint64_t* bits, int B, float* out, float* x, float* s) const;
  // Decision from approximate potentials [16][200] whose entries are within a relative
  // 1e-3 of exact, refined exactly for near-maximal entries.
  L3Decision decide_fast(const L3Active& act, const float* approx) const;
  void refresh_changed(const L3Active& act, const std::vector<int>& changed, const float* drift,
                       const char* is_changed, float* approx) const;
  // wt_ of kernel f from l3_.w.
  void transpose_kernel(int f);
  // Returns true when the update clamped other kernels too (the first one), refreshing wt_.
  bool apply_update(const uint64_t* bits, const L3Decision& d, const L3Rates& r);

  Layer3 l3_;
  std::vector<float> wt_;  // [f][ky][kx][c]: a window row's taps are contiguous per kernel
  bool clamped_ = false;   // every weight in [0.2, 0.8] (true after any update)
  int batch_;
  int threads_ = 1;
};

// Exact potential of feature f at output position p (0..15) from one sample's bits.
double l3_potential_at(const float* wf, const uint64_t* bits, int p);

// ---- CUDA (kernels/rstdp_layer3.cu) ----
// Decisions of a frozen layer on the current CUDA device (exact potentials in double, the
// same decision rule). Throws when rsnn was built without CUDA.
RSNN_CUDA_ENTRY("rstdp layer 3",
                std::vector<L3Decision> l3_infer_cuda(const Layer3& l3, const uint64_t* bits,
                                                      int64_t n));

}  // namespace rsnn::rstdp
