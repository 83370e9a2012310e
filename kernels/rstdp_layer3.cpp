// Layer 3 fast CPU path: a batch's potentials as dense sgemm products, then a sequential
// walk with exact recomputation of the kernels changed earlier in the batch.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "kernels/rstdp_layer3.h"
#include "runtime/error.h"
#include "runtime/threads.h"

namespace rsnn::rstdp {

namespace {

// Relative distance below the approximate maximum within which entries are refined
// exactly. A float sum of <= 6250 nonnegative terms is within 6250 * 2^-24 (3.7e-4)
// relative of exact, and the winner key's rounding merges entries within ~2e-6; 1e-3
// covers both with a margin.
constexpr float kRefine = 1e-3f;

}  // namespace

// The spiked inputs of one sample: channel indices grouped by input position q, so that a
// window visits only its spiked inputs.
struct L3Active {
  int n = 0;
  int qs[kL3Pos + 1];  // inputs of position q: c[qs[q] .. qs[q+1])
  int c[kL3Bits];
  void build(const uint64_t* bits) {
    n = 0;
    int q = 0;
    qs[0] = 0;
    for (int w = 0; w < kL3Words; ++w)
      for (uint64_t v = bits[w]; v; v &= v - 1) {
        const int i = w * 64 + __builtin_ctzll(v), qi = i / kL3In;
        while (q < qi) qs[++q] = n;
        c[n++] = i - qi * kL3In;
      }
    while (q < kL3Pos) qs[++q] = n;
  }
  // Exact potential of kernel wf at output position p.
  double potential(const float* wf, int p) const {
    const int y = p / kL3Side, x = p % kL3Side;
    double s = 0;
    for (int iy = std::max(0, y - kL3Pad); iy <= std::min(kL3Side - 1, y + kL3Pad); ++iy)
      for (int ix = std::max(0, x - kL3Pad); ix <= std::min(kL3Side - 1, x + kL3Pad); ++ix) {
        const int q = iy * kL3Side + ix;
        const float* w = wf + (iy - y + kL3Pad) * kL3K + (ix - x + kL3Pad);
        for (int a = qs[q]; a < qs[q + 1]; ++a) s += double(w[c[a] * kL3K * kL3K]);
      }
    return s;
  }
  // Exact potentials of kernel wf at all 16 positions.
  void potentials(const float* wf, double* pot) const {
    std::fill(pot, pot + kL3Pos, 0.0);
    for (int q = 0; q < kL3Pos; ++q) {
      const int iy = q / kL3Side, ix = q % kL3Side;
      for (int y = std::max(0, iy - kL3Pad); y <= std::min(kL3Side - 1, iy + kL3Pad); ++y)
        for (int x = std::max(0, ix - kL3Pad); x <= std::min(kL3Side - 1, ix + kL3Pad); ++x) {
          const float* w = wf + (iy - y + kL3Pad) * kL3K + (ix - x + kL3Pad);
          double s = 0;
          for (int a = qs[q]; a < qs[q + 1]; ++a) s += double(w[c[a] * kL3K * kL3K]);
          pot[y * kL3Side + x] += s;
        }
    }
  }
};


Layer3Fast::Layer3Fast(const Layer3& l3, int batch) : batch_(batch) {
  RSNN_CHECK(batch >= 1 && batch <= 4096, "Layer3Fast: batch ", batch, " outside 1..4096");
  set_layer(l3);
}

void Layer3Fast::set_threads(int threads) {
  RSNN_CHECK(threads >= 1 && threads <= 1024, "Layer3Fast: threads ", threads, " outside 1..1024");
  threads_ = threads;
}

void Layer3Fast::set_layer(const Layer3& l3) {
  RSNN_CHECK(l3.w.size() == size_t(kL3Weights), "Layer3Fast: ", l3.w.size(), " weights, expected ",
             kL3Weights);
  l3_ = l3;
  clamped_ = std::all_of(l3_.w.begin(), l3_.w.end(), [](float w) { return w >= kL3Lo && w <= kL3Hi; });
  wt_.resize(kL3Weights);
  for (int f = 0; f < kL3Features; ++f) transpose_kernel(f);
}

void Layer3Fast::transpose_kernel(int f) {
  const float* w = l3_.w.data() + size_t(f) * kL3KernelSize;
  float* t = wt_.data() + size_t(f) * kL3KernelSize;
  for (int c = 0; c < kL3In; ++c)
    for (int k = 0; k < kL3K * kL3K; ++k) t[k * kL3In + c] = w[c * kL3K * kL3K + k];
}

void Layer3Fast::batch_potentials(const uint64_t* bits, int B, float* out, float* x, float* s) const {
  constexpr int kRow = kL3Side * kL3In;           // one input row of one sample (1,000)
  constexpr int kOutRow = kL3Side * kL3Features;  // one output row of one sample (800)
  // 0/1 floats in [iy][b][ix][c] order: for one kernel row ky, the input rows that all output
  // rows and samples see then form a single strided matrix.
  for (int b = 0; b < B; ++b) {
    const uint64_t* bb = bits + size_t(b) * kL3Words;
    for (int iy = 0; iy < kL3Side; ++iy) {
      float* xr = x + (size_t(iy) * B + b) * kRow;
      for (int j = 0, i = iy * kRow; j < kRow; ++j, ++i) xr[j] = float((bb[i >> 6] >> (i & 63)) & 1u);
    }
  }
  // s[y][b][x0][f]: per output column x0 and kernel row ky, one sgemm over the (y, b) rows
  // it reaches, so each weight slice is packed once per batch rather than once per position.
  // ky = 2 reaches every row and goes first (beta 0); the others add. Columns x0 = 0, 2 and
  // 1, 3 cost the same (7 column blocks), hence the alternation between two threads.
#pragma omp parallel for schedule(static, 1) num_threads(threads_) if (threads_ > 1 && !omp_in_parallel())
  for (int x0 = 0; x0 < kL3Side; ++x0) {
    const int ix0 = std::max(0, x0 - kL3Pad), ix1 = std::min(kL3Side - 1, x0 + kL3Pad);
    const int kx0 = ix0 - x0 + kL3Pad;
    for (int j = 0; j < kL3K; ++j) {
      const int ky = (j + kL3Pad) % kL3K;
      const int y0 = std::max(0, kL3Pad - ky), y1 = std::min(kL3Side - 1, kL3Side - 1 + kL3Pad - ky);
      const int iy0 = y0 + ky - kL3Pad;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (y1 - y0 + 1) * B, kL3Features,
                  (ix1 - ix0 + 1) * kL3In, 1.0f, x + size_t(iy0) * B * kRow + ix0 * kL3In, kRow,
                  wt_.data() + size_t(ky * kL3K + kx0) * kL3In, kL3KernelSize, j == 0 ? 0.0f : 1.0f,
                  s + size_t(y0) * B * kOutRow + x0 * kL3Features, kOutRow);
    }
    for (int y = 0; y < kL3Side; ++y)
      for (int b = 0; b < B; ++b)
        std::copy_n(s + (size_t(y) * B + b) * kOutRow + x0 * kL3Features, kL3Features,
                    out + (size_t(b) * kL3Pos + y * kL3Side + x0) * kL3Features);
  }
}

