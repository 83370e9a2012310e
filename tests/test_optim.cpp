// Optimizers: the update kernels (optimized CPU vs reference, float32 vs float64, CUDA vs
// CPU), Adam/AdamW/SGD trajectories against update equations written out here in plain
// double loops, parameter groups, hooks, StepLR and the errors. Checkpoint state and CUDA
// parity are in test_optim_state.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "autograd/optim.h"
#include "kernels/adam.h"
#include "kernels/clamp.h"
#include "kernels/sgd.h"
#include "runtime/random.h"
#include "test_util.h"

using namespace rsnn;
using rsnn::test::expect_close;

namespace {

template <class T>
std::vector<T> random_vector(int64_t n, uint64_t seed, double lo, double hi) {
  Tensor t = Tensor::empty({n}, DType::f64);
  fill_uniform(t, seed, 0, lo, hi);
  std::vector<double> d = t.to_vector<double>();
  return std::vector<T>(d.begin(), d.end());
}

std::vector<double> values(const ag::Var& v) { return v.value().to_vector<double>(); }

// ---- independent update equations (the spec, written the textbook way) --------------

struct AdamHand {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0;
  bool decoupled = false, amsgrad = false;
};
using GradFn = std::function<double(double p, size_t i, int step)>;

// Runs `steps` Adam updates on p; the gradient of element i at step t is grad(p_i, i, t).
std::vector<double> hand_adam(std::vector<double> p, const GradFn& grad, int steps,
                              const AdamHand& h) {
  std::vector<double> m(p.size(), 0), v(p.size(), 0), vmax(p.size(), 0);
  for (int t = 1; t <= steps; ++t)
    for (size_t i = 0; i < p.size(); ++i) {
      double g = grad(p[i], i, t);
      if (h.decoupled) p[i] -= h.lr * h.wd * p[i];
      else g += h.wd * p[i];
      m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
      v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
      vmax[i] = std::max(vmax[i], v[i]);
      const double m_hat = m[i] / (1 - std::pow(h.beta1, t));
      const double v_hat = (h.amsgrad ? vmax[i] : v[i]) / (1 - std::pow(h.beta2, t));
      p[i] -= h.lr * m_hat / (std::sqrt(v_hat) + h.eps);
    }
  return p;
}

struct SgdHand {
  double lr = 0.1, momentum = 0, dampening = 0, wd = 0;
  bool nesterov = false;
};
std::vector<double> hand_sgd(std::vector<double> p, const GradFn& grad, int steps,
                             const SgdHand& h) {
  std::vector<double> buf(p.size(), 0);
  for (int t = 1; t <= steps; ++t)
    for (size_t i = 0; i < p.size(); ++i) {
      double g = grad(p[i], i, t) + h.wd * p[i];
      if (h.momentum != 0) {
        buf[i] = t == 1 ? g : h.momentum * buf[i] + (1 - h.dampening) * g;
        g = h.nesterov ? g + h.momentum * buf[i] : buf[i];
      }
      p[i] -= h.lr * g;
    }
  return p;
}

// Runs an optimizer on one float64 parameter with the same gradient function.
std::vector<double> run_optimizer(ag::Optimizer& opt, ag::Var& p, const GradFn& grad, int steps) {
  for (int t = 1; t <= steps; ++t) {
    std::vector<double> cur = values(p), g(cur.size());
    for (size_t i = 0; i < cur.size(); ++i) g[i] = grad(cur[i], i, t);
    p.grad() = Tensor::from_vector(g);
    opt.step();
  }
  return values(p);
}

const std::vector<double> kStart = {0.5, -1.25, 2.0};
const std::vector<double> kTarget = {1.0, 0.5, -3.0};
// Gradient of sum((p - target)^2) plus a step-dependent wobble, so that each step's
// gradient depends on where the previous steps went.
const GradFn kQuadGrad = [](double p, size_t i, int t) {
  return 2 * (p - kTarget[i]) + 0.3 * std::sin(1.7 * t + double(i));
};

ag::Var param(const std::vector<double>& v, const std::string& name = "p") {
  return ag::Var(Tensor::from_vector(v), true, name);
}

}  // namespace

