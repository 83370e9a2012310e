// The four MICrONS regularizers and their exact gradients (spec §4). The communicability
// C = offdiag(expm(M)), M = S A S, S = diag(s^-1/2), s = rowsum(A) + eps is differentiated
// with the Fréchet derivative: dL/dM = L_exp(M^T, dL/dC), then through S and s back to A.
#include "models/microns/regularizers.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "kernels/expm.h"

namespace rsnn::microns {
namespace {

constexpr double kEmdEps = 1e-10;  // comms() in WDC_EMD and comms_np: s + 1e-10 / s==0 -> 1e-10

using Vec = std::vector<double>;

double sign(double x) { return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0); }

// Buffers of one regularizer call, kept per thread: reusing them avoids page-faulting a
// dozen fresh N x N matrices per training step (a large share of the expm work at N = 312,
// perf-log).
// regularizer_value is therefore not reentrant within one thread (it never calls itself).
struct Workspace {
  Vec A, dA;          // |W| and d(value)/dA
  Vec s, M, C;        // strengths, S A S, expm(M) with the diagonal zeroed
  Vec G, dM;          // dL/dC and dL/dM
  std::vector<std::pair<double, uint32_t>> sorted;  // (art value, index) for the EMD
  ExpmFrechet ef;     // ExpmPrecision::float64
  ExpmFrechetF ef32;  // ExpmPrecision::float32: M, G and dM pass through float buffers
  std::vector<float> Mf, Gf, dMf;
  bool f32 = false;   // which of the two the last comms_forward used
};

Workspace& workspace() {
  thread_local Workspace w;
  return w;
}

// w.C = offdiag(expm(M)) for w.A, with s = rowsum + eps; the expm in double, or in float
// with TensorFlow's degree rule (the original's tf.linalg.expm on float32).
void comms_forward(Workspace& w, int N, double eps, ExpmPrecision precision, const char* who) {
  w.s.assign(N, eps);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) w.s[i] += w.A[size_t(i) * N + j];
  for (int i = 0; i < N; ++i)
    if (!(w.s[i] > 0.0))
      throw NonFiniteRegularizer(detail::concat(
          who, ": row ", i, " of W is all zero, so its strength s = 0 and s^-1/2 is infinite"));
  Vec r(N);
  for (int i = 0; i < N; ++i) r[i] = 1.0 / std::sqrt(w.s[i]);
  w.M.resize(size_t(N) * N);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) w.M[size_t(i) * N + j] = r[i] * w.A[size_t(i) * N + j] * r[j];
  w.f32 = precision == ExpmPrecision::float32;
  try {
    if (w.f32) {
      w.Mf.assign(w.M.begin(), w.M.end());
      w.ef32.compute(w.Mf.data(), N, PadeRule::tensorflow_float32);
      w.C.assign(w.ef32.value().begin(), w.ef32.value().end());
    } else {
      w.ef.compute(w.M.data(), N);
      w.C = w.ef.value();
    }
  } catch (const Error& e) {
    throw NonFiniteRegularizer(detail::concat(who, ": ", e.what()));
  }
  for (int i = 0; i < N; ++i) w.C[size_t(i) * N + i] = 0.0;
}

// w.dA += d<G, C>/dA for G = w.G = dL/dC (its diagonal is ignored: C's is constant zero).
void comms_backward(Workspace& w, int N) {
  for (int i = 0; i < N; ++i) w.G[size_t(i) * N + i] = 0.0;
  w.dM.resize(w.G.size());
  if (w.f32) {
    w.Gf.assign(w.G.begin(), w.G.end());
    w.dMf.resize(w.Gf.size());
    w.ef32.frechet_adjoint(w.Gf.data(), w.dMf.data());
    w.dM.assign(w.dMf.begin(), w.dMf.end());
  } else {
    w.ef.frechet_adjoint(w.G.data(), w.dM.data());
  }
  // M_ij = A_ij / sqrt(s_i s_j): direct term, then dL/ds_k = -(sum_j dM_kj M_kj +
  // sum_i dM_ik M_ik) / (2 s_k), which reaches every A_kj of row k through s_k = sum_j A_kj.
  Vec r(N), ds(N, 0.0);
  for (int i = 0; i < N; ++i) r[i] = 1.0 / std::sqrt(w.s[i]);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      const size_t ij = size_t(i) * N + j;
      const double g = w.dM[ij] * w.M[ij];
      ds[i] += g;
      ds[j] += g;
      w.dA[ij] += w.dM[ij] * r[i] * r[j];
    }
  for (int i = 0; i < N; ++i) {
    const double d = -ds[i] / (2.0 * w.s[i]);
    for (int j = 0; j < N; ++j) w.dA[size_t(i) * N + j] += d;
  }
}

