// The 11 variants and the recurrent initialisations (spec §1, §1a).
#include "models/microns/variants.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <lapacke.h>

#include "runtime/error.h"
#include "runtime/philox.h"

namespace rsnn::microns {

const std::vector<Variant>& variants() {
  using I = InitKind;
  using R = RegKind;
  using D = DistKind;
  static const std::vector<Variant> v = {
      {"W*D*C", I::bio, R::wdc, D::star},          {"WD*C", I::orthogonal, R::wdc, D::star},
      {"WDC", I::orthogonal, R::wdc, D::grid},     {"WD*", I::orthogonal, R::wd, D::star},
      {"WD", I::orthogonal, R::wd, D::grid},       {"W", I::orthogonal, R::l1, D::none},
      {"W*D*C*", I::bio, R::wdc_emd, D::star},     {"WD*C*", I::orthogonal, R::wdc_emd, D::star},
      {"W*DC*", I::bio, R::wdc_emd, D::grid},      {"W!D*C", I::permuted_bio, R::wdc, D::star},
      {"W!D*C*", I::permuted_bio, R::wdc_emd, D::star},
  };
  return v;
}

const Variant& variant(const std::string& key) {
  std::string all;
  for (const Variant& v : variants()) {
    if (v.key == key) return v;
    all += (all.empty() ? "" : " ") + v.key;
  }
  RSNN_FAIL("unknown variant '", key, "' (valid: ", all, ")");
}

uint64_t stream_key(uint64_t purpose, uint64_t a, uint64_t b, uint64_t c) {
  // splitmix64 finaliser over a running combination
  auto mix = [](uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  uint64_t h = mix(purpose);
  h = mix(h ^ a);
  h = mix(h ^ b);
  return mix(h ^ c);
}

double spectral_radius(const std::vector<double>& A, int N) {
  RSNN_CHECK(int64_t(A.size()) == int64_t(N) * N, "spectral_radius: matrix size");
  std::vector<double> a(A), wr(N), wi(N);
  const lapack_int info = LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', N, a.data(), N, wr.data(),
                                        wi.data(), nullptr, 1, nullptr, 1);
  RSNN_CHECK(info == 0, "spectral_radius: LAPACKE_dgeev failed (info ", info, ")");
  double rho = 0;
  for (int i = 0; i < N; ++i) rho = std::max(rho, std::hypot(wr[i], wi[i]));
  return rho;
}

namespace {
// min_max_scale over the whole matrix; ones when max == min (as the original).
std::vector<double> min_max(const std::vector<double>& x) {
  const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
  std::vector<double> y(x.size(), 1.0);
  if (*hi == *lo) return y;
  const double a = *lo, r = *hi - *lo;
  for (size_t k = 0; k < x.size(); ++k) y[k] = (x[k] - a) / r;
  return y;
}
}  // namespace

std::vector<float> bio_weights(const Field& f, BioSource src, uint64_t seed, int sim) {
  const size_t NN = size_t(f.N) * f.N;
  const uint64_t stream = stream_key(/*purpose: lognormal*/ 1, uint64_t(sim));
  std::vector<double> L(NN);
  for (size_t k = 0; k < NN; ++k) L[k] = std::exp(-0.5 + 0.5 * philox::normal(seed, stream, k));
  return bio_weights_from(f, src, L);
}

std::vector<float> bio_weights_from(const Field& f, BioSource src, const std::vector<double>& L) {
  const int N = f.N;
  const size_t NN = size_t(N) * N;
  RSNN_CHECK(N > 0 && f.sttc.size() == NN && f.corr.size() == NN && f.precision.size() == NN,
             "bio_weights: field ", f.name, " is not loaded");
  RSNN_CHECK(L.size() == NN, "bio_weights: the lognormal matrix has ", L.size(),
             " entries, expected ", NN);
  const std::vector<double> ns = min_max(f.sttc);
  std::vector<double> other;
  if (src == BioSource::corr_sttc) other = min_max(f.corr);
  if (src == BioSource::precision_sttc) other = min_max(f.precision);
  std::vector<double> B(NN);
  double sum = 0;
  for (size_t k = 0; k < NN; ++k) {
    B[k] = L[k] * ns[k] * (other.empty() ? 1.0 : other[k]);
    sum += B[k];
  }
  const double mean = sum / double(NN);
  if (mean > 0)
    for (double& b : B) b *= 0.1 / mean;
  // The original's "threshold" is a floor: nonzero entries below 0.01 are raised to 0.01.
  for (double& b : B) b = std::max(b, b != 0.0 ? 0.01 : 0.0);
  const double rho = spectral_radius(B, N);
  if (rho > 0)
    for (double& b : B) b *= 0.95 / rho;
  return std::vector<float>(B.begin(), B.end());
}

std::vector<float> orthogonal_weights(int N, uint64_t seed, uint64_t stream) {
  RSNN_CHECK(N > 0, "orthogonal_weights: N must be positive, got ", N);
  std::vector<double> a(size_t(N) * N), tau(N);
  for (size_t k = 0; k < a.size(); ++k) a[k] = philox::normal(seed, stream, k);
  lapack_int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, N, N, a.data(), N, tau.data());
  RSNN_CHECK(info == 0, "orthogonal_weights: LAPACKE_dgeqrf failed (info ", info, ")");
  std::vector<double> d(N);
  for (int i = 0; i < N; ++i) d[i] = a[size_t(i) * N + i] < 0 ? -1.0 : 1.0;  // sign(diag r)
  info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, N, N, N, a.data(), N, tau.data());
  RSNN_CHECK(info == 0, "orthogonal_weights: LAPACKE_dorgqr failed (info ", info, ")");
  std::vector<float> q(a.size());
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) q[size_t(i) * N + j] = float(a[size_t(i) * N + j] * d[j]);
  return q;
}

std::vector<int> random_permutation(int N, uint64_t seed, uint64_t stream) {
  std::vector<int> p(N);
  for (int i = 0; i < N; ++i) p[i] = i;
  for (int i = N - 1; i > 0; --i) {  // Fisher-Yates
    const int j = std::min(i, int(philox::uniform_f64(seed, stream, uint64_t(i)) * (i + 1)));
    std::swap(p[i], p[j]);
  }
  return p;
}

std::vector<float> permute_nodes(const std::vector<float>& W, int N, const std::vector<int>& perm) {
  RSNN_CHECK(int64_t(W.size()) == int64_t(N) * N && int(perm.size()) == N,
             "permute_nodes: sizes do not match N = ", N);
  std::vector<float> out(W.size());
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) out[size_t(i) * N + j] = W[size_t(perm[i]) * N + perm[j]];
  return out;
}

std::vector<float> glorot_uniform(int fan_in, int fan_out, uint64_t seed, uint64_t stream) {
  RSNN_CHECK(fan_in > 0 && fan_out > 0, "glorot_uniform: fans must be positive");
  const double lim = std::sqrt(6.0 / (fan_in + fan_out));
  std::vector<float> w(size_t(fan_in) * fan_out);
  for (size_t k = 0; k < w.size(); ++k)
    w[k] = float(-lim + 2 * lim * philox::uniform_f64(seed, stream, k));
  return w;
}

BioSource parse_bio_source(const std::string& s, const char* what) {
  if (s == "corr-sttc") return BioSource::corr_sttc;
  if (s == "precision-sttc") return BioSource::precision_sttc;
  if (s == "sttc-only") return BioSource::sttc_only;
  RSNN_FAIL(what, ": expected corr-sttc, precision-sttc or sttc-only, got '", s, "'");
}

}  // namespace rsnn::microns