// ---- kernels: optimized CPU vs reference vs float64 ---------------------------------

template <class T>
void adam_kernel_case(int64_t n, bool decoupled, bool amsgrad, double wd) {
  const std::string what = "n=" + std::to_string(n) + " decoupled=" + std::to_string(decoupled) +
                           " amsgrad=" + std::to_string(amsgrad) + " wd=" + std::to_string(wd);
  kernels::AdamConfig cfg{1e-2, 0.9, 0.99, 1e-8, wd, decoupled, amsgrad};
  std::vector<T> p_ref = random_vector<T>(n, 1, -1, 1), p_opt = p_ref;
  std::vector<double> p64(p_ref.begin(), p_ref.end());
  std::vector<T> m_ref(n, 0), v_ref(n, 0), x_ref(n, 0), m_opt(n, 0), v_opt(n, 0), x_opt(n, 0);
  std::vector<double> m64(n, 0), v64(n, 0), x64(n, 0);
  for (int step = 1; step <= 3; ++step) {
    // Shrinking gradients, so v decreases and amsgrad's maximum matters.
    std::vector<T> g = random_vector<T>(n, 10 + step, -2.0 / step, 2.0 / step);
    std::vector<double> g64(g.begin(), g.end());
    const auto c = kernels::adam_coeffs<T>(cfg, step);
    kernels::adam_ref(p_ref.data(), g.data(), m_ref.data(), v_ref.data(), x_ref.data(), n, c,
                      decoupled, amsgrad);
    kernels::adam_cpu(p_opt.data(), g.data(), m_opt.data(), v_opt.data(),
                      amsgrad ? x_opt.data() : nullptr, n, c, decoupled, amsgrad);
    kernels::adam_ref(p64.data(), g64.data(), m64.data(), v64.data(), x64.data(), n,
                      kernels::adam_coeffs<double>(cfg, step), decoupled, amsgrad);
  }
  const double ulp = 4 * std::numeric_limits<T>::epsilon();
  expect_close(p_opt, p_ref, ulp, 0, "adam opt vs ref p " + what);
  expect_close(m_opt, m_ref, ulp, 0, "adam opt vs ref m " + what);
  expect_close(v_opt, v_ref, ulp, 0, "adam opt vs ref v " + what);
  if (amsgrad) expect_close(x_opt, x_ref, ulp, 0, "adam opt vs ref vmax " + what);
  // float32 against the float64 evaluation: parameters move by ~lr per step.
  const double tol = sizeof(T) == 4 ? 2e-6 : 1e-14;
  expect_close(p_opt, p64, tol, tol, "adam vs float64 p " + what);
  expect_close(m_opt, m64, tol, tol, "adam vs float64 m " + what);
}

TEST(AdamKernel, OptimizedMatchesReferenceAndFloat64) {
  for (int64_t n : {1, 7, 33, 1001, 70001})
    for (bool decoupled : {false, true})
      for (bool amsgrad : {false, true})
        for (double wd : {0.0, 0.05}) {
          adam_kernel_case<float>(n, decoupled, amsgrad, wd);
          adam_kernel_case<double>(n, decoupled, amsgrad, wd);
        }
}

