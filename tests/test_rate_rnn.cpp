// The fused rate-RNN op: BPTT gradients vs finite differences (float64), the optimized
// batched path vs the plain reference, batched == one trial at a time, initialisation and
// TF1 Adam.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "models/rate/rate_rnn.h"
#include "models/rate/rate_train.h"
#include "models/rate/tasks.h"
#include "runtime/philox.h"
#include "runtime/threads.h"

using namespace rsnn;
using namespace rsnn::rate;

namespace {
// A small float64 network whose weights are all at least 0.05 away from relu's kink at 0
// (absent connections become -0.2: dead, as pruned ones are), so central differences
// never cross it. Exact zeros are checked separately (relu'(0) = 0, as TF).
RateNet small_net(int N, int C, Activation act, std::vector<double> taus, int som_N = 1) {
  RateConfig cfg;
  cfg.N = N;
  cfg.n_in = C;
  cfg.P_inh = 0.35;
  cfg.P_rec = 0.6;
  cfg.som_N = som_N;
  cfg.taus = taus;
  cfg.act = act;
  RateNet net = init_rate_net(cfg, 99);
  auto w = net.w.to_vector<double>();
  for (size_t k = 0; k < w.size(); ++k) {
    if (w[k] == 0) {
      w[k] = -0.2;
      continue;
    }
    const double mag = 0.05 + std::fabs(w[k]);
    w[k] = (k % 7 == 3) ? -mag : mag;  // a few "dead" (negative) weights
  }
  net.w = Tensor::from_vector(w, {N, N});
  for (Tensor* t : {&net.sign, &net.som_m, &net.w_in, &net.w_out, &net.b_out, &net.taus_gaus})
    *t = t->to_dtype(DType::f64);
  net.w_out = Tensor::from_vector(
      [&] {
        auto v = net.w_out.to_vector<double>();
        for (auto& x : v) x *= 50;  // make the readout matter
        return v;
      }(),
      {1, N});
  net.b_out = Tensor::full({1}, 0.1, DType::f64);
  return net;
}

Tensor random_u(int B, int C, int T, uint64_t seed) {
  std::vector<double> v(size_t(B) * C * T);
  for (size_t k = 0; k < v.size(); ++k) v[k] = philox::normal(seed, 0, k);
  return Tensor::from_vector(v, {B, C, T});
}
}  // namespace

TEST(RateRnn, GradcheckAllParamsAllActivations) {
  const int N = 7, C = 2, T = 9, B = 2;
  for (Activation act : {Activation::sigmoid, Activation::softplus, Activation::clipped_relu}) {
    RateNet net = small_net(N, C, act, {2.0, 6.0});
    Tensor u = random_u(B, C, T, 5);
    auto opt = RateRunOptions::from(net.cfg, 321, {3, 8});
    ag::VarFn f = [&](const std::vector<ag::Var>& v) {
      return rate_rnn(v[0], v[1], v[2], v[3], net.sign, net.som_m, net.w_in, u, opt);
    };
    auto r = ag::gradcheck(f, {net.w, net.w_out, net.b_out, net.taus_gaus});
    EXPECT_TRUE(r.ok) << activation_name(act) << ": " << r.report;
    EXPECT_GT(r.checked, N * N);
  }
}

TEST(RateRnn, GradcheckFixedTauAndLossOnTop) {
  const int N = 6, C = 1, T = 12, B = 3;
  RateNet net = small_net(N, C, Activation::sigmoid, {3.0}, 0);
  Tensor u = random_u(B, C, T, 6);
  std::vector<double> zv(size_t(B) * T);
  for (size_t k = 0; k < zv.size(); ++k) zv[k] = (k % 5) * 0.3;
  Tensor z = Tensor::from_vector(zv, {B, T});
  auto opt = RateRunOptions::from(net.cfg, 11, {0, 1, 2});
  for (LossKind lk : {LossKind::l2, LossKind::l1}) {
    ag::VarFn f = [&](const std::vector<ag::Var>& v) {
      return rate_loss(rate_rnn(v[0], v[1], v[2], ag::Var(), net.sign, net.som_m, net.w_in, u, opt),
                       z, lk);
    };
    auto r = ag::gradcheck(f, {net.w, net.w_out, net.b_out});
    EXPECT_TRUE(r.ok) << loss_name(lk) << ": " << r.report;
  }
}

