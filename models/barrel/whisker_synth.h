// A physically motivated stand-in for the original whisker-sweep recordings (spec §2.1; the
// original HDF5 files are not obtainable). Same layout as the original: force and torque
// float32 [N, 12, 110, 31, 3, 3] at the three base segments of 31 whiskers, labels
// helmet / box / plane. See docs/whisker.md for the model and its limits.
//
// The scene, in the head frame (mm; x lateral, y rostral, z dorsal; right side of the face):
//  - 31 whiskers in the rat layout of Towal et al. (2011), the "RatMap" also used by the
//    original simulation: rows A (A0-A4), B (B0-B5), C (C0-C6), D (D0-D6), E (E1-E6), where
//    column 0 holds the straddlers (alpha, beta, gamma, delta). Base points on the mystacial
//    pad ellipsoid, emergence angles, arc lengths (3-53 mm, shorter rostrally) and intrinsic
//    curvature (y = a x^2) follow that paper's fitted equations. Whiskers are passive (no
//    whisking), as in the original.
//  - One object per sample: helmet (hollow dome shell, optional brim), box (rounded cuboid,
//    optional handle) or plane (fuselage, swept wings, tail), with per-sample shape
//    variation, scale 25 + 110 U mm (largest dimension), a uniformly random 3-D orientation,
//    a random position and a y speed in [-14, -7] mm/s; 110 frames 0.1 s apart.
//  - 12 sweeps per sample: index 4 p + o with x offset {0, -20, +20}[p] mm and an extra
//    rotation about z of 90 o degrees, o = 0..3.
//  - Contact (quasi-static cantilever): along each whisker, the point of deepest penetration
//    into the object (beyond the measured base segments) is the contact point s_c; the
//    penetration depth delta deflects a tapered beam (Young's modulus 3.3 GPa, base diameter
//    growing with length, tip/base radius 0.06) whose compliance at s_c gives the normal
//    force |F| = delta / C(s_c), saturating smoothly once the deflection exceeds half the
//    lever arm (the whisker slips). The force points along the object's outward surface
//    normal, plus Coulomb friction (mu 0.3) along the object's tangential motion. The force
//    is transmitted unchanged to the three base joints (at s = 0, L/20, 2L/20); the torque at
//    joint j is (x_c - x_j) x F. A 3 % Gaussian sensor noise is added per component. Frames
//    without contact are exactly zero.
//  - Units: force in uN, torque in uN*mm. Typical contacts then span the spike encoding's
//    sensitive range around its midpoints e^2 (force) and e^4 (torque) (§2.2).
//
// Every random number is philox(seed, stream, counter): the data depend only on
// (seed, stream, sample), never on the thread count.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/barrel/synth_geometry.h"
#include "models/barrel/whisker_data.h"

namespace rsnn::barrel {

struct WhiskerGeometry {
  std::string name;  // "A0" ... "E6" (column 0 = straddler)
  int row = 0;       // 0..4 = A..E
  int col = 0;       // 0..6
  double length = 0;          // arc length (mm)
  geom::Vec3 base;            // follicle position (mm)
  geom::Vec3 dir;             // unit emergence direction
  geom::Vec3 bend;            // unit direction of the intrinsic curvature, perpendicular to dir
  double curvature = 0;       // a in y = a x^2 (1/mm)
  double base_diameter = 0;   // mm
};
// The 31 whiskers in data order (whisker index = position here): A0..A4, B0..B5, C0..C6,
// D0..D6, E1..E6.
const std::vector<WhiskerGeometry>& whisker_array();

// One random setting of one sample (everything the simulation needs).
struct SceneParams {
  int label = 0;        // 0 helmet, 1 box, 2 plane
  double scale = 0;     // mm per local unit (largest dimension about 1 unit)
  double speed = 0;     // y velocity, mm/s, in [-14, -7]
  geom::Mat3 rotation;  // local -> head frame (before the sweep's rotation about z)
  geom::Vec3 center;    // object centre at frame 0 of sweep 0 (mm)
  geom::HelmetShape helmet;
  geom::BoxShape box;
  geom::PlaneShape plane;
  double sdf_local(geom::Vec3 p) const;  // the object of `label`, local units
  geom::Vec3 half_extent_local() const;
};

// The setting of sample `sample` of (seed, stream) with the given class.
SceneParams scene_params(uint64_t seed, uint64_t stream, int64_t sample, int label);
// Simulate one sample: writes force and torque, each float32 [12, 110, 31, 3, 3] (contiguous).
// (seed, stream, sample) pick the sensor noise.
void simulate_sample(const SceneParams& scene, uint64_t seed, uint64_t stream, int64_t sample,
                     float* force, float* torque);

// Balanced labels (i % 3, then a seeded permutation): the class of every sample.
std::vector<int32_t> synth_labels(int64_t n, uint64_t seed, uint64_t stream);

// n samples of (seed, stream): labels from synth_labels, scenes from scene_params. Parallel
// over samples (OpenMP); `progress(done)` is called after each finished sample (from one
// thread at a time).
WhiskerData synthesize_whisker_data(int64_t n, uint64_t seed, uint64_t stream,
                                    const std::function<void(int64_t)>& progress = {});

// Streams of the two files written by `rsnn whisker synth`.
inline constexpr uint64_t kTrainStream = 0;
inline constexpr uint64_t kTestStream = 1;

struct WhiskerSummary {
  int64_t samples = 0;
  std::array<int64_t, 3> count{};           // samples per class
  std::array<double, 3> mean_force{};       // mean |F| (segment 0) over contacts, per class
  std::array<double, 3> mean_torque{};      // mean |tau| (segment 0) over contacts, per class
  std::array<double, 3> contact_frames{};   // fraction of (sweep, frame) with any contact
  std::array<double, 3> contact_whiskers{}; // fraction of (sweep, frame, whisker) in contact
  double contact_frames_all = 0;
  double contact_whiskers_all = 0;
};
// Statistics of any whisker data set (contact = non-zero force at base segment 0).
WhiskerSummary summarize(const WhiskerData& d);

}  // namespace rsnn::barrel