template <class T>
void sgd_kernel_case(int64_t n, double momentum, double dampening, bool nesterov, double wd) {
  const std::string what = "n=" + std::to_string(n) + " momentum=" + std::to_string(momentum) +
                           " nesterov=" + std::to_string(nesterov);
  kernels::SgdConfig cfg{0.05, momentum, dampening, wd, nesterov};
  const bool use_momentum = momentum != 0;
  std::vector<T> p_ref = random_vector<T>(n, 2, -1, 1), p_opt = p_ref;
  std::vector<double> p64(p_ref.begin(), p_ref.end());
  std::vector<T> b_ref(n, 0), b_opt(n, 0);
  std::vector<double> b64(n, 0);
  for (int step = 1; step <= 3; ++step) {
    std::vector<T> g = random_vector<T>(n, 20 + step, -1, 1);
    std::vector<double> g64(g.begin(), g.end());
    kernels::sgd_ref(p_ref.data(), g.data(), b_ref.data(), n, kernels::sgd_coeffs<T>(cfg),
                     use_momentum, nesterov, step == 1);
    kernels::sgd_cpu(p_opt.data(), g.data(), use_momentum ? b_opt.data() : nullptr, n,
                     kernels::sgd_coeffs<T>(cfg), use_momentum, nesterov, step == 1);
    kernels::sgd_ref(p64.data(), g64.data(), b64.data(), n, kernels::sgd_coeffs<double>(cfg),
                     use_momentum, nesterov, step == 1);
  }
  const double ulp = 4 * std::numeric_limits<T>::epsilon();
  expect_close(p_opt, p_ref, ulp, 0, "sgd opt vs ref p " + what);
  if (use_momentum) expect_close(b_opt, b_ref, ulp, 0, "sgd opt vs ref buf " + what);
  const double tol = sizeof(T) == 4 ? 2e-6 : 1e-14;
  expect_close(p_opt, p64, tol, tol, "sgd vs float64 " + what);
}

TEST(SgdKernel, OptimizedMatchesReferenceAndFloat64) {
  for (int64_t n : {1, 7, 33, 1001, 70001}) {
    sgd_kernel_case<float>(n, 0, 0, false, 0.01);
    sgd_kernel_case<double>(n, 0, 0, false, 0.01);
    sgd_kernel_case<float>(n, 0.9, 0.1, false, 0);
    sgd_kernel_case<double>(n, 0.9, 0.1, false, 0);
    sgd_kernel_case<float>(n, 0.8, 0, true, 0.01);
    sgd_kernel_case<double>(n, 0.8, 0, true, 0.01);
  }
}

TEST(ClampKernel, OptimizedMatchesReferenceKeepsNaN) {
  for (int64_t n : {1, 9, 70001}) {
    std::vector<float> x = random_vector<float>(n, 3, -2, 2), y = x;
    kernels::clamp_ref(x.data(), n, -0.5f, 0.75f);
    kernels::clamp_cpu(y.data(), n, -0.5f, 0.75f);
    ASSERT_EQ(x, y);
    for (float v : y) ASSERT_TRUE(v >= -0.5f && v <= 0.75f);
  }
  Tensor t = Tensor::from_vector<double>({-3, 0.25, NAN, 7});
  kernels::clamp_(t, 0, 1);
  std::vector<double> r = t.to_vector<double>();
  EXPECT_EQ(r[0], 0);
  EXPECT_EQ(r[1], 0.25);
  EXPECT_TRUE(std::isnan(r[2]));
  EXPECT_EQ(r[3], 1);
  EXPECT_THROW(kernels::clamp_(t, 1, 0), Error);
}

// ---- Adam / AdamW trajectories ------------------------------------------------------

TEST(Adam, FirstStepIsLrTimesSignOfGradient) {
  // Step 1 with zero state: m_hat = g, v_hat = g^2, so p -= lr * g / (|g| + eps).
  ag::Var p = param({1.0, -2.0, 3.0});
  ag::Adam opt({{{p}, 0.1}});
  p.grad() = Tensor::from_vector<double>({0.5, -4.0, 1e-3});
  opt.step();
  expect_close(values(p),
               std::vector<double>{1.0 - 0.1 * 0.5 / (0.5 + 1e-8), -2.0 + 0.1 * 4.0 / (4.0 + 1e-8),
                                   3.0 - 0.1 * 1e-3 / (1e-3 + 1e-8)},
               0, 1e-15, "first step");
  EXPECT_EQ(opt.steps(), 1);
}

