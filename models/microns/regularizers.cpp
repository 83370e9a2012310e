// The four MICrONS regularizers and their exact gradients (spec §4). The communicability
// C = offdiag(expm(M)), M = S A S, S = diag(s^-1/2), s = rowsum(A) + eps is differentiated
// with the Fréchet derivative: dL/dM = L_exp(M^T, dL/dC), then through S and s back to A.
#include "models/microns/regularizers.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

#include "kernels/expm.h"

namespace rsnn::microns {
namespace {

constexpr double kEmdEps = 1e-10;  // comms() in WDC_EMD and comms_np: s + 1e-10 / s==0 -> 1e-10

using Vec = std::vector<double>;

double sign(double x) { return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0); }

// The communicability and what its backward needs.
struct Comms {
  int N = 0;
  Vec s, M, C;  // C: expm(M) with the diagonal zeroed
  std::unique_ptr<ExpmFrechet> ef;
};

Comms comms_forward(const Vec& A, int N, double eps, const char* who) {
  Comms c;
  c.N = N;
  c.s.assign(N, eps);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) c.s[i] += A[size_t(i) * N + j];
  for (int i = 0; i < N; ++i)
    if (!(c.s[i] > 0.0))
      throw NonFiniteRegularizer(detail::concat(
          who, ": row ", i, " of W is all zero, so its strength s = 0 and s^-1/2 is infinite"));
  Vec r(N);
  for (int i = 0; i < N; ++i) r[i] = 1.0 / std::sqrt(c.s[i]);
  c.M.resize(size_t(N) * N);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) c.M[size_t(i) * N + j] = r[i] * A[size_t(i) * N + j] * r[j];
  try {
    c.ef = std::make_unique<ExpmFrechet>(c.M.data(), N);
  } catch (const Error& e) {
    throw NonFiniteRegularizer(detail::concat(who, ": ", e.what()));
  }
  c.C = c.ef->value();
  for (int i = 0; i < N; ++i) c.C[size_t(i) * N + i] = 0.0;
  return c;
}

// dA += d<G, C>/dA for G = dL/dC (its diagonal is ignored: C's diagonal is constant zero).
void comms_backward(const Comms& c, Vec G, Vec& dA) {
  const int N = c.N;
  for (int i = 0; i < N; ++i) G[size_t(i) * N + i] = 0.0;
  Vec dM(G.size());
  c.ef->frechet_adjoint(G.data(), dM.data());
  // M_ij = A_ij / sqrt(s_i s_j): direct term, then dL/ds_k = -(sum_j dM_kj M_kj +
  // sum_i dM_ik M_ik) / (2 s_k), which reaches every A_kj of row k through s_k = sum_j A_kj.
  Vec r(N), ds(N, 0.0);
  for (int i = 0; i < N; ++i) r[i] = 1.0 / std::sqrt(c.s[i]);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      const size_t ij = size_t(i) * N + j;
      const double g = dM[ij] * c.M[ij];
      ds[i] += g;
      ds[j] += g;
      dA[ij] += dM[ij] * r[i] * r[j];
    }
  for (int i = 0; i < N; ++i) {
    const double d = -ds[i] / (2.0 * c.s[i]);
    for (int j = 0; j < N; ++j) dA[size_t(i) * N + j] += d;
  }
}

// lambda * sum(A (.) C (.) D); with dA: its gradient, C's path included.
double wdc_term(const RegSpec& spec, const Vec& A, Vec* dA) {
  const int N = spec.N;
  const Comms c = comms_forward(A, N, 0.0, "WDC");
  double value = 0.0;
  for (size_t k = 0; k < A.size(); ++k) value += A[k] * c.C[k] * double(spec.D[k]);
  value *= spec.lambda;
  if (dA) {
    Vec G(A.size());
    for (size_t k = 0; k < A.size(); ++k) {
      (*dA)[k] += spec.lambda * c.C[k] * double(spec.D[k]);
      G[k] = spec.lambda * A[k] * double(spec.D[k]);
    }
    comms_backward(c, std::move(G), *dA);
  }
  return value;
}

// emd_lambda * mean|sort(emp) - sort(art)|, art = comms(W) with eps 1e-10, N^2 values.
double emd_term(const RegSpec& spec, const Vec& A, Vec* dA) {
  const int N = spec.N;
  const Comms c = comms_forward(A, N, kEmdEps, "WDC_EMD");
  const size_t nn = c.C.size();
  std::vector<size_t> order(nn);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return c.C[a] < c.C[b]; });
  double sum = 0.0;
  Vec G(dA ? nn : 0);
  for (size_t r = 0; r < nn; ++r) {
    const double diff = c.C[order[r]] - double(spec.emp_sorted[r]);
    sum += std::fabs(diff);
    if (dA) G[order[r]] = spec.emd_lambda * sign(diff) / double(nn);
  }
  if (dA) comms_backward(c, std::move(G), *dA);
  return spec.emd_lambda * sum / double(nn);
}

}  // namespace

RegKind reg_kind_from_name(const std::string& name) {
  if (name == "none") return RegKind::none;
  if (name == "W") return RegKind::l1;
  if (name == "WD") return RegKind::wd;
  if (name == "WDC") return RegKind::wdc;
  if (name == "WDC_EMD") return RegKind::wdc_emd;
  RSNN_FAIL("regularizer: unknown name '", name, "' (expected none, W, WD, WDC or WDC_EMD)");
}

const char* reg_kind_name(RegKind kind) {
  switch (kind) {
    case RegKind::none: return "none";
    case RegKind::l1: return "W";
    case RegKind::wd: return "WD";
    case RegKind::wdc: return "WDC";
    case RegKind::wdc_emd: return "WDC_EMD";
  }
  return "?";
}

