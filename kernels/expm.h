// Matrix exponential of a dense n x n float or double matrix and its Fréchet derivative.
//
// expm: Padé [m/m] scaling and squaring (Higham 2005, "The scaling and squaring method for
// the matrix exponential revisited"), m in {3, 5, 7, 9, 13} chosen from the 1-norm.
// ExpmFrechet: expm(A) together with L_exp(A, E) for any E (Al-Mohy & Higham 2009,
// "Computing the Fréchet derivative of the matrix exponential, with an application to
// condition number estimation", Algorithm 6.4): the Padé intermediates, the LU factors of
// q_m(A) and the squared R's are kept, so each derivative costs about 13 + 2s products of
// size n plus a reuse of the LU. expm_frechet_block: the slow exact cross-check, the upper
// right block of expm([[A, E], [0, A]]).
//
// All matrices are row-major n x n (any consistent order works: expm(A^T) = expm(A)^T and
// L(A^T, E^T) = L(A, E)^T). Products go to cblas_?gemm, the solve to LAPACKE ?getrf/?getrs;
// no threads are spawned here (BLAS threads as the caller configured them). The float
// version with PadeRule::tensorflow_float32 is what the original's tf.linalg.expm computes
// (and differentiates) on float32 weights: lower degrees and half-width products.
// A non-finite A, E or result throws rsnn::Error.
#pragma once
#include <vector>

namespace rsnn {

// How compute() picks the Padé degree m and the squarings s from the 1-norm of A.
enum class PadeRule {
  frechet,             // Al-Mohy & Higham's l_m (m in 3..13): the derivative to double precision
  expm,                // Higham's theta_m (m in 3..13): expm alone to double precision
  tensorflow_float32,  // tf.linalg.expm on float32: m = 3 below 0.4259, 5 below 1.8802, else 7
                       // of A / 2^s, s = max(0, floor(log2(|A|_1 / 3.9257))); |A|_1 = max
                       // column sum. Same m and s as the original, so the same approximant.
};

// F = expm(A) (PadeRule::expm, double).
void expm(const double* A, int n, double* F);

// expm(A) with what its Fréchet derivatives need, in float or double (T).
template <class T>
class ExpmFrechetT {
 public:
  ExpmFrechetT() = default;  // empty; call compute()
  ExpmFrechetT(const T* A, int n, PadeRule rule = PadeRule::frechet) { compute(A, n, rule); }

  // (Re)computes expm(A), reusing this object's buffers when n is unchanged: a caller that
  // keeps one object (e.g. one per thread) avoids reallocating ~20 n x n matrices, whose
  // page faults were a large share of the work at n = 312 (perf-log). PadeRule::frechet
  // may cost one more squaring than PadeRule::expm; frechet() is exact for the approximant either way
  // (the derivative of r_m(A / 2^s)^(2^s)), only less tightly bounded against exp's.
  void compute(const T* A, int n, PadeRule rule = PadeRule::frechet);

  int n() const { return n_; }
  int degree() const { return m_; }     // Padé degree m
  int squarings() const { return s_; }  // s: A was scaled by 2^-s
  const std::vector<T>& value() const { return R_[s_]; }  // expm(A)

  // L = L_exp(A, E): the derivative of expm at A in the direction E. Uses scratch buffers
  // of this object: do not call on one object from two threads at once.
  void frechet(const T* E, T* L) const;
  // L = L_exp(A^T, G), the adjoint: d<G, expm(X)>/dX at X = A (the chain rule's step).
  void frechet_adjoint(const T* G, T* L) const;

 private:
  using Mat = std::vector<T>;
  int n_ = 0, m_ = 0, s_ = 0;
  T scale_ = 1;                    // 2^-s
  Mat A_;                          // 2^-s A
  std::vector<Mat> P_;             // P_[k-1] = A_^(2k), k = 1..K (K <= 4)
  Mat W1_, Z1_, W_;                // m = 13 parts; W = odd polynomial / A
  Mat lu_;                         // LU of q_m(A) = V - U
  std::vector<int> ipiv_;
  std::vector<Mat> R_;             // R_[k] = r_m(A)^(2^k), k = 0..s; R_[s] = expm
  mutable std::vector<Mat> work_;  // scratch of compute() and frechet()
};

using ExpmFrechet = ExpmFrechetT<double>;
using ExpmFrechetF = ExpmFrechetT<float>;

// F = expm(A) and L = L_exp(A, E) from the 2n x 2n block matrix (E is rescaled to A's norm
// first so that it does not change the scaling); about 8x the work of ExpmFrechet.
void expm_frechet_block(const double* A, const double* E, int n, double* F, double* L);

}  // namespace rsnn