TEST(Adam, ThreeStepsMatchHandComputedUpdates) {
  for (bool amsgrad : {false, true}) {
    AdamHand h;
    h.lr = 0.05;
    h.beta2 = 0.95;
    h.amsgrad = amsgrad;
    ag::Var p = param(kStart);
    ag::AdamOptions o;
    o.beta2 = h.beta2;
    o.amsgrad = amsgrad;
    ag::Adam opt({{{p}, h.lr}}, o);
    expect_close(run_optimizer(opt, p, kQuadGrad, 3), hand_adam(kStart, kQuadGrad, 3, h), 1e-13,
                 1e-14, amsgrad ? "adam amsgrad" : "adam");
  }
}

TEST(Adam, WeightDecayL2AndDecoupled) {
  std::vector<std::vector<double>> results;
  for (bool decoupled : {false, true}) {
    AdamHand h;
    h.lr = 0.05;
    h.wd = 0.2;
    h.decoupled = decoupled;
    ag::Var p = param(kStart);
    ag::AdamOptions o;
    o.weight_decay = h.wd;
    o.decoupled = decoupled;
    ag::Adam opt({{{p}, h.lr}}, o);
    EXPECT_EQ(opt.kind(), decoupled ? "AdamW" : "Adam");
    results.push_back(run_optimizer(opt, p, kQuadGrad, 3));
    expect_close(results.back(), hand_adam(kStart, kQuadGrad, 3, h), 1e-13, 1e-14,
                 decoupled ? "adamw" : "adam l2");
    // A group's own weight decay overrides the default.
    ag::Var q = param(kStart);
    ag::Adam opt2({{{q}, h.lr, 0.0}}, o);
    AdamHand h0 = h;
    h0.wd = 0;
    expect_close(run_optimizer(opt2, q, kQuadGrad, 3), hand_adam(kStart, kQuadGrad, 3, h0), 1e-13,
                 1e-14, "group weight decay 0");
  }
  // The two kinds of decay really are different updates.
  EXPECT_GT(std::fabs(results[0][2] - results[1][2]), 1e-4);
}

TEST(Adam, AmsgradUsesTheMaximumOfV) {
  // A large first gradient, then small ones: v falls, vmax keeps the peak.
  const GradFn shrinking = [](double, size_t i, int t) { return t == 1 ? 3.0 + i : 0.1; };
  AdamHand h;
  h.lr = 0.1;
  h.beta2 = 0.5;  // fast decay of v, so max(v) and v part quickly
  std::vector<double> plain = hand_adam(kStart, shrinking, 3, h);
  h.amsgrad = true;
  std::vector<double> ams = hand_adam(kStart, shrinking, 3, h);
  ag::Var p = param(kStart);
  ag::AdamOptions o;
  o.beta2 = 0.5;
  o.amsgrad = true;
  ag::Adam opt({{{p}, 0.1}}, o);
  expect_close(run_optimizer(opt, p, shrinking, 3), ams, 1e-13, 1e-14, "amsgrad");
  EXPECT_GT(std::fabs(ams[0] - plain[0]), 1e-3);  // the maximum changed the result
  ag::AdamState st = opt.state();
  std::vector<double> vmax = st.params[0].vmax.to_vector<double>();
  std::vector<double> v = st.params[0].v.to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i) EXPECT_GT(vmax[i], v[i]);
}

TEST(Adam, PerGroupLearningRates) {
  ag::Var a = param({1.0, 1.0}, "a"), b = param({1.0, 1.0}, "b");
  ag::Adam opt({{{a}, 0.1, {}, "fast"}, {{b}, 0.001, {}, "slow"}});
  a.grad() = Tensor::from_vector<double>({2.0, -2.0});
  b.grad() = Tensor::from_vector<double>({2.0, -2.0});
  opt.step();
  // First step moves each parameter by its own lr (times g / (|g| + eps)).
  const double s = 2.0 / (2.0 + 1e-8);
  expect_close(values(a), std::vector<double>{1 - 0.1 * s, 1 + 0.1 * s}, 0, 1e-15, "fast group");
  expect_close(values(b), std::vector<double>{1 - 0.001 * s, 1 + 0.001 * s}, 0, 1e-15,
               "slow group");
  // Changing a group's lr between steps takes effect.
  opt.groups()[1].lr = 0.5;
  b.grad() = Tensor::from_vector<double>({2.0, -2.0});
  a.zero_grad();
  std::vector<double> a_before = values(a), b_before = values(b);
  opt.step();
  EXPECT_EQ(values(a), a_before);
  EXPECT_NEAR(b_before[0] - values(b)[0], 0.5, 1e-6);
}

