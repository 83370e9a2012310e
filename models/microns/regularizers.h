// MICrONS recurrent-weight regularizers (spec neuro-constrained-rnn.md §4) with exact
// gradients: "W" (sum|W|), "WD" (spatial), "WDC" (spatial x communicability, through the
// matrix exponential) and "WDC_EMD" (spatial + Wasserstein-1 of communicability values).
// Values are accumulated in double; W and dW are float32 as the trainer stores them.
// Faithful-to-code choices are flags: RegSpec::l1_apply_lambda (the original's W ignores
// lambda), StarCoords (the original's reshape(3,-1) of the positions) and RegSpec::expm
// (the original's float32 tf.linalg.expm), all defaulting to the code's behaviour. Thread-safe across threads (each thread keeps its own N x N work
// buffers for reuse between calls; BLAS threads are as the caller configured them).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/microns/distances.h"
#include "runtime/error.h"

namespace rsnn::microns {

enum class RegKind { none, l1, wd, wdc, wdc_emd };  // names: "W", "WD", "WDC", "WDC_EMD"

// "none", "W", "WD", "WDC", "WDC_EMD" <-> RegKind; an unknown name throws rsnn::Error.
RegKind reg_kind_from_name(const std::string& name);
const char* reg_kind_name(RegKind kind);

// Precision of the communicability's expm and its Fréchet derivative (WDC, WDC_EMD):
// float32 with tf.linalg.expm's Padé degree and squarings (the original's computation, and
// its gradient is the exact derivative of that approximant), or float64 with Al-Mohy &
// Higham's thresholds (exp's to double precision, at a higher Padé degree).
enum class ExpmPrecision { float32, float64 };
ExpmPrecision parse_expm_precision(const std::string& s, const char* what);  // bad -> Error
const char* expm_precision_name(ExpmPrecision p);

struct RegSpec {
  RegKind kind = RegKind::none;
  int N = 0;
  double lambda = 0.3;           // regu_strength
  double emd_lambda = 0.1;       // emd_strength
  bool l1_apply_lambda = false;  // original's W regularizer ignores lambda (effective 1.0)
  ExpmPrecision expm = ExpmPrecision::float32;  // the original's
  std::vector<float> D;          // N*N distances, zero diagonal (wd, wdc, wdc_emd)
  std::vector<float> emp_sorted; // N*N empirical communicability, sorted ascending (wdc_emd)
};

// Thrown when a regularizer's value would not be finite (a WDC row of W that is all zero, a
// non-finite weight, an overflowing exponential). The original trains on with a NaN loss;
// a trainer that wants that behaviour catches this type and records the run as NaN.
class NonFiniteRegularizer : public rsnn::Error {
 public:
  using rsnn::Error::Error;
};

// Checks the spec's sizes and values (N > 0, D and emp_sorted sized N*N where the kind
// needs them, finite lambdas); throws rsnn::Error naming the problem.
void validate(const RegSpec& spec);

// Value at W (N x N row-major float32, W[i*N+j] = weight from unit i to unit j, as Keras's
// recurrent kernel). When dW != nullptr, ADDS the exact gradient d(value)/dW into dW.
// abs() has gradient sign(W), 0 at 0. WDC has no epsilon, as the original: a row of W that
// is all zero makes the value non-finite, and then this throws NonFiniteRegularizer ("WDC:
// row i of W is all zero") instead of returning NaN, so the trainer can tell the cause (the
// same type for a non-finite W or value). A bad spec is a plain rsnn::Error. dW is left
// untouched when it throws.
double regularizer_value(const RegSpec& spec, const float* W, float* dW);

// The original's comms(): A=|W|, s = rowsum(A) + eps, M = diag(s^-1/2) A diag(s^-1/2),
// C = expm(M), diagonal zeroed. Returned as N*N doubles. A row with s == 0 (eps = 0 and an
// all-zero row) throws NonFiniteRegularizer.
std::vector<double> communicability(const float* W, int N, double eps);

// comms_np(connectome) (s==0 -> 1e-10, diag zeroed, cast to float32), sorted ascending.
std::vector<float> empirical_comms_sorted(const std::vector<double>& connectome, int N);

}  // namespace rsnn::microns
