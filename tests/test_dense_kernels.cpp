// Every dense kernel, one fixture: each case states its inputs, outputs and how to run one
// implementation; the harness runs the CPU reference in float64 (the expected values), then
// the reference and the optimized CPU path in float32 (tolerance stated per case) and the
// optimized path in float64 (tight tolerance), and the CUDA path in both when a device is
// usable. Outputs start from random values (so an accumulating kernel that overwrites, or
// an overwriting kernel that accumulates, fails), are followed by guard values that must
// stay untouched, and must hold no NaN. Adding an op = adding a case.
#include <cblas.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "kernels/copy_columns.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"
#include "runtime/philox.h"
#include "runtime/random.h"
#include "runtime/fp_mode.h"
#include "runtime/threads.h"
#include "test_util.h"

using namespace rsnn;
namespace k = rsnn::kernels;

using rsnn::test::expect_error;

namespace {

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

constexpr double kAtol64 = 1e-9, kRtol64 = 1e-9;  // float64 results vs the float64 reference
constexpr int64_t kGuard = 16;
constexpr double kSentinel = -7777.0;  // exact in float32, float64 and int64

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

// ---- inputs and guarded outputs --------------------------------------------------------

// Uniform values on [lo, hi), drawn serially (the harness itself starts no OpenMP threads:
// on a loaded 2-core machine every parallel region costs a scheduler slice).
std::vector<double> uniform(int64_t n, uint64_t seed, uint64_t stream, double lo, double hi) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] =
        lo + (hi - lo) * philox::uniform_f64(seed, stream, static_cast<uint64_t>(i));
  return v;
}

// Float inputs are drawn in float64 and rounded through float32, so every precision sees
// the same values.
Ins make_inputs(const std::vector<Input>& spec, uint64_t seed) {
  Ins in;
  for (size_t i = 0; i < spec.size(); ++i) {
    const int64_t n = shape_numel(spec[i].shape);
    if (spec[i].classes > 0) {
      const std::vector<double> v = uniform(n, seed, i, 0.0, static_cast<double>(spec[i].classes));
      std::vector<int64_t> lab(v.size());
      for (size_t j = 0; j < v.size(); ++j)
        lab[j] = std::min<int64_t>(spec[i].classes - 1, static_cast<int64_t>(v[j]));
      in.push_back(Tensor::from_vector(lab, spec[i].shape));
    } else {
      const Tensor t =
          Tensor::from_vector(uniform(n, seed, i, spec[i].lo, spec[i].hi), spec[i].shape);
      in.push_back(t.to_dtype(DType::f32).to_dtype(DType::f64));
    }
  }
  return in;
}

Ins convert(const Ins& in64, DType t, Device d) {
  Ins out;
  for (const Tensor& x : in64)
    out.push_back(is_floating(x.dtype()) ? x.to_dtype(t).to(d) : x.to(d));
  return out;
}

// Starting values of the outputs (float64, or int64 -1 for index outputs).
Ins make_inits(const std::vector<Output>& spec, uint64_t seed) {
  Ins out;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i].index) {
      out.push_back(Tensor::full(spec[i].shape, -1.0, DType::i64));
    } else {
      const Tensor t = Tensor::from_vector(
          uniform(shape_numel(spec[i].shape), seed, 100 + i, -1, 1), spec[i].shape);
      out.push_back(t.to_dtype(DType::f32).to_dtype(DType::f64));
    }
  }
  return out;
}

struct Guarded {
  Tensor flat;  // n + kGuard values on the device
  Tensor view;  // the first n, in the output's shape
};

Guarded guarded(const Tensor& init64, bool index, DType t, Device d) {
  const int64_t n = init64.numel();
  const DType dt = index ? DType::i64 : t;
  std::vector<double> v = init64.to_vector<double>();
  v.resize(static_cast<size_t>(n + kGuard), kSentinel);
  Tensor flat = Tensor::from_vector(v).to_dtype(dt).to(d);
  return {flat, flat.narrow0(0, n).reshape(init64.shape())};
}