TEST(Adam, ParametersWithoutGradientAreUntouched) {
  ag::Var used = param({1.0, 2.0}, "used"), idle = param({3.0, -4.0}, "idle");
  ag::AdamOptions o;
  o.weight_decay = 0.5;
  o.decoupled = true;  // even decoupled decay must not touch a skipped parameter
  ag::Adam opt({{{used, idle}, 0.1}}, o);
  for (int t = 0; t < 2; ++t) {
    used.grad() = Tensor::from_vector<double>({1.0, 1.0});
    opt.step();
  }
  EXPECT_EQ(values(idle), (std::vector<double>{3.0, -4.0}));
  ag::AdamState st = opt.state();
  EXPECT_EQ(st.params[0].step, 2);
  EXPECT_EQ(st.params[1].step, 0);
  EXPECT_EQ(st.params[1].m.to_vector<double>(), (std::vector<double>{0, 0}));
  // Its first update uses its own step count (1): bias correction makes it lr * sign(g),
  // after the decoupled decay.
  idle.grad() = Tensor::from_vector<double>({1.0, -1.0});
  used.zero_grad();
  opt.step();
  const double s = 1.0 / (1.0 + 1e-8);
  expect_close(values(idle),
               std::vector<double>{3.0 * (1 - 0.05) - 0.1 * s, -4.0 * (1 - 0.05) + 0.1 * s}, 0,
               1e-14, "first update of a late parameter");
  EXPECT_EQ(opt.steps(), 3);
}

TEST(Adam, ClampHookKeepsUnitInterval) {
  ag::Var w(Tensor::from_vector<float>({0.01f, 0.5f, 0.99f, 0.2f}), true, "w");
  ag::Adam opt({{{w}, 0.3, {}, "probabilities", ag::clamp_hook(0, 1)}});
  for (int t = 0; t < 5; ++t) {
    w.grad() = Tensor::from_vector<float>({1.0f, -1.0f, -1.0f, 0.5f});  // push 0 down, 1-2 up
    opt.step();
    for (float v : w.value().to_vector<float>()) ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << v;
  }
  std::vector<float> r = w.value().to_vector<float>();
  EXPECT_EQ(r[0], 0.0f);
  EXPECT_EQ(r[1], 1.0f);
  EXPECT_EQ(r[2], 1.0f);
  EXPECT_THROW(ag::clamp_hook(1, 0), Error);
}

// ---- SGD ----------------------------------------------------------------------------

TEST(SGD, ThreeStepsMatchHandComputedUpdates) {
  struct Case {
    double momentum, dampening, wd;
    bool nesterov;
  };
  for (Case c : {Case{0, 0, 0, false}, Case{0, 0, 0.1, false}, Case{0.9, 0, 0, false},
                 Case{0.9, 0.3, 0.05, false}, Case{0.8, 0, 0.05, true}}) {
    SgdHand h;
    h.lr = 0.05;
    h.momentum = c.momentum;
    h.dampening = c.dampening;
    h.wd = c.wd;
    h.nesterov = c.nesterov;
    ag::Var p = param(kStart);
    ag::SGDOptions o;
    o.momentum = c.momentum;
    o.dampening = c.dampening;
    o.weight_decay = c.wd;
    o.nesterov = c.nesterov;
    ag::SGD opt({{{p}, h.lr}}, o);
    expect_close(run_optimizer(opt, p, kQuadGrad, 3), hand_sgd(kStart, kQuadGrad, 3, h), 1e-14,
                 1e-15, "sgd momentum=" + std::to_string(c.momentum));
  }
  // Plain SGD, closed form: p -= lr * g.
  ag::Var q = param({1.0});
  ag::SGD plain({{{q}, 0.25}});
  q.grad() = Tensor::from_vector<double>({2.0});
  plain.step();
  EXPECT_EQ(values(q)[0], 0.5);
}

