// The dense-kernel parity cases, included once by test_dense_kernels.cpp (its harness runs
// them): each case states its inputs, outputs and how to run one implementation. Adding an
// op = adding a case here.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "kernels/copy_columns.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"

namespace rsnn::dense_cases {

namespace k = rsnn::kernels;

using Sizes = std::vector<int64_t>;
using Ins = std::vector<Tensor>;
using Outs = std::vector<Tensor>;
enum class Impl { ref, cpu, cuda };

struct Input {
  Shape shape;
  double lo = -2, hi = 2;  // uniform range of a float input
  int64_t classes = 0;     // > 0: int64 labels, uniform in [0, classes)
};
struct Output {
  Shape shape;
  bool index = false;  // int64 output (compared exactly)
};

struct Case {
  std::string name;
  std::vector<Sizes> sizes;  // each entry: the size parameters one run uses
  std::function<std::vector<Input>(const Sizes&)> inputs;
  std::function<std::vector<Output>(const Sizes&)> outputs;
  // Runs one implementation; outs are allocated (with their starting values), ins given.
  std::function<void(Impl, Outs&, const Ins&, const Sizes&)> run;
  double atol32 = 1e-5, rtol32 = 2e-5;  // float32 results vs the float64 reference
};

// gtest prints a parameter by this (else as raw bytes).
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

template <class F>
void typed(const Tensor& t, F&& f) {
  dispatch_float(t.dtype(), "test", [&](auto tag) {
    f(tag);
    return 0;
  });
}
template <class T>
T* P(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
const int64_t* L(const Tensor& t) { return t.data<int64_t>(); }

// ---- the cases -------------------------------------------------------------------------

// Odd sizes, plus one above the OpenMP threshold (32768 elements).
const std::vector<Sizes> kFlatSizes = {{1}, {7}, {129}, {40001}};
const std::vector<Sizes> kRowSizes = {{1, 1}, {7, 9}, {129, 3}, {300, 129}, {65, 600}};

void add_linear_cases(std::vector<Case>& cs) {
  const std::vector<Sizes> sizes = {{1, 1, 1}, {7, 5, 3}, {129, 33, 17}, {300, 20, 129}, {3, 0, 2}};
  for (bool with_bias : {true, false}) {
    Case c;
    c.name = with_bias ? "linear_forward" : "linear_forward_nobias";
    c.sizes = sizes;
    c.inputs = [](const Sizes& z) {
      return std::vector<Input>{{{z[0], z[1]}}, {{z[2], z[1]}}, {{z[2]}}};
    };
    c.outputs = [](const Sizes& z) { return std::vector<Output>{{{z[0], z[2]}}}; };
    c.run = [with_bias](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
      const Tensor* bias = with_bias ? &in[2] : nullptr;
      if (impl != Impl::ref) return k::linear_forward(o[0], in[0], in[1], bias);
      typed(in[0], [&](auto tag) {
        using T = decltype(tag);
        k::linear_forward_ref(P<T>(o[0]), P<T>(in[0]), P<T>(in[1]), bias ? P<T>(*bias) : nullptr,
                              z[0], z[1], z[2]);
      });
    };
    c.atol32 = 1e-4;
    cs.push_back(c);
  }
  Case b;
  b.name = "linear_backward";
  b.sizes = sizes;
  b.inputs = [](const Sizes& z) {
    return std::vector<Input>{{{z[0], z[2]}}, {{z[0], z[1]}}, {{z[2], z[1]}}};  // dout, inp, W
  };
  b.outputs = [](const Sizes& z) {
    return std::vector<Output>{{{z[0], z[1]}}, {{z[2], z[1]}}, {{z[2]}}};  // dinp, dW, dbias
  };
  b.run = [](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
    if (impl != Impl::ref) return k::linear_backward(&o[0], &o[1], &o[2], in[0], in[1], in[2]);
    typed(in[0], [&](auto tag) {
      using T = decltype(tag);
      k::linear_backward_ref(P<T>(o[0]), P<T>(o[1]), P<T>(o[2]), P<T>(in[0]), P<T>(in[1]),
                             P<T>(in[2]), z[0], z[1], z[2]);
    });
  };
  b.atol32 = 3e-4;
  cs.push_back(b);

  // matmul: sizes {M, K, N, trans_a, trans_b, accumulate}
  Case m;
  m.name = "matmul";
  for (int64_t ta : {0, 1})
    for (int64_t tb : {0, 1})
      for (int64_t acc : {0, 1}) {
        m.sizes.push_back({7, 5, 3, ta, tb, acc});
        m.sizes.push_back({33, 129, 17, ta, tb, acc});
      }
  m.sizes.push_back({1, 1, 1, 0, 0, 0});
  m.sizes.push_back({3, 0, 2, 0, 0, 0});  // K = 0: c = 0 or unchanged
  m.sizes.push_back({3, 0, 2, 1, 1, 1});
  m.inputs = [](const Sizes& z) {
    const Shape a = z[3] ? Shape{z[1], z[0]} : Shape{z[0], z[1]};
    const Shape b = z[4] ? Shape{z[2], z[1]} : Shape{z[1], z[2]};
    return std::vector<Input>{{a}, {b}};
  };
  m.outputs = [](const Sizes& z) { return std::vector<Output>{{{z[0], z[2]}}}; };
  m.run = [](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
    if (impl != Impl::ref) return k::matmul(o[0], in[0], in[1], z[3], z[4], z[5]);
    typed(in[0], [&](auto tag) {
      using T = decltype(tag);
      k::matmul_ref(P<T>(o[0]), P<T>(in[0]), P<T>(in[1]), z[0], z[1], z[2], z[3], z[4], z[5]);
    });
  };
  m.atol32 = 3e-4;
  cs.push_back(m);

  // matvec: sizes {M, K, trans_a, accumulate}
  Case v;
  v.name = "matvec";
  for (int64_t ta : {0, 1})
    for (int64_t acc : {0, 1}) {
      v.sizes.push_back({7, 5, ta, acc});
      v.sizes.push_back({129, 33, ta, acc});
    }
  v.sizes.push_back({1, 1, 0, 0});
  v.sizes.push_back({3, 0, 0, 0});  // K = 0: y = 0 or unchanged
  v.sizes.push_back({3, 0, 1, 1});
  v.inputs = [](const Sizes& z) {
    return std::vector<Input>{{z[2] ? Shape{z[1], z[0]} : Shape{z[0], z[1]}}, {{z[1]}}};
  };
  v.outputs = [](const Sizes& z) { return std::vector<Output>{{{z[0]}}}; };
  v.run = [](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
    if (impl != Impl::ref) return k::matvec(o[0], in[0], in[1], z[2], z[3]);
    typed(in[0], [&](auto tag) {
      using T = decltype(tag);
      k::matvec_ref(P<T>(o[0]), P<T>(in[0]), P<T>(in[1]), z[0], z[1], z[2], z[3]);
    });
  };
  v.atol32 = 3e-4;
  cs.push_back(v);
}

struct UnarySpec {
  k::UnaryOp op;
  double lo, hi, p;
};
const std::vector<UnarySpec> kUnary = {{k::UnaryOp::neg, -3, 3, 0},
                                       {k::UnaryOp::exp, -3, 3, 0},
                                       {k::UnaryOp::log, 0.1, 3, 0},
                                       {k::UnaryOp::sigmoid, -8, 8, 0},
                                       {k::UnaryOp::tanh, -3, 3, 0},
                                       {k::UnaryOp::relu, -3, 3, 0},
                                       {k::UnaryOp::clipped_relu, -3, 3, 1.5},
                                       {k::UnaryOp::softplus, -10, 10, 0},
                                       {k::UnaryOp::square, -3, 3, 0},
                                       {k::UnaryOp::sqrt, 0.1, 3, 0},
                                       {k::UnaryOp::abs, -3, 3, 0},
                                       {k::UnaryOp::pow, 0.1, 3, 1.7},
                                       {k::UnaryOp::scale, -3, 3, -2.5},
                                       {k::UnaryOp::add_scalar, -3, 3, 0.75}};

void add_unary_cases(std::vector<Case>& cs) {
  for (const UnarySpec& u : kUnary) {
    Case f;
    f.name = std::string("unary_forward_") + k::unary_op_name(u.op);
    f.sizes = kFlatSizes;
    f.inputs = [u](const Sizes& z) { return std::vector<Input>{{{z[0]}, u.lo, u.hi}}; };
    f.outputs = [](const Sizes& z) { return std::vector<Output>{{{z[0]}}}; };
    f.run = [u](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
      if (impl != Impl::ref) return k::unary_forward(u.op, o[0], in[0], u.p);
      typed(in[0], [&](auto tag) {
        using T = decltype(tag);
        k::unary_forward_ref(u.op, P<T>(o[0]), P<T>(in[0]), z[0], T(u.p));
      });
    };
    cs.push_back(f);

    // dy, x, y (y drawn in the same range as x: the kernel's math does not need y = f(x)).
    Case b;
    b.name = std::string("unary_backward_") + k::unary_op_name(u.op);
    b.sizes = kFlatSizes;
    b.inputs = [u](const Sizes& z) {
      return std::vector<Input>{{{z[0]}}, {{z[0]}, u.lo, u.hi}, {{z[0]}, u.lo, u.hi}};
    };
    b.outputs = [](const Sizes& z) { return std::vector<Output>{{{z[0]}}}; };
    b.run = [u](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
      if (impl != Impl::ref) return k::unary_backward(u.op, o[0], in[0], in[1], in[2], u.p);
      typed(in[0], [&](auto tag) {
        using T = decltype(tag);
        k::unary_backward_ref(u.op, P<T>(o[0]), P<T>(in[0]), P<T>(in[1]), P<T>(in[2]), z[0],
                              T(u.p));
      });
    };
    cs.push_back(b);
  }
}

// Binary broadcast modes: 0 same shapes, 1 b is a row (inner), 2 a is a row, 3 b is [1].
struct Bcast {
  Shape a, b, out;
  int64_t outer, inner;
  bool a_full, b_full;
};
Bcast bcast(const Sizes& z) {
  const int64_t outer = z[0], inner = z[1], mode = z[2];
  Bcast r;
  const Shape full{outer, inner};
  r.a = mode == 2 ? Shape{inner} : full;
  r.b = mode == 1 ? Shape{inner} : mode == 3 ? Shape{1} : full;
  r.out = full;
  r.a_full = mode != 2;
  r.b_full = mode == 0 || mode == 2;
  r.inner = mode == 3 ? 1 : inner;
  r.outer = outer * inner / r.inner;
  if (mode == 0) {
    r.outer = 1;
    r.inner = outer * inner;
  }
  return r;
}

void add_binary_cases(std::vector<Case>& cs) {
  for (k::BinaryOp op : {k::BinaryOp::add, k::BinaryOp::sub, k::BinaryOp::mul, k::BinaryOp::div}) {
    std::vector<Sizes> sizes;
    for (int64_t mode = 0; mode < 4; ++mode)
      for (const Sizes& rc : kRowSizes) sizes.push_back({rc[0], rc[1], mode});
    const double blo = op == k::BinaryOp::div ? 0.5 : -2;
    Case f;
    f.name = std::string("binary_forward_") + k::binary_op_name(op);
    f.sizes = sizes;
    f.inputs = [blo](const Sizes& z) {
      const Bcast bc = bcast(z);
      return std::vector<Input>{{bc.a}, {bc.b, blo, 2}};
    };
    f.outputs = [](const Sizes& z) { return std::vector<Output>{{bcast(z).out}}; };
    f.run = [op](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
      if (impl != Impl::ref) return k::binary_forward(op, o[0], in[0], in[1]);
      const Bcast bc = bcast(z);
      typed(in[0], [&](auto tag) {
        using T = decltype(tag);
        k::binary_forward_ref(op, P<T>(o[0]), P<T>(in[0]), P<T>(in[1]), bc.outer, bc.inner,
                              bc.a_full, bc.b_full);
      });
    };
    cs.push_back(f);

    Case b;
    b.name = std::string("binary_backward_") + k::binary_op_name(op);
    b.sizes = sizes;
    b.inputs = [blo](const Sizes& z) {
      const Bcast bc = bcast(z);
      return std::vector<Input>{{bc.out}, {bc.a}, {bc.b, blo, 2}};
    };
    b.outputs = [](const Sizes& z) {
      const Bcast bc = bcast(z);
      return std::vector<Output>{{bc.a}, {bc.b}};
    };
    b.run = [op](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
      if (impl != Impl::ref) return k::binary_backward(op, &o[0], &o[1], in[0], in[1], in[2]);
      const Bcast bc = bcast(z);
      typed(in[0], [&](auto tag) {
        using T = decltype(tag);
        k::binary_backward_ref(op, P<T>(o[0]), P<T>(o[1]), P<T>(in[0]), P<T>(in[1]), P<T>(in[2]),
                               bc.outer, bc.inner, bc.a_full, bc.b_full);
      });
    };
    b.atol32 = 2e-3;  // broadcast gradients sum up to 38700 terms
    b.rtol32 = 1e-4;
    cs.push_back(b);
  }
}

void add_reduce_cases(std::vector<Case>& cs) {
  for (bool mean : {false, true}) {
    Case c;
    c.name = mean ? "mean_all" : "sum_all";
    c.sizes = kFlatSizes;
    c.inputs = [](const Sizes& z) { return std::vector<Input>{{{z[0]}}}; };
    c.outputs = [](const Sizes&) { return std::vector<Output>{{{1}}}; };
    c.run = [mean](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
      if (impl != Impl::ref) return mean ? k::mean_all(o[0], in[0]) : k::sum_all(o[0], in[0]);
      typed(in[0], [&](auto tag) {
        using T = decltype(tag);
        if (mean)
          k::mean_all_ref(P<T>(o[0]), P<T>(in[0]), z[0]);
        else
          k::sum_all_ref(P<T>(o[0]), P<T>(in[0]), z[0]);
      });
    };
    c.atol32 = 3e-3;  // float32 sums of up to 40001 values of size ~1
    c.rtol32 = 1e-4;
    cs.push_back(c);

    Case b;
    b.name = mean ? "mean_all_backward" : "sum_all_backward";
    b.sizes = kFlatSizes;
    b.inputs = [](const Sizes&) { return std::vector<Input>{{{1}}}; };
    b.outputs = [](const Sizes& z) { return std::vector<Output>{{{z[0]}}}; };
    b.run = [mean](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
      const double scale = mean ? 1.0 / static_cast<double>(z[0]) : 1.0;
      if (impl != Impl::ref) return k::sum_all_backward(o[0], {z[0]}, in[0], scale);
      typed(in[0], [&](auto tag) {
        using T = decltype(tag);
        k::sum_all_backward_ref(P<T>(o[0]), P<T>(in[0]), z[0], T(scale));
      });
    };
    cs.push_back(b);
  }

  // sum_leading: input (z0, z1, z2), keep the last z3 dims.
  Case sl;
  sl.name = "sum_leading";
  sl.sizes = {{1, 1, 1, 1},    {3, 5, 7, 1},     {2, 7, 9, 2}, {3, 100, 129, 1},
              {2, 33, 600, 1}, {2, 130, 129, 2}, {4, 5, 6, 3}};
  auto lead_shapes = [](const Sizes& z, Shape& in, Shape& out, int64_t& outer, int64_t& inner) {
    in = {z[0], z[1], z[2]};
    out = Shape(in.end() - z[3], in.end());
    inner = shape_numel(out);
    outer = shape_numel(in) / inner;
  };
  sl.inputs = [lead_shapes](const Sizes& z) {
    Shape in, out;
    int64_t o, i;
    lead_shapes(z, in, out, o, i);
    return std::vector<Input>{{in}};
  };
  sl.outputs = [lead_shapes](const Sizes& z) {
    Shape in, out;
    int64_t o, i;
    lead_shapes(z, in, out, o, i);
    return std::vector<Output>{{out}};
  };
  sl.run = [lead_shapes](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
    if (impl != Impl::ref) return k::sum_leading(o[0], in[0], static_cast<int>(z[3]));
    Shape is, os;
    int64_t outer, inner;
    lead_shapes(z, is, os, outer, inner);
    typed(in[0], [&](auto tag) {
      using T = decltype(tag);
      k::sum_leading_ref(P<T>(o[0]), P<T>(in[0]), outer, inner);
    });
  };
  sl.atol32 = 1e-4;
  cs.push_back(sl);

  Case slb = sl;
  slb.name = "sum_leading_backward";
  slb.inputs = [lead_shapes](const Sizes& z) {
    Shape in, out;
    int64_t o, i;
    lead_shapes(z, in, out, o, i);
    return std::vector<Input>{{out}};
  };
  slb.outputs = [lead_shapes](const Sizes& z) {
    Shape in, out;
    int64_t o, i;
    lead_shapes(z, in, out, o, i);
    return std::vector<Output>{{in}};
  };
  slb.run = [lead_shapes](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
    Shape is, os;
    int64_t outer, inner;
    lead_shapes(z, is, os, outer, inner);
    if (impl != Impl::ref) return k::sum_leading_backward(o[0], is, in[0]);
    typed(in[0], [&](auto tag) {
      using T = decltype(tag);
      k::sum_leading_backward_ref(P<T>(o[0]), P<T>(in[0]), outer, inner);
    });
  };
  slb.atol32 = 1e-5;
  cs.push_back(slb);

  Case s;
  s.name = "sum_last";
  s.sizes = kRowSizes;
  s.inputs = [](const Sizes& z) { return std::vector<Input>{{{z[0], z[1]}}}; };
  s.outputs = [](const Sizes& z) { return std::vector<Output>{{{z[0]}}}; };
  s.run = [](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
    if (impl != Impl::ref) return k::sum_last(o[0], in[0]);
    typed(in[0], [&](auto tag) {
      using T = decltype(tag);
      k::sum_last_ref(P<T>(o[0]), P<T>(in[0]), z[0], z[1]);
    });
  };
  s.atol32 = 1e-4;
  cs.push_back(s);

  Case sb = s;
  sb.name = "sum_last_backward";
  sb.inputs = [](const Sizes& z) { return std::vector<Input>{{{z[0]}}}; };
  sb.outputs = [](const Sizes& z) { return std::vector<Output>{{{z[0], z[1]}}}; };
  sb.run = [](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
    if (impl != Impl::ref) return k::sum_last_backward(o[0], {z[0], z[1]}, in[0]);
    typed(in[0], [&](auto tag) {
      using T = decltype(tag);
      k::sum_last_backward_ref(P<T>(o[0]), P<T>(in[0]), z[0], z[1]);
    });
  };
  sb.atol32 = 1e-5;
  cs.push_back(sb);

  Case mx;
  mx.name = "max_last";
  mx.sizes = kRowSizes;
  mx.inputs = [](const Sizes& z) { return std::vector<Input>{{{z[0], z[1]}}}; };
  mx.outputs = [](const Sizes& z) { return std::vector<Output>{{{z[0]}}, {{z[0]}, true}}; };
  mx.run = [](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
    if (impl != Impl::ref) return k::max_last(o[0], &o[1], in[0]);
    typed(in[0], [&](auto tag) {
      using T = decltype(tag);
      k::max_last_ref(P<T>(o[0]), o[1].data<int64_t>(), P<T>(in[0]), z[0], z[1]);
    });
  };
  mx.atol32 = 0;
  mx.rtol32 = 0;
  cs.push_back(mx);
}

const std::vector<Sizes> kSoftmaxSizes = {{1, 1}, {7, 10}, {129, 7}, {33, 1030}, {2, 3000}};

void add_softmax_cases(std::vector<Case>& cs) {
  for (bool log : {false, true}) {
    Case f;
    f.name = log ? "log_softmax_forward" : "softmax_forward";
    f.sizes = kSoftmaxSizes;
    f.inputs = [](const Sizes& z) { return std::vector<Input>{{{z[0], z[1]}, -6, 6}}; };
    f.outputs = [](const Sizes& z) { return std::vector<Output>{{{z[0], z[1]}}}; };
    f.run = [log](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
      if (impl != Impl::ref)
        return log ? k::log_softmax_forward(o[0], in[0]) : k::softmax_forward(o[0], in[0]);
      typed(in[0], [&](auto tag) {
        using T = decltype(tag);
        if (log)
          k::log_softmax_forward_ref(P<T>(o[0]), P<T>(in[0]), z[0], z[1]);
        else
          k::softmax_forward_ref(P<T>(o[0]), P<T>(in[0]), z[0], z[1]);
      });
    };
    cs.push_back(f);

    Case b;
    b.name = log ? "log_softmax_backward" : "softmax_backward";
    b.sizes = kSoftmaxSizes;
    // dy, y (y in the range of the forward's outputs: probabilities or log-probabilities)
    b.inputs = [log](const Sizes& z) {
      return std::vector<Input>{{{z[0], z[1]}}, {{z[0], z[1]}, log ? -8.0 : 0.0, log ? 0.0 : 1.0}};
    };
    b.outputs = [](const Sizes& z) { return std::vector<Output>{{{z[0], z[1]}}}; };
    b.run = [log](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
      if (impl != Impl::ref)
        return log ? k::log_softmax_backward(o[0], in[0], in[1])
                   : k::softmax_backward(o[0], in[0], in[1]);
      typed(in[0], [&](auto tag) {
        using T = decltype(tag);
        if (log)
          k::log_softmax_backward_ref(P<T>(o[0]), P<T>(in[0]), P<T>(in[1]), z[0], z[1]);
        else
          k::softmax_backward_ref(P<T>(o[0]), P<T>(in[0]), P<T>(in[1]), z[0], z[1]);
      });
    };
    b.atol32 = 2e-3;  // row sums of up to 3000 terms
    b.rtol32 = 1e-4;
    cs.push_back(b);
  }
}

void add_loss_cases(std::vector<Case>& cs) {
  const std::vector<Sizes> sizes = {{1, 1}, {7, 10}, {129, 7}, {40, 1030}};
  Case f;
  f.name = "cross_entropy_forward";
  f.sizes = sizes;
  f.inputs = [](const Sizes& z) {
    return std::vector<Input>{{{z[0], z[1]}, -6, 6}, {{z[0]}, 0, 0, z[1]}};
  };
  f.outputs = [](const Sizes& z) { return std::vector<Output>{{{1}}, {{z[0]}}}; };
  f.run = [](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
    if (impl != Impl::ref) return k::cross_entropy_forward(o[0], &o[1], in[0], in[1]);
    typed(in[0], [&](auto tag) {
      using T = decltype(tag);
      k::cross_entropy_forward_ref(P<T>(o[0]), P<T>(o[1]), P<T>(in[0]), L(in[1]), z[0], z[1]);
    });
  };
  f.atol32 = 2e-5;
  cs.push_back(f);

  Case b;
  b.name = "cross_entropy_backward";
  b.sizes = sizes;
  // dloss, logits, lse, labels
  b.inputs = [](const Sizes& z) {
    return std::vector<Input>{
        {{1}, 0.5, 2}, {{z[0], z[1]}, -3, 3}, {{z[0]}, 0, 3}, {{z[0]}, 0, 0, z[1]}};
  };
  b.outputs = [](const Sizes& z) { return std::vector<Output>{{{z[0], z[1]}}}; };
  b.run = [](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
    if (impl != Impl::ref) return k::cross_entropy_backward(o[0], in[0], in[1], in[2], in[3]);
    typed(in[0], [&](auto tag) {
      using T = decltype(tag);
      k::cross_entropy_backward_ref(P<T>(o[0]), P<T>(in[0]), P<T>(in[1]), P<T>(in[2]), L(in[3]),
                                    z[0], z[1]);
    });
  };
  cs.push_back(b);

  Case m;
  m.name = "mse_forward";
  m.sizes = kFlatSizes;
  m.inputs = [](const Sizes& z) { return std::vector<Input>{{{z[0]}}, {{z[0]}}}; };
  m.outputs = [](const Sizes&) { return std::vector<Output>{{{1}}}; };
  m.run = [](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
    if (impl != Impl::ref) return k::mse_forward(o[0], in[0], in[1]);
    typed(in[0], [&](auto tag) {
      using T = decltype(tag);
      k::mse_forward_ref(P<T>(o[0]), P<T>(in[0]), P<T>(in[1]), z[0]);
    });
  };
  m.atol32 = 1e-5;
  m.rtol32 = 1e-4;
  cs.push_back(m);

  Case mb;
  mb.name = "mse_backward";
  mb.sizes = kFlatSizes;
  mb.inputs = [](const Sizes& z) { return std::vector<Input>{{{1}, 0.5, 2}, {{z[0]}}, {{z[0]}}}; };
  mb.outputs = [](const Sizes& z) { return std::vector<Output>{{{z[0]}}, {{z[0]}}}; };
  mb.run = [](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
    if (impl != Impl::ref) return k::mse_backward(&o[0], &o[1], in[0], in[1], in[2]);
    typed(in[0], [&](auto tag) {
      using T = decltype(tag);
      k::mse_backward_ref(P<T>(o[0]), P<T>(o[1]), P<T>(in[0]), P<T>(in[1]), P<T>(in[2]), z[0]);
    });
  };
  cs.push_back(mb);
}

void add_copy_cases(std::vector<Case>& cs) {
  // {rows, src_cols, dst_cols, src_col, dst_col, width}
  Case c;
  c.name = "copy_columns";
  c.sizes = {
      {1, 1, 1, 0, 0, 1}, {7, 5, 9, 1, 3, 4}, {129, 3, 10, 0, 7, 3}, {400, 130, 129, 1, 0, 129}};
  c.inputs = [](const Sizes& z) { return std::vector<Input>{{{z[0], z[1]}}}; };
  c.outputs = [](const Sizes& z) { return std::vector<Output>{{{z[0], z[2]}}}; };
  c.run = [](Impl impl, Outs& o, const Ins& in, const Sizes& z) {
    if (impl != Impl::ref) return k::copy_columns(o[0], z[4], in[0], z[3], z[5]);
    const size_t elem = dtype_size(in[0].dtype());
    k::copy_columns_ref(static_cast<char*>(o[0].raw()) + z[4] * elem, z[2],
                        static_cast<const char*>(in[0].raw()) + z[3] * elem, z[1], z[0], z[5],
                        elem);
  };
  c.atol32 = 0;
  c.rtol32 = 0;
  cs.push_back(c);
}

std::vector<Case> all_cases() {
  std::vector<Case> cs;
  add_linear_cases(cs);
  add_unary_cases(cs);
  add_binary_cases(cs);
  add_reduce_cases(cs);
  add_softmax_cases(cs);
  add_loss_cases(cs);
  add_copy_cases(cs);
  return cs;
}

}  // namespace rsnn::dense_cases
