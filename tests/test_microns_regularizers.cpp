// kernels/expm and models/microns regularizers: expm against closed forms, the Fréchet
// derivative (Al-Mohy & Higham) against the block method and finite differences, each
// regularizer's gradient against central differences, and the values of the shared test
// vectors (testvectors/expected.json, relative tolerance 1e-5).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "kernels/expm.h"
#include "models/microns/distances.h"
#include "models/microns/regularizers.h"
#include "runtime/npy.h"

namespace {

using rsnn::ExpmFrechet;
using Mat = std::vector<double>;
namespace mc = rsnn::microns;

Mat matmul(const Mat& X, const Mat& Y, int n) {
  Mat Z(size_t(n) * n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k)
      for (int j = 0; j < n; ++j) Z[i * n + j] += X[i * n + k] * Y[k * n + j];
  return Z;
}

Mat expm_of(const Mat& A, int n) {
  Mat F(A.size());
  rsnn::expm(A.data(), n, F.data());
  return F;
}

// max |X - Y| / max |Y|
double rel_diff(const Mat& X, const Mat& Y) {
  double d = 0.0, m = 0.0;
  for (size_t i = 0; i < X.size(); ++i) {
    d = std::max(d, std::fabs(X[i] - Y[i]));
    m = std::max(m, std::fabs(Y[i]));
  }
  return d / m;
}

// exp(A) by its Taylor series in long double; A >= 0 elementwise, so no cancellation.
Mat expm_taylor(const Mat& A, int n) {
  std::vector<long double> term(size_t(n) * n, 0.0L), sum, next(term.size());
  for (int i = 0; i < n; ++i) term[i * n + i] = 1.0L;
  sum = term;
  for (int k = 1; k < 400; ++k) {
    std::fill(next.begin(), next.end(), 0.0L);
    for (int i = 0; i < n; ++i)
      for (int l = 0; l < n; ++l)
        for (int j = 0; j < n; ++j) next[i * n + j] += term[i * n + l] * A[l * n + j];
    long double mx = 0.0L;
    for (size_t q = 0; q < next.size(); ++q) {
      term[q] = next[q] / k;
      sum[q] += term[q];
      mx = std::max(mx, std::fabs(term[q]));
    }
    if (k > 10 && mx < 1e-30L) break;
  }
  return Mat(sum.begin(), sum.end());
}

Mat random_matrix(int n, double lo, double hi, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Mat A(size_t(n) * n);
  for (double& a : A) a = u(rng);
  return A;
}

Mat scaled_to_norm(Mat A, int n, double norm) {  // max row sum = norm (as expm.cpp measures)
  double cur = 0.0;
  for (int i = 0; i < n; ++i) {
    double s = 0.0;
    for (int j = 0; j < n; ++j) s += std::fabs(A[i * n + j]);
    cur = std::max(cur, s);
  }
  for (double& a : A) a *= norm / cur;
  return A;
}

// ---- (a) expm against closed forms -------------------------------------------------------

TEST(Expm, Diagonal) {
  const int n = 4;
  const double d[n] = {-3.0, 0.0, 0.7, 6.0};
  Mat A(n * n, 0.0);
  for (int i = 0; i < n; ++i) A[i * n + i] = d[i];
  const Mat F = expm_of(A, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      EXPECT_NEAR(F[i * n + j], i == j ? std::exp(d[i]) : 0.0, 1e-14 * std::exp(6.0));
}

TEST(Expm, NilpotentIsAFinitePolynomial) {
  const int n = 4;
  Mat N = random_matrix(n, -2.0, 2.0, 11);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) N[i * n + j] = 0.0;  // strictly upper triangular: N^4 = 0
  const Mat N2 = matmul(N, N, n), N3 = matmul(N2, N, n);
  Mat want(n * n);
  for (int q = 0; q < n * n; ++q) want[q] = (q % (n + 1) == 0) + N[q] + N2[q] / 2 + N3[q] / 6;
  EXPECT_LT(rel_diff(expm_of(N, n), want), 1e-14);
}

TEST(Expm, RotationSmallAndLargeAngle) {
  for (double t : {0.003, 0.2, 0.9, 2.0, 40.0}) {  // degrees 3, 5, 7, 9 and 13 with squaring
    const Mat A = {0.0, -t, t, 0.0};
    const Mat F = expm_of(A, 2);
    const double tol = 1e-15 * std::max(1.0, t);
    EXPECT_NEAR(F[0], std::cos(t), tol) << t;
    EXPECT_NEAR(F[1], -std::sin(t), tol) << t;
    EXPECT_NEAR(F[2], std::sin(t), tol) << t;
    EXPECT_NEAR(F[3], std::cos(t), tol) << t;
  }
}

TEST(Expm, EveryDegreeMatchesLongDoubleTaylor) {
  const int n = 7;
  const double norms[] = {0.005, 0.1, 0.5, 1.5, 4.0, 30.0};
  const int degrees[] = {3, 5, 7, 9, 13, 13};
  for (int c = 0; c < 6; ++c) {
    const Mat A = scaled_to_norm(random_matrix(n, 0.0, 1.0, 100 + c), n, norms[c]);
    const ExpmFrechet e(A.data(), n, rsnn::PadeRule::expm);
    EXPECT_EQ(e.degree(), degrees[c]) << "norm " << norms[c];
    EXPECT_EQ(e.squarings() > 0, norms[c] > 5.371920351148152) << "norm " << norms[c];
    EXPECT_LT(rel_diff(expm_of(A, n), expm_taylor(A, n)), 5e-14) << "norm " << norms[c];
  }
}

TEST(Expm, LargeNormSymmetricByEigendecomposition) {
  // A = Q diag(d) Q^T with a Householder Q, so expm(A) = Q diag(e^d) Q^T; norm ~ 25.
  const int n = 6;
  const Mat vv = random_matrix(n, -1.0, 1.0, 6);
  double vtv = 0.0;
  for (int i = 0; i < n; ++i) vtv += vv[i] * vv[i];
  Mat Q(n * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) Q[i * n + j] = (i == j) - 2.0 * vv[i] * vv[j] / vtv;
  const double d[n] = {-20.0, -5.0, -0.5, 1.0, 8.0, 25.0};
  Mat A(n * n, 0.0), want(n * n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < n; ++k) {
        A[i * n + j] += Q[i * n + k] * d[k] * Q[j * n + k];
        want[i * n + j] += Q[i * n + k] * std::exp(d[k]) * Q[j * n + k];
      }
  const ExpmFrechet e(A.data(), n);
  EXPECT_GT(e.squarings(), 0);
  EXPECT_LT(rel_diff(e.value(), want), 1e-13);
}

TEST(Expm, RejectsNonFiniteInput) {
  Mat A = {1.0, NAN, 0.0, 1.0};
  Mat F(4);
  EXPECT_THROW(rsnn::expm(A.data(), 2, F.data()), rsnn::Error);
  EXPECT_THROW(rsnn::expm(A.data(), 0, F.data()), rsnn::Error);
}

// ---- (b) the Fréchet derivative ----------------------------------------------------------

TEST(ExpmFrechet, AlMohyHighamMatchesBlockMethodAndFiniteDifferences) {
  const int n = 6;
  for (double norm : {0.005, 0.1, 0.6, 1.5, 4.0, 40.0}) {
    const Mat A = scaled_to_norm(random_matrix(n, -1.0, 1.0, 200 + int(norm * 10)), n, norm);
    const Mat E = random_matrix(n, -1.0, 1.0, 300);
    const ExpmFrechet ef(A.data(), n);
    Mat L(n * n), Fb(n * n), Lb(n * n);
    ef.frechet(E.data(), L.data());
    rsnn::expm_frechet_block(A.data(), E.data(), n, Fb.data(), Lb.data());
    EXPECT_LT(rel_diff(ef.value(), Fb), 1e-13) << "norm " << norm;
    EXPECT_LT(rel_diff(L, Lb), 1e-11) << "norm " << norm;
    // central differences: O(h^2) truncation, O(eps/h) rounding
    const double h = 1e-5;
    Mat Ap = A, Am = A;
    for (int q = 0; q < n * n; ++q) Ap[q] += h * E[q], Am[q] -= h * E[q];
    const Mat Fp = expm_of(Ap, n), Fm = expm_of(Am, n);
    Mat fd(n * n);
    for (int q = 0; q < n * n; ++q) fd[q] = (Fp[q] - Fm[q]) / (2 * h);
    EXPECT_LT(rel_diff(L, fd), 1e-6) << "norm " << norm;
  }
}

TEST(ExpmFrechet, AdjointIsTheTransposeDirection) {
  // <G, L(A, E)> = <L(A^T, G), E> for all E, G.
  const int n = 5;
  const Mat A = scaled_to_norm(random_matrix(n, -1.0, 1.0, 7), n, 9.0);
  const Mat E = random_matrix(n, -1.0, 1.0, 8), G = random_matrix(n, -1.0, 1.0, 9);
  const ExpmFrechet ef(A.data(), n);
  Mat L(n * n), La(n * n);
  ef.frechet(E.data(), L.data());
  ef.frechet_adjoint(G.data(), La.data());
  double lhs = 0.0, rhs = 0.0, scale = 0.0;
  for (int q = 0; q < n * n; ++q) {
    lhs += G[q] * L[q];
    rhs += La[q] * E[q];
    scale += std::fabs(G[q] * L[q]);
  }
  EXPECT_NEAR(lhs, rhs, 1e-12 * scale);
}

TEST(ExpmFrechet, ReusedObjectMatchesFreshOnes) {
  // compute() reuses buffers across sizes, degrees and squaring counts.
  rsnn::ExpmFrechet reused;
  const int sizes[] = {5, 7, 5, 3};
  const double norms[] = {30.0, 0.05, 3.0, 0.7};
  for (int c = 0; c < 4; ++c) {
    const int n = sizes[c];
    const Mat A = scaled_to_norm(random_matrix(n, -1.0, 1.0, 400 + c), n, norms[c]);
    const Mat E = random_matrix(n, -1.0, 1.0, 500 + c);
    reused.compute(A.data(), n);
    const ExpmFrechet fresh(A.data(), n);
    Mat L1(n * n), L2(n * n);
    reused.frechet_adjoint(E.data(), L1.data());
    fresh.frechet_adjoint(E.data(), L2.data());
    EXPECT_EQ(reused.value(), fresh.value()) << c;
    EXPECT_EQ(L1, L2) << c;
  }
}

// ---- (c) regularizer gradients against central differences ----------------------------

// W with |w| in [0.05, 1], random signs, multiples of 2^-20 so that w +- 2^-18 is exact.
std::vector<float> random_weights(int N, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.05, 1.0);
  std::vector<float> W(size_t(N) * N);
  for (float& w : W) {
    const double v = std::ldexp(std::round(std::ldexp(u(rng), 20)), -20);
    w = float(rng() & 1 ? v : -v);
  }
  return W;
}

