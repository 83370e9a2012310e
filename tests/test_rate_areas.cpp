// Multi-area rate networks (areas stacked, excitatory-only projections area k -> k+1, input to
// area 0, readout from the last area) and networks without Dale's principle: structure of the
// initialisation, BPTT gradients vs finite differences, Dale after training, the model file
// and the LIF conversion.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "models/rate/lif_convert.h"
#include "models/rate/model_file.h"
#include "models/rate/rate_rnn.h"
#include "models/rate/rate_train.h"
#include "runtime/philox.h"
#include "test_util.h"

using namespace rsnn;
using namespace rsnn::rate;

namespace {
RateConfig areas_config(int n_areas, int per_area, int C) {
  RateConfig cfg;
  cfg.N = n_areas * per_area;
  cfg.n_areas = n_areas;
  cfg.P_inter = 0.3;
  cfg.n_in = C;
  return cfg;
}

// Which (post i, pre j) pairs the multi-area structure allows.
bool allowed(const RateNet& net, int i, int j) {
  const int ai = net.cfg.area_of(i), aj = net.cfg.area_of(j);
  return ai == aj || (ai == aj + 1 && !net.inh[j]);
}
}  // namespace

TEST(RateAreas, InitialisationHasTheBlockStructure) {
  const int K = 3, Na = 40, C = 2;
  RateNet net = init_rate_net(areas_config(K, Na, C), 5);
  const int N = net.N();
  const auto w = net.w.to_vector<float>(), m = net.som_m.to_vector<float>();
  const auto we = net.w_eff().to_vector<float>();
  int inter = 0, rec = 0;
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      const size_t k = size_t(i) * N + j;
      EXPECT_EQ(m[k], allowed(net, i, j) ? 1.f : 0.f) << i << "," << j;
      if (!allowed(net, i, j)) { EXPECT_EQ(w[k], 0.f) << i << "," << j; }
      EXPECT_GE(w[k], 0.f);
      if (w[k] > 0 && net.cfg.area_of(i) != net.cfg.area_of(j)) {
        ++inter;
        EXPECT_FALSE(net.inh[j]);  // projections come from excitatory units ...
        EXPECT_GT(we[k], 0.f);     // ... so they excite
      }
      if (w[k] > 0 && net.cfg.area_of(i) == net.cfg.area_of(j)) ++rec;
    }
  int exc_per_area = 0;
  for (int j = 0; j < Na; ++j) exc_per_area += !net.inh[j];
  // two projections, each about P_inter x Na x (excitatory units of the source area)
  EXPECT_GT(inter, int(0.5 * 0.3 * Na * exc_per_area));
  EXPECT_NEAR(rec / double(K * Na * Na), 0.2, 0.03);
  const auto wi = net.w_in.to_vector<float>(), wo = net.w_out.to_vector<float>();
  for (int i = 0; i < N; ++i) {
    for (int c = 0; c < C; ++c)
      EXPECT_EQ(wi[size_t(i) * C + c] != 0.f, net.cfg.area_of(i) == 0) << i;
    EXPECT_EQ(wo[i] != 0.f, net.cfg.area_of(i) == K - 1) << i;
  }
}

TEST(RateAreas, OneAreaIsTheSingleNetwork) {
  RateConfig one;
  one.N = 60;
  RateConfig explicit_one = one;
  explicit_one.n_areas = 1;
  explicit_one.P_inter = 0.9;  // unused with one area
  RateNet a = init_rate_net(one, 3), b = init_rate_net(explicit_one, 3);
  EXPECT_EQ(a.w.to_vector<float>(), b.w.to_vector<float>());
  EXPECT_EQ(a.som_m.to_vector<float>(), b.som_m.to_vector<float>());
  EXPECT_EQ(a.readout_mask().to_vector<float>(), std::vector<float>(60, 1.f));
  RateConfig bad = one;
  bad.n_areas = 7;  // 60 units do not split into 7 areas
  EXPECT_THROW(bad.validate(), Error);
}

