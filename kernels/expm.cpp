// Padé scaling and squaring for expm and its Fréchet derivative; see expm.h for the papers.
// Internally the row-major buffers are handed to column-major BLAS/LAPACK as they are, i.e.
// the algorithm runs on A^T; expm and L_exp commute with transposition, so the buffers that
// come back are the row-major answers.
#include "kernels/expm.h"

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace rsnn {
namespace {

// Padé [m/m] numerator coefficients b_0..b_m of exp (Higham 2005, eq. 2.3 / Table 2.2).
const double kB3[] = {120.0, 60.0, 12.0, 1.0};
const double kB5[] = {30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0};
const double kB7[] = {17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0};
const double kB9[] = {17643225600.0, 8821612800.0, 2075673600.0, 302702400.0, 30270240.0,
                      2162160.0, 110880.0, 3960.0, 90.0, 1.0};
const double kB13[] = {64764752532480000.0, 32382376266240000.0, 7771770303897600.0,
                       1187353796428800.0,  129060195264000.0,   10559470521600.0,
                       670442572800.0,      33522128640.0,       1323241920.0,
                       40840800.0,          960960.0,            16380.0,
                       182.0,               1.0};
const int kDegrees[5] = {3, 5, 7, 9, 13};
// Largest 1-norm for which degree m meets double precision: theta_m for expm (Higham 2005,
// Table 2.3), l_m for the Fréchet derivative too (Al-Mohy & Higham 2009, Table 6.1).
const double kTheta[5] = {1.495585217958292e-2, 2.539398330063230e-1, 9.504178996162932e-1,
                          2.097847961257068e0, 5.371920351148152e0};
const double kEll[5] = {1.08e-2, 2.00e-1, 7.83e-1, 1.78e0, 4.74e0};

const double* pade_coeffs(int m) {
  switch (m) {
    case 3: return kB3;
    case 5: return kB5;
    case 7: return kB7;
    case 9: return kB9;
    default: return kB13;
  }
}

template <class T>
using Mat = std::vector<T>;

// Z = alpha X Y + beta Z, all n x n.
void gemm(int n, double alpha, const Mat<double>& X, const Mat<double>& Y, double beta,
          Mat<double>& Z) {
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, alpha, X.data(), n, Y.data(),
              n, beta, Z.data(), n);
}
void gemm(int n, double alpha, const Mat<float>& X, const Mat<float>& Y, double beta,
          Mat<float>& Z) {
  cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, float(alpha), X.data(), n,
              Y.data(), n, float(beta), Z.data(), n);
}
int getrf(int n, double* a, int* ipiv) {
  return LAPACKE_dgetrf(LAPACK_COL_MAJOR, n, n, a, n, ipiv);
}
int getrf(int n, float* a, int* ipiv) {
  return LAPACKE_sgetrf(LAPACK_COL_MAJOR, n, n, a, n, ipiv);
}
int getrs(int n, const double* lu, const int* ipiv, double* b) {
  return LAPACKE_dgetrs(LAPACK_COL_MAJOR, 'N', n, n, lu, n, ipiv, b, n);
}
int getrs(int n, const float* lu, const int* ipiv, float* b) {
  return LAPACKE_sgetrs(LAPACK_COL_MAJOR, 'N', n, n, lu, n, ipiv, b, n);
}

// Z = sum_k c_k X_k + c_I I (Z resized to n x n, its buffer reused). The coefficients are
// rounded to T first, as TensorFlow's constants are.
template <class T>
void combine_into(Mat<T>& Z, int n, std::initializer_list<std::pair<double, const Mat<T>*>> terms,
                  double c_I) {
  Z.assign(size_t(n) * n, T(0));
  for (const auto& t : terms) {
    const T c = T(t.first);
    const T* x = t.second->data();
    for (size_t i = 0; i < Z.size(); ++i) Z[i] += c * x[i];
  }
  for (int i = 0; i < n; ++i) Z[size_t(i) * n + i] += T(c_I);
}