TEST(RateRnn, OptimizedMatchesReferenceForwardAndBackward) {
  const int N = 9, C = 2, T = 15;
  RateNet net = small_net(N, C, Activation::sigmoid, {2.0, 8.0});
  Tensor u = random_u(1, C, T, 8);
  auto opt = RateRunOptions::from(net.cfg, 77, {5});
  ag::Var w(net.w, true), wo(net.w_out, true), bo(net.b_out, true), tg(net.taus_gaus, true);
  ag::Var o = rate_rnn(w, wo, bo, tg, net.sign, net.som_m, net.w_in, u, opt);
  std::vector<double> dO(T - 1);
  for (int k = 0; k < T - 1; ++k) dO[k] = std::sin(0.7 * k) + 0.2;
  ag::backward(o, Tensor::from_vector(dO, {1, T - 1}));
  RateReferenceGrads g;
  auto o_ref = rate_rnn_reference(net, u.to_vector<double>(), T, opt, 5, &dO, &g);
  auto o_opt = o.value().to_vector<double>();
  for (int k = 0; k < T - 1; ++k) EXPECT_NEAR(o_opt[k], o_ref[k], 1e-12);
  auto cmp = [](const std::vector<double>& a, const std::vector<double>& b, const char* what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    for (size_t k = 0; k < a.size(); ++k) {
      ASSERT_TRUE(std::isfinite(a[k])) << what;
      EXPECT_NEAR(a[k], b[k], 1e-11 * (1 + std::fabs(b[k]))) << what << "[" << k << "]";
    }
  };
  cmp(w.grad().to_vector<double>(), g.dw, "dw");
  cmp(wo.grad().to_vector<double>(), g.dw_out, "dw_out");
  cmp(tg.grad().to_vector<double>(), g.dtaus_gaus, "dtaus_gaus");
  EXPECT_NEAR(bo.grad().item<double>(), g.db_out, 1e-11);
}

TEST(RateRnn, AbsentConnectionsGetNoGradient) {
  RateConfig cfg;
  cfg.N = 30;
  RateNet net = init_rate_net(cfg, 4);
  Tensor u, z;
  std::vector<int> labels;
  make_batch(task_defaults(TaskKind::go_nogo), 2, {0}, u, z, labels);
  ag::Var w(net.w, true), wo(net.w_out, true), bo(net.b_out, true), tg(net.taus_gaus, true);
  ag::Var loss = rate_loss(rate_rnn(w, wo, bo, tg, net.sign, net.som_m, net.w_in, u,
                                    RateRunOptions::from(cfg, 2, {0})),
                           z, LossKind::l2);
  ag::backward(loss);
  auto wv = net.w.to_vector<float>(), g = w.grad().to_vector<float>();
  int nonzero = 0;
  for (size_t k = 0; k < wv.size(); ++k) {
    if (wv[k] == 0) {
      ASSERT_EQ(g[k], 0.f) << k;  // the sparsity pattern can only shrink
    }
    nonzero += g[k] != 0;
  }
  EXPECT_GT(nonzero, 50);
}

TEST(RateRnn, BatchedEqualsOneAtATimeFloat32) {
  RateConfig cfg;
  cfg.N = 40;
  cfg.n_in = 1;
  RateNet net = init_rate_net(cfg, 3);
  TaskSpec task = task_defaults(TaskKind::go_nogo);
  std::vector<uint64_t> ids = {4, 9, 2, 30};
  Tensor u, z;
  std::vector<int> labels;
  make_batch(task, 1, ids, u, z, labels);
  ag::NoGradGuard ng;
  ag::Var w(net.w), wo(net.w_out), bo(net.b_out), tg(net.taus_gaus);
  Tensor o = rate_rnn(w, wo, bo, tg, net.sign, net.som_m, net.w_in, u,
                      RateRunOptions::from(cfg, 1, ids)).value();
  for (size_t b = 0; b < ids.size(); ++b) {
    Tensor u1, z1;
    make_batch(task, 1, {ids[b]}, u1, z1, labels);
    Tensor o1 = rate_rnn(w, wo, bo, tg, net.sign, net.som_m, net.w_in, u1,
                         RateRunOptions::from(cfg, 1, {ids[b]})).value();
    const float* pb = o.data<float>() + b * (task.T - 1);
    for (int k = 0; k < task.T - 1; ++k) EXPECT_NEAR(pb[k], o1.data<float>()[k], 2e-5);
  }
}