// ---- schedules -----------------------------------------------------------------------

TEST(StepLR, FactorsEveryStepSizeEpochs) {
  const std::vector<double> expected = {1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125};
  ag::Var a = param({1.0}), b = param({1.0});
  ag::Adam adam({{{a}, 0.1}, {{b}, 0.004}});
  ag::SGD sgd({{{param({1.0})}, 0.2}});
  ag::StepLR s1(adam, 3, 0.5), s2(sgd, 3, 0.5);
  for (int64_t epoch = 0; epoch <= 10; ++epoch) {
    EXPECT_EQ(s1.last_epoch(), epoch);
    EXPECT_EQ(s1.factor(), expected[epoch]) << "epoch " << epoch;
    EXPECT_DOUBLE_EQ(adam.groups()[0].lr, 0.1 * expected[epoch]);
    EXPECT_DOUBLE_EQ(adam.groups()[1].lr, 0.004 * expected[epoch]);
    EXPECT_DOUBLE_EQ(sgd.groups()[0].lr, 0.2 * expected[epoch]);
    s1.step();
    s2.step();
  }
  s1.set_last_epoch(7);
  EXPECT_DOUBLE_EQ(adam.groups()[0].lr, 0.1 * 0.25);
  EXPECT_THROW(ag::StepLR(adam, 0, 0.5), Error);
  EXPECT_THROW(ag::StepLR(adam, 3, 0.0), Error);
}

// ---- optimisation ---------------------------------------------------------------------

namespace {
// Minimises sum((p - target)^2) with the hand-written gradient 2 (p - target); returns
// {initial loss, final loss}.
std::pair<double, double> minimise_quadratic(ag::Optimizer& opt, ag::Var& p,
                                             const std::vector<float>& target, int steps) {
  auto loss = [&] {
    std::vector<float> v = p.value().to_vector<float>();
    double l = 0;
    for (size_t i = 0; i < v.size(); ++i) l += (double(v[i]) - target[i]) * (v[i] - target[i]);
    return l;
  };
  const double first = loss();
  for (int t = 0; t < steps; ++t) {
    std::vector<float> v = p.value().to_vector<float>(), g(v.size());
    for (size_t i = 0; i < v.size(); ++i) g[i] = 2 * (v[i] - target[i]);
    opt.zero_grad();
    p.grad() = Tensor::from_vector(g);
    opt.step();
  }
  return {first, loss()};
}
}  // namespace

TEST(Optimisation, QuadraticLossFalls100x) {
  const std::vector<float> target = random_vector<float>(64, 5, -2, 2);
  {
    ag::Var p(Tensor::zeros({64}), true, "p");
    ag::Adam opt({{{p}, 0.05}});
    auto [first, last] = minimise_quadratic(opt, p, target, 300);
    EXPECT_LT(last, first / 100) << "Adam: " << first << " -> " << last;
  }
  {
    ag::Var p(Tensor::zeros({64}), true, "p");
    ag::AdamOptions o;
    o.decoupled = true;
    o.weight_decay = 1e-3;
    ag::Adam opt({{{p}, 0.05}}, o);
    auto [first, last] = minimise_quadratic(opt, p, target, 300);
    EXPECT_LT(last, first / 100) << "AdamW: " << first << " -> " << last;
  }
  {
    ag::Var p(Tensor::zeros({64}), true, "p");
    ag::SGDOptions o;
    o.momentum = 0.9;
    ag::SGD opt({{{p}, 0.02}}, o);
    auto [first, last] = minimise_quadratic(opt, p, target, 300);
    EXPECT_LT(last, first / 100) << "SGD: " << first << " -> " << last;
  }
}

// ---- errors ---------------------------------------------------------------------------