std::vector<int64_t> random_positions(int N, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> p(size_t(N) * 3);
  for (auto& x : p) x = int64_t(rng() % 100000);
  return p;
}

mc::RegSpec small_spec(mc::RegKind kind, int N, mc::StarCoords coords) {
  mc::RegSpec spec;
  spec.kind = kind;
  spec.N = N;
  spec.expm = mc::ExpmPrecision::float64;  // finite differences need double's resolution
  spec.D = mc::distance_star(random_positions(N, 21), N, coords);
  std::mt19937_64 rng(22);
  std::lognormal_distribution<double> ln(-1.0, 1.0);
  spec.emp_sorted.resize(size_t(N) * N);
  for (float& e : spec.emp_sorted) e = float(ln(rng));
  std::sort(spec.emp_sorted.begin(), spec.emp_sorted.end());
  return spec;
}

void check_gradient(const mc::RegSpec& spec, const std::string& label) {
  const int N = spec.N;
  std::vector<float> W = random_weights(N, 31);
  std::vector<float> dW(W.size(), 0.0f);
  const double v0 = mc::regularizer_value(spec, W.data(), dW.data());
  EXPECT_DOUBLE_EQ(v0, mc::regularizer_value(spec, W.data(), nullptr)) << label;
  // A small step: EMD is piecewise linear in the sorted values, and a larger step (2^-12
  // was tried) can cross one of its kinks (one-sided differences then agree with dW).
  const float h = std::ldexp(1.0f, -18);
  double gmax = 0.0, err = 0.0;
  for (size_t k = 0; k < W.size(); ++k) {
    const float w = W[k];
    W[k] = w + h;
    const double vp = mc::regularizer_value(spec, W.data(), nullptr);
    W[k] = w - h;
    const double vm = mc::regularizer_value(spec, W.data(), nullptr);
    W[k] = w;
    const double fd = (vp - vm) / (2.0 * double(h));
    gmax = std::max(gmax, std::fabs(fd));
    err = std::max(err, std::fabs(fd - double(dW[k])));
  }
  EXPECT_GT(gmax, 0.0) << label;
  EXPECT_LT(err, 1e-6 * gmax) << label << ": max |fd - grad| " << err << " of max " << gmax;
  // dW accumulates: a second call adds the same gradient again.
  std::vector<float> dW2 = dW;
  mc::regularizer_value(spec, W.data(), dW2.data());
  for (size_t k = 0; k < W.size(); ++k) ASSERT_NEAR(dW2[k], 2.0f * dW[k], 1e-6f * gmax) << label;
}