L3Decision Layer3Fast::decide_fast(const L3Active& act, const float* approx) const {
  float mx = 0;
  for (int i = 0; i < kL3Pos * kL3Features; ++i) mx = std::max(mx, approx[i]);
  L3Decision d;
  if (!(mx > 0)) return d;  // no spiked input in any window: every product is exactly 0
  const float thr = mx * (1.0f - kRefine);
  int cand[kL3Pos * kL3Features];
  double exact[kL3Pos * kL3Features];
  int nc = 0;
  float emax = 0;
  for (int p = 0; p < kL3Pos; ++p)
    for (int f = 0; f < kL3Features; ++f)
      if (approx[p * kL3Features + f] >= thr) {
        cand[nc] = f * kL3Pos + p;
        exact[nc] = act.potential(l3_.w.data() + size_t(f) * kL3KernelSize, p);
        emax = std::max(emax, static_cast<float>(exact[nc]));
        ++nc;
      }
  const float v = emax * 15.0f;
  float best = 0;
  for (int i = 0; i < nc; ++i) {
    const float k = l3_key(static_cast<float>(exact[i]), v);
    if (k > best || (k == best && cand[i] < d.winner)) best = k, d.winner = cand[i];
  }
  return d;
}

bool Layer3Fast::apply_update(const uint64_t* bits, const L3Decision& d, const L3Rates& r) {
  if (!clamped_) {  // the first update clamps every kernel: all batch products are stale
    l3_update_ref(l3_, bits, d, r);
    set_layer(l3_);
    return true;
  }
  l3_update_winner(l3_, bits, d, r);  // every other weight is already in range
  transpose_kernel(d.feature());
  return false;
}