// lambda * sum(A (.) C (.) D); with grad: its gradient into w.dA, C's path included.
double wdc_term(const RegSpec& spec, Workspace& w, bool grad) {
  const int N = spec.N;
  comms_forward(w, N, 0.0, spec.expm, "WDC");
  const size_t nn = w.A.size();
  double value = 0.0;
  for (size_t k = 0; k < nn; ++k) value += w.A[k] * w.C[k] * double(spec.D[k]);
  value *= spec.lambda;
  if (grad) {
    w.G.resize(nn);
    for (size_t k = 0; k < nn; ++k) {
      w.dA[k] += spec.lambda * w.C[k] * double(spec.D[k]);
      w.G[k] = spec.lambda * w.A[k] * double(spec.D[k]);
    }
    comms_backward(w, N);
  }
  return value;
}

// emd_lambda * mean|sort(emp) - sort(art)|, art = comms(W) with eps 1e-10, N^2 values.
double emd_term(const RegSpec& spec, Workspace& w, bool grad) {
  const int N = spec.N;
  comms_forward(w, N, kEmdEps, spec.expm, "WDC_EMD");
  const size_t nn = w.C.size();
  // Ties keep index order (a stable sort), so the gradient's scatter is deterministic.
  w.sorted.resize(nn);
  for (size_t k = 0; k < nn; ++k) w.sorted[k] = {w.C[k], uint32_t(k)};
  std::sort(w.sorted.begin(), w.sorted.end());
  double sum = 0.0;
  if (grad) w.G.resize(nn);
  for (size_t r = 0; r < nn; ++r) {
    const double diff = w.sorted[r].first - double(spec.emp_sorted[r]);
    sum += std::fabs(diff);
    if (grad) w.G[w.sorted[r].second] = spec.emd_lambda * sign(diff) / double(nn);
  }
  if (grad) comms_backward(w, N);
  return spec.emd_lambda * sum / double(nn);
}

// w.A = |W|; a non-finite weight throws NonFiniteRegularizer naming `who`.
void load_abs(Workspace& w, const float* W, int N, const char* who) {
  const size_t nn = size_t(N) * N;
  w.A.resize(nn);
  for (size_t k = 0; k < nn; ++k) {
    if (!std::isfinite(W[k]))
      throw NonFiniteRegularizer(detail::concat(who, ": W has a non-finite entry at (", k / N,
                                                ", ", k % N, ")"));
    w.A[k] = std::fabs(double(W[k]));
  }
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

ExpmPrecision parse_expm_precision(const std::string& s, const char* what) {
  if (s == "float32") return ExpmPrecision::float32;
  if (s == "float64") return ExpmPrecision::float64;
  RSNN_FAIL(what, ": expected float32 or float64, got '", s, "'");
}

const char* expm_precision_name(ExpmPrecision p) {
  return p == ExpmPrecision::float32 ? "float32" : "float64";
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
  Workspace& w = workspace();
  load_abs(w, W, N, reg_kind_name(spec.kind));
  const bool grad = dW != nullptr;
  if (grad) w.dA.assign(nn, 0.0);
  double value = 0.0;
  switch (spec.kind) {
    case RegKind::l1: {
      const double coef = spec.l1_apply_lambda ? spec.lambda : 1.0;
      for (size_t k = 0; k < nn; ++k) value += w.A[k];
      value *= coef;
      if (grad) std::fill(w.dA.begin(), w.dA.end(), coef);
      break;
    }
    case RegKind::wd:
    case RegKind::wdc_emd: {
      for (size_t k = 0; k < nn; ++k) value += w.A[k] * double(spec.D[k]);
      value *= spec.lambda;
      if (grad)
        for (size_t k = 0; k < nn; ++k) w.dA[k] = spec.lambda * double(spec.D[k]);
      if (spec.kind == RegKind::wdc_emd) value += emd_term(spec, w, grad);
      break;
    }
    case RegKind::wdc: value = wdc_term(spec, w, grad); break;
    case RegKind::none: break;
  }
  if (!std::isfinite(value))
    throw NonFiniteRegularizer(detail::concat("regularizer ", reg_kind_name(spec.kind),
                                              ": the value is not finite (", value, ")"));
  if (grad)  // |.| has gradient sign(W), 0 at 0 (as TF's abs)
    for (size_t k = 0; k < nn; ++k) dW[k] += float(w.dA[k] * sign(double(W[k])));
  return value;
}

std::vector<double> communicability(const float* W, int N, double eps) {
  RSNN_CHECK(N > 0, "communicability: N must be positive, got ", N);
  RSNN_CHECK(std::isfinite(eps) && eps >= 0.0, "communicability: eps must be finite and >= 0");
  Workspace& w = workspace();
  load_abs(w, W, N, "communicability");
  comms_forward(w, N, eps, ExpmPrecision::float64, "communicability");
  return w.C;
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
