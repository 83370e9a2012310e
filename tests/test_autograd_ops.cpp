// The differentiable dense ops: every backward against finite differences in float64
// (ag::gradcheck), broadcasting included; a tampered backward must fail the same check; ops
// record only when needed; a tiny network trains with plain SGD; CUDA matches the CPU.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "kernels/elementwise.h"
#include "runtime/random.h"
#include "test_util.h"

using namespace rsnn;
using namespace rsnn::ag;

namespace {

Tensor rnd(const Shape& s, double lo = -2, double hi = 2, uint64_t stream = 0) {
  static uint64_t counter = 0;
  Tensor t = Tensor::empty(s, DType::f64);
  fill_uniform(t, 42, stream ? stream : ++counter, lo, hi);
  return t;
}

struct GradCase {
  std::string name;
  VarFn f;
  std::vector<Tensor> inputs;
};

std::vector<GradCase> cases() {
  std::vector<GradCase> cs;
  auto add = [&](std::string name, VarFn f, std::vector<Tensor> in) {
    cs.push_back({std::move(name), std::move(f), std::move(in)});
  };
  // ---- binary, with every broadcast form ----
  using Bin = Var (*)(const Var&, const Var&);
  const std::vector<std::pair<std::string, Bin>> bins = {
      {"add", &ag::add}, {"sub", &ag::sub}, {"mul", &ag::mul}, {"div", &ag::div}};
  for (const auto& [name, op] : bins) {
    const bool div = name == "div";
    const double lo = div ? 0.5 : -2;
    auto f = [op = op](const std::vector<Var>& v) { return op(v[0], v[1]); };
    add(name + " same shape", f, {rnd({3, 4}), rnd({3, 4}, lo, 2)});
    add(name + " b row", f, {rnd({3, 4}), rnd({4}, lo, 2)});
    add(name + " b [1,4]", f, {rnd({3, 4}), rnd({1, 4}, lo, 2)});
    add(name + " b scalar", f, {rnd({3, 4}), rnd({1}, lo, 2)});
    add(name + " a row", f, {rnd({4}), rnd({3, 4}, lo, 2)});
    add(name + " 3-D by 2-D", f, {rnd({2, 3, 4}), rnd({3, 4}, lo, 2)});
    add(name + " same Var twice", [op = op](const std::vector<Var>& v) { return op(v[0], v[0]); },
        {rnd({5}, 0.5, 2)});
  }
  // ---- unary (ranges keep away from kinks and poles) ----
  add("scale", [](const std::vector<Var>& v) { return scale(v[0], -1.7); }, {rnd({2, 5})});
  add("add_scalar", [](const std::vector<Var>& v) { return add_scalar(v[0], 0.3); }, {rnd({2, 5})});
  add("neg", [](const std::vector<Var>& v) { return neg(v[0]); }, {rnd({2, 5})});
  add("exp", [](const std::vector<Var>& v) { return ag::exp(v[0]); }, {rnd({2, 5})});
  add("log", [](const std::vector<Var>& v) { return ag::log(v[0]); }, {rnd({2, 5}, 0.3, 3)});
  add("sigmoid", [](const std::vector<Var>& v) { return sigmoid(v[0]); }, {rnd({2, 5}, -4, 4)});
  add("tanh", [](const std::vector<Var>& v) { return ag::tanh(v[0]); }, {rnd({2, 5})});
  add("relu", [](const std::vector<Var>& v) { return relu(v[0]); }, {rnd({2, 5})});
  add("clipped_relu", [](const std::vector<Var>& v) { return clipped_relu(v[0], 1.0); },
      {rnd({3, 5}, -1.5, 2.5)});
  add("softplus", [](const std::vector<Var>& v) { return softplus(v[0]); }, {rnd({2, 5}, -6, 6)});
  add("square", [](const std::vector<Var>& v) { return square(v[0]); }, {rnd({2, 5})});
  add("sqrt", [](const std::vector<Var>& v) { return ag::sqrt(v[0]); }, {rnd({2, 5}, 0.3, 3)});
  add("abs", [](const std::vector<Var>& v) { return ag::abs(v[0]); }, {rnd({2, 5})});
  add("pow_scalar", [](const std::vector<Var>& v) { return pow_scalar(v[0], 2.5); },
      {rnd({2, 5}, 0.3, 2)});
  // ---- reductions ----
  add("sum", [](const std::vector<Var>& v) { return sum(v[0]); }, {rnd({2, 3, 4})});
  add("mean", [](const std::vector<Var>& v) { return mean(v[0]); }, {rnd({2, 3, 4})});
  add("sum_leading keep 1", [](const std::vector<Var>& v) { return sum_leading(v[0], 1); },
      {rnd({2, 3, 4})});
  add("sum_leading keep 2", [](const std::vector<Var>& v) { return sum_leading(v[0], 2); },
      {rnd({2, 3, 4})});
  add("sum_last", [](const std::vector<Var>& v) { return sum_last(v[0]); }, {rnd({2, 3, 4})});
  add("sum_last 1-D", [](const std::vector<Var>& v) { return sum_last(v[0]); }, {rnd({5})});
  // ---- products ----
  add("linear", [](const std::vector<Var>& v) { return linear(v[0], v[1], v[2]); },
      {rnd({4, 3}), rnd({5, 3}), rnd({5})});
  add("linear no bias", [](const std::vector<Var>& v) { return linear(v[0], v[1]); },
      {rnd({4, 3}), rnd({5, 3})});
  add("linear 3-D input", [](const std::vector<Var>& v) { return linear(v[0], v[1], v[2]); },
      {rnd({2, 3, 4}), rnd({2, 4}), rnd({2})});
  add("matmul", [](const std::vector<Var>& v) { return matmul(v[0], v[1]); },
      {rnd({3, 4}), rnd({4, 2})});
  // ---- softmax and losses ----
  add("softmax", [](const std::vector<Var>& v) { return softmax(v[0]); }, {rnd({3, 5})});
  add("log_softmax", [](const std::vector<Var>& v) { return log_softmax(v[0]); }, {rnd({3, 5})});
  const Tensor labels = Tensor::from_vector<int64_t>({2, 0, 4, 4});
  add("cross_entropy", [labels](const std::vector<Var>& v) { return cross_entropy(v[0], labels); },
      {rnd({4, 5})});
  add("mse", [](const std::vector<Var>& v) { return mse(v[0], v[1]); }, {rnd({3, 4}), rnd({3, 4})});
  // ---- shapes ----
  add("reshape", [](const std::vector<Var>& v) { return reshape(v[0], {3, -1}); }, {rnd({2, 6})});
  add("concat_last",
      [](const std::vector<Var>& v) {
        return concat_last({v[0], v[1], v[2]});
      },
      {rnd({2, 3}), rnd({2, 1}), rnd({2, 4})});
  add("slice_last", [](const std::vector<Var>& v) { return slice_last(v[0], 1, 3); },
      {rnd({3, 5})});
  add("concat0",
      [](const std::vector<Var>& v) {
        return concat0({v[0], v[1]});
      },
      {rnd({2, 3}), rnd({1, 3})});
  add("narrow0", [](const std::vector<Var>& v) { return narrow0(v[0], 1, 2); }, {rnd({4, 3})});
  // ---- a composition: a 2-layer net with a cross-entropy loss ----
  add("two-layer net",
      [labels](const std::vector<Var>& v) {
        Var h = ag::tanh(linear(v[0], v[1], v[2]));
        return cross_entropy(linear(h, v[3]), labels);
      },
      {rnd({4, 3}), rnd({6, 3}), rnd({6}), rnd({5, 6})});
  return cs;
}

}  // namespace

