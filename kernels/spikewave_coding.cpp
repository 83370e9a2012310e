// Input coding of spike waves: DoG kernels and filtering, local normalization,
// intensity-to-latency, padding (kernels/spikewave.h). One implementation: it runs once per
// image and its result is cached, so there is no separate fast path.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "kernels/spikewave.h"
#include "runtime/error.h"

namespace rsnn::sw {

std::vector<float> dog_kernel(int window, double sigma1, double sigma2) {
  RSNN_CHECK(window > 0 && window % 2 == 1, "dog_kernel: window must be odd and > 0, got ",
             window);
  RSNN_CHECK(sigma1 > 0 && sigma2 > 0 && sigma1 != sigma2,
             "dog_kernel: sigmas must be > 0 and different, got ", sigma1, ", ", sigma2);
  const int w = window / 2;
  std::vector<double> dog(size_t(window) * window);
  const double a = 1.0 / (2.0 * M_PI);
  for (int y = -w; y <= w; ++y)
    for (int x = -w; x <= w; ++x) {
      const double r2 = double(x) * x + double(y) * y;
      const double f1 = std::exp(-0.5 * r2 / (sigma1 * sigma1)) / (sigma1 * sigma1);
      const double f2 = std::exp(-0.5 * r2 / (sigma2 * sigma2)) / (sigma2 * sigma2);
      dog[size_t(y + w) * window + (x + w)] = a * (f1 - f2);
    }
  const double mean = std::accumulate(dog.begin(), dog.end(), 0.0) / double(dog.size());
  for (double& v : dog) v -= mean;
  const double mx = *std::max_element(dog.begin(), dog.end());
  RSNN_CHECK(mx > 0, "dog_kernel: kernel has no positive value (window ", window, ")");
  std::vector<float> out(dog.size());
  for (size_t i = 0; i < dog.size(); ++i) out[i] = static_cast<float>(dog[i] / mx);
  return out;
}

std::vector<float> mozafari_dog_bank() {
  const int windows[3] = {3, 7, 13};
  std::vector<float> bank(size_t(6) * 13 * 13, 0.0f);
  for (int s = 0; s < 3; ++s)
    for (int off = 0; off < 2; ++off) {
      const int win = windows[s];
      // sigma = window / 9 with ratio 2: on-centre (s, 2s), off-centre (2s, s).
      const double s1 = win / 9.0 * (off ? 2.0 : 1.0), s2 = win / 9.0 * (off ? 1.0 : 2.0);
      const std::vector<float> k = dog_kernel(win, s1, s2);
      const int p = (13 - win) / 2;
      float* dst = bank.data() + size_t(2 * s + off) * 169;
      for (int y = 0; y < win; ++y)
        for (int x = 0; x < win; ++x) dst[(y + p) * 13 + (x + p)] = k[size_t(y) * win + x];
    }
  return bank;
}

void dog_filter(const float* img, int rows, int cols, const float* kernels, int C, int K,
                float threshold, float* out) {
  RSNN_CHECK(rows > 0 && cols > 0 && C > 0 && K > 0 && K % 2 == 1,
             "dog_filter: bad sizes rows ", rows, " cols ", cols, " C ", C, " K ", K);
  const int p = K / 2;
  for (int c = 0; c < C; ++c) {
    const float* k = kernels + size_t(c) * K * K;
    // Rows and columns of the kernel that are all zero (a small kernel padded to K) add
    // nothing: skip them.
    int k0 = 0, k1 = K;
    auto row_zero = [&](int r) {
      for (int x = 0; x < K; ++x)
        if (k[r * K + x] != 0.0f || k[x * K + r] != 0.0f) return false;
      return true;
    };
    while (k0 < k1 && row_zero(k0)) ++k0;
    while (k1 > k0 && row_zero(k1 - 1)) --k1;
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < cols; ++x) {
        double acc = 0.0;
        for (int ky = k0; ky < k1; ++ky) {
          const int iy = y + ky - p;
          if (iy < 0 || iy >= rows) continue;
          for (int kx = k0; kx < k1; ++kx) {
            const int ix = x + kx - p;
            if (ix < 0 || ix >= cols) continue;
            acc += double(k[ky * K + kx]) * double(img[size_t(iy) * cols + ix]);
          }
        }
        const float v = static_cast<float>(acc);
        out[(size_t(c) * rows + y) * cols + x] = v < threshold ? 0.0f : v;
      }
  }
}

void local_normalize(float* x, int C, int H, int W, int radius) {
  RSNN_CHECK(radius >= 0, "local_normalize: radius must be >= 0, got ", radius);
  const int len = 2 * radius + 1;
  const double area = double(len) * len;
  std::vector<double> rowsum(size_t(H) * W);
  for (int c = 0; c < C; ++c) {
    float* xc = x + size_t(c) * H * W;
    // Separable box sum with zero padding: horizontal then vertical, in double.
    for (int y = 0; y < H; ++y)
      for (int i = 0; i < W; ++i) {
        double s = 0.0;
        for (int j = std::max(0, i - radius); j <= std::min(W - 1, i + radius); ++j)
          s += xc[size_t(y) * W + j];
        rowsum[size_t(y) * W + i] = s;
      }
    for (int i = 0; i < W; ++i)
      for (int y = 0; y < H; ++y) {
        double s = 0.0;
        for (int j = std::max(0, y - radius); j <= std::min(H - 1, y + radius); ++j)
          s += rowsum[size_t(j) * W + i];
        const float mean = static_cast<float>(s / area) + 1e-12f;
        // Entries are normalized in place after their column is summed: the column sum
        // reads rowsum only, never xc.
        xc[size_t(y) * W + i] = xc[size_t(y) * W + i] / mean;
      }
  }
}

LatencyStats latency_code(const float* x, int64_t n, int T, uint8_t* t_out) {
  RSNN_CHECK(T > 0 && T <= 254, "latency_code: T must be in [1, 254], got ", T);
  LatencyStats st;
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < n; ++i) {
    RSNN_CHECK(std::isfinite(x[i]) && x[i] >= 0.0f, "latency_code: value ", i, " is ", x[i],
               " (intensities must be finite and >= 0)");
    if (x[i] != 0.0f) idx.push_back(i);
  }
  st.nonzero = int64_t(idx.size());
  st.bin_size = st.nonzero / T;
  st.spiked = st.bin_size * T;
  // Only the top T * bin_size values, all nonzero, spike: sorting the nonzeros suffices.
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return x[a] > x[b]; });
  RSNN_CHECK(n >= 0, "latency_code: negative size ", n);
  std::fill(t_out, t_out + n, static_cast<uint8_t>(T));
  for (int64_t r = 0; r < st.spiked; ++r) t_out[idx[r]] = static_cast<uint8_t>(r / st.bin_size);
  return st;
}

void pad_wave(const uint8_t* t_in, int C, int H, int W, int pad, uint8_t never, uint8_t* out) {
  RSNN_CHECK(pad >= 0, "pad_wave: pad must be >= 0, got ", pad);
  const int Hp = H + 2 * pad, Wp = W + 2 * pad;
  std::memset(out, never, size_t(C) * Hp * Wp);
  for (int c = 0; c < C; ++c)
    for (int y = 0; y < H; ++y)
      std::memcpy(out + (size_t(c) * Hp + y + pad) * Wp + pad, t_in + (size_t(c) * H + y) * W,
                  size_t(W));
}

}  // namespace rsnn::sw