TEST(OptimErrors, BadGradientsAndHyperParameters) {
  ag::Var a = param({1.0, 2.0}, "a"), b = param({1.0, 2.0, 3.0}, "b");
  ag::Adam opt({{{a, b}, 0.1, {}, "g"}});
  a.grad() = Tensor::from_vector<double>({1.0, 1.0});
  b.grad() = Tensor::from_vector<double>({1.0, 1.0});  // wrong shape
  try {
    opt.step();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'b'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[3]"), std::string::npos) << msg;
  }
  EXPECT_EQ(values(a), (std::vector<double>{1.0, 2.0}));  // nothing updated
  EXPECT_EQ(opt.steps(), 0);
  b.grad() = Tensor::from_vector<float>({1.0f, 1.0f, 1.0f});  // wrong dtype
  EXPECT_THROW(opt.step(), Error);

  // Learning rates must be positive, at construction and at every step.
  EXPECT_THROW(ag::Adam({{{param({1.0})}, 0.0}}), Error);
  EXPECT_THROW(ag::Adam({{{param({1.0})}, -1e-3}}), Error);
  EXPECT_THROW(ag::SGD({{{param({1.0})}, 0.0}}), Error);
  b.grad() = Tensor::from_vector<double>({1.0, 1.0, 1.0});
  opt.groups()[0].lr = 0;
  EXPECT_THROW(opt.step(), Error);

  // Betas in [0, 1).
  for (auto [b1, b2] : {std::pair{1.0, 0.999}, std::pair{-0.1, 0.999}, std::pair{0.9, 1.0},
                        std::pair{0.9, 1.5}}) {
    ag::AdamOptions o;
    o.beta1 = b1;
    o.beta2 = b2;
    EXPECT_THROW(ag::Adam({{{param({1.0})}, 0.1}}, o), Error) << b1 << " " << b2;
  }
  ag::AdamOptions ok;
  ok.beta1 = 0;
  EXPECT_NO_THROW(ag::Adam({{{param({1.0})}, 0.1}}, ok));

  // Other misuse: duplicate parameters, negative decay, nesterov without momentum,
  // integer parameters, no groups.
  ag::Var d = param({1.0});
  EXPECT_THROW(ag::Adam({{{d}, 0.1}, {{d}, 0.2}}), Error);
  EXPECT_THROW(ag::Adam({{{param({1.0})}, 0.1, -0.1}}), Error);
  ag::SGDOptions nest;
  nest.nesterov = true;
  EXPECT_THROW(ag::SGD({{{param({1.0})}, 0.1}}, nest), Error);
  EXPECT_THROW(ag::Adam({{{ag::Var(Tensor::zeros({2}, DType::i32), false)}, 0.1}}), Error);
  EXPECT_THROW(ag::Adam(std::vector<ag::ParamGroup>{}), Error);

  // Kernel level: state of the wrong shape.
  Tensor p = Tensor::zeros({4}), g = Tensor::zeros({4}), m = Tensor::zeros({4}),
         v = Tensor::zeros({3}), none;
  EXPECT_THROW(kernels::adam_step_(p, g, m, v, none, 1, kernels::AdamConfig{}), Error);
  v = Tensor::zeros({4});
  EXPECT_THROW(kernels::adam_step_(p, g, m, v, none, 0, kernels::AdamConfig{}), Error);
  EXPECT_NO_THROW(kernels::adam_step_(p, g, m, v, none, 1, kernels::AdamConfig{}));
}

TEST(OptimErrors, CudaEntryPointsWithoutBackend) {
  if (cuda_compiled()) GTEST_SKIP() << "built with CUDA: the CPU-only stubs are not linked";
  try {
    kernels::cuda::adam(nullptr, nullptr, nullptr, nullptr, nullptr, 1, DType::f32, 1,
                        kernels::AdamConfig{}, Stream{});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("built without the CUDA backend"), std::string::npos);
  }
  EXPECT_THROW(kernels::cuda::sgd(nullptr, nullptr, nullptr, 1, DType::f32, kernels::SgdConfig{},
                                  true, Stream{}),
               Error);
  EXPECT_THROW(kernels::cuda::clamp(nullptr, 1, DType::f32, 0, 1, Stream{}), Error);
}