TEST(RateRnn, ChunkedOverThreadsEqualsOneChunk) {
  // B = 20 on 2 threads runs as 2 chunks; on 1 thread as one: same outputs and gradients.
  const int N = 12, C = 2, T = 10, B = 20;
  RateNet net = small_net(N, C, Activation::sigmoid, {2.0, 6.0});
  Tensor u = random_u(B, C, T, 9);
  std::vector<uint64_t> ids(B);
  for (int b = 0; b < B; ++b) ids[b] = 100 + b;
  auto opt = RateRunOptions::from(net.cfg, 4, ids);
  std::vector<std::vector<double>> res[2];
  const int prev = num_threads();
  for (int k = 0; k < 2; ++k) {
    set_num_threads(k == 0 ? 1 : 2);
    ag::Var w(net.w, true), wo(net.w_out, true), bo(net.b_out, true), tg(net.taus_gaus, true);
    ag::Var o = rate_rnn(w, wo, bo, tg, net.sign, net.som_m, net.w_in, u, opt);
    ag::backward(o, Tensor::full({B, T - 1}, 0.5, DType::f64));
    res[k] = {o.value().to_vector<double>(), w.grad().to_vector<double>(),
              wo.grad().to_vector<double>(), tg.grad().to_vector<double>(),
              bo.grad().to_vector<double>()};
  }
  set_num_threads(prev);
  for (size_t q = 0; q < res[0].size(); ++q) {
    ASSERT_EQ(res[0][q].size(), res[1][q].size());
    for (size_t i = 0; i < res[0][q].size(); ++i)
      EXPECT_NEAR(res[0][q][i], res[1][q][i], 1e-12 * (1 + std::fabs(res[0][q][i]))) << q << " " << i;
  }
}

TEST(RateRnn, InitialisationFollowsTheSpec) {
  RateConfig cfg;
  cfg.N = 400;
  cfg.P_inh = 0.2;
  cfg.som_N = 10;
  RateNet net = init_rate_net(cfg, 12);
  int n_inh = 0;
  for (auto v : net.inh) n_inh += v;
  EXPECT_NEAR(n_inh / 400.0, 0.2, 0.05);
  ASSERT_EQ(net.som_units.size(), 10u);
  auto w = net.w.to_vector<float>();
  double nz = 0, sq = 0;
  for (float v : w) {
    EXPECT_GE(v, 0.f);  // |w| under Dale
    if (v != 0) nz += 1, sq += double(v) * v;
  }
  EXPECT_NEAR(nz / w.size(), 0.2, 0.01);
  const double sd = 1.5 / std::sqrt(400 * 0.2);  // |N(0, sd)|: E[v^2] = sd^2
  EXPECT_NEAR(std::sqrt(sq / nz), sd, 0.03 * sd);
  auto som = net.som_m.to_vector<float>();
  const int s0 = net.som_units[0];
  for (int j = 0; j < 400; ++j) EXPECT_EQ(som[s0 * 400 + j], net.inh[j] ? 0.f : 1.f);
  auto sign = net.sign.to_vector<float>();
  for (int i = 0; i < 400; ++i) EXPECT_EQ(sign[i], net.inh[i] ? -1.f : 1.f);
  // W_eff column j carries the sign of presynaptic j.
  auto we = net.w_eff().to_vector<float>();
  for (int i = 0; i < 400; ++i)
    for (int j = 0; j < 400; ++j)
      if (we[i * 400 + j] != 0) {
        ASSERT_EQ(we[i * 400 + j] < 0, bool(net.inh[j]));
      }
  EXPECT_THROW(init_rate_net([] { RateConfig c; c.taus = {10, 4}; return c; }(), 1), Error);
}

TEST(RateRnn, TfAdamMatchesHandComputedSteps) {
  ag::Var p(Tensor::from_vector<float>({1.0f, -2.0f}), true);
  TfAdam adam({p}, 0.01);
  double th = 1.0, m = 0, v = 0;
  for (int t = 1; t <= 3; ++t) {
    const double g = 0.5 * t;
    p.grad() = Tensor::from_vector<float>({float(g), 0.f});
    adam.step();
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    const double lr_t = 0.01 * std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
    th -= lr_t * m / (std::sqrt(v) + 1e-8);
    EXPECT_NEAR(p.value().to_vector<float>()[0], th, 1e-6);
    EXPECT_FLOAT_EQ(p.value().to_vector<float>()[1], -2.0f);  // zero gradient: no move
  }
}

