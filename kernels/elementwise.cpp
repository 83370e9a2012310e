#include "kernels/elementwise.h"

#include "kernels/dense_check.h"
#include "kernels/dense_cpu.h"

namespace rsnn::kernels {

const char* unary_op_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg: return "neg";
    case UnaryOp::exp: return "exp";
    case UnaryOp::log: return "log";
    case UnaryOp::sigmoid: return "sigmoid";
    case UnaryOp::tanh: return "tanh";
    case UnaryOp::relu: return "relu";
    case UnaryOp::clipped_relu: return "clipped_relu";
    case UnaryOp::softplus: return "softplus";
    case UnaryOp::square: return "square";
    case UnaryOp::sqrt: return "sqrt";
    case UnaryOp::abs: return "abs";
    case UnaryOp::pow: return "pow";
    case UnaryOp::scale: return "scale";
    case UnaryOp::add_scalar: return "add_scalar";
  }
  return "?";
}

const char* binary_op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: return "add";
    case BinaryOp::sub: return "sub";
    case BinaryOp::mul: return "mul";
    case BinaryOp::div: return "div";
  }
  return "?";
}

using cpu_detail::kParallelMin;

template <class T>
void unary_forward_cpu(UnaryOp op, T* out, const T* x, int64_t n, T p) {
  visit_unary(op, [&](auto tag) {
    constexpr UnaryOp OP = decltype(tag)::value;
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) out[i] = unary_value<OP, T>(x[i], p);
  });
}

template <class T>
void unary_backward_cpu(UnaryOp op, T* dx, const T* dy, const T* x, const T* y, int64_t n, T p) {
  visit_unary(op, [&](auto tag) {
    constexpr UnaryOp OP = decltype(tag)::value;
    constexpr UnaryUses uses = unary_backward_uses(OP);
    // One loop per input the derivative reads, so no loop tests a pointer per element.
    if constexpr (uses == UnaryUses::input) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * unary_derivative<OP, T>(x[i], T(0), p);
    } else if constexpr (uses == UnaryUses::output) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * unary_derivative<OP, T>(T(0), y[i], p);
    } else {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * unary_derivative<OP, T>(T(0), T(0), p);
    }
  });
}

template <class T>
void binary_forward_cpu(BinaryOp op, T* out, const T* a, const T* b, int64_t outer, int64_t inner,
                        bool a_full, bool b_full) {
  const int64_t n = outer * inner;
  visit_binary(op, [&](auto tag) {
    constexpr BinaryOp OP = decltype(tag)::value;
    if (a_full && b_full) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) out[i] = binary_value<OP, T>(a[i], b[i]);
      return;
    }
#pragma omp parallel for schedule(static) if (n > kParallelMin)
    for (int64_t o = 0; o < outer; ++o) {
      const T* ar = a_full ? a + o * inner : a;
      const T* br = b_full ? b + o * inner : b;
      T* orow = out + o * inner;
#pragma omp simd
      for (int64_t j = 0; j < inner; ++j) orow[j] = binary_value<OP, T>(ar[j], br[j]);
    }
  });
}

template <class T>
void binary_backward_cpu(BinaryOp op, T* da, T* db, const T* dout, const T* a, const T* b,
                         int64_t outer, int64_t inner, bool a_full, bool b_full) {
  const int64_t n = outer * inner;
  visit_binary(op, [&](auto tag) {
    constexpr BinaryOp OP = decltype(tag)::value;
    // An operand's value at (o, j).
    auto av = [=](int64_t o, int64_t j) { return a[a_full ? o * inner + j : j]; };
    auto bv = [=](int64_t o, int64_t j) { return b[b_full ? o * inner + j : j]; };
    auto da_term = [=](int64_t o, int64_t j) {
      return dout[o * inner + j] * binary_da<OP, T>(av(o, j), bv(o, j));
    };
    auto db_term = [=](int64_t o, int64_t j) {
      return dout[o * inner + j] * binary_db<OP, T>(av(o, j), bv(o, j));
    };
    for (int which = 0; which < 2; ++which) {
      T* d = which == 0 ? da : db;
      const bool full = which == 0 ? a_full : b_full;
      if (!d) continue;
      if (!full) {  // broadcast operand: sum its gradient over rows
        if (which == 0)
          cpu_detail::colsum_into(d, outer, inner, true, da_term);
        else
          cpu_detail::colsum_into(d, outer, inner, true, db_term);
        continue;
      }
#pragma omp parallel for schedule(static) if (n > kParallelMin)
      for (int64_t o = 0; o < outer; ++o) {
        T* row = d + o * inner;
        if (which == 0) {
#pragma omp simd
          for (int64_t j = 0; j < inner; ++j) row[j] += da_term(o, j);
        } else {
#pragma omp simd
          for (int64_t j = 0; j < inner; ++j) row[j] += db_term(o, j);
        }
      }
    }
  });
}