void validate(const RegSpec& spec) {
  const char* name = reg_kind_name(spec.kind);
  RSNN_CHECK(spec.N > 0, "regularizer ", name, ": N must be positive, got ", spec.N);
  RSNN_CHECK(std::isfinite(spec.lambda), "regularizer ", name, ": lambda is not finite");
  RSNN_CHECK(std::isfinite(spec.emd_lambda), "regularizer ", name, ": emd_lambda is not finite");
  const size_t nn = size_t(spec.N) * spec.N;
  const bool needs_D = spec.kind == RegKind::wd || spec.kind == RegKind::wdc ||
                       spec.kind == RegKind::wdc_emd;
  if (needs_D) {
    RSNN_CHECK(spec.D.size() == nn, "regularizer ", name, ": D has ", spec.D.size(),
               " values, expected N*N = ", nn);
    for (size_t k = 0; k < nn; ++k)
      RSNN_CHECK(std::isfinite(spec.D[k]), "regularizer ", name,
                 ": D has a non-finite entry at flat index ", k);
  }
  if (spec.kind == RegKind::wdc_emd) {
    RSNN_CHECK(spec.emp_sorted.size() == nn, "regularizer WDC_EMD: emp_sorted has ",
               spec.emp_sorted.size(), " values, expected N*N = ", nn);
    for (size_t k = 0; k < nn; ++k) {
      RSNN_CHECK(std::isfinite(spec.emp_sorted[k]),
                 "regularizer WDC_EMD: emp_sorted has a non-finite entry at index ", k);
      RSNN_CHECK(k == 0 || spec.emp_sorted[k - 1] <= spec.emp_sorted[k],
                 "regularizer WDC_EMD: emp_sorted is not sorted ascending at index ", k);
    }
  }
}

double regularizer_value(const RegSpec& spec, const float* W, float* dW) {
  validate(spec);
  if (spec.kind == RegKind::none) return 0.0;
  const int N = spec.N;
  const size_t nn = size_t(N) * N;
  Vec A(nn);
  for (size_t k = 0; k < nn; ++k) {
    if (!std::isfinite(W[k]))
      throw NonFiniteRegularizer(detail::concat("regularizer ", reg_kind_name(spec.kind),
                                                ": W has a non-finite entry at (", k / N, ", ",
                                                k % N, ")"));
    A[k] = std::fabs(double(W[k]));
  }
  Vec dA_store(dW ? nn : 0, 0.0);
  Vec* dA = dW ? &dA_store : nullptr;
  double value = 0.0;
  switch (spec.kind) {
    case RegKind::l1: {
      const double coef = spec.l1_apply_lambda ? spec.lambda : 1.0;
      for (size_t k = 0; k < nn; ++k) value += A[k];
      value *= coef;
      if (dA) std::fill(dA->begin(), dA->end(), coef);
      break;
    }
    case RegKind::wd:
    case RegKind::wdc_emd: {
      for (size_t k = 0; k < nn; ++k) value += A[k] * double(spec.D[k]);
      value *= spec.lambda;
      if (dA)
        for (size_t k = 0; k < nn; ++k) (*dA)[k] = spec.lambda * double(spec.D[k]);
      if (spec.kind == RegKind::wdc_emd) value += emd_term(spec, A, dA);
      break;
    }
    case RegKind::wdc: value = wdc_term(spec, A, dA); break;
    case RegKind::none: break;
  }
  if (!std::isfinite(value))
    throw NonFiniteRegularizer(detail::concat("regularizer ", reg_kind_name(spec.kind),
                                              ": the value is not finite (", value, ")"));
  if (dW)  // |.| has gradient sign(W), 0 at 0 (as TF's abs)
    for (size_t k = 0; k < nn; ++k) dW[k] += float(dA_store[k] * sign(double(W[k])));
  return value;
}

std::vector<double> communicability(const float* W, int N, double eps) {
  RSNN_CHECK(N > 0, "communicability: N must be positive, got ", N);
  RSNN_CHECK(std::isfinite(eps) && eps >= 0.0, "communicability: eps must be finite and >= 0");
  Vec A(size_t(N) * N);
  for (size_t k = 0; k < A.size(); ++k) {
    if (!std::isfinite(W[k]))
      throw NonFiniteRegularizer(detail::concat("communicability: W has a non-finite entry at (",
                                                k / N, ", ", k % N, ")"));
    A[k] = std::fabs(double(W[k]));
  }
  return comms_forward(A, N, eps, "communicability").C;
}

std::vector<float> empirical_comms_sorted(const std::vector<double>& connectome, int N) {
  RSNN_CHECK(N > 0, "empirical_comms_sorted: N must be positive, got ", N);
  const size_t nn = size_t(N) * N;
  RSNN_CHECK(connectome.size() == nn, "empirical_comms_sorted: connectome has ",
             connectome.size(), " values, expected N*N = ", nn);
  for (size_t k = 0; k < nn; ++k)
    RSNN_CHECK(std::isfinite(connectome[k]) && connectome[k] >= 0.0,
               "empirical_comms_sorted: connectome entry (", k / N, ", ", k % N,
               ") must be finite and >= 0, got ", connectome[k]);
  Vec s(N, 0.0);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) s[i] += connectome[size_t(i) * N + j];
  for (double& v : s)
    if (v == 0.0) v = kEmdEps;  // comms_np replaces zero strengths, it does not add eps
  Vec M(nn);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j)
      M[size_t(i) * N + j] = connectome[size_t(i) * N + j] / std::sqrt(s[i] * s[j]);
  Vec C(nn);
  expm(M.data(), N, C.data());
  std::vector<float> out(nn);
  for (size_t k = 0; k < nn; ++k) out[k] = (k / N == k % N) ? 0.0f : float(C[k]);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace rsnn::microns