// Runs one implementation; checks the guards; returns every output as float64 values.
std::vector<std::vector<double>> run_impl(const Case& c, const Sizes& z, Impl impl, DType t,
                                          Device d, const Ins& in64, const Ins& init64,
                                          const std::vector<Output>& out_spec,
                                          const std::string& label) {
  Ins in = convert(in64, t, d);
  std::vector<Guarded> g;
  Outs views;
  for (size_t i = 0; i < init64.size(); ++i) {
    g.push_back(guarded(init64[i], out_spec[i].index, t, d));
    views.push_back(g.back().view);
  }
  c.run(impl, views, in, z);
  synchronize(d);
  std::vector<std::vector<double>> res;
  for (size_t i = 0; i < g.size(); ++i) {
    std::vector<double> all = g[i].flat.to_vector<double>();
    const size_t n = all.size() - kGuard;
    for (size_t j = n; j < all.size(); ++j)
      EXPECT_EQ(all[j], kSentinel) << label << ": output " << i << " guard value " << j - n
                                   << " overwritten (out-of-bounds write)";
    EXPECT_EQ(views[i].raw(), g[i].view.raw()) << label << ": output " << i << " reallocated";
    all.resize(n);
    res.push_back(all);
  }
  return res;
}

void expect_close(const std::vector<std::vector<double>>& got,
                  const std::vector<std::vector<double>>& want, double atol, double rtol,
                  const std::string& label) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t o = 0; o < got.size(); ++o) {
    ASSERT_EQ(got[o].size(), want[o].size()) << label;
    int failures = 0;
    for (size_t i = 0; i < got[o].size() && failures < 5; ++i) {
      const double g = got[o][i], w = want[o][i];
      if (std::isnan(g)) {
        ADD_FAILURE() << label << ": output " << o << "[" << i << "] is NaN (expected " << w << ")";
        ++failures;
      } else if (std::fabs(g - w) > atol + rtol * std::fabs(w)) {
        ADD_FAILURE() << label << ": output " << o << "[" << i << "] = " << g << ", expected " << w
                      << " (diff " << std::fabs(g - w) << ", atol " << atol << ", rtol " << rtol
                      << ")";
        ++failures;
      }
    }
  }
}

std::string sizes_str(const Sizes& z) {
  std::string s = "(";
  for (size_t i = 0; i < z.size(); ++i) s += (i ? "," : "") + std::to_string(z[i]);
  return s + ")";
}

void check_case(const Case& c, bool cuda) {
  uint64_t seed = 1;
  for (const Sizes& z : c.sizes) {
    const std::vector<Output> out_spec = c.outputs(z);
    const Ins in64 = make_inputs(c.inputs(z), seed);
    const Ins init64 = make_inits(out_spec, seed);
    ++seed;
    const std::string at = c.name + " " + sizes_str(z);
    const Device cpu = Device::cpu();
    const auto want =
        run_impl(c, z, Impl::ref, DType::f64, cpu, in64, init64, out_spec, at + " ref f64");
    for (const auto& o : want)
      for (double v : o) ASSERT_FALSE(std::isnan(v)) << at << ": the float64 reference gives NaN";
    if (!cuda) {
      expect_close(run_impl(c, z, Impl::ref, DType::f32, cpu, in64, init64, out_spec, at), want,
                   c.atol32, c.rtol32, at + " ref f32");
      expect_close(run_impl(c, z, Impl::cpu, DType::f32, cpu, in64, init64, out_spec, at), want,
                   c.atol32, c.rtol32, at + " cpu f32");
      expect_close(run_impl(c, z, Impl::cpu, DType::f64, cpu, in64, init64, out_spec, at), want,
                   kAtol64, kRtol64, at + " cpu f64");
    } else {
      const Device gpu = Device::cuda(0);
      expect_close(run_impl(c, z, Impl::cuda, DType::f32, gpu, in64, init64, out_spec, at), want,
                   c.atol32, c.rtol32, at + " cuda f32");
      expect_close(run_impl(c, z, Impl::cuda, DType::f64, gpu, in64, init64, out_spec, at), want,
                   kAtol64, kRtol64, at + " cuda f64");
    }
  }
}

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

class DenseKernel : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(DenseKernel, CpuMatchesReference) { check_case(GetParam(), false); }

TEST_P(DenseKernel, CudaMatchesReference) {
  RSNN_SKIP_WITHOUT_CUDA();
  check_case(GetParam(), true);
}