TEST(MicronsRegularizer, GradientsMatchCentralDifferences) {
  for (int N : {6, 9}) {
    for (auto coords : {mc::StarCoords::coded, mc::StarCoords::intended}) {
      for (auto kind : {mc::RegKind::l1, mc::RegKind::wd, mc::RegKind::wdc, mc::RegKind::wdc_emd}) {
        for (bool apply : {false, true}) {
          mc::RegSpec spec = small_spec(kind, N, coords);
          spec.l1_apply_lambda = apply;
          check_gradient(spec, std::string(mc::reg_kind_name(kind)) + " N=" + std::to_string(N) +
                                   (apply ? " lambda-applied" : ""));
        }
      }
    }
  }
}

TEST(MicronsRegularizer, LambdaFlagAndSignAtZero) {
  const int N = 4;
  mc::RegSpec spec = small_spec(mc::RegKind::l1, N, mc::StarCoords::coded);
  std::vector<float> W = random_weights(N, 3);
  W[5] = 0.0f;
  double sum = 0.0;
  for (float w : W) sum += std::fabs(double(w));
  std::vector<float> dW(W.size(), 0.0f);
  EXPECT_DOUBLE_EQ(mc::regularizer_value(spec, W.data(), dW.data()), sum);  // no lambda
  EXPECT_EQ(dW[5], 0.0f);
  EXPECT_EQ(dW[0], W[0] > 0 ? 1.0f : -1.0f);
  spec.l1_apply_lambda = true;
  EXPECT_NEAR(mc::regularizer_value(spec, W.data(), nullptr), 0.3 * sum, 1e-12 * sum);
}