TEST(AutogradOps, EveryBackwardMatchesFiniteDifferences) {
  for (const GradCase& c : cases()) {
    SCOPED_TRACE(c.name);
    GradCheckResult r = gradcheck(c.f, c.inputs);
    EXPECT_TRUE(r.ok) << c.name << ": " << r.report;
    EXPECT_GT(r.checked, 0) << c.name;
  }
}

// Ops keep only what the gradients they owe need: check each input alone.
TEST(AutogradOps, GradientsOfOneInputAtATime) {
  const std::vector<GradCase> partial = {
      {"linear", [](const std::vector<Var>& v) { return linear(v[0], v[1], v[2]); },
       {rnd({3, 4}), rnd({2, 4}), rnd({2})}},
      {"matmul", [](const std::vector<Var>& v) { return matmul(v[0], v[1]); },
       {rnd({3, 4}), rnd({4, 2})}},
      {"mul broadcast", [](const std::vector<Var>& v) { return mul(v[0], v[1]); },
       {rnd({3, 4}), rnd({4})}},
      {"sub broadcast", [](const std::vector<Var>& v) { return sub(v[0], v[1]); },
       {rnd({4}), rnd({3, 4})}},
      {"mse", [](const std::vector<Var>& v) { return mse(v[0], v[1]); }, {rnd({5}), rnd({5})}},
      {"concat_last", [](const std::vector<Var>& v) { return concat_last({v[0], v[1]}); },
       {rnd({2, 3}), rnd({2, 2})}},
  };
  for (const GradCase& c : partial) {
    for (size_t only = 0; only < c.inputs.size(); ++only) {
      GradCheckOptions opt;
      opt.wrt.assign(c.inputs.size(), false);
      opt.wrt[only] = true;
      GradCheckResult r = gradcheck(c.f, c.inputs, opt);
      EXPECT_TRUE(r.ok) << c.name << " wrt input " << only << ": " << r.report;
      EXPECT_EQ(r.checked, c.inputs[only].numel()) << c.name;
    }
  }
}

