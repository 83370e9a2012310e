// Per-element math of the dense ops, written once and run by both backends: the CPU loops
// (reference and optimized) and the CUDA kernels call these RSNN_HD bodies.
//
// Conventions at kinks (where the derivative is not defined): relu'(0) = 0,
// clipped_relu'(x) = 1 only for 0 < x < cap, abs'(0) = 0.
#pragma once
#include <math.h>

#include <cstdint>

#include "runtime/hd.h"

namespace rsnn::kernels {

// ---- scalar math overloads usable on host and device --------------------------------
namespace math {
RSNN_HD float exp_(float x) { return ::expf(x); }
RSNN_HD double exp_(double x) { return ::exp(x); }
RSNN_HD float log_(float x) { return ::logf(x); }
RSNN_HD double log_(double x) { return ::log(x); }
RSNN_HD float log1p_(float x) { return ::log1pf(x); }
RSNN_HD double log1p_(double x) { return ::log1p(x); }
RSNN_HD float tanh_(float x) { return ::tanhf(x); }
RSNN_HD double tanh_(double x) { return ::tanh(x); }
RSNN_HD float sqrt_(float x) { return ::sqrtf(x); }
RSNN_HD double sqrt_(double x) { return ::sqrt(x); }
RSNN_HD float pow_(float x, float p) { return ::powf(x, p); }
RSNN_HD double pow_(double x, double p) { return ::pow(x, p); }
template <class T> RSNN_HD T abs_(T x) { return x < T(0) ? -x : x; }
template <class T> RSNN_HD T max_(T a, T b) { return a > b ? a : b; }
template <class T> RSNN_HD T min_(T a, T b) { return a < b ? a : b; }
// 1 / (1 + exp(-x)) without overflow for large |x|.
template <class T> RSNN_HD T sigmoid_(T x) {
  if (x >= T(0)) return T(1) / (T(1) + exp_(-x));
  const T e = exp_(x);
  return e / (T(1) + e);
}
// log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)).
template <class T> RSNN_HD T softplus_(T x) { return max_(x, T(0)) + log1p_(exp_(-abs_(x))); }
}  // namespace math

// ---- unary element-wise ops: y = f(x; p) --------------------------------------------
// p is the op's scalar parameter: clipped_relu cap, pow exponent, scale factor, added
// scalar; ignored by the others.
enum class UnaryOp : int {
  neg, exp, log, sigmoid, tanh, relu, clipped_relu, softplus, square, sqrt, abs, pow, scale,
  add_scalar
};
const char* unary_op_name(UnaryOp op);

// What the derivative needs besides the output gradient: nothing, the input x or the
// output y (so an autograd op saves only that).
enum class UnaryUses : int { none, input, output };

RSNN_HD constexpr UnaryUses unary_backward_uses(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg:
    case UnaryOp::scale:
    case UnaryOp::add_scalar: return UnaryUses::none;
    case UnaryOp::exp:
    case UnaryOp::sigmoid:
    case UnaryOp::tanh:
    case UnaryOp::sqrt: return UnaryUses::output;
    default: return UnaryUses::input;
  }
}

template <UnaryOp OP, class T>
RSNN_HD T unary_value(T x, T p) {
  using namespace math;
  if constexpr (OP == UnaryOp::neg) return -x;
  else if constexpr (OP == UnaryOp::exp) return exp_(x);
  else if constexpr (OP == UnaryOp::log) return log_(x);
  else if constexpr (OP == UnaryOp::sigmoid) return sigmoid_(x);
  else if constexpr (OP == UnaryOp::tanh) return tanh_(x);
  else if constexpr (OP == UnaryOp::relu) return x > T(0) ? x : T(0);
  else if constexpr (OP == UnaryOp::clipped_relu) return min_(max_(x, T(0)), p);
  else if constexpr (OP == UnaryOp::softplus) return softplus_(x);
  else if constexpr (OP == UnaryOp::square) return x * x;
  else if constexpr (OP == UnaryOp::sqrt) return sqrt_(x);
  else if constexpr (OP == UnaryOp::abs) return abs_(x);
  else if constexpr (OP == UnaryOp::pow) return pow_(x, p);
  else if constexpr (OP == UnaryOp::scale) return x * p;
  else return x + p;  // add_scalar
}

// df/dx at x, given y = f(x) (each op reads the one unary_backward_uses names).
template <UnaryOp OP, class T>
RSNN_HD T unary_derivative(T x, T y, T p) {
  using namespace math;
  if constexpr (OP == UnaryOp::neg) return T(-1);
  else if constexpr (OP == UnaryOp::exp) return y;
  else if constexpr (OP == UnaryOp::log) return T(1) / x;
  else if constexpr (OP == UnaryOp::sigmoid) return y * (T(1) - y);
  else if constexpr (OP == UnaryOp::tanh) return T(1) - y * y;
  else if constexpr (OP == UnaryOp::relu) return x > T(0) ? T(1) : T(0);
  else if constexpr (OP == UnaryOp::clipped_relu) return (x > T(0) && x < p) ? T(1) : T(0);
  else if constexpr (OP == UnaryOp::softplus) return sigmoid_(x);
  else if constexpr (OP == UnaryOp::square) return T(2) * x;
  else if constexpr (OP == UnaryOp::sqrt) return T(0.5) / y;
  else if constexpr (OP == UnaryOp::abs) return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
  else if constexpr (OP == UnaryOp::pow) return p == T(0) ? T(0) : p * pow_(x, p - T(1));
  else if constexpr (OP == UnaryOp::scale) return p;
  else return T(1);  // add_scalar
}

