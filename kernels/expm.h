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
  // Computes expm(A) and keeps what the derivatives need. The degree is chosen with the
  // derivative's thresholds (Al-Mohy & Higham's l_m), so it may use one more squaring than
  // expm() alone.
  // derivative_thresholds = false uses expm's own thresholds (Higham's theta_m): what
  // expm() calls; frechet() is then still exact in exact arithmetic, just less tightly bounded.
  ExpmFrechet(const double* A, int n, bool derivative_thresholds = true);

  int n() const { return n_; }
  int degree() const { return m_; }     // Padé degree m
  int squarings() const { return s_; }  // s: A was scaled by 2^-s
  const std::vector<double>& value() const { return R_.back(); }  // expm(A)

  // L = L_exp(A, E): the derivative of expm at A in the direction E.
  void frechet(const double* E, double* L) const;
  // L = L_exp(A^T, G), the adjoint: d<G, expm(X)>/dX at X = A (the chain rule's step).
  void frechet_adjoint(const double* G, double* L) const;

 private:
  int n_ = 0, m_ = 0, s_ = 0;
  double scale_ = 1.0;                       // 2^-s
  std::vector<double> A_;                     // 2^-s A
  std::vector<std::vector<double>> P_;        // P_[k-1] = A_^(2k), k = 1..min(m/2, 3 or 4)
  std::vector<double> W1_, Z1_, W_;           // m = 13 parts; W = odd polynomial / A
  std::vector<double> lu_;                    // LU of q_m(A) = V - U
  std::vector<int> ipiv_;
  std::vector<std::vector<double>> R_;        // r_m(A), its squares; back() = expm(A)
};

// F = expm(A) and L = L_exp(A, E) from the 2n x 2n block matrix (E is rescaled to A's norm
// first so that it does not change the scaling); about 8x the work of ExpmFrechet.
void expm_frechet_block(const double* A, const double* E, int n, double* F, double* L);

}  // namespace rsnn