TEST(RateAreas, GradcheckTwoAreas) {
  const int K = 2, Na = 5, C = 2, T = 10, B = 2;
  RateConfig cfg = areas_config(K, Na, C);
  cfg.P_inh = 0.3;
  cfg.P_rec = 0.6;
  cfg.P_inter = 0.8;
  RateNet net = init_rate_net(cfg, 21);
  const int N = net.N();
  // Keep every present weight 0.05 away from relu's kink (absent ones become -0.2, dead), and
  // make the readout matter.
  auto w = net.w.to_vector<double>();
  for (auto& v : w) v = v == 0 ? -0.2 : 0.05 + v;
  auto wo = net.w_out.to_vector<double>();
  for (auto& v : wo) v *= 50;
  net.w = Tensor::from_vector(w, {N, N});
  net.w_out = Tensor::from_vector(wo, {1, N});
  for (Tensor* t : {&net.sign, &net.som_m, &net.w_in, &net.b_out, &net.taus_gaus})
    *t = t->to_dtype(DType::f64);
  std::vector<double> uv(size_t(B) * C * T);
  for (size_t k = 0; k < uv.size(); ++k) uv[k] = philox::normal(8, 0, k);
  Tensor u = Tensor::from_vector(uv, {B, C, T});
  auto opt = RateRunOptions::from(net.cfg, 13, {1, 2});
  ag::VarFn f = [&](const std::vector<ag::Var>& v) {
    return rate_rnn(v[0], v[1], v[2], v[3], net.sign, net.som_m, net.w_in, u, opt);
  };
  auto r = ag::gradcheck(f, {net.w, net.w_out, net.b_out, net.taus_gaus});
  EXPECT_TRUE(r.ok) << r.report;
  // Entries outside the block structure get exactly no gradient.
  ag::Var wv(net.w, true), wov(net.w_out, true), bov(net.b_out, true), tgv(net.taus_gaus, true);
  ag::Var o = rate_rnn(wv, wov, bov, tgv, net.sign, net.som_m, net.w_in, u, opt);
  ag::backward(o, Tensor::full({B, T - 1}, 1.0, DType::f64));
  const auto g = wv.grad().to_vector<double>();
  int nonzero_inter = 0;
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      const double gij = g[size_t(i) * N + j];
      if (!allowed(net, i, j)) { EXPECT_EQ(gij, 0.0) << i << "," << j; }
      if (allowed(net, i, j) && net.cfg.area_of(i) != net.cfg.area_of(j) && gij != 0) ++nonzero_inter;
    }
  EXPECT_GT(nonzero_inter, 0);  // the projection is trained
}

TEST(RateAreas, TrainingKeepsTheStructureAndDale) {
  TrainConfig tc;
  tc.stages = {task_defaults(TaskKind::go_nogo)};
  tc.net = areas_config(2, 30, 1);
  tc.max_trials = 150;
  tc.eval_freq = 100;
  tc.eval_trials = 10;
  tc.seed = 2;
  TrainResult r = train_rate(tc);
  const RateNet& net = r.net;
  const int N = net.N();
  const auto we = net.w_eff().to_vector<float>(), w0 = net.w0.to_vector<float>();
  const auto w = net.w.to_vector<float>();
  int changed = 0;
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      const size_t k = size_t(i) * N + j;
      if (!allowed(net, i, j)) { EXPECT_EQ(we[k], 0.f); }
      if (net.cfg.area_of(i) != net.cfg.area_of(j)) { EXPECT_GE(we[k], 0.f); }  // excitatory only
      if (net.inh[j]) { EXPECT_LE(we[k], 0.f); }
      else EXPECT_GE(we[k], 0.f);
      changed += std::max(w[k], 0.f) != w0[k];
    }
  EXPECT_GT(changed, 100);
  const auto wo = net.w_out.to_vector<float>();
  int trained_readout = 0;
  for (int i = 0; i < N; ++i) {
    if (net.cfg.area_of(i) == 0) EXPECT_EQ(wo[i], 0.f) << i;  // the readout reads area 1 only
    else trained_readout += wo[i] != 0.f;
  }
  EXPECT_EQ(trained_readout, 30);
}

TEST(RateAreas, ModelFileAndLifConversionKeepTheAreas) {
  RateModel m;
  m.net = init_rate_net(areas_config(3, 20, 4), 9);
  m.task = task_defaults(TaskKind::mante);
  const rsnn::test::TempDir tmp("rsnn_rate_areas");
  const std::string path = tmp.path("model.h5");
  save_rate_model(path, m);
  RateModel back = load_rate_model(path);
  EXPECT_EQ(back.net.cfg.n_areas, 3);
  EXPECT_DOUBLE_EQ(back.net.cfg.P_inter, 0.3);
  EXPECT_EQ(back.net.som_m.to_vector<float>(), m.net.som_m.to_vector<float>());
  EXPECT_EQ(back.net.readout_mask().to_vector<float>(), m.net.readout_mask().to_vector<float>());
  // LIF: the same block matrix, scaled; no input to areas 1-2, no readout from areas 0-1.
  const double s = 40;
  LifNetwork lif = convert_to_lif(back.net, s);
  const int N = lif.N;
  const auto we = m.net.w_eff().to_vector<double>();
  for (int i = 0; i < N; ++i)
    for (int k = 0; k < N; ++k) EXPECT_NEAR(lif.WT[size_t(k) * N + i], we[size_t(i) * N + k] / s, 1e-7);
  for (int i = 0; i < N; ++i) {
    if (m.net.cfg.area_of(i) != 0) {
      for (int c = 0; c < 4; ++c) EXPECT_EQ(lif.w_in[size_t(i) * 4 + c], 0.0);
    }
    if (m.net.cfg.area_of(i) != 2) { EXPECT_EQ(lif.w_out[i], 0.0); }
  }
}

