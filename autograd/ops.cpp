#include "autograd/ops.h"

#include "kernels/copy_columns.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"

namespace rsnn::ag {

namespace k = rsnn::kernels;
using Grads = std::vector<Tensor>;

namespace {

// A backward must never hand the engine one tensor twice, nor a tensor something else
// still holds: the engine adds later contributions into it in place. So gradients are
// fresh tensors, or the (uniquely owned) output gradient passed on once.

// ---- element-wise ----

Var unary(k::UnaryOp op, const Var& a, double p) {
  Tensor y;
  k::unary_forward(op, y, a.value(), p);
  if (!will_record({a})) return Var(y);
  const k::UnaryUses uses = k::unary_backward_uses(op);
  const Tensor x = uses == k::UnaryUses::input ? a.value() : Tensor();
  const Tensor yy = uses == k::UnaryUses::output ? y : Tensor();
  return record1(k::unary_op_name(op), {a}, y, [op, p, x, yy](const Grads& g) {
    Tensor dx;
    k::unary_backward(op, dx, g[0], x, yy, p);
    return Grads{dx};
  });
}

// g summed down to `shape` (a suffix of g's shape after leading 1s, same numel or fewer).
// Returns g itself when the shapes agree and `may_return_g`, else a fresh tensor.
Tensor sum_to(const Tensor& g, const Shape& shape, bool may_return_g) {
  const int64_t inner = shape_numel(shape);
  if (inner == g.numel()) return may_return_g ? g.reshape(shape) : g.clone().reshape(shape);
  Tensor out;
  k::sum_leading(out, g.reshape({g.numel() / inner, inner}), 1);
  return out.reshape(shape);
}

Var add_or_sub(bool subtract, const Var& a, const Var& b) {
  const k::BinaryOp op = subtract ? k::BinaryOp::sub : k::BinaryOp::add;
  Tensor out;
  k::binary_forward(op, out, a.value(), b.value());
  if (!will_record({a, b})) return Var(out);
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  const Shape sa = a.shape(), sb = b.shape();
  return record1(subtract ? "sub" : "add", {a, b}, out,
                 [subtract, need_a, need_b, sa, sb](const Grads& g) {
                   Grads d(2);
                   if (need_a) d[0] = sum_to(g[0], sa, true);
                   if (need_b) {
                     const bool g_taken = need_a && d[0].raw() == g[0].raw();
                     d[1] = sum_to(g[0], sb, !g_taken);
                     if (subtract) k::unary_forward(k::UnaryOp::neg, d[1], d[1]);
                   }
                   return d;
                 });
}

Var mul_or_div(k::BinaryOp op, const Var& a, const Var& b) {
  Tensor out;
  k::binary_forward(op, out, a.value(), b.value());
  if (!will_record({a, b})) return Var(out);
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  const Tensor av = a.value(), bv = b.value();
  return record1(k::binary_op_name(op), {a, b}, out, [op, need_a, need_b, av, bv](const Grads& g) {
    Grads d(2);
    k::binary_backward(op, need_a ? &d[0] : nullptr, need_b ? &d[1] : nullptr, g[0], av, bv);
    return d;
  });
}

// ---- softmax family ----

Var softmax_like(bool log, const Var& x) {
  Tensor y;
  if (log)
    k::log_softmax_forward(y, x.value());
  else
    k::softmax_forward(y, x.value());
  if (!will_record({x})) return Var(y);
  return record1(log ? "log_softmax" : "softmax", {x}, y, [log, y](const Grads& g) {
    Tensor dx;
    if (log)
      k::log_softmax_backward(dx, g[0], y);
    else
      k::softmax_backward(dx, g[0], y);
    return Grads{dx};
  });
}

void check_same_kind(const std::vector<Var>& xs, const char* what) {
  RSNN_CHECK(!xs.empty(), what, ": no inputs");
  for (size_t i = 1; i < xs.size(); ++i) {
    RSNN_CHECK(xs[i].dtype() == xs[0].dtype() && xs[i].device() == xs[0].device(), what, ": input ",
               i, " is ", xs[i].value().describe(), ", input 0 is ", xs[0].value().describe());
  }
}

}  // namespace

// ---- element-wise ----------------------------------------------------------------------

Var add(const Var& a, const Var& b) { return add_or_sub(false, a, b); }
Var sub(const Var& a, const Var& b) { return add_or_sub(true, a, b); }
Var mul(const Var& a, const Var& b) { return mul_or_div(k::BinaryOp::mul, a, b); }
Var div(const Var& a, const Var& b) { return mul_or_div(k::BinaryOp::div, a, b); }
Var scale(const Var& a, double s) { return unary(k::UnaryOp::scale, a, s); }
Var add_scalar(const Var& a, double s) { return unary(k::UnaryOp::add_scalar, a, s); }
Var neg(const Var& a) { return unary(k::UnaryOp::neg, a, 0); }
Var exp(const Var& a) { return unary(k::UnaryOp::exp, a, 0); }
Var log(const Var& a) { return unary(k::UnaryOp::log, a, 0); }
Var sigmoid(const Var& a) { return unary(k::UnaryOp::sigmoid, a, 0); }
Var tanh(const Var& a) { return unary(k::UnaryOp::tanh, a, 0); }
Var relu(const Var& a) { return unary(k::UnaryOp::relu, a, 0); }
Var clipped_relu(const Var& a, double cap) {
  RSNN_CHECK(cap >= 0, "clipped_relu: negative cap ", cap);
  return unary(k::UnaryOp::clipped_relu, a, cap);
}
Var softplus(const Var& a) { return unary(k::UnaryOp::softplus, a, 0); }
Var square(const Var& a) { return unary(k::UnaryOp::square, a, 0); }
Var sqrt(const Var& a) { return unary(k::UnaryOp::sqrt, a, 0); }
Var abs(const Var& a) { return unary(k::UnaryOp::abs, a, 0); }
Var pow_scalar(const Var& a, double p) { return unary(k::UnaryOp::pow, a, p); }

// ---- reductions ------------------------------------------------------------------------

Var sum(const Var& a) {
  Tensor out;
  k::sum_all(out, a.value());
  if (!will_record({a})) return Var(out);
  const Shape s = a.shape();
  return record1("sum", {a}, out, [s](const Grads& g) {
    Tensor d;
    k::sum_all_backward(d, s, g[0], 1.0);
    return Grads{d};
  });
}

Var mean(const Var& a) {
  Tensor out;
  k::mean_all(out, a.value());
  if (!will_record({a})) return Var(out);
  const Shape s = a.shape();
  const double scale = 1.0 / static_cast<double>(shape_numel(s));
  return record1("mean", {a}, out, [s, scale](const Grads& g) {
    Tensor d;
    k::sum_all_backward(d, s, g[0], scale);
    return Grads{d};
  });
}

Var sum_leading(const Var& a, int keep_dims) {
  Tensor out;
  k::sum_leading(out, a.value(), keep_dims);
  if (!will_record({a})) return Var(out);
  const Shape s = a.shape();
  return record1("sum_leading", {a}, out, [s](const Grads& g) {
    Tensor d;
    k::sum_leading_backward(d, s, g[0]);
    return Grads{d};
  });
}

Var sum_last(const Var& a) {
  Tensor out;
  k::sum_last(out, a.value());
  if (!will_record({a})) return Var(out);
  const Shape s = a.shape();
  return record1("sum_last", {a}, out, [s](const Grads& g) {
    Tensor d;
    k::sum_last_backward(d, s, g[0]);
    return Grads{d};
  });
}

// ---- products --------------------------------------------------------------------------

Var linear(const Var& x, const Var& weight, const Var& bias) {
  Tensor out;
  k::linear_forward(out, x.value(), weight.value(), bias.defined() ? &bias.value() : nullptr);
  std::vector<Var> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  if (!will_record(inputs)) return Var(out);
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  // dx needs the weight, dweight needs x.
  const Tensor xv = need_w ? x.value() : Tensor(), wv = need_x ? weight.value() : Tensor();
  const Shape x_shape = x.shape();
  const size_t n_inputs = inputs.size();
  return record1("linear", inputs, out, [=](const Grads& g) {
    Grads d(n_inputs);
    Tensor db;
    if (need_x || need_w)
      k::linear_backward(need_x ? &d[0] : nullptr, need_w ? &d[1] : nullptr,
                         need_b ? &db : nullptr, g[0], xv, wv);
    else  // only the bias: its gradient is the column sum of g
      k::sum_leading(db, g[0].reshape({-1, g[0].shape().back()}), 1);
    if (need_x) d[0] = d[0].reshape(x_shape);
    if (need_b) d[2] = db;
    return d;
  });
}

Var matmul(const Var& a, const Var& b) {
  Tensor out;
  k::matmul(out, a.value(), b.value());
  if (!will_record({a, b})) return Var(out);
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  const Tensor av = need_b ? a.value() : Tensor(), bv = need_a ? b.value() : Tensor();
  return record1("matmul", {a, b}, out, [need_a, need_b, av, bv](const Grads& g) {
    Grads d(2);
    if (need_a) k::matmul(d[0], g[0], bv, false, true);  // dA = dC B^T
    if (need_b) k::matmul(d[1], av, g[0], true, false);  // dB = A^T dC
    return d;
  });
}

// ---- softmax and losses ----------------------------------------------------------------

Var softmax(const Var& x) { return softmax_like(false, x); }
Var log_softmax(const Var& x) { return softmax_like(true, x); }

Var cross_entropy(const Var& logits, const Tensor& labels) {
  RSNN_CHECK(labels.defined(), "cross_entropy: labels are undefined");
  const Tensor lab = labels.to(logits.device());
  Tensor loss, lse;
  k::cross_entropy_forward(loss, &lse, logits.value(), lab);
  if (!will_record({logits})) return Var(loss);
  const Tensor lv = logits.value();
  return record1("cross_entropy", {logits}, loss, [lv, lse, lab](const Grads& g) {
    Tensor d;
    k::cross_entropy_backward(d, g[0], lv, lse, lab);
    return Grads{d};
  });
}

Var mse(const Var& a, const Var& b) {
  Tensor loss;
  k::mse_forward(loss, a.value(), b.value());
  if (!will_record({a, b})) return Var(loss);
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  const Tensor av = a.value(), bv = b.value();
  return record1("mse", {a, b}, loss, [need_a, need_b, av, bv](const Grads& g) {
    Grads d(2);
    k::mse_backward(need_a ? &d[0] : nullptr, need_b ? &d[1] : nullptr, g[0], av, bv);
    return d;
  });
}

// ---- shapes ----------------------------------------------------------------------------

Var reshape(const Var& a, const Shape& s) {
  const Tensor out = a.value().reshape(s);
  if (!will_record({a})) return Var(out);
  const Shape in_shape = a.shape();
  return record1("reshape", {a}, out,
                 [in_shape](const Grads& g) { return Grads{g[0].reshape(in_shape)}; });
}

Var concat_last(const std::vector<Var>& xs) {
  check_same_kind(xs, "concat_last");
  Shape out_shape = xs[0].shape();
  RSNN_CHECK(!out_shape.empty(), "concat_last: input 0 is a scalar");
  std::vector<int64_t> offsets;
  int64_t width = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Shape& s = xs[i].shape();
    RSNN_CHECK(
        s.size() == out_shape.size() && std::equal(s.begin(), s.end() - 1, out_shape.begin()),
        "concat_last: input ", i, " has shape ", shape_str(s), ", input 0 has ",
        shape_str(out_shape), " (all but the last dim must agree)");
    offsets.push_back(width);
    width += s.back();
  }
  out_shape.back() = width;
  Tensor out = Tensor::empty(out_shape, xs[0].dtype(), xs[0].device());
  for (size_t i = 0; i < xs.size(); ++i)
    k::copy_columns(out, offsets[i], xs[i].value(), 0, xs[i].shape().back());
  if (!will_record(xs)) return Var(out);
  std::vector<Shape> shapes;
  std::vector<bool> need;
  for (const Var& x : xs) {
    shapes.push_back(x.shape());
    need.push_back(x.requires_grad());
  }
  return record1("concat_last", xs, out, [shapes, need, offsets](const Grads& g) {
    Grads d(shapes.size());
    for (size_t i = 0; i < shapes.size(); ++i) {
      if (!need[i]) continue;
      d[i] = Tensor::empty(shapes[i], g[0].dtype(), g[0].device());
      k::copy_columns(d[i], 0, g[0], offsets[i], shapes[i].back());
    }
    return d;
  });
}

