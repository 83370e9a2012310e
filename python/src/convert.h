// Arrays across the Python boundary without copies: a NumPy array or any DLPack tensor
// (PyTorch, CuPy) becomes an rsnn::Tensor over the same memory, and an rsnn::Tensor leaves as
// a NumPy array (CPU) or a DLPack-capable array (CUDA) that keeps the tensor's storage alive.
#pragma once
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <optional>
#include <string>

#include "runtime/tensor.h"

namespace rsnn::py {

namespace nb = nanobind;

// Any dtype, any device, C-contiguous (nanobind makes a contiguous copy of a strided input when
// conversion is allowed; in-place arguments are declared .noconvert()).
using Array = nb::ndarray<nb::c_contig>;

// The tensor over `a`'s memory; `a` stays alive as long as the tensor's storage does. `what`
// names the argument in errors (unsupported dtype).
Tensor to_tensor(const Array& a, const std::string& what);
// Undefined tensor for None.
Tensor to_tensor(const std::optional<Array>& a, const std::string& what);

// A NumPy array (CPU) or a DLPack array (CUDA) over t's storage; None when t is undefined.
nb::object to_python(const Tensor& t);

}  // namespace rsnn::py