TEST(RateNoDale, WeightsAreUsedWithTheirSigns) {
  // The original without Dale: no inhibitory units, m = I, and w enters the dynamics (and the
  // LIF network, and the saved file) as it is, negative entries included.
  RateConfig cfg;
  cfg.N = 40;
  cfg.apply_dale = false;
  RateNet net = init_rate_net(cfg, 6);
  const auto w = net.w.to_vector<float>(), we = net.w_eff().to_vector<float>();
  int negative = 0;
  for (size_t k = 0; k < w.size(); ++k) {
    EXPECT_EQ(we[k], w[k]);
    negative += w[k] < 0;
  }
  EXPECT_GT(negative, 50);
  // Forward: equal to a run whose weights are the signed ones; the gradient reaches negative
  // weights.
  Tensor u, z;
  std::vector<int> labels;
  make_batch(task_defaults(TaskKind::go_nogo), 1, {0}, u, z, labels);
  ag::Var wv(net.w, true), wo(net.w_out, true), bo(net.b_out, true), tg(net.taus_gaus, true);
  const auto opt = RateRunOptions::from(cfg, 1, {0});
  EXPECT_FALSE(opt.rectify);
  ag::Var loss = rate_loss(rate_rnn(wv, wo, bo, tg, net.sign, net.som_m, net.w_in, u, opt), z,
                           LossKind::l2);
  ag::backward(loss);
  const auto g = wv.grad().to_vector<float>();
  int grad_on_negative = 0;
  for (size_t k = 0; k < w.size(); ++k) grad_on_negative += w[k] < 0 && g[k] != 0;
  EXPECT_GT(grad_on_negative, 50);
  auto rect = opt;
  rect.rectify = true;
  ag::NoGradGuard ng;
  const auto o_signed = rate_rnn(wv, wo, bo, tg, net.sign, net.som_m, net.w_in, u, opt).value();
  const auto o_rect = rate_rnn(wv, wo, bo, tg, net.sign, net.som_m, net.w_in, u, rect).value();
  double diff = 0;
  for (int64_t k = 0; k < o_signed.numel(); ++k)
    diff += std::fabs(o_signed.data<float>()[k] - o_rect.data<float>()[k]);
  EXPECT_GT(diff, 1e-3);
  // LIF conversion and the saved file keep the signs.
  LifNetwork lif = convert_to_lif(net, 10);
  int lif_negative = 0;
  for (double v : lif.WT) lif_negative += v < 0;
  EXPECT_EQ(lif_negative, negative);
  RateModel m;
  m.net = net;
  m.task = task_defaults(TaskKind::go_nogo);
  const rsnn::test::TempDir tmp("rsnn_rate_nodale");
  const std::string path = tmp.path("model.h5");
  save_rate_model(path, m);
  RateModel back = load_rate_model(path);
  EXPECT_EQ(back.net.w.to_vector<float>(), w);
}

TEST(RateAreas, TwoAreaGoNoGoLearns) {
  // The input reaches area 0 only and the readout reads area 1 only, so the task is solved
  // through the excitatory projection. Clipped ReLU units learn it in a few hundred trials
  // (deterministic: every draw is keyed by the seed).
  TrainConfig tc;
  tc.stages = {task_defaults(TaskKind::go_nogo)};
  tc.net = areas_config(2, 30, 1);
  tc.net.act = Activation::clipped_relu;
  tc.max_trials = 800;
  tc.eval_trials = 50;
  tc.go_nogo_min_trials = 0;
  tc.seed = 1;
  TrainResult r = train_rate(tc);
  EXPECT_TRUE(r.converged) << "perf " << r.last_eval.perf << ", loss " << r.last_eval.loss;
  EXPECT_GT(r.last_eval.perf, 0.95);
  ASSERT_GE(r.evals.size(), 1u);
  EXPECT_LT(r.evals.front().perf, 0.9);  // it had to learn
}