INSTANTIATE_TEST_SUITE_P(Ops, DenseKernel, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

// ---- argument checks -------------------------------------------------------------------

namespace {
Tensor f32(const Shape& s) { return Tensor::zeros(s, DType::f32); }
Tensor f64(const Shape& s) { return Tensor::zeros(s, DType::f64); }
}  // namespace

TEST(DenseKernelErrors, ShapesDtypesAndLabels) {
  Tensor out;
  expect_error([&] { k::linear_forward(out, f32({4, 3}), f32({2, 5}), nullptr); }, "expects K = 5");
  expect_error([&] { k::linear_forward(out, f32({4, 3}), f64({2, 3}), nullptr); }, "dtypes differ");
  Tensor bias = f32({3});
  expect_error([&] { k::linear_forward(out, f32({4, 3}), f32({2, 3}), &bias); }, "bias");
  Tensor wrong = f32({4, 7});
  expect_error(
      [&] {
        k::linear_forward(wrong, f32({4, 3}), f32({2, 3}), nullptr);
      },
      "out has shape [4, 7], expected [4, 2]");
  Tensor ints = Tensor::zeros({4, 3}, DType::i32);
  expect_error([&] { k::linear_forward(out, ints, f32({2, 3}), nullptr); }, "float32 or float64");
  Tensor dx;
  expect_error(
      [&] {
        k::linear_backward(&dx, nullptr, nullptr, f32({4, 2}), f32({4, 3}), f32({5, 3}));
      },
      "weight");

  Tensor c;
  expect_error([&] { k::matmul(c, f32({4, 3}), f32({4, 3})); }, "inner dimensions differ");
  Tensor y;
  expect_error([&] { k::matvec(y, f32({4, 3}), f32({4})); }, "x has 4 elements");
  expect_error([&] { k::matvec(y, f32({4, 3}), f32({3, 1})); }, "x a vector");
  expect_error(
      [&] {
        k::binary_forward(k::BinaryOp::add, out, f32({2, 3}), f32({2}));
      },
      "do not broadcast");
  expect_error(
      [&] {
        k::binary_forward(k::BinaryOp::mul, out, f32({3}), f32({2, 4}));
      },
      "do not broadcast");
  Tensor o2;
  EXPECT_NO_THROW(k::binary_forward(k::BinaryOp::add, o2, f32({3}), f32({2, 1, 3})));
  EXPECT_EQ(o2.shape(), (Shape{2, 1, 3}));
  expect_error([&] { k::unary_backward(k::UnaryOp::log, dx, f32({3}), f32({4}), Tensor()); }, "x");
  expect_error([&] { k::mean_all(out, f32({0})); }, "empty");
  expect_error([&] { k::sum_leading(out, f32({2, 3}), 3); }, "keep_dims 3 out of range");
  expect_error([&] { k::softmax_backward(dx, f32({2, 3}), f32({2, 4})); }, "y");
  expect_error([&] { k::mse_forward(out, f32({2, 3}), f32({3, 2})); }, "b");

  Tensor loss, lse;
  const Tensor logits = f32({2, 3});
  expect_error(
      [&] {
        k::cross_entropy_forward(loss, &lse, logits, Tensor::from_vector<int64_t>({0, 5}));
      },
      "label 5 of row 1 is outside [0, 3)");
  expect_error(
      [&] {
        k::cross_entropy_forward(loss, &lse, logits, Tensor::from_vector<int64_t>({-1, 0}));
      },
      "label -1 of row 0");
  expect_error(
      [&] {
        k::cross_entropy_forward(loss, &lse, logits, Tensor::from_vector<int32_t>({0, 1}));
      },
      "expected int64");
  expect_error(
      [&] { k::cross_entropy_forward(loss, &lse, logits, Tensor::from_vector<int64_t>({0})); },
      "labels");
  const int64_t bad[] = {0, 3};
  float l1[1], lse1[2];
  float lg[6] = {};
  expect_error([&] { k::cross_entropy_forward_cpu(l1, lse1, lg, bad, 2, 3); }, "label 3 of row 1");
  expect_error([&] { k::copy_columns(out = f32({2, 3}), 1, f32({2, 3}), 0, 3); }, "out of range");
}

TEST(DenseKernelErrors, CudaEntryPointsWithoutBackend) {
  if (cuda_compiled()) GTEST_SKIP() << "built with the CUDA backend";
  expect_error(
      [] { k::cuda::linear_forward<float>(nullptr, nullptr, nullptr, nullptr, 1, 1, 1, Stream{}); },
      "built without the CUDA backend");
  expect_error([] { k::cuda::softmax_forward<double>(nullptr, nullptr, 1, 1, Stream{}); },
               "built without the CUDA backend");
  expect_error([] { k::cuda::sum_all<float>(nullptr, nullptr, 1, Stream{}); },
               "built without the CUDA backend");
}

// The row max wins over NaN handling and -inf; argmax is the first maximum.
TEST(DenseKernelEdges, MaxLastTiesAndNaN) {
  const Tensor in = Tensor::from_vector<float>({1, 3, 3, -INFINITY, NAN, 2, NAN, 5, 0}, {3, 3});
  Tensor out, am;
  k::max_last(out, &am, in);
  const std::vector<float> v = out.to_vector<float>();
  EXPECT_EQ(v[0], 3.0f);
  EXPECT_TRUE(std::isnan(v[1]));
  EXPECT_TRUE(std::isnan(v[2]));
  EXPECT_EQ(am.to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0}));
}

