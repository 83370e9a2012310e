// Operand checks shared by the in-place optimizer kernels (adam, sgd, clamp).
#pragma once
#include "runtime/tensor.h"

namespace rsnn::kernels::detail {

// `param` must be a defined float32/float64 tensor; `other` (the gradient or a state buffer,
// named by `what`) must match it in shape, dtype and device. `op` names the kernel.
inline void check_update_operand(const Tensor& param, const Tensor& other, const char* op,
                                 const char* what) {
  RSNN_CHECK(param.defined(), op, ": parameter tensor is undefined");
  RSNN_CHECK(is_floating(param.dtype()), op, ": parameter must be float32 or float64, got ",
             dtype_name(param.dtype()));
  RSNN_CHECK(other.defined(), op, ": ", what, " is undefined (parameter ", param.describe(), ")");
  RSNN_CHECK(other.shape() == param.shape(), op, ": ", what, " has shape ", other.shape_str(),
             ", parameter has shape ", param.shape_str());
  RSNN_CHECK(other.dtype() == param.dtype(), op, ": ", what, " is ", dtype_name(other.dtype()),
             ", parameter is ", dtype_name(param.dtype()));
  RSNN_CHECK(other.device() == param.device(), op, ": ", what, " is on ", other.device().str(),
             ", parameter is on ", param.device().str());
}

}  // namespace rsnn::kernels::detail