// The forward model and its gradients against golden values computed by an independent
// transcription of the original TF graph (rkim35/spikeRNN rate/model.py construct_tf and
// loss_op) in JAX, float64, with automatic differentiation and noise/x0 off: relu(w) @ m .* som_m
// (row = postsynaptic), sigmoid taus in steps, w_in u[:, t-1], o[t-1] = w_out r[t] + b_out,
// loss sqrt(sum_{k < T-1} (o[k] - z[k])^2). Catches a wrong forward that a finite-difference
// check of our own forward cannot.
TEST(RateRnn, MatchesAnIndependentTranscriptionOfTheOriginalGraph) {
  const int N = 6, C = 4, T = 12;
  std::vector<double> w(N * N), som(N * N, 1.0), w_in(N * C), w_out(N), tg(N), u(C * T), z(T);
  const bool inh[N] = {false, true, false, false, true, false};
  std::vector<double> sign(N);
  for (int i = 0; i < N; ++i) {
    sign[i] = inh[i] ? -1 : 1;
    for (int j = 0; j < N; ++j) {
      w[i * N + j] = (i + 2 * j) % 5 == 0 ? 0.0 : 0.9 * std::sin(1.3 * i + 0.7 * j + 0.4);
      if (i == 1 && inh[j]) som[i * N + j] = 0;  // unit 1 is a SOM unit
    }
    for (int c = 0; c < C; ++c) w_in[i * C + c] = std::cos(0.9 * i + 1.7 * c);
    w_out[i] = 0.3 * std::sin(2.1 * i + 0.3);
    tg[i] = std::sin(1.1 * i - 0.5);
  }
  for (int c = 0; c < C; ++c)
    for (int t = 0; t < T; ++t) u[c * T + t] = t >= 2 ? std::sin(0.5 * t + c) : 0.0;
  for (int t = 0; t < T; ++t) z[t] = t >= 6 ? 1.0 : 0.0;
  RateRunOptions opt;
  opt.act = Activation::sigmoid;
  opt.taus = {2.0, 6.0};
  opt.noise_std = 0;
  opt.x0_std = 0;
  opt.trials = {0};
  ag::Var wv(Tensor::from_vector(w, {N, N}), true), wo(Tensor::from_vector(w_out, {1, N}), true),
      bo(Tensor::full({1}, 0.05, DType::f64), true), tgv(Tensor::from_vector(tg, {N, 1}), true);
  ag::Var o = rate_rnn(wv, wo, bo, tgv, Tensor::from_vector(sign, {N}),
                       Tensor::from_vector(som, {N, N}), Tensor::from_vector(w_in, {N, C}),
                       Tensor::from_vector(u, {1, C, T}), opt);
  ag::Var loss = rate_loss(o, Tensor::from_vector(z, {1, T}), LossKind::l2);
  ag::backward(loss);
  const std::vector<double> o_ref = {
      5.050268587598192e-02, 5.303028194561397e-02, 3.699126507234660e-02, 3.089948370896705e-02,
      3.413524039964336e-02, 4.667132986817555e-02, 6.777132057016971e-02, 9.091739872497517e-02,
      1.071073340612881e-01, 1.137331230252493e-01, 1.125247397236019e-01};
  const std::vector<double> dw_ref = {
      0, 3.054652504729654e-02, -2.221308823026644e-02, -2.119035904721586e-02, 0, 0,
      -5.945657932517138e-02, 0, 0, 0, 0, 0,
      8.591942809751062e-02, 0, 0, 0, 0, 7.521956238666833e-02,
      0, 0, 0, -1.605259294431975e-02, 1.692492907793221e-02, -2.219320336513848e-02,
      0, 4.876607924522459e-02, -3.378478904680132e-02, 0, 3.210979407475327e-02, -4.258600166576929e-02,
      0, -7.965482443536601e-02, 5.554363678307261e-02, 5.210597092631625e-02, 0, 0};
  const std::vector<double> dwo_ref = {-1.323421446491613e+00, -1.513610891159146e+00,
                                       -1.153358237742292e+00, -1.015041838878024e+00,
                                       -8.148628715810149e-01, -7.972939196728455e-01};
  const std::vector<double> dtg_ref = {-7.865452988417078e-04, 1.147274960626022e-02,
                                       -1.046282332624614e-02, 3.154005831748030e-03,
                                       -2.432700062643636e-03, 2.583580871076954e-02};
  auto near = [](const std::vector<double>& a, const std::vector<double>& b, const char* what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    for (size_t k = 0; k < a.size(); ++k)
      EXPECT_NEAR(a[k], b[k], 1e-12 + 1e-10 * std::fabs(b[k])) << what << "[" << k << "]";
  };
  near(o.value().to_vector<double>(), o_ref, "o");
  EXPECT_NEAR(loss.value().item<double>(), 2.019120948814777, 1e-12);
  near(wv.grad().to_vector<double>(), dw_ref, "dw");
  near(wo.grad().to_vector<double>(), dwo_ref, "dw_out");
  EXPECT_NEAR(bo.grad().item<double>(), -2.107707217599862, 1e-11);
  near(tgv.grad().to_vector<double>(), dtg_ref, "dtaus_gaus");
}