#define RSNN_INSTANTIATE(T)                                                                     \
  template void unary_forward_cpu<T>(UnaryOp, T*, const T*, int64_t, T);                        \
  template void unary_backward_cpu<T>(UnaryOp, T*, const T*, const T*, const T*, int64_t, T);   \
  template void binary_forward_cpu<T>(BinaryOp, T*, const T*, const T*, int64_t, int64_t, bool, \
                                      bool);                                                    \
  template void binary_backward_cpu<T>(BinaryOp, T*, T*, const T*, const T*, const T*, int64_t, \
                                       int64_t, bool, bool);
RSNN_INSTANTIATE(float)
RSNN_INSTANTIATE(double)
#undef RSNN_INSTANTIATE

// ---- Tensor level ----------------------------------------------------------------------

void unary_forward(UnaryOp op, Tensor& out, const Tensor& x, double p, Stream stream) {
  const std::string what = std::string("unary_forward(") + unary_op_name(op) + ")";
  detail::check_float(x, what, "x");
  detail::prepare_out(out, x.shape(), x.dtype(), x.device(), what, "out");
  const Stream s = detail::stream_on(x.device(), stream, what);
  dispatch_float(x.dtype(), what.c_str(), [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      cuda::unary_forward<T>(op, out.data<T>(), x.data<T>(), x.numel(), T(p), s);
    else
      unary_forward_cpu<T>(op, out.data<T>(), x.data<T>(), x.numel(), T(p));
    return 0;
  });
}

void unary_backward(UnaryOp op, Tensor& dx, const Tensor& dy, const Tensor& x, const Tensor& y,
                    double p, Stream stream) {
  const std::string what = std::string("unary_backward(") + unary_op_name(op) + ")";
  detail::check_float(dy, what, "dy");
  const UnaryUses uses = unary_backward_uses(op);
  if (uses == UnaryUses::input) {
    detail::check_like(x, dy, what, "x", "dy");
    check_shape(x, dy.shape(), what + " x");
  }
  if (uses == UnaryUses::output) {
    detail::check_like(y, dy, what, "y", "dy");
    check_shape(y, dy.shape(), what + " y");
  }
  detail::prepare_accum(dx, dy.shape(), dy.dtype(), dy.device(), what, "dx");
  const Stream s = detail::stream_on(dy.device(), stream, what);
  dispatch_float(dy.dtype(), what.c_str(), [&](auto tag) {
    using T = decltype(tag);
    const T* xp = uses == UnaryUses::input ? x.data<T>() : nullptr;
    const T* yp = uses == UnaryUses::output ? y.data<T>() : nullptr;
    if (dy.device().is_cuda())
      cuda::unary_backward<T>(op, dx.data<T>(), dy.data<T>(), xp, yp, dy.numel(), T(p), s);
    else
      unary_backward_cpu<T>(op, dx.data<T>(), dy.data<T>(), xp, yp, dy.numel(), T(p));
    return 0;
  });
}