// Brings the stale (batch-start) potentials of the kernels changed earlier in the batch up
// to date where it matters. A kernel changed by updates whose rates sum to D (in absolute
// value; clamping only shrinks a step) moved each potential by at most D times the spiked
// inputs of its window. A kernel whose bound stays 2e-3 below the largest unchanged
// potential M1 cannot be near the winner (M1 is within 3.7e-4 of an exact potential), so
// its entries are set to -1 and skipped; the others are recomputed exactly.
void Layer3Fast::refresh_changed(const L3Active& act, const std::vector<int>& changed,
                                 const float* drift, const char* is_changed, float* ap) const {
  if (changed.empty()) return;
  float m1 = -1;
  for (int p = 0; p < kL3Pos; ++p)
    for (int f = 0; f < kL3Features; ++f)
      if (!is_changed[f]) m1 = std::max(m1, ap[p * kL3Features + f]);
  int nwin[kL3Pos];
  for (int p = 0; p < kL3Pos; ++p) {
    const int y = p / kL3Side, x = p % kL3Side;
    nwin[p] = 0;
    for (int iy = std::max(0, y - kL3Pad); iy <= std::min(kL3Side - 1, y + kL3Pad); ++iy)
      for (int ix = std::max(0, x - kL3Pad); ix <= std::min(kL3Side - 1, x + kL3Pad); ++ix)
        nwin[p] += act.qs[iy * kL3Side + ix + 1] - act.qs[iy * kL3Side + ix];
  }
  const float thr = m1 * (1.0f - 2 * kRefine);
  double fp[kL3Pos];
  for (int f : changed) {
    bool need = m1 < 0;
    for (int p = 0; p < kL3Pos && !need; ++p)
      need = ap[p * kL3Features + f] + drift[f] * 1.001f * float(nwin[p]) >= thr;
    if (need) act.potentials(l3_.w.data() + size_t(f) * kL3KernelSize, fp);
    for (int p = 0; p < kL3Pos; ++p) ap[p * kL3Features + f] = need ? static_cast<float>(fp[p]) : -1.0f;
  }
}

std::vector<L3Outcome> Layer3Fast::train(const uint64_t* bits, const int* labels, int64_t n,
                                         const RStdpRates& rates) {
  BlasThreadsGuard single(true);
  std::vector<L3Outcome> out(static_cast<size_t>(n));
  std::vector<float> pot(size_t(batch_) * kL3Pos * kL3Features), x(size_t(batch_) * kL3Bits),
      scratch(pot.size());
  std::vector<int> changed;
  auto act = std::make_unique<L3Active>();
  std::vector<char> is_changed(kL3Features);
  std::vector<float> drift(kL3Features);
  auto step = [](const L3Rates& r) { return std::max(std::fabs(r.ltp), std::fabs(r.ltd)); };
  for (int64_t s0 = 0, next = 0; s0 < n; s0 = next) {
    const int B = static_cast<int>(std::min<int64_t>(batch_, n - s0));
    next = s0 + B;
    batch_potentials(bits + s0 * kL3Words, B, pot.data(), x.data(), scratch.data());
    changed.clear();
    std::fill(is_changed.begin(), is_changed.end(), 0);
    std::fill(drift.begin(), drift.end(), 0.0f);
    for (int b = 0; b < B; ++b) {
      const int64_t i = s0 + b;
      const uint64_t* bi = bits + i * kL3Words;
      float* ap = pot.data() + size_t(b) * kL3Pos * kL3Features;
      act->build(bi);
      refresh_changed(*act, changed, drift.data(), is_changed.data(), ap);
      const L3Decision d = decide_fast(*act, ap);
      if (d.winner < 0) {
        out[i] = L3Outcome::silence;
        continue;
      }
      const bool hit = d.cls() == labels[i];
      out[i] = hit ? L3Outcome::correct : L3Outcome::wrong;
      const L3Rates& r = hit ? rates.reward : rates.punish;
      if (apply_update(bi, d, r)) {  // every kernel changed: a new batch from the next sample
        next = i + 1;
        break;
      }
      const int f = d.feature();
      drift[f] += step(r);
      if (!is_changed[f]) is_changed[f] = 1, changed.push_back(f);
    }
  }
  return out;
}

std::vector<L3Decision> Layer3Fast::infer(const uint64_t* bits, int64_t n, int threads) const {
  std::vector<L3Decision> out(static_cast<size_t>(n));
  const int nth = threads > 0 ? threads : num_threads();
  BlasThreadsGuard single(true);
  const int64_t B = batch_;
#pragma omp parallel num_threads(nth) if (nth > 1 && n > B)
  {
    std::vector<float> pot(size_t(B) * kL3Pos * kL3Features), x(size_t(B) * kL3Bits),
        scratch(pot.size());
    auto act = std::make_unique<L3Active>();
    const int64_t nb = (n + B - 1) / B;
#pragma omp for schedule(dynamic, 1)
    for (int64_t k = 0; k < nb; ++k) {
      const int64_t s0 = k * B;
      const int b1 = static_cast<int>(std::min<int64_t>(B, n - s0));
      batch_potentials(bits + s0 * kL3Words, b1, pot.data(), x.data(), scratch.data());
      for (int b = 0; b < b1; ++b) {
        act->build(bits + (s0 + b) * kL3Words);
        out[s0 + b] = decide_fast(*act, pot.data() + size_t(b) * kL3Pos * kL3Features);
      }
    }
  }
  return out;
}

}  // namespace rsnn::rstdp