// Large logits do not overflow: softmax and cross-entropy subtract the row max.
TEST(DenseKernelEdges, SoftmaxAndCrossEntropyAreStable) {
  const Tensor x = Tensor::from_vector<float>({1000, 1000, 999, -1000}, {1, 4});
  Tensor y, ly, loss, lse;
  k::softmax_forward(y, x);
  k::log_softmax_forward(ly, x);
  k::cross_entropy_forward(loss, &lse, x, Tensor::from_vector<int64_t>({2}));
  check_finite(y, "softmax");
  check_finite(ly, "log_softmax");
  const double e = std::exp(-1.0), z = 2 + e;
  EXPECT_NEAR(y.to_vector<float>()[0], 1 / z, 1e-6);
  EXPECT_NEAR(ly.to_vector<float>()[2], -1 - std::log(z), 1e-4);
  EXPECT_NEAR(loss.item<float>(), 1 + std::log(z), 1e-4);
  EXPECT_NEAR(lse.item<float>(), 1000 + std::log(z), 1e-3);
}

// Small products run on one OpenBLAS thread inside the guard; the count comes back after it,
// and the guard leaves it alone when not asked or inside an OpenMP parallel region.
// The CPU sums over many terms (all elements, leading dims: a bias gradient, the cross-entropy
// and MSE losses) split their terms into fixed chunks, not per thread, so they give the same
// bits on any thread count: sizes that take each path of cpu_detail::colsum_into (rows of
// 200 and 600 columns) and cpu_detail::chunked_sum.
TEST(DenseKernelThreads, SumsAreBitIdenticalForAnyThreadCount) {
  const int before = num_threads();
  const int64_t M = 6000;
  Tensor x = Tensor::empty({M, 600}, DType::f32), narrow = Tensor::empty({M, 200}, DType::f32);
  Tensor logits = Tensor::empty({M, 3}, DType::f32), labels = Tensor::empty({M}, DType::i64);
  fill_uniform(x, 7, 1, -1.0, 1.0);
  fill_uniform(narrow, 7, 3, -1.0, 1.0);
  fill_uniform(logits, 7, 2, -3.0, 3.0);
  for (int64_t m = 0; m < M; ++m) labels.data<int64_t>()[m] = m % 3;
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    Tensor all, lead_narrow, lead_wide, ce, mse;
    kernels::sum_all(all, x);
    kernels::sum_leading(lead_narrow, narrow, 1);
    kernels::sum_leading(lead_wide, x, 1);
    kernels::cross_entropy_forward(ce, nullptr, logits, labels);
    kernels::mse_forward(mse, x, Tensor::zeros({M, 600}, DType::f32));
    std::vector<float> r;
    for (const Tensor* t : {&all, &lead_narrow, &lead_wide, &ce, &mse})
      for (float v : t->to_vector<float>()) r.push_back(v);
    runs.push_back(r);
  }
  set_num_threads(before);
  for (size_t k = 1; k < runs.size(); ++k) {
    ASSERT_EQ(runs[k].size(), runs[0].size());
    for (size_t i = 0; i < runs[0].size(); ++i)
      ASSERT_EQ(runs[k][i], runs[0][i]) << "threads " << k + 1 << " vs 1, value " << i;
  }
  // and the values are the sums (against double)
  double total = 0;
  for (float v : x.to_vector<float>()) total += v;
  EXPECT_NEAR(runs[0][0], total, 1e-2);
}

