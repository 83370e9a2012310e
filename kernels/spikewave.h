// Spike-wave ops of the convolutional STDP network (Mozafari et al. 2019, SpykeTorch
// semantics; spec shared/spec/rstdp-conv-snn.md): DoG + latency input coding, IF
// convolution, spike pooling, pointwise inhibition, k-WTA and STDP.
//
// A spike wave of C x H x W neurons over T steps is stored as first-spike times, uint8,
// row-major [C][H][W]: t in [0, T) or T = never. SpykeTorch's cumulative binary wave is
// spiked(s) <=> t <= s. T <= 254.
//
// Two CPU implementations of every op with the same results:
//   - *_ref: a plain per-step reference that expands waves into T binary maps and follows
//     SpykeTorch's tensor code step by step (dense float convolution per step);
//   - the fast path: works on first-spike times directly (see if_conv_fire).
// Potentials are float32 summed in one fixed order in both, so they agree bit for bit:
// pot[t] = pot[t-1] + S_t with S_t = sum, in (c, ky, kx) order from 0, of the weights of the
// receptive-field inputs whose first spike is at step t. (SpykeTorch convolves the
// cumulative map at each step; the set of terms is the same, the rounding may differ.)
// Weights must be >= 0 (as in SpykeTorch), so potentials are monotone in t and a neuron
// spikes at most once, at its first crossing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/cuda_entry.h"