Var slice_last(const Var& a, int64_t start, int64_t len) {
  RSNN_CHECK(a.value().ndim() >= 1, "slice_last: input is a scalar");
  const Shape in_shape = a.shape();
  RSNN_CHECK(start >= 0 && len >= 0 && start + len <= in_shape.back(), "slice_last: columns [",
             start, ", ", start + len, ") out of range for ", a.value().describe());
  Shape out_shape = in_shape;
  out_shape.back() = len;
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  k::copy_columns(out, 0, a.value(), start, len);
  if (!will_record({a})) return Var(out);
  return record1("slice_last", {a}, out, [in_shape, start, len](const Grads& g) {
    Tensor d = Tensor::zeros(in_shape, g[0].dtype(), g[0].device());
    k::copy_columns(d, start, g[0], 0, len);
    return Grads{d};
  });
}

Var concat0(const std::vector<Var>& xs) {
  check_same_kind(xs, "concat0");
  Shape out_shape = xs[0].shape();
  RSNN_CHECK(!out_shape.empty(), "concat0: input 0 is a scalar");
  std::vector<int64_t> rows;
  int64_t total = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Shape& s = xs[i].shape();
    RSNN_CHECK(
        s.size() == out_shape.size() && std::equal(s.begin() + 1, s.end(), out_shape.begin() + 1),
        "concat0: input ", i, " has shape ", shape_str(s), ", input 0 has ", shape_str(out_shape),
        " (all but dim 0 must agree)");
    rows.push_back(s[0]);
    total += s[0];
  }
  out_shape[0] = total;
  Tensor out = Tensor::empty(out_shape, xs[0].dtype(), xs[0].device());
  int64_t at = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    Tensor part = out.narrow0(at, rows[i]);
    part.copy_from(xs[i].value());
    at += rows[i];
  }
  if (!will_record(xs)) return Var(out);
  std::vector<bool> need;
  for (const Var& x : xs) need.push_back(x.requires_grad());
  return record1("concat0", xs, out, [rows, need](const Grads& g) {
    Grads d(rows.size());
    int64_t at = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (need[i]) d[i] = g[0].narrow0(at, rows[i]).clone();
      at += rows[i];
    }
    return d;
  });
}

Var narrow0(const Var& a, int64_t start, int64_t len) {
  const Tensor out = a.value().narrow0(start, len);
  if (!will_record({a})) return Var(out);
  const Shape in_shape = a.shape();
  return record1("narrow0", {a}, out, [in_shape, start, len](const Grads& g) {
    Tensor d = Tensor::zeros(in_shape, g[0].dtype(), g[0].device());
    Tensor part = d.narrow0(start, len);
    part.copy_from(g[0]);
    return Grads{d};
  });
}

}  // namespace rsnn::ag