// Host-side: call f(tag) with the op as a compile-time constant (tag.value), so a loop over
// one op's body is compiled (and vectorized) per op:
//   visit_unary(op, [&](auto tag) { constexpr UnaryOp OP = decltype(tag)::value; ... });
template <UnaryOp OP> struct UnaryTag { static constexpr UnaryOp value = OP; };
template <class F>
inline void visit_unary(UnaryOp op, F&& f) {
  switch (op) {
    case UnaryOp::neg: f(UnaryTag<UnaryOp::neg>{}); break;
    case UnaryOp::exp: f(UnaryTag<UnaryOp::exp>{}); break;
    case UnaryOp::log: f(UnaryTag<UnaryOp::log>{}); break;
    case UnaryOp::sigmoid: f(UnaryTag<UnaryOp::sigmoid>{}); break;
    case UnaryOp::tanh: f(UnaryTag<UnaryOp::tanh>{}); break;
    case UnaryOp::relu: f(UnaryTag<UnaryOp::relu>{}); break;
    case UnaryOp::clipped_relu: f(UnaryTag<UnaryOp::clipped_relu>{}); break;
    case UnaryOp::softplus: f(UnaryTag<UnaryOp::softplus>{}); break;
    case UnaryOp::square: f(UnaryTag<UnaryOp::square>{}); break;
    case UnaryOp::sqrt: f(UnaryTag<UnaryOp::sqrt>{}); break;
    case UnaryOp::abs: f(UnaryTag<UnaryOp::abs>{}); break;
    case UnaryOp::pow: f(UnaryTag<UnaryOp::pow>{}); break;
    case UnaryOp::scale: f(UnaryTag<UnaryOp::scale>{}); break;
    case UnaryOp::add_scalar: f(UnaryTag<UnaryOp::add_scalar>{}); break;
  }
}

// ---- binary element-wise ops: y = f(a, b) -------------------------------------------
enum class BinaryOp : int { add, sub, mul, div };
const char* binary_op_name(BinaryOp op);

template <BinaryOp OP, class T>
RSNN_HD T binary_value(T a, T b) {
  if constexpr (OP == BinaryOp::add) return a + b;
  else if constexpr (OP == BinaryOp::sub) return a - b;
  else if constexpr (OP == BinaryOp::mul) return a * b;
  else return a / b;
}
template <BinaryOp OP, class T>
RSNN_HD T binary_da(T a, T b) {  // df/da
  if constexpr (OP == BinaryOp::mul) return b;
  else if constexpr (OP == BinaryOp::div) return T(1) / b;
  else return T(1);
}
template <BinaryOp OP, class T>
RSNN_HD T binary_db(T a, T b) {  // df/db
  if constexpr (OP == BinaryOp::add) return T(1);
  else if constexpr (OP == BinaryOp::sub) return T(-1);
  else if constexpr (OP == BinaryOp::mul) return a;
  else return -a / (b * b);
}
// Whether the derivatives read a and b (add and sub need neither).
RSNN_HD constexpr bool binary_backward_uses_values(BinaryOp op) {
  return op == BinaryOp::mul || op == BinaryOp::div;
}

template <BinaryOp OP> struct BinaryTag { static constexpr BinaryOp value = OP; };
template <class F>
inline void visit_binary(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::add: f(BinaryTag<BinaryOp::add>{}); break;
    case BinaryOp::sub: f(BinaryTag<BinaryOp::sub>{}); break;
    case BinaryOp::mul: f(BinaryTag<BinaryOp::mul>{}); break;
    case BinaryOp::div: f(BinaryTag<BinaryOp::div>{}); break;
  }
}

// ---- row-wise softmax family (last dimension) ---------------------------------------
// With m = max of the row and s = sum of exp(x - m) over the row:
template <class T> RSNN_HD T softmax_value(T x, T m, T inv_s) { return math::exp_(x - m) * inv_s; }
template <class T> RSNN_HD T log_softmax_value(T x, T m, T log_s) { return x - m - log_s; }
// dx for y = softmax(x): y * (dy - sum(dy * y)).
template <class T> RSNN_HD T softmax_grad(T y, T dy, T dot) { return y * (dy - dot); }
// dx for y = log_softmax(x): dy - exp(y) * sum(dy).
template <class T>
RSNN_HD T log_softmax_grad(T y, T dy, T sum_dy) {
  return dy - math::exp_(y) * sum_dy;
}
// Cross-entropy of one logit, lse = log(sum(exp(row))): d loss_row / d logit =
// softmax - onehot; `scale` = d(mean loss)/d(loss_row) = dloss / M.
template <class T>
RSNN_HD T cross_entropy_grad(T logit, T lse, bool is_label, T scale) {
  return scale * (math::exp_(logit - lse) - (is_label ? T(1) : T(0)));
}

// ---- mean-squared error ----------------------------------------------------------------
template <class T> RSNN_HD T squared_error(T a, T b) { return (a - b) * (a - b); }
// d/da of scale * (a - b)^2, with scale = dloss / n; d/db is its negative.
template <class T>
RSNN_HD T squared_error_grad(T a, T b, T scale) {
  return T(2) * scale * (a - b);
}

}  // namespace rsnn::kernels