TEST(MicronsRegularizer, WdcZeroRowThrowsAndEmdStaysFinite) {
  const int N = 5;
  std::vector<float> W = random_weights(N, 4);
  for (int j = 0; j < N; ++j) W[2 * N + j] = 0.0f;
  std::vector<float> dW(W.size(), 7.0f);
  mc::RegSpec wdc = small_spec(mc::RegKind::wdc, N, mc::StarCoords::coded);
  try {
    mc::regularizer_value(wdc, W.data(), dW.data());
    ADD_FAILURE() << "no throw";
  } catch (const mc::NonFiniteRegularizer& e) {
    EXPECT_NE(std::string(e.what()).find("row 2"), std::string::npos) << e.what();
  }
  for (float g : dW) EXPECT_EQ(g, 7.0f);  // untouched
  mc::RegSpec emd = small_spec(mc::RegKind::wdc_emd, N, mc::StarCoords::coded);
  EXPECT_TRUE(std::isfinite(mc::regularizer_value(emd, W.data(), dW.data())));
  W[0] = NAN;
  EXPECT_THROW(mc::regularizer_value(emd, W.data(), nullptr), mc::NonFiniteRegularizer);
}

TEST(MicronsRegularizer, BadSpecsAreErrors) {
  mc::RegSpec spec = small_spec(mc::RegKind::wd, 4, mc::StarCoords::coded);
  std::vector<float> W = random_weights(4, 5);
  spec.D.pop_back();
  EXPECT_THROW(mc::regularizer_value(spec, W.data(), nullptr), rsnn::Error);
  spec = small_spec(mc::RegKind::wdc_emd, 4, mc::StarCoords::coded);
  std::swap(spec.emp_sorted[0], spec.emp_sorted[5]);
  EXPECT_THROW(mc::regularizer_value(spec, W.data(), nullptr), rsnn::Error);
  EXPECT_THROW(mc::reg_kind_from_name("WDX"), rsnn::Error);
  for (auto k : {mc::RegKind::none, mc::RegKind::l1, mc::RegKind::wd, mc::RegKind::wdc,
                 mc::RegKind::wdc_emd})
    EXPECT_EQ(mc::reg_kind_from_name(mc::reg_kind_name(k)), k);
}

