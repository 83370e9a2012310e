// Gradient checking by central finite differences in float64.
//
// The checker builds leaf Vars from `inputs`, evaluates f, back-propagates a fixed random
// seed gradient R (so non-scalar outputs are checked too: the objective is sum(f(x) * R)),
// and compares every element of every checked input's gradient against
// (obj(x + eps) - obj(x - eps)) / (2 eps). A flipped sign or a missing term fails.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autograd/var.h"

namespace rsnn::ag {

struct GradCheckOptions {
  double eps = 1e-6;
  double atol = 1e-7;
  double rtol = 1e-5;
  uint64_t seed = 1234;     // for the random seed gradient R
  std::vector<bool> wrt;    // which inputs to check; empty = every float input
};

struct GradCheckResult {
  bool ok = true;
  double max_abs_err = 0;
  double max_rel_err = 0;
  int64_t checked = 0;      // elements compared
  std::string report;       // first failure, or a summary
};

using VarFn = std::function<Var(const std::vector<Var>&)>;

// inputs: float64 tensors for the inputs to check (others of any dtype, e.g. labels).
GradCheckResult gradcheck(const VarFn& f, const std::vector<Tensor>& inputs,
                          const GradCheckOptions& opt = GradCheckOptions());

}  // namespace rsnn::ag
