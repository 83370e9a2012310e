// Input coding of the convolutional STDP network (Mozafari et al. 2019; spec
// shared/spec/rstdp-conv-snn.md section 1): image -> six DoG filters (threshold 50) ->
// local normalization (radius 8) -> intensity-to-latency (15 steps) -> padded by 2.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/spikewave.h"

namespace rsnn::rstdp {

constexpr int kSteps = 15;
constexpr uint8_t kNever = kSteps;

// One sample's spike wave as first-spike times: t[c*H*W + y*W + x] in [0, kSteps) or
// kSteps = never. Cumulative wave semantics: spiked at step s <=> t <= s.
struct Wave {
  int C = 0, H = 0, W = 0;
  std::vector<uint8_t> t;
  int64_t size() const { return int64_t(C) * H * W; }
  uint8_t at(int c, int y, int x) const { return t[(std::size_t(c) * H + y) * W + x]; }
};

// The DoG responses of encode_image before coding: 6 x rows x cols floats (threshold 50
// applied, then local normalization).
std::vector<float> dog_normalized(const uint8_t* img, int rows, int cols);

// rows x cols uint8 image -> DoG(6) -> threshold 50 -> local norm(8) -> latency(15) ->
// padded by 2: 6 x (rows+4) x (cols+4). `stats` (optional) gets the latency counts.
Wave encode_image(const uint8_t* img, int rows, int cols, sw::LatencyStats* stats = nullptr);

// encode_image for n images of rows x cols stored one after another (OpenMP over images).
std::vector<Wave> encode_images(const uint8_t* imgs, int64_t n, int rows, int cols);

}  // namespace rsnn::rstdp