TEST(MicronsDistances, GridLayoutAndStarReshape) {
  const std::vector<float> D = mc::distance_grid(12, 13, 2);
  ASSERT_EQ(D.size(), size_t(312) * 312);
  // unit 1 = (0,0,1), unit 2 = (1,0,0), unit 24 = (0,1,0)
  EXPECT_FLOAT_EQ(D[0 * 312 + 1], 1.0f);
  EXPECT_FLOAT_EQ(D[1 * 312 + 2], std::sqrt(2.0f));
  EXPECT_FLOAT_EQ(D[0 * 312 + 24], 1.0f);
  EXPECT_FLOAT_EQ(D[5 * 312 + 5], 0.0f);
  // coded: reshape(3,-1) rows [0,5,0] [10,0,0] [0,4,8], each min-max normalized, give
  // units (0,1,0) (1,0,.5) (0,0,1); intended: units (0,1,0) (1,0,0) (0,.8,1).
  const std::vector<int64_t> P = {0, 5, 0, 10, 0, 0, 0, 4, 8};  // N = 3
  const std::vector<float> Dc = mc::distance_star(P, 3, mc::StarCoords::coded);
  const std::vector<float> Di = mc::distance_star(P, 3, mc::StarCoords::intended);
  EXPECT_FLOAT_EQ(Dc[0 * 3 + 1], 1.5f);
  EXPECT_FLOAT_EQ(Dc[0 * 3 + 2], float(std::sqrt(2.0)));
  EXPECT_FLOAT_EQ(Dc[2 * 3 + 1], float(std::sqrt(1.25)));
  EXPECT_FLOAT_EQ(Di[0 * 3 + 1], float(std::sqrt(2.0)));
  EXPECT_FLOAT_EQ(Di[0 * 3 + 2], float(std::sqrt(1.04)));
  EXPECT_FLOAT_EQ(Di[1 * 3 + 2], float(std::sqrt(2.64)));
  const std::vector<int64_t> flat = {1, 1, 1, 1, 2, 3, 4, 5, 6};  // coded row 0 constant
  EXPECT_THROW(mc::distance_star(flat, 3, mc::StarCoords::coded), rsnn::Error);
  EXPECT_THROW(mc::distance_star(flat, 2, mc::StarCoords::coded), rsnn::Error);
}

// ---- (d), (e) the shared MICrONS data and test vectors -----------------------------------

const std::string kData = std::string(RSNN_SHARED_DATA_DIR) + "/microns";

#define SKIP_WITHOUT_DATA()                                                         \
  if (!std::filesystem::exists(kData + "/testvectors/expected.json"))               \
  GTEST_SKIP() << "shared MICrONS data not found under " << kData