namespace rsnn::sw {

// ---- input coding ---------------------------------------------------------------------
// DoG kernel of odd `window`, sigmas in pixels: f_i = exp(-(x^2+y^2)/(2 s_i^2)) / s_i^2,
// dog = (f1 - f2) / (2 pi), minus its mean, divided by its maximum (computed in double,
// returned as float32, row-major window x window).
std::vector<float> dog_kernel(int window, double sigma1, double sigma2);

// The six kernels of the paper, zero-padded to 13 x 13: [6][13][13], channels in the
// spec's order (3 on, 3 off, 7 on, 7 off, 13 on, 13 off).
std::vector<float> mozafari_dog_bank();

// Cross-correlate a rows x cols image (float pixels 0..255) with C kernels of size
// K x K (K odd), zero padding K/2, and zero every response below `threshold`:
// out[C][rows][cols]. Sums in (ky, kx) order in double, then rounds to float.
void dog_filter(const float* img, int rows, int cols, const float* kernels, int C, int K,
                float threshold, float* out);

// In place, per channel: x /= (box_{2r+1}(x) / (2r+1)^2 + 1e-12), the box sum with zero
// padding (sums in double).
void local_normalize(float* x, int C, int H, int W, int radius);

struct LatencyStats {
  int64_t nonzero = 0;   // nonzero entries of the input
  int64_t bin_size = 0;  // nonzero / T
  int64_t spiked = 0;    // T * bin_size; the nonzero % T smallest never spike
};
// Intensity-to-latency: sort the n values descending and give chunk i of bin_size values
// first-spike time i (i < T); the rest (the remainder of the nonzeros and every zero) get
// T = never. Ties are broken by the lower flat index first (a stable sort), so the result
// is deterministic. With fewer than T nonzeros bin_size is 0 and nothing spikes. Values
// must be finite and >= 0.
LatencyStats latency_code(const float* x, int64_t n, int T, uint8_t* t_out);

// Pad each channel by `pad` on every side with `never`: out [C][H+2p][W+2p].
void pad_wave(const uint8_t* t_in, int C, int H, int W, int pad, uint8_t never, uint8_t* out);

// ---- layers ---------------------------------------------------------------------------
// Row stride of the transposed weights: Cout rounded up to a multiple of 8 (one AVX
// vector), the padding held at zero.
inline int padded_features(int Cout) { return (Cout + 7) / 8 * 8; }

// IF convolution, stride 1, no padding (pad the input first): input [Cin][H][W] times,
// weights [Cout][Cin][K][K] (ref) or transposed [Cin*K*K][padded_features(Cout)] (fast and
// CUDA; see transpose_weights), output neurons [Cout][H-K+1][W-K+1]:
//   t_out     first step with pot > theta, or T;
//   pot_first the potential at that step (0 when never: SpykeTorch's thresholded potential);
//   pot_last  the potential at step T-1 (thresholded or not: raw). May be null.
// The fast path (spikewave_conv.cpp) visits, per output position, only the receptive
// field's spiking inputs, forms each step's weight sum for all features at once (per-step
// buckets up to 64 features, a step-sorted input list and register blocks above), and
// advances the potentials step by step; without pot_last, features stop integrating once
// they fired. OpenMP over positions unless already inside a parallel region; results are
// identical on any thread count. Requires W < 65535.
void if_conv_fire(const uint8_t* t_in, int Cin, int H, int W, const float* w_t, int Cout,
                  int K, int T, float theta, uint8_t* t_out, float* pot_first,
                  float* pot_last);
void if_conv_fire_ref(const uint8_t* t_in, int Cin, int H, int W, const float* w, int Cout,
                      int K, int T, float theta, uint8_t* t_out, float* pot_first,
                      float* pot_last);
// [Cout][Cin*K*K] -> [Cin*K*K][padded_features(Cout)] (w_t holds CKK * that many floats).
void transpose_weights(const float* w, int Cout, int CKK, float* w_t);

// Spike max-pooling (max_pool2d on each step of the cumulative wave = the earliest spike
// in the window): kernel k, stride s, floor mode, no padding: out [C][(H-k)/s+1][(W-k)/s+1].
void pool_wave(const uint8_t* t_in, int C, int H, int W, int k, int s, uint8_t* t_out);
void pool_wave_ref(const uint8_t* t_in, int C, int H, int W, int k, int s, int T,
                   uint8_t* t_out);

// Pointwise (feature) inhibition, in place on [C][H][W]: at each position only the
// feature that fired earliest, with the larger potential at its first spike on a tie,
// keeps its spike and potentials; a tie in both goes to the lower feature index
// (SpykeTorch's torch.max returns the first maximum). Others get t = T, pots 0.
// pot_last may be null.
void pointwise_inhibition(uint8_t* t, float* pot_first, float* pot_last, int C, int H, int W,
                          int T);
void pointwise_inhibition_ref(uint8_t* t, float* pot_first, float* pot_last, int C, int H,
                              int W, int T);

struct Winner {
  int f = 0, y = 0, x = 0;  // feature and output position
  uint8_t t = 0;            // its first-spike time
  float pot = 0.0f;         // its potential at that time
  // Field by field, the potential's bits included (the fast path must equal the reference).
  bool operator==(const Winner& o) const {
    return f == o.f && y == o.y && x == o.x && t == o.t && pot == o.pot;
  }
};
// Ranking of the k-WTA candidates: exact = beats() (earliest spike, then the larger
// potential); spyketorch = SpykeTorch's one float32 key per neuron (wta_key in
// spikewave_math.h), which merges same-time potentials closer than its rounding.
enum class WtaKey { exact, spyketorch };
const char* wta_key_name(WtaKey key);
// "exact" | "spyketorch"; anything else throws naming `what` (a flag or a file).
WtaKey parse_wta_key(const std::string& s, const std::string& what);

// k winners-take-all: up to k winners in the key's order, ties to the lower flat index
// (f, y, x) (SpykeTorch's argmax order); after each, its whole feature map and the
// (2r+1)^2 square around it in all features are excluded. Neurons that never fired never win.
std::vector<Winner> k_winners(const uint8_t* t, const float* pot_first, int C, int H, int W,
                              int T, int k, int r, WtaKey key = WtaKey::exact);
std::vector<Winner> k_winners_ref(const uint8_t* t, const float* pot_first, int C, int H,
                                  int W, int T, int k, int r, WtaKey key = WtaKey::exact);

struct StdpParams {
  float a_plus = 0.004f, a_minus = -0.003f;  // rates for pre <= post and pre > post (or never)
  float lo = 0.0f, hi = 1.0f;                // weight bounds
  bool stabilize = true;                     // multiply by (w - lo)(hi - w)
};
// STDP on weights [Cout][Cin][K][K] for the winners of a layer whose input wave is
// t_in [Cin][H][W]: for winner (f, y, x) and each weight (c, ky, kx),
// ltp = t_in[c][y+ky][x+kx] <= winner.t; then every weight of the layer is clamped to
// [lo, hi] (as SpykeTorch clamps the whole tensor). If w_t (transposed copy, may be null)
// is given, the changed entries are mirrored into it.
void stdp_update(float* w, float* w_t, int Cout, int Cin, int K, const uint8_t* t_in, int H,
                 int W, const std::vector<Winner>& winners, const StdpParams& p);
void stdp_update_ref(float* w, int Cout, int Cin, int K, const uint8_t* t_in, int H, int W,
                     int T, const std::vector<Winner>& winners, const StdpParams& p);

// ---- CUDA twins (spikewave.cu; host pointers in and out) --------------------------------
// Available when built with CUDA and a device is usable (rsnn::cuda_usable()); otherwise
// they throw rsnn::Error.
RSNN_CUDA_ENTRY("if_conv_fire",
                void if_conv_fire_cuda(const uint8_t* t_in, int Cin, int H, int W, const float* w_t,
                                       int Cout, int K, int T, float theta, uint8_t* t_out,
                                       float* pot_first, float* pot_last));
RSNN_CUDA_ENTRY("stdp_update",
                void stdp_update_cuda(float* w, int Cout, int Cin, int K, const uint8_t* t_in,
                                      int H, int W, const std::vector<Winner>& winners,
                                      const StdpParams& p));

}  // namespace rsnn::sw