// Makes `work` hold at least `count` buffers of nn entries (sized before any reference to
// one is taken, so growing the outer vector never leaves a dangling reference).
template <class T>
void ensure_work(std::vector<Mat<T>>& work, int count, size_t nn) {
  if (int(work.size()) < count) work.resize(count);
  for (Mat<T>& w : work) w.resize(nn);
}

// Max row sum of the row-major matrix (the 1-norm of the transpose the algorithm runs on;
// either norm is a valid choice for Higham's rules), or with `columns` the max column sum
// (the 1-norm TensorFlow takes of the matrix it is given).
template <class T>
double norm_of(const T* A, int n, bool columns) {
  std::vector<T> sums(size_t(n), T(0));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) sums[columns ? j : i] += std::fabs(A[size_t(i) * n + j]);
  return double(*std::max_element(sums.begin(), sums.end()));
}

template <class T>
void check_finite(const T* x, size_t count, const char* what) {
  for (size_t i = 0; i < count; ++i)
    RSNN_CHECK(std::isfinite(x[i]), "expm: ", what, " has a non-finite entry at flat index ", i);
}

template <class T>
void transpose_into(const T* X, int n, T* Y) {  // Y = X^T, Y != X
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) Y[size_t(j) * n + i] = X[size_t(i) * n + j];
}

// tf.linalg.expm's float32 choice (tensorflow/python/ops/linalg/linalg_impl.py): strict
// comparisons, and floor (not ceil) for the squarings, so m = 7 may run up to 2 x 3.93.
void tensorflow_float32_degree(double norm, int& m, int& s) {
  s = 0;
  if (norm < 4.258730016922831e-1) {
    m = 3;
  } else if (norm < 1.880152677804762) {
    m = 5;
  } else {
    m = 7;
    s = std::max(0, int(std::floor(std::log2(norm / 3.925724783138660))));
  }
}

}  // namespace

template <class T>
void ExpmFrechetT<T>::compute(const T* A, int n, PadeRule rule) {
  RSNN_CHECK(n > 0, "expm: matrix size must be positive, got ", n);
  const size_t nn = size_t(n) * n;
  check_finite(A, nn, "A");
  n_ = n;
  if (rule == PadeRule::tensorflow_float32) {
    tensorflow_float32_degree(norm_of(A, n, /*columns=*/true), m_, s_);
  } else {
    const double* thr = rule == PadeRule::frechet ? kEll : kTheta;
    const double norm = norm_of(A, n, /*columns=*/false);
    m_ = 13;
    s_ = 0;
    for (int i = 0; i < 4; ++i)
      if (norm <= thr[i]) { m_ = kDegrees[i]; break; }
    if (m_ == 13 && norm > thr[4]) s_ = int(std::ceil(std::log2(norm / thr[4])));
  }
  scale_ = T(std::ldexp(1.0, -s_));
  A_.assign(A, A + nn);
  for (T& a : A_) a *= scale_;

  const double* b = pade_coeffs(m_);
  const int K = m_ == 13 ? 3 : (m_ - 1) / 2;  // even powers A^2..A^(2K) needed
  P_.resize(K);
  for (Mat& p : P_) p.resize(nn);
  gemm(n, 1.0, A_, A_, 0.0, P_[0]);
  for (int k = 2; k <= K; ++k) gemm(n, 1.0, P_[0], P_[k - 2], 0.0, P_[k - 1]);

  ensure_work(work_, 2, nn);
  Mat &V = work_[0], &U = work_[1];
  if (m_ == 13) {
    const Mat &A2 = P_[0], &A4 = P_[1], &A6 = P_[2];
    combine_into(W1_, n, {{b[13], &A6}, {b[11], &A4}, {b[9], &A2}}, 0.0);
    combine_into(Z1_, n, {{b[12], &A6}, {b[10], &A4}, {b[8], &A2}}, 0.0);
    combine_into(W_, n, {{b[7], &A6}, {b[5], &A4}, {b[3], &A2}}, b[1]);
    gemm(n, 1.0, A6, W1_, 1.0, W_);
    combine_into(V, n, {{b[6], &A6}, {b[4], &A4}, {b[2], &A2}}, b[0]);
    gemm(n, 1.0, A6, Z1_, 1.0, V);
  } else {
    combine_into(W_, n, {}, b[1]);
    combine_into(V, n, {}, b[0]);
    for (int k = 1; k <= K; ++k)
      for (size_t i = 0; i < nn; ++i) {
        W_[i] += T(b[2 * k + 1]) * P_[k - 1][i];
        V[i] += T(b[2 * k]) * P_[k - 1][i];
      }
  }
  gemm(n, 1.0, A_, W_, 0.0, U);

  // r_m = q^-1 p with p = V + U, q = V - U; the LU of q is kept for the derivative.
  if (int(R_.size()) < s_ + 1) R_.resize(s_ + 1);
  for (int k = 0; k <= s_; ++k) R_[k].resize(nn);
  lu_.resize(nn);
  for (size_t i = 0; i < nn; ++i) {
    lu_[i] = V[i] - U[i];
    R_[0][i] = V[i] + U[i];
  }
  ipiv_.resize(n);
  int info = getrf(n, lu_.data(), ipiv_.data());
  RSNN_CHECK(info == 0, "expm: the Padé denominator q_m(A) is singular (getrf info ", info, ")");
  info = getrs(n, lu_.data(), ipiv_.data(), R_[0].data());
  RSNN_CHECK(info == 0, "expm: getrs failed with info ", info);
  for (int k = 0; k < s_; ++k) gemm(n, 1.0, R_[k], R_[k], 0.0, R_[k + 1]);
  check_finite(R_[s_].data(), nn, "expm(A) (overflow)");
}