// The number after "key": in the object that starts at `section` of expected.json (both
// sections list their keys in the same order, so the first match after it is its own).
double json_number(const std::string& text, const std::string& section, const std::string& key) {
  const size_t at = text.find("\"" + section + "\"");
  EXPECT_NE(at, std::string::npos) << section;
  const size_t k = text.find("\"" + key + "\":", at);
  EXPECT_NE(k, std::string::npos) << section << " / " << key;
  return std::strtod(text.c_str() + k + key.size() + 3, nullptr);
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<float> load_f32(const std::string& path) {
  return rsnn::npy_load_as(path, rsnn::DType::f32).to_vector<float>();
}

std::vector<int64_t> positions() {
  return rsnn::npy_load_as(kData + "/6_6_2_derived/positions_plain_int64_Nx3.npy",
                           rsnn::DType::i64)
      .to_vector<int64_t>();
}

TEST(MicronsData, DistancesMatchTheDerivedFiles) {
  SKIP_WITHOUT_DATA();
  const int N = 312;
  const std::vector<float> mine[3] = {
      mc::distance_grid(12, 13, 2), mc::distance_star(positions(), N, mc::StarCoords::coded),
      mc::distance_star(positions(), N, mc::StarCoords::intended)};
  const char* files[3] = {"D_grid.npy", "D_star_coded.npy", "D_star_intended.npy"};
  for (int f = 0; f < 3; ++f) {
    const std::vector<float> ref = load_f32(kData + "/6_6_2_derived/" + files[f]);
    ASSERT_EQ(ref.size(), mine[f].size()) << files[f];
    float worst = 0.0f;
    for (size_t k = 0; k < ref.size(); ++k)
      worst = std::max(worst, std::fabs(ref[k] - mine[f][k]) / std::max(ref[k], 1e-6f));
    EXPECT_LT(worst, 1e-6f) << files[f];
  }
}

std::vector<double> connectome() {
  return rsnn::npy_load_as(kData + "/6_6_2_derived/connectome_int64_NxN.npy", rsnn::DType::f64)
      .to_vector<double>();
}

TEST(MicronsData, EmpiricalCommunicabilityMatchesTheFile) {
  SKIP_WITHOUT_DATA();
  const std::vector<float> mine = mc::empirical_comms_sorted(connectome(), 312);
  const std::vector<float> ref = load_f32(kData + "/6_6_2_derived/empirical_comms_sorted_float32.npy");
  ASSERT_EQ(mine.size(), ref.size());
  // The reference's expm left rounding noise of either sign (down to -1.7e-7, about 1e-12
  // of the largest entry) where ours has exact zeros: the tolerance is 1e-5 relative plus
  // 1e-10 of the largest entry.
  const double floor = 1e-10 * std::fabs(double(ref.back()));
  size_t bad = 0;
  for (size_t k = 0; k < ref.size(); ++k)
    bad += std::fabs(double(mine[k]) - ref[k]) > 1e-5 * std::fabs(ref[k]) + floor;
  EXPECT_EQ(bad, 0u) << "entries outside the tolerance";
  EXPECT_GT(ref.back(), 1e5f);  // the 1e-10-epsilon artefacts are there (spec §4)
}

// Relative tolerance 1e-8: the reference used the float32 W in float64 NumPy/SciPy, as we
// do, so only expm's rounding and the summation order differ (1e-12 was seen to pass).
TEST(MicronsData, RegularizerValuesMatchExpectedJson) {
  SKIP_WITHOUT_DATA();
  const std::string json = read_text(kData + "/testvectors/expected.json");
  const int N = 312;
  const std::vector<float> Dg = mc::distance_grid(12, 13, 2);
  const std::vector<float> Ds = mc::distance_star(positions(), N, mc::StarCoords::coded);
  const std::vector<float> emp = mc::empirical_comms_sorted(connectome(), N);
  for (const std::string name : {"W_bio_seed0", "W_orth_seed0"}) {
    const std::vector<float> W = load_f32(kData + "/testvectors/" + name + ".npy");
    ASSERT_EQ(W.size(), size_t(N) * N);
    auto value = [&](mc::RegKind kind, const std::vector<float>& D, double lambda, double emd) {
      mc::RegSpec spec;
      spec.kind = kind;
      spec.N = N;
      spec.lambda = lambda;
      spec.emd_lambda = emd;
      spec.D = D;
      spec.emp_sorted = emp;
      spec.expm = mc::ExpmPrecision::float64;  // as the NumPy/SciPy reference
      return mc::regularizer_value(spec, W.data(), nullptr);
    };
    auto expect = [&](double got, const std::string& key) {
      const double want = json_number(json, name, key);
      EXPECT_NEAR(got, want, 1e-8 * std::fabs(want)) << name << " " << key;
    };
    expect(value(mc::RegKind::l1, Dg, 0.3, 0.1), "W_L1_sum(no lambda)");
    expect(value(mc::RegKind::wd, Dg, 0.3, 0.1), "WD_grid");
    expect(value(mc::RegKind::wd, Ds, 0.3, 0.1), "WD_starcoded");
    expect(value(mc::RegKind::wdc, Dg, 0.3, 0.1), "WDC_grid");
    expect(value(mc::RegKind::wdc, Ds, 0.3, 0.1), "WDC_starcoded");
    expect(value(mc::RegKind::wdc_emd, Dg, 0.0, 1.0), "EMD_raw");
    expect(value(mc::RegKind::wdc_emd, Dg, 0.3, 0.1), "WDC_EMD_grid");
    expect(value(mc::RegKind::wdc_emd, Ds, 0.3, 0.1), "WDC_EMD_starcoded");
  }
}

// The full-size gradient (N = 312, the squaring phase included) along one direction:
// f(W+) - f(W-) against <dW, W+ - W->, with W+- the float32 perturbations actually taken.
TEST(MicronsData, FullSizeWdcGradientAlongADirection) {
  SKIP_WITHOUT_DATA();
  const int N = 312;
  mc::RegSpec spec;
  spec.kind = mc::RegKind::wdc;
  spec.N = N;
  spec.expm = mc::ExpmPrecision::float64;
  spec.D = mc::distance_star(positions(), N, mc::StarCoords::coded);
  for (const std::string name : {"W_bio_seed0", "W_orth_seed0"}) {
    const std::vector<float> W = load_f32(kData + "/testvectors/" + name + ".npy");
    std::vector<float> dW(W.size(), 0.0f), Wp = W, Wm = W;
    mc::regularizer_value(spec, W.data(), dW.data());
    std::mt19937_64 rng(41);
    double predicted = 0.0, scale = 0.0;
    for (size_t k = 0; k < W.size(); ++k) {
      if (std::fabs(W[k]) < 1e-3f) continue;  // keep every sign, so |W| stays smooth
      const float step = (rng() & 1 ? 1e-5f : -1e-5f) * std::fabs(W[k]);
      Wp[k] = W[k] + step;
      Wm[k] = W[k] - step;
      predicted += double(dW[k]) * (double(Wp[k]) - double(Wm[k]));
      scale += std::fabs(double(dW[k]) * (double(Wp[k]) - double(Wm[k])));
    }
    const double actual = mc::regularizer_value(spec, Wp.data(), nullptr) -
                          mc::regularizer_value(spec, Wm.data(), nullptr);
    EXPECT_NEAR(actual, predicted, 1e-6 * scale) << name;
  }
}

// ---- float32 with TensorFlow's degree rule (the original's tf.linalg.expm) ---------------

TEST(ExpmFrechetF32, TensorflowDegreeRuleOnTheColumnNorm) {
  // Diagonal matrices: both norms equal max |d|. Boundaries are strict (tf.where(less)),
  // and the squarings use floor, so m = 7 runs unscaled up to 2 x 3.9257.
  const struct { double norm; int m, s; } cases[] = {
      {0.1, 3, 0},  {0.4258, 3, 0}, {0.4259, 5, 0}, {1.0, 5, 0},  {1.8801, 5, 0},
      {1.8802, 7, 0}, {3.9, 7, 0},  {7.85, 7, 0},   {7.86, 7, 1}, {20.0, 7, 2}};
  for (const auto& c : cases) {
    const int n = 3;
    std::vector<float> A(n * n, 0.0f);
    A[0] = float(c.norm);
    A[4] = float(0.5 * c.norm);
    const rsnn::ExpmFrechetF e(A.data(), n, rsnn::PadeRule::tensorflow_float32);
    EXPECT_EQ(e.degree(), c.m) << c.norm;
    EXPECT_EQ(e.squarings(), c.s) << c.norm;
  }
  // TensorFlow takes the max COLUMN sum: rows (2, 0) but columns (1, 1) give m = 5.
  const std::vector<float> B = {1.0f, 1.0f, 0.0f, 0.0f};
  EXPECT_EQ(rsnn::ExpmFrechetF(B.data(), 2, rsnn::PadeRule::tensorflow_float32).degree(), 5);
}

TEST(ExpmFrechetF32, MatchesTheDoubleBlockMethod) {
  const int n = 8;
  for (double norm : {0.2, 1.2, 3.0, 7.0, 30.0}) {
    const Mat A = scaled_to_norm(random_matrix(n, -1.0, 1.0, 600 + int(norm * 10)), n, norm);
    const Mat E = random_matrix(n, -1.0, 1.0, 700);
    const std::vector<float> Af(A.begin(), A.end()), Ef(E.begin(), E.end());
    const rsnn::ExpmFrechetF ef(Af.data(), n, rsnn::PadeRule::tensorflow_float32);
    std::vector<float> Lf(n * n), Laf(n * n);
    ef.frechet(Ef.data(), Lf.data());
    ef.frechet_adjoint(Ef.data(), Laf.data());
    // the block method on the float-rounded inputs, in double
    const Mat Ar(Af.begin(), Af.end()), Er(Ef.begin(), Ef.end());
    Mat F(n * n), L(n * n), Lt(n * n), Et(n * n), At(n * n);
    rsnn::expm_frechet_block(Ar.data(), Er.data(), n, F.data(), L.data());
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) At[j * n + i] = Ar[i * n + j];
    rsnn::expm_frechet_block(At.data(), Er.data(), n, Et.data(), Lt.data());
    const Mat Fv(ef.value().begin(), ef.value().end()), Lv(Lf.begin(), Lf.end()),
        Lav(Laf.begin(), Laf.end());
    // Padé 7 unscaled up to norm 7.85 (the floor) leaves about 1e-6 of truncation there.
    const double tol = norm > 5 ? 2e-5 : 2e-6;
    EXPECT_LT(rel_diff(Fv, F), tol) << "norm " << norm;
    EXPECT_LT(rel_diff(Lv, L), 5 * tol) << "norm " << norm;
    EXPECT_LT(rel_diff(Lav, Lt), 5 * tol) << "norm " << norm;
  }
}

