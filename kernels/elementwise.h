// Element-wise ops: unary y = f(x; p) and binary y = f(a, b) with suffix broadcasting.
// The per-element math is in dense_math.h. Backward kernels accumulate (+=).
//
// Broadcasting: after dropping leading 1s, the smaller shape must be a suffix of the
// larger one (a bias-like operand; a one-element tensor broadcasts against anything).
// Pointer level, the output is (outer, inner), inner = numel of the smaller operand; an
// operand is "full" when it has outer * inner values and "broadcast" when it has inner
// values reused for every row. The backward sums a broadcast operand's gradient over rows.
#pragma once
#include <cstdint>
#include <string>

#include "kernels/dense_math.h"
#include "runtime/cuda_entry.h"
#include "runtime/tensor.h"

namespace rsnn::kernels {

// ---- CPU reference (the specification) ------------------------------------------------

// x, out: n values. out[i] = f(x[i]; p)
template <class T>
void unary_forward_ref(UnaryOp op, T* out, const T* x, int64_t n, T p) {
  visit_unary(op, [&](auto tag) {
    constexpr UnaryOp OP = decltype(tag)::value;
    for (int64_t i = 0; i < n; ++i) out[i] = unary_value<OP, T>(x[i], p);
  });
}

// dx, dy, x, y: n values. dx[i] += dy[i] * f'(x[i]; p), with y = f(x). x or y may be null
// when unary_backward_uses(op) does not name it.
template <class T>
void unary_backward_ref(UnaryOp op, T* dx, const T* dy, const T* x, const T* y, int64_t n, T p) {
  visit_unary(op, [&](auto tag) {
    constexpr UnaryOp OP = decltype(tag)::value;
    for (int64_t i = 0; i < n; ++i)
      dx[i] += dy[i] * unary_derivative<OP, T>(x ? x[i] : T(0), y ? y[i] : T(0), p);
  });
}

// out (outer, inner); a (outer, inner) when a_full else (inner); b likewise.
// out[o, j] = f(a[o, j] or a[j], b[o, j] or b[j])
template <class T>
void binary_forward_ref(BinaryOp op, T* out, const T* a, const T* b, int64_t outer, int64_t inner,
                        bool a_full, bool b_full) {
  visit_binary(op, [&](auto tag) {
    constexpr BinaryOp OP = decltype(tag)::value;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < inner; ++j) {
        const int64_t i = o * inner + j;
        out[i] = binary_value<OP, T>(a[a_full ? i : j], b[b_full ? i : j]);
      }
  });
}

// dout (outer, inner); da has a's shape, db b's; a null gradient is skipped.
// da += dout * df/da (summed over rows when a is broadcast); db likewise.
template <class T>
void binary_backward_ref(BinaryOp op, T* da, T* db, const T* dout, const T* a, const T* b,
                         int64_t outer, int64_t inner, bool a_full, bool b_full) {
  visit_binary(op, [&](auto tag) {
    constexpr BinaryOp OP = decltype(tag)::value;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < inner; ++j) {
        const int64_t i = o * inner + j, ia = a_full ? i : j, ib = b_full ? i : j;
        if (da) da[ia] += dout[i] * binary_da<OP, T>(a[ia], b[ib]);
        if (db) db[ib] += dout[i] * binary_db<OP, T>(a[ia], b[ib]);
      }
  });
}

// ---- optimized CPU (OpenMP + simd), same arguments -------------------------------------
template <class T>
void unary_forward_cpu(UnaryOp op, T* out, const T* x, int64_t n, T p);
template <class T>
void unary_backward_cpu(UnaryOp op, T* dx, const T* dy, const T* x, const T* y, int64_t n, T p);
template <class T>
void binary_forward_cpu(BinaryOp op, T* out, const T* a, const T* b, int64_t outer, int64_t inner,
                        bool a_full, bool b_full);
template <class T>
void binary_backward_cpu(BinaryOp op, T* da, T* db, const T* dout, const T* a, const T* b,
                         int64_t outer, int64_t inner, bool a_full, bool b_full);

// ---- CUDA, same arguments plus the stream ---------------------------------------------
namespace cuda {
template <class T>
RSNN_CUDA_ENTRY("unary_forward",
                void unary_forward(UnaryOp op, T* out, const T* x, int64_t n, T p, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("unary_backward",
                void unary_backward(UnaryOp op, T* dx, const T* dy, const T* x, const T* y,
                                    int64_t n, T p, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("binary_forward",
                void binary_forward(BinaryOp op, T* out, const T* a, const T* b, int64_t outer,
                                    int64_t inner, bool a_full, bool b_full, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("binary_backward",
                void binary_backward(BinaryOp op, T* da, T* db, const T* dout, const T* a,
                                     const T* b, int64_t outer, int64_t inner, bool a_full,
                                     bool b_full, Stream stream));
}  // namespace cuda

// ---- Tensor level ----------------------------------------------------------------------
// out (x's shape) is allocated when undefined.
void unary_forward(UnaryOp op, Tensor& out, const Tensor& x, double p = 0,
                   Stream stream = Stream{});
// dx += dy * f'(x); x and y need only be defined when unary_backward_uses(op) names them.
// dx is zero-filled first when undefined.
void unary_backward(UnaryOp op, Tensor& dx, const Tensor& dy, const Tensor& x, const Tensor& y,
                    double p = 0, Stream stream = Stream{});

// The broadcast result shape of a and b (see the rule above); throws naming `what`.
Shape broadcast_shape(const Shape& a, const Shape& b, const std::string& what);
void binary_forward(BinaryOp op, Tensor& out, const Tensor& a, const Tensor& b,
                    Stream stream = Stream{});
// *da (a's shape) and *db (b's shape) accumulate; null = skipped, undefined = zeros first.
void binary_backward(BinaryOp op, Tensor* da, Tensor* db, const Tensor& dout, const Tensor& a,
                     const Tensor& b, Stream stream = Stream{});

}  // namespace rsnn::kernels
