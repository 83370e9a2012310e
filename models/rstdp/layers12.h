// Layers 1 and 2 of the convolutional STDP network (Mozafari et al. 2019; spec
// shared/spec/rstdp-conv-snn.md sections 2 and 3a), trained by STDP one sample at a time:
//   input 6x32x32 -> S1 conv 5x5 (30, theta 15) -> C1 pool 2/2, pad 1 -> 30x16x16
//   -> S2 conv 3x3 (250, theta 10) -> C2 pool 3/3, pad 2 -> 250x8x8.
// Every function exists in two CPU paths with identical results (Path::fast on first-spike
// times, Path::reference per step as SpykeTorch computes); see kernels/spikewave.h.
// Thread safety: functions taking `const Layers12&` keep no hidden state and may run
// concurrently (e.g. c2_output from an OpenMP loop over samples).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/rstdp/encode.h"

namespace rsnn {
class H5File;
}

namespace rsnn::rstdp {

enum class Path { fast, reference };

// Learning rates of one layer and its schedule counter (section 3a): every 500th sample
// (counter reaching 500) resets the counter and sets a+ = min(2 a+, 0.15), a- = -0.75 a+
// (in float32, as SpykeTorch), before that sample's update.
struct StdpRates {
  double a_plus = 0.004, a_minus = -0.003;
  int counter = 0;
};

struct LayerShape {
  int Cin, Cout, K;
  float theta;
};
constexpr LayerShape kLayer1{6, 30, 5, 15.0f};
constexpr LayerShape kLayer2{30, 250, 3, 10.0f};

struct Layers12 {
  // conv1: 30 x 6 x 5 x 5, threshold 15, k=5, r=3; conv2: 250 x 30 x 3 x 3, threshold 10,
  // k=8, r=1 (SpykeTorch's code; the paper: 2). Row-major [Cout][Cin][K][K].
  std::vector<float> w1, w2;
  int k1 = 5, r1 = 3, k2 = 8, r2 = 1;
  // Ranking of both layers' k-WTA candidates (spikewave.h; exact unless asked otherwise).
  sw::WtaKey wta_key = sw::WtaKey::exact;
  StdpRates rates1, rates2;
  // Feature-innermost copies [Cin*K*K][Cout] for the fast path, kept in step with w1/w2 by
  // every function here; call refresh_transposed() after editing w1/w2 directly.
  std::vector<float> w1t, w2t;
  void refresh_transposed();
};

// Weights N(0.8, 0.05) from Philox streams keyed by `seed` (same weights on any machine).
Layers12 make_layers12(uint64_t seed);

// Intermediate results of one forward pass (for tests and diagnostics).
struct LayerOutput {
  Wave spikes;                        // first-spike times [Cout][Ho][Wo]
  std::vector<float> pot_first;       // potential at the first spike (0 when never)
  std::vector<sw::Winner> winners;    // after pointwise inhibition (training only)
};

// S1 on an encoded input (6 x 32 x 32): no inhibition.
LayerOutput layer1_forward(const Layers12& L, const Wave& input, Path path = Path::fast);
// C1 (pool 2, pad 1) of S1, then S2: no inhibition.
LayerOutput layer2_forward(const Layers12& L, const Wave& c1, Path path = Path::fast);
// C1 of an encoded input: 30 x 16 x 16.
Wave c1_output(const Layers12& L, const Wave& input, Path path = Path::fast);

// One STDP step on layer 1 (or 2) for one encoded sample: advance the rate schedule,
// forward (layer 1 frozen when training layer 2), pointwise inhibition, k-WTA (k, r of the
// layer), STDP with the stabilizer on [0, 1]. Returns the winners.
std::vector<sw::Winner> stdp_step_layer1(Layers12& L, const Wave& input,
                                         Path path = Path::fast);
std::vector<sw::Winner> stdp_step_layer2(Layers12& L, const Wave& input,
                                         Path path = Path::fast);

// Frozen layers 1-2 -> C2 output as first-spike times, padded by 2: 250 x 8 x 8 for a
// 32 x 32 input (layer 3 needs only "ever spiked" = t < kSteps).
Wave c2_output(const Layers12& L, const Wave& input, Path path = Path::fast);

// Save/load weights, k, r and rates under `group` of an HDF5 file: datasets w1
// [30,6,5,5], w2 [250,30,3,3] (float32), attributes k1 r1 k2 r2, a_plus1 a_minus1
// counter1, a_plus2 a_minus2 counter2, wta_key ("exact" | "spyketorch"; files written before
// the option have none and were trained with exact). Loading checks shapes, finiteness,
// weights >= 0 and the attribute values, naming the file and the problem.
void save_layers12(H5File& file, const std::string& group, const Layers12& L);
Layers12 load_layers12(const H5File& file, const std::string& group);

}  // namespace rsnn::rstdp
