// Optimizers, continued from test_optim.cpp: checkpoint state restored bit for bit, and the
// CUDA updates against the CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "autograd/optim.h"
#include "runtime/random.h"
#include "test_util.h"

using namespace rsnn;
using rsnn::test::expect_close;

// ---- checkpoint state -------------------------------------------------------------------

namespace {
void feed_grads(std::vector<ag::Var>& ps, int t) {
  for (size_t k = 0; k < ps.size(); ++k) {
    std::vector<float> v = ps[k].value().to_vector<float>(), g(v.size());
    for (size_t i = 0; i < v.size(); ++i) g[i] = std::sin(3.0f * v[i] + float(t) + float(k));
    ps[k].grad() = Tensor::from_vector(g, ps[k].shape());
  }
}

std::vector<ag::Var> fresh_params() {
  Tensor a = Tensor::empty({5, 7}), b = Tensor::empty({3});
  fill_uniform(a, 8, 0, -1, 1);
  fill_uniform(b, 8, 1, -1, 1);
  return {ag::Var(a, true, "a"), ag::Var(b, true, "b")};
}

std::vector<ag::Var> clone_params(const std::vector<ag::Var>& ps) {
  std::vector<ag::Var> out;
  for (const auto& p : ps) out.emplace_back(p.value().clone(), true, p.name());
  return out;
}

void expect_bit_identical(const std::vector<ag::Var>& x, const std::vector<ag::Var>& y) {
  for (size_t k = 0; k < x.size(); ++k) {
    ASSERT_EQ(x[k].value().nbytes(), y[k].value().nbytes());
    EXPECT_EQ(std::memcmp(x[k].value().raw(), y[k].value().raw(), x[k].value().nbytes()), 0)
        << "parameter " << k;
  }
}
}  // namespace

TEST(Adam, StateRestoreContinuesBitIdentically) {
  ag::AdamOptions o;
  o.decoupled = true;
  o.weight_decay = 0.01;
  o.amsgrad = true;
  std::vector<ag::Var> ps = fresh_params();
  ag::Adam a({{{ps[0]}, 0.01, {}, "a"}, {{ps[1]}, 0.003, {}, "b"}}, o);
  for (int t = 0; t < 3; ++t) {
    feed_grads(ps, t);
    a.step();
  }
  ag::AdamState saved = a.state();
  std::vector<ag::Var> qs = clone_params(ps);
  for (int t = 3; t < 7; ++t) {
    feed_grads(ps, t);
    a.step();
  }
  ag::Adam b({{{qs[0]}, 0.01, {}, "a"}, {{qs[1]}, 0.003, {}, "b"}}, o);
  b.load_state(saved);
  EXPECT_EQ(b.steps(), 3);
  for (int t = 3; t < 7; ++t) {
    feed_grads(qs, t);
    b.step();
  }
  expect_bit_identical(ps, qs);
  // Loading a state for the wrong parameters is refused.
  ag::Adam c({{{ag::Var(Tensor::zeros({2}), true)}, 0.1}}, o);
  EXPECT_THROW(c.load_state(saved), Error);
  ag::AdamState bad = saved;
  bad.params[0].m = Tensor::zeros({7, 5});
  EXPECT_THROW(b.load_state(bad), Error);
}

TEST(SGD, StateRestoreContinuesBitIdentically) {
  ag::SGDOptions o;
  o.momentum = 0.9;
  o.dampening = 0.1;
  std::vector<ag::Var> ps = fresh_params();
  ag::SGD a({{ps, 0.05}}, o);
  for (int t = 0; t < 2; ++t) {
    feed_grads(ps, t);
    a.step();
  }
  ag::SGDState saved = a.state();
  std::vector<ag::Var> qs = clone_params(ps);
  for (int t = 2; t < 5; ++t) {
    feed_grads(ps, t);
    a.step();
  }
  ag::SGD b({{qs, 0.05}}, o);
  b.load_state(saved);
  for (int t = 2; t < 5; ++t) {
    feed_grads(qs, t);
    b.step();
  }
  expect_bit_identical(ps, qs);
}

// ---- CUDA vs CPU ------------------------------------------------------------------------

template <class T>
void cuda_vs_cpu_case(bool decoupled, bool amsgrad) {
  const int64_t n = 100003;
  const DType dt = dtype_of<T>();
  std::vector<ag::Var> cpu, gpu;
  for (int k = 0; k < 2; ++k) {
    Tensor t = Tensor::empty({n}, dt);
    fill_uniform(t, 30 + k, 0, -1, 1);
    cpu.emplace_back(t.clone(), true, "p" + std::to_string(k));
    gpu.emplace_back(t.to(Device::cuda()), true, "p" + std::to_string(k));
  }
  ag::AdamOptions o;
  o.decoupled = decoupled;
  o.amsgrad = amsgrad;
  o.weight_decay = 0.01;
  ag::Adam a({{{cpu[0]}, 0.01, {}, "x", ag::clamp_hook(-0.5, 0.5)}, {{cpu[1]}, 0.002}}, o);
  ag::Adam b({{{gpu[0]}, 0.01, {}, "x", ag::clamp_hook(-0.5, 0.5)}, {{gpu[1]}, 0.002}}, o);
  for (int t = 1; t <= 3; ++t) {
    for (int k = 0; k < 2; ++k) {
      Tensor g = Tensor::empty({n}, dt);
      fill_uniform(g, 40 + t, k, -2.0 / t, 2.0 / t);
      cpu[k].grad() = g;
      gpu[k].grad() = g.to(Device::cuda());
    }
    a.step();
    b.step();
  }
  ASSERT_TRUE(b.state().params[0].m.device().is_cuda());
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-13;
  for (int k = 0; k < 2; ++k)
    expect_close(gpu[k].value().to_vector<double>(), cpu[k].value().to_vector<double>(), tol, tol,
                 "adam cuda vs cpu");
  // SGD with momentum on the same parameters (the last gradients stay in place).
  ag::SGDOptions so;
  so.momentum = 0.9;
  ag::SGD sa({{cpu, 0.05}}, so), sb({{gpu, 0.05}}, so);
  for (int t = 0; t < 3; ++t) {
    sa.step();
    sb.step();
  }
  for (int k = 0; k < 2; ++k)
    expect_close(gpu[k].value().to_vector<double>(), cpu[k].value().to_vector<double>(), tol, tol,
                 "sgd cuda vs cpu");
}

TEST(OptimCuda, MatchesCpu) {
  RSNN_SKIP_WITHOUT_CUDA();
  for (bool decoupled : {false, true})
    for (bool amsgrad : {false, true}) {
      cuda_vs_cpu_case<float>(decoupled, amsgrad);
      cuda_vs_cpu_case<double>(decoupled, amsgrad);
    }
}