TEST(MicronsRegularizer, Float32ExpmAgreesWithFloat64) {
  for (auto kind : {mc::RegKind::wdc, mc::RegKind::wdc_emd}) {
    const int N = 9;
    mc::RegSpec s64 = small_spec(kind, N, mc::StarCoords::coded), s32 = s64;
    s32.expm = mc::ExpmPrecision::float32;
    const std::vector<float> W = random_weights(N, 51);
    std::vector<float> g32(W.size(), 0.0f), g64(W.size(), 0.0f);
    const double v32 = mc::regularizer_value(s32, W.data(), g32.data());
    const double v64 = mc::regularizer_value(s64, W.data(), g64.data());
    EXPECT_NEAR(v32, v64, 1e-5 * std::fabs(v64)) << mc::reg_kind_name(kind);
    EXPECT_NE(v32, v64) << "the two precisions ran the same code";
    double gmax = 0.0, err = 0.0;
    for (size_t k = 0; k < W.size(); ++k) {
      gmax = std::max(gmax, double(std::fabs(g64[k])));
      err = std::max(err, double(std::fabs(g32[k] - g64[k])));
    }
    EXPECT_LT(err, 1e-4 * gmax) << mc::reg_kind_name(kind);
  }
  EXPECT_EQ(mc::parse_expm_precision("float32", "--expm"), mc::ExpmPrecision::float32);
  EXPECT_EQ(mc::parse_expm_precision("float64", "--expm"), mc::ExpmPrecision::float64);
  try {
    mc::parse_expm_precision("double", "--expm");
    ADD_FAILURE() << "no throw";
  } catch (const rsnn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--expm"), std::string::npos) << e.what();
  }
}

// The default (float32) on the shared test vectors: the reference is float64, so 1e-5.
TEST(MicronsData, Float32WdcValuesNearExpectedJson) {
  SKIP_WITHOUT_DATA();
  const std::string json = read_text(kData + "/testvectors/expected.json");
  const int N = 312;
  mc::RegSpec spec;
  spec.kind = mc::RegKind::wdc;
  spec.N = N;
  spec.D = mc::distance_grid(12, 13, 2);
  ASSERT_EQ(spec.expm, mc::ExpmPrecision::float32);
  for (const std::string name : {"W_bio_seed0", "W_orth_seed0"}) {
    const std::vector<float> W = load_f32(kData + "/testvectors/" + name + ".npy");
    const double want = json_number(json, name, "WDC_grid");
    EXPECT_NEAR(mc::regularizer_value(spec, W.data(), nullptr), want, 1e-5 * std::fabs(want))
        << name;
  }
}

}  // namespace
