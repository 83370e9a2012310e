// The tape itself, with two tiny ops defined here (x*y and x^2) so the engine is tested
// independently of the kernel library.
#include <gtest/gtest.h>

#include "autograd/gradcheck.h"
#include "autograd/var.h"

using namespace rsnn;
using namespace rsnn::ag;

namespace {
Tensor mul_t(const Tensor& a, const Tensor& b) {
  Tensor o = Tensor::empty(a.shape(), DType::f64);
  for (int64_t i = 0; i < a.numel(); ++i) o.data<double>()[i] = a.data<double>()[i] * b.data<double>()[i];
  return o;
}

Var mul(const Var& a, const Var& b, double sign = 1.0) {
  Tensor av = a.value(), bv = b.value();
  return record1("mul", {a, b}, mul_t(av, bv), [av, bv, sign](const std::vector<Tensor>& g) {
    Tensor ga = mul_t(g[0], bv), gb = mul_t(g[0], av);
    for (int64_t i = 0; i < ga.numel(); ++i) ga.data<double>()[i] *= sign;
    return std::vector<Tensor>{ga, gb};
  });
}

Var sum(const Var& a) {
  Tensor av = a.value();
  double s = 0;
  for (int64_t i = 0; i < av.numel(); ++i) s += av.data<double>()[i];
  return record1("sum", {a}, Tensor::full({1}, s, DType::f64), [av](const std::vector<Tensor>& g) {
    return std::vector<Tensor>{Tensor::full(av.shape(), g[0].data<double>()[0], DType::f64)};
  });
}
}  // namespace

TEST(Tape, ChainRuleAndAccumulation) {
  Var x(Tensor::from_vector<double>({1, 2, 3}), true, "x");
  Var y(Tensor::from_vector<double>({4, 5, 6}), true, "y");
  // f = sum(x*y + x*x) as sum(x*y) and sum(x*x) sharing x: gradients must add.
  Var f1 = sum(mul(x, y));
  Var f2 = sum(mul(x, x));
  backward(f1);
  backward(f2);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{4 + 2, 5 + 4, 6 + 6}));
  EXPECT_EQ(y.grad().to_vector<double>(), (std::vector<double>{1, 2, 3}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Tape, NoGradRecordsNothing) {
  Var x(Tensor::from_vector<double>({1, 2}), true);
  {
    NoGradGuard g;
    Var z = mul(x, x);
    EXPECT_FALSE(z.requires_grad());
    EXPECT_EQ(z.creator(), nullptr);
  }
  Var c(Tensor::from_vector<double>({1, 2}), false);
  EXPECT_FALSE(mul(c, c).requires_grad());
  EXPECT_TRUE(mul(x, c).requires_grad());
}

TEST(Tape, ReleasedGraphAndBadSeedThrow) {
  Var x(Tensor::from_vector<double>({1, 2}), true);
  Var z = mul(x, x);
  EXPECT_THROW(backward(z), Error);  // not a scalar and no seed
  Var s = sum(z);
  backward(s);
  EXPECT_THROW(backward(s), Error);  // graph released
  Var s2 = sum(mul(x, x));
  backward(s2, Tensor(), true);
  EXPECT_NO_THROW(backward(s2));
}

TEST(GradCheck, PassesCorrectAndFailsTamperedBackward) {
  std::vector<Tensor> in = {Tensor::from_vector<double>({0.3, -1.2, 2.0}),
                            Tensor::from_vector<double>({1.1, 0.4, -0.7})};
  GradCheckResult ok = gradcheck([](const std::vector<Var>& v) { return mul(v[0], v[1]); }, in);
  EXPECT_TRUE(ok.ok) << ok.report;
  EXPECT_EQ(ok.checked, 6);
  GradCheckResult bad =
      gradcheck([](const std::vector<Var>& v) { return mul(v[0], v[1], -1.0); }, in);
  EXPECT_FALSE(bad.ok) << bad.report;
  EXPECT_NE(bad.report.find("input 0"), std::string::npos) << bad.report;
}
