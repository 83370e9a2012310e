// Matrix exponential of a dense n x n double matrix and its Fréchet derivative.
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
// All matrices are row-major n x n doubles (any consistent order works: expm(A^T) =
// expm(A)^T and L(A^T, E^T) = L(A, E)^T). Products go to cblas_dgemm, the solve to LAPACKE
// dgetrf/dgetrs; no threads are spawned here (BLAS threads as the caller configured them).
// A non-finite A, E or result throws rsnn::Error.
#pragma once
#include <vector>

namespace rsnn {

// F = expm(A).
void expm(const double* A, int n, double* F);

class ExpmFrechet {
 public:
  ExpmFrechet() = default;  // empty; call compute()
  // Computes expm(A) and keeps what the derivatives need (see compute()).
  ExpmFrechet(const double* A, int n, bool derivative_thresholds = true);

  // (Re)computes expm(A), reusing this object's buffers when n is unchanged: a caller that
  // keeps one object (e.g. one per thread) avoids reallocating ~20 n x n matrices, whose
  // page faults cost about a third of the work at n = 312. The degree is chosen with the
  // derivative's thresholds (Al-Mohy & Higham's l_m), which may cost one more squaring than
  // expm() alone; derivative_thresholds = false uses expm's own (Higham's theta_m), as
  // expm() does, and frechet() stays exact in exact arithmetic, only less tightly bounded.
  void compute(const double* A, int n, bool derivative_thresholds = true);

  int n() const { return n_; }
  int degree() const { return m_; }     // Padé degree m
  int squarings() const { return s_; }  // s: A was scaled by 2^-s
  const std::vector<double>& value() const { return R_[s_]; }  // expm(A)

  // L = L_exp(A, E): the derivative of expm at A in the direction E. Uses scratch buffers
  // of this object: do not call on one object from two threads at once.
  void frechet(const double* E, double* L) const;
  // L = L_exp(A^T, G), the adjoint: d<G, expm(X)>/dX at X = A (the chain rule's step).
  void frechet_adjoint(const double* G, double* L) const;

 private:
  int n_ = 0, m_ = 0, s_ = 0;
  double scale_ = 1.0;                       // 2^-s
  std::vector<double> A_;                     // 2^-s A
  std::vector<std::vector<double>> P_;        // P_[k-1] = A_^(2k), k = 1..K (K <= 4)
  std::vector<double> W1_, Z1_, W_;           // m = 13 parts; W = odd polynomial / A
  std::vector<double> lu_;                    // LU of q_m(A) = V - U
  std::vector<int> ipiv_;
  std::vector<std::vector<double>> R_;        // R_[k] = r_m(A)^(2^k), k = 0..s; R_[s] = expm
  mutable std::vector<std::vector<double>> work_;  // scratch of compute() and frechet()
};

// F = expm(A) and L = L_exp(A, E) from the 2n x 2n block matrix (E is rescaled to A's norm
// first so that it does not change the scaling); about 8x the work of ExpmFrechet.
void expm_frechet_block(const double* A, const double* E, int n, double* F, double* L);

}  // namespace rsnn
