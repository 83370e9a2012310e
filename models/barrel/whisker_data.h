// Whisker-sweep data of the barrel-cortex model (spec §2): contact forces and torques at the
// three base segments of 31 whiskers while an object sweeps past the whisker array.
//
// HDF5 layout (the original snn_train3.h5 / snn_test3.h5, readable from h5py):
//   force   float32 [N, 12, 110, 31, 3, 3]  sample, sweep, frame, whisker, base segment, xyz
//   torque  float32 [N, 12, 110, 31, 3, 3]
//   label   float   [N]  ShapeNet category 53 (helmet), 55 (box), 113 (plane)
// In memory the labels are int32 class ids 0 = helmet, 1 = box, 2 = plane.
// Sweep index = 4 * position + rotation (positions x offset 0, -20, +20; rotations about z
// 0, 90, 180, 270 degrees). The model reads sweep 0 only, so both encodings return sweep 0
// (another sweep can be asked for explicitly).
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/hd.h"
#include "runtime/tensor.h"

namespace rsnn::barrel {

inline constexpr int64_t kSweeps = 12;
inline constexpr int64_t kFrames = 110;
inline constexpr int64_t kWhiskers = 31;
inline constexpr int64_t kSegments = 3;  // base segments (joints nearest the follicle)
inline constexpr int64_t kAxes = 3;      // x, y, z
inline constexpr int kClasses = 3;
inline constexpr int64_t kRepeat = 5;                   // spike steps per frame
inline constexpr int64_t kSteps = kFrames * kRepeat;    // 550
inline constexpr int64_t kSpikeInputs = kWhiskers * kSegments;  // 93: whisker*3 + segment
inline constexpr int64_t kRealFeatures = kWhiskers * kSegments * 2 * kAxes;  // 558
inline constexpr double kForceOffset = 2.0;   // p = m / (m + e^2) for force
inline constexpr double kTorqueOffset = 4.0;  // p = m / (m + e^4) for torque
inline constexpr float kZeroMagnitude = 1e-5f;
inline constexpr double kNormalizeEps = 1e-12;

// The per-sample shape of force and torque: [12, 110, 31, 3, 3].
Shape whisker_sample_shape();
// [n, 12, 110, 31, 3, 3]
Shape whisker_data_shape(int64_t n);

struct WhiskerData {
  Tensor force;   // float32 [N, 12, 110, 31, 3, 3]
  Tensor torque;  // float32 [N, 12, 110, 31, 3, 3]
  Tensor label;   // int32 [N], 0..2

  int64_t size() const { return label.defined() ? label.numel() : 0; }
  // Zero-filled data of n samples, labels 0.
  static WhiskerData zeros(int64_t n);
};

const char* class_name(int label);        // "helmet", "box", "plane"
double category_of_label(int label);      // 53, 55, 113
// 53 -> 0, 55 -> 1, 113 -> 2; anything else throws naming `where` and the value.
int label_of_category(double category, const std::string& where);

// Shapes, dtypes, matching N and CPU placement only (cheap; every function here checks it).
void check_layout(const WhiskerData& d, const std::string& where);
// Every shape, dtype and value: ranks and dims, the same N in all three, finite forces and
// torques, labels in 0..2. Throws naming `where` and the dataset.
void validate(const WhiskerData& d, const std::string& where);

// HDF5 in the original layout. The reader accepts float32 or float64 force/torque and any
// numeric label dtype, validates everything (naming the file and dataset) and returns
// float32 / int32. The writer writes atomically (temporary file + rename).
// `attributes` become string attributes of the root group (e.g. how the data were made).
WhiskerData read_whisker_h5(const std::string& path);
void write_whisker_h5(const std::string& path, const WhiskerData& d,
                      const std::vector<std::pair<std::string, std::string>>& attributes = {});

// ---- spike encoding (§2.2) ----

// |v|_2 over xyz (squares summed in double, so large finite values do not overflow) with
// exact zeros replaced by 1e-5.
RSNN_HD float contact_magnitude(float x, float y, float z) {
  const double m = sqrt(double(x) * x + double(y) * y + double(z) * z);
  return m == 0.0 ? kZeroMagnitude : static_cast<float>(m);
}
// sigmoid(ln m - c) = m / (m + e^c), written 1 / (1 + e^c / m) so that m = inf gives 1.
RSNN_HD float spike_probability(float magnitude, float exp_offset) {
  return 1.0f / (1.0f + exp_offset / magnitude);
}

// Per-frame spike probabilities of one sweep: float32 [N, 2, 110, 93] (channel 0 force,
// 1 torque; input = whisker*3 + segment).
Tensor spike_probabilities(const WhiskerData& d, int64_t sweep = 0);
// Bernoulli spikes: uint8 [N, 2, 550, 93]; step t uses frame t / 5 (each frame repeated 5
// times). One fixed draw per (seed, sample, channel, step, input): philox::bernoulli with
// counter index ((sample_offset + n) * 2 + channel) * 550 + t) * 93 + input on `stream`, so
// the spikes do not depend on the thread count or on how the data set is batched (pass the
// global index of sample 0 as sample_offset when encoding a slice).
Tensor encode_spikes(const WhiskerData& d, uint64_t seed, uint64_t stream = 0, int64_t sweep = 0,
                     int64_t sample_offset = 0);

// ---- real-valued form (§2.3) ----

// Every value divided by max(L2 norm across the 12 sweeps, 1e-12), force and torque
// concatenated: float32 [N, 110, 558], feature = whisker*18 + segment*6 + [Fx,Fy,Fz,Tx,Ty,Tz].
Tensor encode_real(const WhiskerData& d, int64_t sweep = 0);

// ---- deprivation (§3) and subsets ----

// Zero force and torque of the given whiskers (0..30) in every sample, sweep and frame.
void deprive_(WhiskerData& d, const std::vector<int>& whiskers);
// A deep copy with the given whiskers zeroed.
WhiskerData deprive(const WhiskerData& d, const std::vector<int>& whiskers);
// The whisker sets of the original deprivation test for k removed whiskers: k = 1 gives the
// 31 single whiskers 0..30; k >= 2 gives `trials` sets of k distinct whiskers drawn from
// 0..n_candidates-1 (the original draws from 0..29, so whisker 30 is never removed then).
std::vector<std::vector<int>> deprivation_sets(int k, int trials, uint64_t seed,
                                               int n_candidates = 30);

// Samples `index` (in that order), deep copies.
WhiskerData subset(const WhiskerData& d, const std::vector<int64_t>& index);
// Stratified split: from each class, round(test_fraction * class count) samples (chosen by
// a seeded permutation) go to the second set. Order within each set follows the input.
std::pair<WhiskerData, WhiskerData> split_stratified(const WhiskerData& d, double test_fraction,
                                                     uint64_t seed);
// Samples per class: {helmet, box, plane}.
std::vector<int64_t> class_counts(const WhiskerData& d);

}  // namespace rsnn::barrel