template <class T>
void ExpmFrechetT<T>::frechet(const T* Ein, T* L) const {
  const int n = n_;
  RSNN_CHECK(n > 0, "expm: frechet() called before compute()");
  const size_t nn = size_t(n) * n;
  check_finite(Ein, nn, "E");
  const double* b = pade_coeffs(m_);
  const int K = int(P_.size());
  ensure_work(work_, 13, nn);  // 0..3 M, 4 E, 5 Lw, 6 Lv, 7 Lu, 8 diff, 9 rhs, 10 next, 11-12
  std::vector<Mat>& w = work_;
  Mat &E = w[4], &Lw = w[5], &Lv = w[6], &Lu = w[7], &diff = w[8], &rhs = w[9], &next = w[10];
  for (size_t i = 0; i < nn; ++i) E[i] = scale_ * Ein[i];
  // w[k-1] = M_2k = L_{x^(2k)}(A, E): M2 = AE + EA, then the product rule on A^2 A^(2k-2).
  gemm(n, 1.0, A_, E, 0.0, w[0]);
  gemm(n, 1.0, E, A_, 1.0, w[0]);
  for (int k = 2; k <= K; ++k) {
    gemm(n, 1.0, w[0], P_[k - 2], 0.0, w[k - 1]);
    gemm(n, 1.0, P_[0], w[k - 2], 1.0, w[k - 1]);
  }
  if (m_ == 13) {
    const Mat &M2 = w[0], &M4 = w[1], &M6 = w[2], &A6 = P_[2];
    Mat &Lw1 = w[11], &Lz1 = w[12];
    combine_into(Lw1, n, {{b[13], &M6}, {b[11], &M4}, {b[9], &M2}}, 0.0);
    combine_into(Lz1, n, {{b[12], &M6}, {b[10], &M4}, {b[8], &M2}}, 0.0);
    combine_into(Lw, n, {{b[7], &M6}, {b[5], &M4}, {b[3], &M2}}, 0.0);
    combine_into(Lv, n, {{b[6], &M6}, {b[4], &M4}, {b[2], &M2}}, 0.0);
    gemm(n, 1.0, A6, Lw1, 1.0, Lw);
    gemm(n, 1.0, M6, W1_, 1.0, Lw);
    gemm(n, 1.0, A6, Lz1, 1.0, Lv);
    gemm(n, 1.0, M6, Z1_, 1.0, Lv);
  } else {
    std::fill(Lw.begin(), Lw.end(), T(0));
    std::fill(Lv.begin(), Lv.end(), T(0));
    for (int k = 1; k <= K; ++k)
      for (size_t i = 0; i < nn; ++i) {
        Lw[i] += T(b[2 * k + 1]) * w[k - 1][i];
        Lv[i] += T(b[2 * k]) * w[k - 1][i];
      }
  }
  gemm(n, 1.0, A_, Lw, 0.0, Lu);  // L_u = A Lw + E W
  gemm(n, 1.0, E, W_, 1.0, Lu);
  // q L = (Lu + Lv) + (Lu - Lv) r_m, solved with q's LU.
  for (size_t i = 0; i < nn; ++i) {
    diff[i] = Lu[i] - Lv[i];
    rhs[i] = Lu[i] + Lv[i];
  }
  gemm(n, 1.0, diff, R_[0], 1.0, rhs);
  const int info = getrs(n, lu_.data(), ipiv_.data(), rhs.data());
  RSNN_CHECK(info == 0, "expm: getrs failed with info ", info);
  // Squaring phase: L <- R L + L R with the R of the same level.
  for (int k = 0; k < s_; ++k) {
    gemm(n, 1.0, R_[k], rhs, 0.0, next);
    gemm(n, 1.0, rhs, R_[k], 1.0, next);
    rhs.swap(next);
  }
  check_finite(rhs.data(), nn, "L_exp(A, E) (overflow)");
  std::copy(rhs.begin(), rhs.end(), L);
}

