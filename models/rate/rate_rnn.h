// Dale's-principle rate RNN of Kim, Li & Sejnowski (PNAS 2019), spec rate-to-spiking.md §1.
//
// Units and shapes: N units, C input channels, T steps of DeltaT (1 step = 5 ms), B trials.
// Time constants are in steps. The recurrent step is ONE fused op on the tape: forward over
// all T steps, hand-written BPTT backward (spec §1.7) giving gradients for w, w_out, b_out
// and taus_gaus. The forward order is exactly spec §1.5b:
//   x[0] = x0_std * randn,  r = act(x)
//   x[t] = (1 - a) x[t-1] + a (W_eff r[t-1] + w_in u[:, t-1]) + noise_std * randn,  a = DeltaT/tau
//   o[t-1] = w_out r[t] + b_out,   W_eff = (relu(w) diag(sign)) .* som_m  (w as is without Dale)
// Noise and x[0] come from Philox keyed by (noise seed, trial id), so a forward pass is a
// deterministic function of its inputs (finite differences work) and batched == one-by-one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/var.h"
#include "runtime/tensor.h"

namespace rsnn::rate {

enum class Activation { sigmoid, clipped_relu, softplus };
enum class LossKind { l2, l1 };

Activation parse_activation(const std::string& s);  // sigmoid | clipped_relu | softplus
std::string activation_name(Activation a);
LossKind parse_loss(const std::string& s);          // l2 | l1
std::string loss_name(LossKind l);

struct RateConfig {
  int N = 200;
  int n_in = 1;
  double P_inh = 0.2;       // probability that a unit is inhibitory
  double P_rec = 0.2;       // connection probability (self-connections allowed)
  double gain = 1.5;        // weights ~ N(0, 1) * gain / sqrt(N P_rec)
  int som_N = 0;            // first som_N inhibitory units receive no inhibitory input
  bool apply_dale = true;   // false: no inhibitory units, w used as is (no relu), as the original
  // Multi-area networks: n_areas areas of N / n_areas units each (unit i is in area
  // i / (N / n_areas)), each a Dale recurrent network as above; area k projects to area k+1
  // from its EXCITATORY units only, each such connection present with probability P_inter
  // (weights |N(0,1)| gain / sqrt(N_area P_inter), relu'd like every weight, so non-negative).
  // The input drives area 0 only; the readout reads the last area only. The structure lives in
  // the fixed mask som_m (the paper's M), so the op, the LIF conversion and the MATLAB export
  // need nothing else.
  int n_areas = 1;
  double P_inter = 0.2;
  std::vector<double> taus = {4, 10};  // [min, max] steps (trained) or one value (fixed)
  Activation act = Activation::sigmoid;
  double noise_std = 0.1;   // recurrent noise per step (outside the DeltaT/tau factor)
  double x0_std = 0.01;     // initial state
  double delta_t = 1.0;     // steps
  bool taus_trainable() const { return taus.size() == 2; }
  int area_size() const { return N / n_areas; }
  int area_of(int unit) const { return unit / area_size(); }
  void validate() const;    // throws rsnn::Error with the bad field
};

// Parameters and fixed tensors, float32 by default (to_dtype for float64 checks).
struct RateNet {
  RateConfig cfg;
  Tensor w;           // (N, N) raw weights, trainable; the forward uses relu(w)
  Tensor w0;          // (N, N) initial relu(w)
  Tensor sign;        // (N)  +1 excitatory, -1 inhibitory: the diagonal of m
  Tensor som_m;       // (N, N) 0/1 mask M; row = postsynaptic, column = presynaptic (SOM rule
                      // and, with several areas, the area structure)
  Tensor w_in;        // (N, C) fixed
  Tensor w_out;       // (1, N) trainable
  Tensor b_out;       // (1) trainable
  Tensor taus_gaus;   // (N, 1) pre-sigmoid time constants (trainable with two taus)
  Tensor taus_gaus0;  // (N, 1) initial taus_gaus
  std::vector<uint8_t> inh;     // (N) 1 = inhibitory
  std::vector<int> som_units;   // indices of the SOM units

  int N() const { return cfg.N; }
  Tensor m_matrix() const;          // (N, N) diagonal sign mask, as saved by the original
  Tensor w_eff() const;             // (N, N) (relu(w) diag(sign)) .* som_m (no relu without Dale)
  Tensor readout_mask() const;      // (1, N) 1 for the units the readout may use (the last area)
  std::vector<double> tau_steps() const;  // (N) per-unit tau in steps
};

// Build a network from `seed` (spec §1.2-1.4): cell types, sparse Gaussian weights with
// gain, |w| under Dale, the SOM mask, w_in ~ N(0,1), w_out ~ N(0,1)/100, b_out = 0,
// taus_gaus ~ N(0,1). With several areas: the blocks described at RateConfig::n_areas, w_in
// zero outside area 0, w_out zero outside the last area; one area draws exactly as before.
RateNet init_rate_net(const RateConfig& cfg, uint64_t seed);
// Per-unit tau in steps: sigmoid(g) (max - min) + min, or the fixed value.
std::vector<double> taus_from_gaus(const std::vector<double>& taus, const Tensor& taus_gaus);

struct RateRunOptions {
  Activation act = Activation::sigmoid;
  std::vector<double> taus = {4, 10};
  double noise_std = 0.1, x0_std = 0.01, delta_t = 1.0;
  bool rectify = true;             // W_eff uses relu(w) (Dale); false: w as is
  uint64_t seed = 0;               // noise seed
  std::vector<uint64_t> trials;    // (B) trial ids keying x[0] and the noise
  static RateRunOptions from(const RateConfig& cfg, uint64_t seed, std::vector<uint64_t> trials);
};

// Optional state traces of a forward pass, (B, T, N) each.
struct RateTrace {
  Tensor x, r;
};

// The fused op. u: (B, C, T) inputs; returns o: (B, T-1). taus_gaus is used (and gets a
// gradient) only when opt.taus has two values. All float tensors share one dtype.
ag::Var rate_rnn(const ag::Var& w, const ag::Var& w_out, const ag::Var& b_out,
                 const ag::Var& taus_gaus, const Tensor& sign, const Tensor& som_m,
                 const Tensor& w_in, const Tensor& u, const RateRunOptions& opt,
                 RateTrace* trace = nullptr);

// Loss per spec §1.6 with the one-step pairing o[k] vs z[k], k < T-1, averaged over trials:
// L2: sqrt(sum_k (o - z)^2), L1: sum_k |o - z|. o: (B, T-1), z: (B, T). Returns (1).
// `batch` > 0 divides by that many trials instead of B: a shard of a larger batch then adds
// its share of the batch mean (data-parallel training).
ag::Var rate_loss(const ag::Var& o, const Tensor& z, LossKind kind, int64_t batch = 0);
// The same per trial, no tape: (B) losses.
std::vector<double> rate_loss_per_trial(const Tensor& o, const Tensor& z, LossKind kind);

// ---- plain reference (one trial, float64 loops; the specification of the op) ----
struct RateReferenceGrads {
  std::vector<double> dw, dw_out, dtaus_gaus;
  double db_out = 0;
};
// o (T-1) for one trial; u: (C, T). With dO given, also fills grads (spec §1.7).
std::vector<double> rate_rnn_reference(const RateNet& net, const std::vector<double>& u, int T,
                                       const RateRunOptions& opt, uint64_t trial,
                                       const std::vector<double>* dO = nullptr,
                                       RateReferenceGrads* grads = nullptr);

}  // namespace rsnn::rate
