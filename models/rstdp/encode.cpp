// Input coding of the convolutional STDP network (models/rstdp/encode.h).
#include "models/rstdp/encode.h"

#include <string>

#include "runtime/error.h"

namespace rsnn::rstdp {

namespace {
constexpr int kDogChannels = 6, kDogSize = 13, kNormRadius = 8, kPad = 2;
constexpr float kDogThreshold = 50.0f;

const std::vector<float>& dog_bank() {
  static const std::vector<float> bank = sw::mozafari_dog_bank();  // thread-safe init
  return bank;
}
}  // namespace

std::vector<float> dog_normalized(const uint8_t* img, int rows, int cols) {
  RSNN_CHECK(rows > 0 && cols > 0, "encode_image: image must be non-empty, got ", rows,
             " x ", cols);
  // ToTensor()(image) * 255 in float32, as SpykeTorch's transform computes it.
  std::vector<float> px(size_t(rows) * cols);
  for (size_t i = 0; i < px.size(); ++i) px[i] = (float(img[i]) / 255.0f) * 255.0f;
  std::vector<float> dog(size_t(kDogChannels) * rows * cols);
  sw::dog_filter(px.data(), rows, cols, dog_bank().data(), kDogChannels, kDogSize,
                 kDogThreshold, dog.data());
  sw::local_normalize(dog.data(), kDogChannels, rows, cols, kNormRadius);
  return dog;
}

Wave encode_image(const uint8_t* img, int rows, int cols, sw::LatencyStats* stats) {
  const std::vector<float> dog = dog_normalized(img, rows, cols);
  std::vector<uint8_t> t(dog.size());
  const sw::LatencyStats st = sw::latency_code(dog.data(), int64_t(dog.size()), kSteps, t.data());
  if (stats) *stats = st;
  Wave w;
  w.C = kDogChannels;
  w.H = rows + 2 * kPad;
  w.W = cols + 2 * kPad;
  w.t.resize(size_t(w.size()));
  sw::pad_wave(t.data(), kDogChannels, rows, cols, kPad, kNever, w.t.data());
  return w;
}

std::vector<Wave> encode_images(const uint8_t* imgs, int64_t n, int rows, int cols) {
  RSNN_CHECK(n >= 0, "encode_images: negative image count ", n);
  std::vector<Wave> out(static_cast<size_t>(n));
  const size_t stride = size_t(rows) * cols;
  // Errors inside the parallel loop are kept and rethrown after it (one per loop).
  std::string err;
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n; ++i) {
    try {
      out[size_t(i)] = encode_image(imgs + size_t(i) * stride, rows, cols);
    } catch (const std::exception& e) {
#pragma omp critical(rstdp_encode_err)
      if (err.empty()) err = e.what();
    }
  }
  RSNN_CHECK(err.empty(), err);
  return out;
}

}  // namespace rsnn::rstdp
