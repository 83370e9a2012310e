// Internal helpers of the Tensor-level dispatchers of the dense ops: argument checks with
// one-line messages, output allocation, stream selection. Not part of the public API.
#pragma once
#include <string>

#include "runtime/tensor.h"

namespace rsnn::kernels::detail {

// A defined float32/float64 tensor, or throw "what: name ...".
void check_float(const Tensor& t, const std::string& what, const char* name);
// Same dtype and device as `ref`, or throw naming both.
void check_like(const Tensor& t, const Tensor& ref, const std::string& what, const char* name,
                const char* ref_name);
// When `out` is undefined, allocate it (contents unspecified); else check that it has this
// shape, dtype and device.
void prepare_out(Tensor& out, const Shape& shape, DType dtype, Device device,
                 const std::string& what, const char* name);
// Like prepare_out, but a new tensor is zero-filled (for kernels that accumulate).
void prepare_accum(Tensor& out, const Shape& shape, DType dtype, Device device,
                   const std::string& what, const char* name);
// The stream to launch on for tensors on `d`: `s` when it belongs to d, else d's default
// stream (a CPU Stream{} means "default"). Throws when s belongs to another GPU.
Stream stream_on(Device d, Stream s, const std::string& what);
// Product of the first `n` dims.
int64_t leading_numel(const Shape& s, int n);

}  // namespace rsnn::kernels::detail