namespace {
Shape strip_leading_ones(const Shape& s) {
  size_t k = 0;
  while (k < s.size() && s[k] == 1) ++k;
  return Shape(s.begin() + static_cast<std::ptrdiff_t>(k), s.end());
}
bool is_suffix(const Shape& small, const Shape& big) {
  if (small.size() > big.size()) return false;
  return std::equal(small.begin(), small.end(),
                    big.end() - static_cast<std::ptrdiff_t>(small.size()));
}

struct Broadcast {
  Shape out;
  int64_t outer, inner;
  bool a_full, b_full;
};
Broadcast broadcast(const Shape& a, const Shape& b, const std::string& what) {
  Broadcast r;
  r.out = broadcast_shape(a, b, what);
  const int64_t n = shape_numel(r.out), na = shape_numel(a), nb = shape_numel(b);
  r.a_full = na == n;
  r.b_full = nb == n;
  r.inner = std::min(na, nb);
  r.outer = r.inner ? n / r.inner : 0;
  if (r.inner == 0) r.outer = 0;
  return r;
}
}  // namespace

Shape broadcast_shape(const Shape& a, const Shape& b, const std::string& what) {
  const Shape sa = strip_leading_ones(a), sb = strip_leading_ones(b);
  const int64_t na = shape_numel(a), nb = shape_numel(b);
  const bool b_in_a = is_suffix(sb, sa), a_in_b = is_suffix(sa, sb);
  RSNN_CHECK(b_in_a || a_in_b, what, ": shapes ", shape_str(a), " and ", shape_str(b),
             " do not broadcast (after dropping leading 1s, one must be a suffix of the other)");
  if (na != nb) return na > nb ? a : b;
  return a.size() >= b.size() ? a : b;
}

void binary_forward(BinaryOp op, Tensor& out, const Tensor& a, const Tensor& b, Stream stream) {
  const std::string what = std::string("binary_forward(") + binary_op_name(op) + ")";
  detail::check_float(a, what, "a");
  detail::check_like(b, a, what, "b", "a");
  const Broadcast bc = broadcast(a.shape(), b.shape(), what);
  detail::prepare_out(out, bc.out, a.dtype(), a.device(), what, "out");
  const Stream s = detail::stream_on(a.device(), stream, what);
  dispatch_float(a.dtype(), what.c_str(), [&](auto tag) {
    using T = decltype(tag);
    if (a.device().is_cuda())
      cuda::binary_forward<T>(op, out.data<T>(), a.data<T>(), b.data<T>(), bc.outer, bc.inner,
                              bc.a_full, bc.b_full, s);
    else
      binary_forward_cpu<T>(op, out.data<T>(), a.data<T>(), b.data<T>(), bc.outer, bc.inner,
                            bc.a_full, bc.b_full);
    return 0;
  });
}

void binary_backward(BinaryOp op, Tensor* da, Tensor* db, const Tensor& dout, const Tensor& a,
                     const Tensor& b, Stream stream) {
  const std::string what = std::string("binary_backward(") + binary_op_name(op) + ")";
  detail::check_float(a, what, "a");
  detail::check_like(b, a, what, "b", "a");
  detail::check_like(dout, a, what, "dout", "a");
  const Broadcast bc = broadcast(a.shape(), b.shape(), what);
  check_shape(dout, bc.out, what + " dout");
  if (da) detail::prepare_accum(*da, a.shape(), a.dtype(), a.device(), what, "da");
  if (db) detail::prepare_accum(*db, b.shape(), a.dtype(), a.device(), what, "db");
  const Stream s = detail::stream_on(a.device(), stream, what);
  dispatch_float(a.dtype(), what.c_str(), [&](auto tag) {
    using T = decltype(tag);
    T* ga = da ? da->data<T>() : nullptr;
    T* gb = db ? db->data<T>() : nullptr;
    if (a.device().is_cuda())
      cuda::binary_backward<T>(op, ga, gb, dout.data<T>(), a.data<T>(), b.data<T>(), bc.outer,
                               bc.inner, bc.a_full, bc.b_full, s);
    else
      binary_backward_cpu<T>(op, ga, gb, dout.data<T>(), a.data<T>(), b.data<T>(), bc.outer,
                             bc.inner, bc.a_full, bc.b_full);
    return 0;
  });
}

}  // namespace rsnn::kernels