namespace {
// mul with a deliberately wrong backward (the gradient of a has its sign flipped).
Var tampered_mul(const Var& a, const Var& b) {
  Tensor out;
  kernels::binary_forward(kernels::BinaryOp::mul, out, a.value(), b.value());
  const Tensor av = a.value(), bv = b.value();
  return record1("tampered_mul", {a, b}, out, [av, bv](const std::vector<Tensor>& g) {
    std::vector<Tensor> d(2);
    kernels::binary_backward(kernels::BinaryOp::mul, &d[0], &d[1], g[0], av, bv);
    kernels::unary_forward(kernels::UnaryOp::neg, d[0], d[0]);
    return d;
  });
}
}  // namespace

TEST(AutogradOps, TamperedBackwardFailsGradcheck) {
  const std::vector<Tensor> in = {rnd({3, 4}), rnd({4})};
  GradCheckResult good = gradcheck([](const std::vector<Var>& v) { return mul(v[0], v[1]); }, in);
  EXPECT_TRUE(good.ok) << good.report;
  GradCheckResult bad =
      gradcheck([](const std::vector<Var>& v) { return tampered_mul(v[0], v[1]); }, in);
  EXPECT_FALSE(bad.ok) << bad.report;
  EXPECT_NE(bad.report.find("input 0"), std::string::npos) << bad.report;
}

TEST(AutogradOps, RecordOnlyWhenNeeded) {
  Var x(rnd({2, 3}), true), c(rnd({2, 3}), false);
  EXPECT_TRUE(add(x, c).requires_grad());
  EXPECT_NE(add(x, c).creator(), nullptr);
  EXPECT_FALSE(add(c, c).requires_grad());
  EXPECT_EQ(ag::exp(c).creator(), nullptr);
  {
    NoGradGuard no_grad;
    Var y = linear(x, Var(rnd({4, 3}), true));
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.creator(), nullptr);
  }
  // Only the inputs that require a gradient get one.
  Var w(rnd({4, 3}), true);
  Var loss = sum(linear(c, w));
  backward(loss);
  EXPECT_TRUE(w.grad().defined());
  EXPECT_FALSE(c.grad().defined());
}

TEST(AutogradOps, ForwardValues) {
  Var a(Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}));
  Var b(Tensor::from_vector<double>({10, 20, 30}));
  EXPECT_EQ(add(a, b).value().to_vector<double>(), (std::vector<double>{11, 22, 33, 14, 25, 36}));
  EXPECT_EQ(sub(b, a).value().to_vector<double>(), (std::vector<double>{9, 18, 27, 6, 15, 24}));
  EXPECT_EQ(sum_leading(a, 1).value().to_vector<double>(), (std::vector<double>{5, 7, 9}));
  EXPECT_EQ(sum_last(a).value().to_vector<double>(), (std::vector<double>{6, 15}));
  EXPECT_EQ(sum(a).value().item<double>(), 21);
  EXPECT_EQ(mean(a).value().item<double>(), 3.5);
  EXPECT_EQ(clipped_relu(add_scalar(a, -2), 2.5).value().to_vector<double>(),
            (std::vector<double>{0, 0, 1, 2, 2.5, 2.5}));
  EXPECT_EQ(concat_last({a, a}).shape(), (Shape{2, 6}));
  EXPECT_EQ(slice_last(a, 1, 2).value().to_vector<double>(), (std::vector<double>{2, 3, 5, 6}));
  EXPECT_EQ(concat0({a, a}).value().to_vector<double>()[7], 2);
  EXPECT_EQ(narrow0(a, 1, 1).value().to_vector<double>(), (std::vector<double>{4, 5, 6}));
  EXPECT_EQ(matmul(a, reshape(b, {3, 1})).value().to_vector<double>(),
            (std::vector<double>{140, 320}));
  EXPECT_THROW(slice_last(a, 2, 2), Error);
  EXPECT_THROW(concat0({a, b}), Error);
  EXPECT_THROW(cross_entropy(a, Tensor::from_vector<int64_t>({0, 3})), Error);
}