template <class T>
void ExpmFrechetT<T>::frechet_adjoint(const T* G, T* L) const {
  // L(A^T, G) = L(A, G^T)^T; buffers 13 and 14 are not used by frechet().
  const int n = n_;
  RSNN_CHECK(n > 0, "expm: frechet_adjoint() called before compute()");
  ensure_work(work_, 15, size_t(n) * n);
  Mat &Gt = work_[13], &Lt = work_[14];
  transpose_into(G, n, Gt.data());
  frechet(Gt.data(), Lt.data());
  transpose_into(Lt.data(), n, L);
}

template class ExpmFrechetT<double>;
template class ExpmFrechetT<float>;

void expm(const double* A, int n, double* F) {
  const ExpmFrechet e(A, n, PadeRule::expm);
  std::copy(e.value().begin(), e.value().end(), F);
}

void expm_frechet_block(const double* A, const double* E, int n, double* F, double* L) {
  RSNN_CHECK(n > 0, "expm_frechet_block: matrix size must be positive, got ", n);
  check_finite(E, size_t(n) * n, "E");
  // The upper right block is linear in E: scale E to A's norm so E does not add squarings.
  const double nA = norm_of(A, n, false), nE = norm_of(E, n, false);
  const double c = (nA > 0.0 && nE > 0.0) ? nA / nE : 1.0;
  const int n2 = 2 * n;
  Mat<double> B(size_t(n2) * n2, 0.0), FB(B.size());
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const double a = A[size_t(i) * n + j];
      B[size_t(i) * n2 + j] = a;
      B[size_t(i + n) * n2 + (j + n)] = a;
      B[size_t(i) * n2 + (j + n)] = c * E[size_t(i) * n + j];
    }
  expm(B.data(), n2, FB.data());
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      F[size_t(i) * n + j] = FB[size_t(i) * n2 + j];
      L[size_t(i) * n + j] = FB[size_t(i) * n2 + (j + n)] / c;
    }
}

}  // namespace rsnn
