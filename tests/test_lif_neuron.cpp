// Single neurons with constant input through the fused recurrent-LIF op, against trajectories
// computed here from the model equations (spec barrel-cortex-rsnn.md §1.4) in a plain double
// loop that does not use kernels/lif_math.h. Also the surrogate formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/recurrent_lif.h"
#include "kernels/lif_math.h"
#include "kernels/projection.h"

using namespace rsnn;

namespace {

struct Traj {
  std::vector<double> v, a, s;
};

// The equations, written out for one neuron with constant input I from v0, a0, s0.
Traj by_hand(NeuronModel model, double I, double tau_m, double tau_adp, double b0, double beta,
             double dt, double r_m, double v0, double a0, double s0, int T) {
  Traj tr;
  double v = v0, a = a0, s = s0;
  const double alpha = std::exp(-dt / tau_m), rho = std::exp(-dt / tau_adp);
  for (int t = 0; t < T; ++t) {
    double th = b0;
    if (model == NeuronModel::alif) {
      a = rho * a + (1 - rho) * s;
      th = b0 + beta * a;
    }
    if (model == NeuronModel::if_) {
      v = v + r_m * I * dt - th * s;
    } else {
      v = alpha * v + (1 - alpha) * r_m * I - th * s * dt;
    }
    s = (v - th) > 0 ? 1.0 : 0.0;
    tr.v.push_back(v);
    tr.a.push_back(a);
    tr.s.push_back(s);
  }
  return tr;
}

struct Case {
  NeuronModel model;
  double I, dt, r_m;
};

void run_case(const Case& c, DType dtype, double tol) {
  const int T = 200;
  const double tau_m = 10, tau_adp = 5, b0 = 0.04, beta = 1.8, v0 = 0.3, a0 = 0.04, s0 = 0.7;
  Projection p = projection_from_pairs(1, 1, {}, {}, Tensor::from_vector<float>({1.f}));
  LifConfig cfg;
  cfg.model = c.model;
  cfg.dt = c.dt;
  cfg.r_m = c.r_m;
  cfg.beta = beta;
  cfg.record_spikes = true;
  cfg.record_state = true;
  ag::RecurrentLifInputs in;
  in.w = ag::Var(Tensor::empty({0}, dtype));
  in.tau_m = ag::Var(Tensor::full({1}, tau_m, dtype));
  in.tau_adp = ag::Var(Tensor::full({1}, tau_adp, dtype));
  in.b_base = Tensor::full({1}, b0, dtype);
  in.i_ext = ag::Var(Tensor::full({T, 1, 1}, c.I, dtype));
  in.v0 = ag::Var(Tensor::full({1, 1}, v0, dtype));
  in.a0 = ag::Var(Tensor::full({1, 1}, a0, dtype));
  in.s0 = ag::Var(Tensor::full({1, 1}, s0, dtype));
  const ag::RecurrentLifOutputs out = ag::recurrent_lif(p, cfg, in);
  const Traj want = by_hand(c.model, c.I, tau_m, tau_adp, b0, beta, c.dt, c.r_m, v0, a0, s0, T);
  const auto v = out.v_record.to_vector<double>();
  const auto a = out.a_record.to_vector<double>();
  const auto s = out.spike_record.to_vector<double>();
  int spikes = 0;
  for (int t = 0; t < T; ++t) {
    ASSERT_NEAR(v[t], want.v[t], tol) << "v at step " << t;
    if (c.model == NeuronModel::alif) {
      ASSERT_NEAR(a[t], want.a[t], tol) << "a at step " << t;
    }
    ASSERT_EQ(s[t], want.s[t]) << "spike at step " << t;
    spikes += static_cast<int>(s[t]);
  }
  EXPECT_GT(spikes, 3) << "the case should fire";
  EXPECT_LT(spikes, T / 2) << "the case should not fire every step";
  EXPECT_EQ(out.stats.spikes, spikes);
}

}  // namespace

TEST(LifNeuron, AdaptiveLifMatchesEquations) {
  run_case({NeuronModel::alif, 0.9, 1.0, 1.0}, DType::f64, 1e-13);
  run_case({NeuronModel::alif, 1.7, 0.5, 0.8}, DType::f64, 1e-13);
  run_case({NeuronModel::alif, 0.9, 1.0, 1.0}, DType::f32, 2e-6);
}

TEST(LifNeuron, LifMatchesEquations) {
  run_case({NeuronModel::lif, 0.06, 1.0, 1.0}, DType::f64, 1e-13);
  run_case({NeuronModel::lif, 0.2, 0.5, 0.5}, DType::f64, 1e-13);
  run_case({NeuronModel::lif, 0.06, 1.0, 1.0}, DType::f32, 2e-6);
}

TEST(LifNeuron, IfMatchesEquations) {
  run_case({NeuronModel::if_, 0.005, 1.0, 1.0}, DType::f64, 1e-13);
  run_case({NeuronModel::if_, 0.004, 2.0, 1.5}, DType::f64, 1e-13);
  run_case({NeuronModel::if_, 0.005, 1.0, 1.0}, DType::f32, 2e-6);
}

TEST(LifNeuron, SurrogateFormulas) {
  using kernels::lif::make_surrogate;
  using kernels::lif::surrogate_grad;
  const double pi = 3.14159265358979323846;
  for (double x : {-1.3, -0.4, 0.0, 0.2, 0.75, 2.0}) {
    // spec default: 0.5 * exp(-x^2 / (2 * 0.5^2)) / (sqrt(2 pi) * 0.5) = 0.39894 * exp(-2 x^2)
    const auto g = make_surrogate<double>(Surrogate::gaussian, 0.5, 0.5);
    EXPECT_NEAR(surrogate_grad(g, x), 0.5 * std::exp(-x * x / 0.5) / (std::sqrt(2 * pi) * 0.5), 1e-15);
    EXPECT_NEAR(surrogate_grad(g, x), 0.3989422804 * std::exp(-2 * x * x), 1e-10);
    const auto f = make_surrogate<double>(Surrogate::fast_sigmoid, 0.2, 1.5);
    EXPECT_NEAR(surrogate_grad(f, x), 1.5 / std::pow(1 + std::abs(x) / 0.2, 2), 1e-15);
    const auto tr = make_surrogate<double>(Surrogate::triangle, 0.8, 2.0);
    EXPECT_NEAR(surrogate_grad(tr, x), std::max(0.0, 1 - std::abs(x) / 0.8) * 2.0 / 0.8, 1e-15);
    const auto gf = make_surrogate<float>(Surrogate::gaussian, 0.5, 0.5);
    EXPECT_NEAR(surrogate_grad(gf, static_cast<float>(x)), surrogate_grad(g, x), 1e-6);
  }
}

TEST(LifNeuron, SpikeIsStrictlyPositive) {
  EXPECT_EQ(kernels::lif::spike_of(0.0), 0.0);
  EXPECT_EQ(kernels::lif::spike_of(-0.0), 0.0);
  EXPECT_EQ(kernels::lif::spike_of(1e-300), 1.0);
  EXPECT_EQ(kernels::lif::spike_of(-1e-300), 0.0);
}