TEST(BlasThreads, GuardRunsOneThreadAndRestores) {
  const int before = num_threads();
  set_num_threads(2);
  ASSERT_EQ(openblas_get_num_threads(), 2);
  {
    BlasThreadsGuard single(true);
    EXPECT_EQ(openblas_get_num_threads(), 1);
  }
  EXPECT_EQ(openblas_get_num_threads(), 2);
  {
    BlasThreadsGuard keep(false);
    EXPECT_EQ(openblas_get_num_threads(), 2);
  }
  int inside = 0;
#pragma omp parallel num_threads(2)
  {
#pragma omp single
    {
      BlasThreadsGuard in_team(true);
      inside = openblas_get_num_threads();
    }
  }
  EXPECT_EQ(inside, 2);
  set_num_threads(before);
}

// RowClaims: every row of a phase runs exactly once; a thread done with its share takes the
// end of a slow thread's share (thread 1 stalls 100 ms on its first row, so thread 0 runs the
// rest of thread 1's share from the back); shares are reset phase after phase.
TEST(RowClaims, EveryRowOnceAndIdleThreadsTakeOver) {
  constexpr int64_t i0 = 3, i1 = 203, mid = 99;  // shares [3, 99) and [99, 203), tiles of 8 from 3
  RowClaims claims(2);
  std::vector<std::atomic<int>> runs(i1);
  std::vector<std::atomic<int>> by(i1);
  bool team_of_two = false;
  std::atomic<bool> started{false};
  for (auto& r : runs) r = 0;
#pragma omp parallel num_threads(2)
  {
    const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
#pragma omp single
    team_of_two = nth == 2;
    for (int phase = 0; phase < 20; ++phase) {
      const int64_t a = tid == 0 ? i0 : mid, b = tid == 0 ? mid : i1;
      claims.run(tid, nth, i0, nth == 2 ? a : i0, nth == 2 ? b : i1, 8, [&](int64_t i) {
        if (phase == 0 && i == mid) {
          started = true;  // thread 1 has published its share
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (phase == 0 && i == mid - 1 && nth == 2)  // thread 0's last own row
          while (!started) std::this_thread::yield();
        runs[i] += 1;
        if (phase == 0) by[i] = tid;
      });
#pragma omp barrier
    }
  }
  for (int64_t i = 0; i < i1; ++i) EXPECT_EQ(runs[i].load(), i < i0 ? 0 : 20) << "row " << i;
  if (!team_of_two) GTEST_SKIP() << "OpenMP gave fewer than two threads";
  // thread 1 stalled inside its first tile [99, 107): thread 0 took the rest of its share
  for (int64_t i = mid; i < 107; ++i) EXPECT_EQ(by[i].load(), 1) << "row " << i;
  for (int64_t i = 107; i < i1; ++i) EXPECT_EQ(by[i].load(), 0) << "row " << i;
}

// The OpenBLAS kernel report: a core name; a coretype hint only when OpenBLAS fell back to
// its generic kernels, and then one that OpenBLAS knows.
TEST(BlasThreads, CoreNameAndCoretypeHint) {
  const std::string core = blas_core(), hint = blas_coretype_hint();
  EXPECT_FALSE(core.empty());
  if (core != "Prescott") {
    EXPECT_EQ(hint, "");
  }
  EXPECT_TRUE(hint.empty() || hint == "Cooperlake" || hint == "SkylakeX" || hint == "Haswell") << hint;
}

// FlushDenormals sets flush-to-zero for its scope and gives the thread its mode back.
TEST(FlushDenormals, SetsAndRestoresTheThreadsMode) {
  const bool before = FlushDenormals::active();
  volatile float tiny = 1e-30f;
  {
    const FlushDenormals ftz;
    if (!FlushDenormals::active()) GTEST_SKIP() << "no flush-to-zero mode on this CPU";
    EXPECT_EQ(tiny * 1e-10f, 0.0f);  // 1e-40 is denormal in float32: flushed
  }
  EXPECT_EQ(FlushDenormals::active(), before);
  if (!before) {
    EXPECT_GT(tiny * 1e-10f, 0.0f);
  }
}