// A 2-layer tanh network fits a smooth target with plain SGD; the loss falls at least 10x.
TEST(AutogradOps, TinyNetworkTrains) {
  const int64_t B = 64, D = 3, H = 16;
  Tensor x = Tensor::empty({B, D}, DType::f32);
  fill_uniform(x, 7, 1, -1, 1);
  std::vector<float> xv = x.to_vector<float>(), yv(B);
  for (int64_t i = 0; i < B; ++i)
    yv[i] = 0.8f * xv[i * D] - 0.5f * xv[i * D + 1] * xv[i * D + 2] + 0.3f;
  const Var X(x), Y(Tensor::from_vector(yv, {B, 1}));
  auto param = [](const Shape& s, uint64_t stream, double scale) {
    Tensor t = Tensor::empty(s, DType::f32);
    fill_normal(t, 11, stream, 0, scale);
    return Var(t, true);
  };
  Var W1 = param({H, D}, 1, 0.5), b1 = param({H}, 2, 0.1), W2 = param({1, H}, 3, 0.3),
      b2 = param({1}, 4, 0.1);
  std::vector<Var> params = {W1, b1, W2, b2};
  auto loss_fn = [&] { return mse(linear(ag::tanh(linear(X, W1, b1)), W2, b2), Y); };
  const double first = loss_fn().value().item<float>();
  double last = first;
  for (int step = 0; step < 400; ++step) {
    for (Var& p : params) p.zero_grad();
    Var loss = loss_fn();
    last = loss.value().item<float>();
    backward(loss);
    NoGradGuard no_grad;
    for (Var& p : params) {  // p -= lr * grad
      Tensor step_t;
      kernels::unary_forward(kernels::UnaryOp::scale, step_t, p.grad(), -0.2);
      Tensor updated;
      kernels::binary_forward(kernels::BinaryOp::add, updated, p.value(), step_t);
      p.value().copy_from(updated);
    }
  }
  EXPECT_LT(last, first / 10) << "loss " << first << " -> " << last;
  std::printf("tiny network: loss %.4g -> %.4g\n", first, last);
}

// The same composition on CUDA and on the CPU: values and gradients agree.
TEST(AutogradOps, CudaMatchesCpu) {
  RSNN_SKIP_WITHOUT_CUDA();
  const Tensor labels = Tensor::from_vector<int64_t>({1, 0, 2});
  const std::vector<Tensor> in = {rnd({3, 4}), rnd({5, 4}), rnd({5}), rnd({3, 5})};
  auto f = [&](const std::vector<Var>& v) {
    Var h = softplus(linear(v[0], v[1], v[2]));
    Var z = mul(h, sigmoid(v[3]));
    Var l1 = cross_entropy(slice_last(z, 0, 3), labels);
    Var l2 = mse(softmax(z), log_softmax(z));
    Var l3 = mean(sum_leading(concat_last({z, square(z)}), 1));
    return add(add(l1, l2), l3);
  };
  std::vector<std::vector<double>> grads[2];
  double values[2];
  for (int dev = 0; dev < 2; ++dev) {
    const Device d = dev ? Device::cuda(0) : Device::cpu();
    std::vector<Var> v;
    for (const Tensor& t : in) v.emplace_back(t.to(d), true);
    Var out = f(v);
    backward(out);
    values[dev] = out.value().item<double>();
    for (Var& x : v) grads[dev].push_back(x.grad().to_vector<double>());
  }
  EXPECT_NEAR(values[0], values[1], 1e-10);
  for (size_t i = 0; i < in.size(); ++i)
    for (size_t j = 0; j < grads[0][i].size(); ++j)
      EXPECT_NEAR(grads[0][i][j], grads[1][i][j], 1e-10) << "input " << i << " element " << j;
}
