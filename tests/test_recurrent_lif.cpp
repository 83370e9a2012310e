// The fused recurrent LIF layer on the CPU: gradients against finite differences where no
// spike flips, propagation strategies and thread counts (bit-identical), denormals, the
// team-or-one choice, the backward tables built beside the forward, what is kept for
// backward, the primitive spiking ops, and input validation. Every implementation against the
// reference kernels (and the unfused tape) is in test_recurrent_lif_parity.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/recurrent_lif.h"
#include "autograd/spiking_ops.h"
#include "kernels/recurrent_lif.h"
#include "kernels/recurrent_lif_rows.h"
#include "kernels/spmm.h"
#include "runtime/fp_mode.h"
#include "runtime/random.h"
#include "runtime/threads.h"
#include "tests/lif_testing.h"

using namespace rsnn;
using namespace rsnn::lif_net;
using namespace rsnn::lif_test;

// ---- finite differences where no spike flips ------------------------------------------
// With a triangle surrogate narrower than every |u|, the surrogate is zero everywhere, the
// spikes are locally constant, and the backward pass must equal the exact derivative of the
// (piecewise smooth) map: reset terms, adaptation, time constants, real-valued s0, readout.
TEST(RecurrentLif, GradientsMatchFiniteDifferencesWithoutSpikeFlips) {
  for (NeuronModel m : {NeuronModel::alif, NeuronModel::lif, NeuronModel::if_})
    for (UpdateOrder o : {UpdateOrder::gauss_seidel, UpdateOrder::previous_step}) {
      SCOPED_TRACE(std::string(model_name(m)) + (o == UpdateOrder::gauss_seidel ? " gs" : " prev"));
      LifCase n = small_net(m, o, true, 5, 8, 2);
      n.cfg.surrogate = Surrogate::triangle;
      n.cfg.sg_width = 1e-5;
      n.cfg.output_spikes = false;
      const kernels::LifForward f = kernels::recurrent_lif_forward(n.p, n.cfg, n.x, true);
      ASSERT_GT(f.stats.spikes, 0);
      ASSERT_GT(min_abs(f.saved.u), 5e-5) << "pick another seed: a neuron sits at its threshold";
      const Projection p = n.p;
      const LifConfig cfg = n.cfg;
      const Tensor b_base = n.x.b_base;
      auto fn = [p, cfg, b_base](const std::vector<ag::Var>& v) {
        ag::RecurrentLifInputs in;
        in.w = v[0];
        in.tau_m = v[1];
        in.tau_adp = v[2];
        in.i_ext = v[3];
        in.v0 = v[4];
        in.a0 = v[5];
        in.s0 = v[6];
        in.w_ro = v[7];
        in.b_base = b_base;
        return ag::recurrent_lif(p, cfg, in).readout;
      };
      ag::GradCheckOptions opt;
      opt.eps = 1e-7;
      const ag::GradCheckResult r =
          ag::gradcheck(fn, {n.x.w, n.x.tau_m, n.x.tau_adp, n.x.i_ext, n.x.v0, n.x.a0, n.x.s0, n.x.w_ro}, opt);
      EXPECT_TRUE(r.ok) << r.report;
      EXPECT_GT(r.checked, 800);
    }
}

// ---- propagation strategies and threads ---------------------------------------------

namespace {
// A forward (kept for backward) and the backward of n with every gradient, appended to f, g.
void run_fwd_bwd(const LifCase& n, std::vector<kernels::LifForward>& f, std::vector<kernels::LifGrads>& g) {
  f.push_back(kernels::recurrent_lif_forward(n.p, n.cfg, n.x, true));
  g.push_back(kernels::recurrent_lif_backward(n.p, n.cfg, n.x, f.back().saved, n.dspikes, n.dreadout, all_needs()));
}

}  // namespace

TEST(RecurrentLif, PullPushAndAutomaticAreIdentical) {
  for (DType dt : {DType::f32, DType::f64})
    for (UpdateOrder o : {UpdateOrder::gauss_seidel, UpdateOrder::previous_step})
      for (double drive : {1.2, 4.0}) {  // sparse and dense firing
        LifCase n = medium_net(dt, drive, 1, 20);
        n.cfg.order = o;
        n.cfg.propagation = Propagation::pull;
        const auto pull = kernels::recurrent_lif_forward(n.p, n.cfg, n.x, true);
        n.cfg.propagation = Propagation::push;
        const auto push = kernels::recurrent_lif_forward(n.p, n.cfg, n.x, true);
        n.cfg.propagation = Propagation::automatic;
        // low enough that step 0 pulls in slices of every width the thread counts give (at 0.5,
        // 8-sample slices, three threads at B = 20, pushed even the dense s0: threshold
        // 0.5 * sqrt(64 / 8) > 1 spike per neuron-sample)
        n.cfg.push_below = 0.3;
        const auto autom = kernels::recurrent_lif_forward(n.p, n.cfg, n.x, true);
        EXPECT_EQ(pull.stats.push_steps, 0);
        EXPECT_EQ(push.stats.pull_steps, 0);
        EXPECT_GT(pull.stats.spikes, 0);
        expect_same_run(pull, push, "pull vs push");
        expect_same_run(pull, autom, "pull vs automatic");
        // the dense real-valued s0 makes step 0 pull, the sparse spikes after it push
        EXPECT_GT(autom.stats.push_steps, 0);
        EXPECT_GT(autom.stats.pull_steps, 0);
      }
}

// Batches of 24 and 20 (3 blocks of 8 samples, the last one partial: slices of whole blocks
// per thread), 9 (on 2 or 3 threads its last sample is a slice of one) and a batch of 4 split
// over neuron rows (forced by RowTeam::always, row_parallel_min_work = 0); pull and push each.
TEST(RecurrentLif, BitIdenticalForAnyThreadCount) {
  const int before = num_threads();
  for (DType dt : {DType::f32, DType::f64})
    for (int64_t B : {24, 20, 9, 4})
      for (Propagation prop : {Propagation::pull, Propagation::push}) {
        SCOPED_TRACE("B = " + std::to_string(B) + (dt == DType::f32 ? " float32" : " float64") +
                     (prop == Propagation::pull ? " pull" : " push"));
        LifCase n = medium_net(dt, 2.0, 3, B);
        if (B == 4) {
          n.cfg.row_parallel_min_work = 0;
          n.cfg.row_team = RowTeam::always;
        }
        n.cfg.propagation = prop;
        std::vector<kernels::LifForward> f;
        std::vector<kernels::LifGrads> g;
        for (int threads : {1, 2, 3}) {
          set_num_threads(threads);
          run_fwd_bwd(n, f, g);
          EXPECT_EQ(f.back().stats.threads, B == 9 ? std::min(threads, 2) : threads);  // 9: two slices
        }
        for (size_t k = 1; k < f.size(); ++k) {
          const std::string what = "threads " + std::to_string(k + 1) + " vs 1:";
          expect_same_run(f[0], f[k], what);
          expect_same_grads(g[0], g[k], what);
        }
      }
  set_num_threads(before);
}

// The optimized time loops flush denormals (runtime/fp_mode.h): with no input and fast decay
// (tau_adp 0.5: a shrinks by e^-2 per step), the adaptation of the neurons that never fire
// passes below FLT_MIN within ~45 steps. The reference keeps the denormals, the optimized
// forward (float32) has none, the two agree within a few FLT_MIN, and the backward's
// gradients still match the reference.
TEST(RecurrentLif, DenormalStateIsFlushedAndStillMatchesTheReference) {
  if (!FlushDenormals::active()) {
    const FlushDenormals probe;
    if (!FlushDenormals::active()) GTEST_SKIP() << "no flush-to-zero mode on this CPU";
  }
  EXPECT_FALSE(FlushDenormals::active()) << "the test thread itself should not flush";
  LifCase n = small_net(NeuronModel::alif, UpdateOrder::gauss_seidel, true, 5, 80, 3);
  n.x.i_ext = Tensor::zeros(n.x.i_ext.shape(), DType::f64);
  n.x.s0 = Tensor::zeros(n.x.s0.shape(), DType::f64);
  n.x.v0 = Tensor::zeros(n.x.v0.shape(), DType::f64);
  n.x.a0 = Tensor::full(n.x.a0.shape(), 1.0, DType::f64);
  n.x.tau_adp = Tensor::full(n.x.tau_adp.shape(), 0.5, DType::f64);
  const kernels::LifInputs x = convert(n.x, DType::f32);
  const kernels::LifForward ref = kernels::recurrent_lif_forward_ref(n.p, n.cfg, x);
  const kernels::LifForward opt = kernels::recurrent_lif_forward(n.p, n.cfg, x, true);
  auto denormals = [](const Tensor& t) {
    int64_t k = 0;
    for (float v : t.to_vector<float>()) k += v != 0.0f && std::abs(v) < FLT_MIN;
    return k;
  };
  EXPECT_GT(denormals(ref.a_record), 0) << "the case should reach the denormal range";
  EXPECT_EQ(denormals(opt.a_record), 0);
  expect_close(opt.a_record, ref.a_record, 1e-5, "a", 1.0);
  expect_close(opt.v_record, ref.v_record, 1e-5, "v", 1.0);
  expect_identical(opt.spike_record, ref.spike_record, "spikes");
  EXPECT_FALSE(FlushDenormals::active()) << "the call must give the thread its mode back";
  kernels::LifNeeds all;
  all.w = all.tau_m = all.tau_adp = all.i_ext = all.v0 = all.a0 = all.s0 = all.w_ro = true;
  const Tensor dsp = n.dspikes.to_dtype(DType::f32), dro = n.dreadout.to_dtype(DType::f32);
  const kernels::LifGrads g = kernels::recurrent_lif_backward(n.p, n.cfg, x, opt.saved, dsp, dro, all);
  const kernels::LifGrads gr = kernels::recurrent_lif_backward_ref(n.p, n.cfg, x, dsp, dro);
  expect_close(g.dw, gr.dw, 1e-4, "dw");
  expect_close(g.dtau_m, gr.dtau_m, 1e-4, "dtau_m");
  expect_close(g.di_ext, gr.di_ext, 1e-4, "di_ext");
  expect_close(g.da0, gr.da0, 1e-4, "da0");
}

// RowTeam::measured on two threads: the first four calls of a workload alternate between the
// team and one thread, later calls run whichever was faster (either), all with the same bits.
TEST(RecurrentLif, MeasuredTeamChoiceTriesBothAndKeepsTheBits) {
  const int before = num_threads();
  set_num_threads(2);
  LifCase n = medium_net(DType::f32, 2.0, 5, 3);  // N = 1200: a workload no other test runs
  n.cfg.row_parallel_min_work = 0;
  n.cfg.row_team = RowTeam::measured;
  std::vector<kernels::LifForward> f;
  std::vector<kernels::LifGrads> g;
  for (int call = 0; call < 5; ++call) run_fwd_bwd(n, f, g);
  EXPECT_EQ(f[0].stats.threads, 2);
  EXPECT_EQ(f[1].stats.threads, 1);
  EXPECT_EQ(f[2].stats.threads, 2);
  EXPECT_EQ(f[3].stats.threads, 1);
  for (size_t k = 1; k < f.size(); ++k) {
    const std::string what = "call " + std::to_string(k) + " vs 0:";
    expect_same_run(f[0], f[k], what);
    expect_same_grads(g[0], g[k], what);
  }
  n.cfg.row_team = RowTeam::never;
  EXPECT_EQ(kernels::recurrent_lif_forward(n.p, n.cfg, n.x, false).stats.threads, 1);
  set_num_threads(before);
}

// A forward on one thread, with a second thread free, builds the backward's tables beside its
// time loop (LifSaved::tables). The backward uses them only with the inputs they were built
// from, and then gives the same bits as a backward that builds its own; given other weights
// (another tensor) or another config it builds its own, and its gradients follow the new
// inputs. A forward on a team keeps none. The free thread also fills the push's pre-major
// weights while the loop's first steps pull, and computes the readout from the saved u,
// trailing the loop: the same bits as the team's run.
TEST(RecurrentLif, TablesBuiltBesideTheForwardGiveTheSameGradients) {
  const int before = num_threads();
  set_num_threads(2);
  for (DType dt : {DType::f32, DType::f64}) {
    SCOPED_TRACE(dt == DType::f32 ? "float32" : "float64");
    LifCase n = medium_net(dt, 2.0, 1, 6);
    n.cfg.row_parallel_min_work = 0;
    n.cfg.row_team = RowTeam::never;
    const kernels::LifForward f = kernels::recurrent_lif_forward(n.p, n.cfg, n.x, true);
    ASSERT_EQ(f.stats.threads, 1);
    ASSERT_TRUE(f.saved.tables) << "a one-thread forward with a free thread should build the tables";
    EXPECT_GE(f.saved.table_bytes(), n.p.nnz() * (static_cast<int64_t>(dtype_size(dt)) + 2));
    kernels::LifSaved bare = f.saved;
    bare.tables.reset();
    auto backward = [&](const kernels::LifInputs& x, const LifConfig& cfg, const kernels::LifSaved& saved) {
      return kernels::recurrent_lif_backward(n.p, cfg, x, saved, n.dspikes, n.dreadout, all_needs());
    };
    const kernels::LifGrads with = backward(n.x, n.cfg, f.saved), without = backward(n.x, n.cfg, bare);
    expect_same_grads(with, without, "tables from the forward vs the backward's own:");
    const kernels::LifGrads ref = kernels::recurrent_lif_backward_ref(n.p, n.cfg, n.x, n.dspikes, n.dreadout);
    expect_close(with.dw, ref.dw, dt == DType::f32 ? 1e-4 : 1e-9, "dw vs the reference");

    kernels::LifInputs x2 = n.x;
    x2.w = uniform({n.p.nnz()}, 0.0, 0.3, 77, dt);
    const kernels::LifGrads other = backward(x2, n.cfg, f.saved);
    expect_same_grads(other, backward(x2, n.cfg, bare), "other weights:");
    EXPECT_NE(other.di_ext.to_vector<double>(), with.di_ext.to_vector<double>())
        << "the error must reach the inputs through the new weights";
    LifConfig cfg2 = n.cfg;
    cfg2.sg_width = 0.3;
    const kernels::LifGrads narrower = backward(n.x, cfg2, f.saved);
    expect_same_grads(narrower, backward(n.x, cfg2, bare), "another surrogate width:");
    EXPECT_NE(narrower.dw.to_vector<double>(), with.dw.to_vector<double>());

    n.cfg.row_team = RowTeam::always;
    const kernels::LifForward team = kernels::recurrent_lif_forward(n.p, n.cfg, n.x, true);
    EXPECT_EQ(team.stats.threads, 2);
    EXPECT_FALSE(team.saved.tables);
    // the one-thread forward's push weights were filled on the free thread while its first
    // steps pulled (whether it pushed once they were ready depends on timing), and its readout
    // computed there; the team's before and in its loop
    ASSERT_TRUE(f.readout.defined());
    expect_same_run(f, team, "push weights and readout beside the loop vs the team's:");
  }
  set_num_threads(before);
}

// The readout error (kernels/recurrent_lif_rows.h) sums every output's terms in order, one
// multiply-add at a time, in its own vector lane: any split of the columns into tiles gives
// the same bits, and so do the AVX-512 and AVX2 versions where the CPU has both; the values
// match a sum in long double.
TEST(RecurrentLifRows, ReadoutErrorSameBitsForAnyTilesAndVectorWidth) {
  const int64_t R = 37, C = 53;
  std::vector<float> w(static_cast<size_t>(R * C));
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  for (float& v : w) v = u(rng);
  for (int64_t Bs : {1, 3, 8, 13})
    for (int64_t ns : {1, 3, 8}) {
      SCOPED_TRACE("Bs " + std::to_string(Bs) + " steps " + std::to_string(ns));
      const int64_t D = Bs * R + 5;  // a step's gradients at a wider stride than its rows
      std::vector<float> dy(static_cast<size_t>(ns * D));
      for (float& v : dy) v = u(rng);
      const size_t n_out = static_cast<size_t>(ns * C * Bs);
      std::vector<float> whole(n_out, -1.0f), pieces(n_out, -1.0f);
      kernels::lif_rows::readout_error<float>(R, C, 0, C, w.data(), ns, dy.data(), D, Bs, C, whole.data());
      for (auto [c0, c1] : {std::pair<int64_t, int64_t>{0, 7}, {7, 32}, {32, 41}, {41, 53}})
        kernels::lif_rows::readout_error<float>(R, C, c0, c1, w.data(), ns, dy.data(), D, Bs, C, pieces.data());
      ASSERT_EQ(whole, pieces);
      for (int64_t s = 0; s < ns; ++s)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t b = 0; b < Bs; ++b) {
            long double e = 0;
            for (int64_t r = 0; r < R; ++r) e += static_cast<long double>(w[r * C + c]) * dy[s * D + b * R + r];
            ASSERT_NEAR(whole[(s * C + c) * Bs + b], static_cast<double>(e), 1e-5);
          }
#if RSNN_MULTIVERSION_X86
      if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")) {
        std::vector<float> narrow(n_out, -1.0f), wide(n_out, -1.0f);
        kernels::lif_rows::readout_error_avx2<float>(R, C, 0, C, w.data(), ns, dy.data(), D, Bs, C, narrow.data());
        kernels::lif_rows::readout_error_avx512<float>(R, C, 0, C, w.data(), ns, dy.data(), D, Bs, C, wide.data());
        ASSERT_EQ(narrow, wide);
      }
#endif
    }
}

// One thread runs 62 samples as one slice (the backward's vector gathers in chunks of 2 and
// 1 vectors, then 6 left-over samples), three threads run slices of at most 24; the forward's
// push reads its accumulators in 8 x 8 transposed tiles (group sizes of 300 and 500 and the
// batch not multiples of 8: partial tiles too). Both must give the same bits.
TEST(RecurrentLif, WideAndNarrowSlicesAreBitIdentical) {
  const int before = num_threads();
  for (DType dt : {DType::f32, DType::f64}) {
    SCOPED_TRACE(dt == DType::f32 ? "float32" : "float64");
    LifCase n = medium_net(dt, 2.0, 5, 62);
    n.cfg.propagation = Propagation::push;
    std::vector<kernels::LifForward> f;
    std::vector<kernels::LifGrads> g;
    for (int threads : {1, 3}) {
      set_num_threads(threads);
      run_fwd_bwd(n, f, g);
    }
    EXPECT_EQ(f[0].stats.slices, 1);
    EXPECT_GT(f[1].stats.slices, 1);
    EXPECT_GT(f[0].stats.spikes, 0);
    expect_same_run(f[0], f[1], "one slice vs three:");
    expect_same_grads(g[0], g[1], "one slice vs three:");
  }
  set_num_threads(before);
}

// ---- what is kept for backward -------------------------------------------------------

TEST(RecurrentLif, KeepsAtMostEightBytesPerNeuronStep) {
  for (NeuronModel m : {NeuronModel::alif, NeuronModel::lif, NeuronModel::if_}) {
    LifCase n = small_net(m, UpdateOrder::gauss_seidel, true);
    const kernels::LifInputs x = convert(n.x, DType::f32);
    ag::RecurrentLifInputs in;
    in.w = ag::Var(x.w, true);
    in.tau_m = ag::Var(x.tau_m, true);
    in.tau_adp = ag::Var(x.tau_adp, true);
    in.i_ext = ag::Var(x.i_ext);
    in.v0 = ag::Var(x.v0);
    in.a0 = ag::Var(x.a0);
    in.s0 = ag::Var(x.s0);
    in.w_ro = ag::Var(x.w_ro, true);
    in.b_base = x.b_base;
    n.cfg.output_spikes = false;
    n.cfg.record_spikes = n.cfg.record_state = false;
    const ag::RecurrentLifOutputs out = ag::recurrent_lif(n.p, n.cfg, in);
    const double expected = m == NeuronModel::alif ? 8.0 : 4.0;
    EXPECT_EQ(out.saved_bytes_per_neuron_step, expected) << model_name(m);
    EXPECT_LE(out.saved_bytes_per_neuron_step, 8.0);
    EXPECT_EQ(out.saved_bytes, static_cast<int64_t>(expected * 12 * 3 * 30));
    // nothing is kept when no gradient is needed
    ag::NoGradGuard ng;
    EXPECT_EQ(ag::recurrent_lif(n.p, n.cfg, in).saved_bytes, 0);
  }
}

// ---- primitive spiking ops (the unfused reference's building blocks) ---------------------

TEST(SpikingOps, SpikeBackwardIsTheSurrogate) {
  for (Surrogate kind : {Surrogate::gaussian, Surrogate::fast_sigmoid, Surrogate::triangle}) {
    Tensor u = uniform({4, 7}, -1.5, 1.5, 50);
    u.data<double>()[3] = 0.0;  // H(0) = 0
    ag::Var uv(u, true);
    ag::Var s = ag::spike(uv, kind, 0.7, 1.3);
    const Tensor g = uniform({4, 7}, -1, 1, 51);
    ag::backward(s, g);
    for (int64_t k = 0; k < 28; ++k) {
      const double x = u.data<double>()[k];
      EXPECT_EQ(s.value().data<double>()[k], x > 0 ? 1.0 : 0.0);
      double want = 0;
      const double pi = 3.14159265358979323846;
      if (kind == Surrogate::gaussian) want = 1.3 * std::exp(-x * x / (2 * 0.49)) / (std::sqrt(2 * pi) * 0.7);
      if (kind == Surrogate::fast_sigmoid) want = 1.3 / std::pow(1 + std::abs(x) / 0.7, 2);
      if (kind == Surrogate::triangle) want = std::max(0.0, 1 - std::abs(x) / 0.7) * 1.3 / 0.7;
      EXPECT_NEAR(uv.grad().data<double>()[k], g.data<double>()[k] * want, 1e-14);
    }
  }
}

TEST(SpikingOps, CsrPropagateMatchesDenseAndFiniteDifferences) {
  const Projection p = lif_net::random_groups({7, 5, 9}, {1, -1, 1}, 0.4, 3);
  const int64_t N = 21, B = 4;
  const Tensor w = uniform({p.nnz()}, 0, 1, 60), x = uniform({B, N}, -1, 1, 61);
  const Tensor out = kernels::csr_propagate_forward(p, w, x);
  // dense signed matrix by hand
  std::vector<double> dense(N * N, 0.0);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t k = p.post_ptr.data<int64_t>()[i]; k < p.post_ptr.data<int64_t>()[i + 1]; ++k) {
      const int32_t j = p.pre_idx.data<int32_t>()[k];
      dense[i * N + j] = p.source_sign.data<float>()[j] * w.data<double>()[k];
    }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < N; ++i) {
      double acc = 0;
      for (int64_t j = 0; j < N; ++j) acc += dense[i * N + j] * x.data<double>()[b * N + j];
      EXPECT_NEAR(out.data<double>()[b * N + i], acc, 1e-13);
    }
  expect_close(kernels::csr_propagate_forward_ref(p, w, x), out, 1e-15, "ref");
  // spiking input (zeros skip in the weight gradient) and real input
  Tensor xs = Tensor::empty({B, N}, DType::f64);
  fill_bernoulli(xs, 5, 6, 0.3);
  for (const Tensor& xin : {x, xs}) {
    const ag::GradCheckResult r = ag::gradcheck(
        [p](const std::vector<ag::Var>& v) { return ag::csr_propagate(p, v[0], v[1]); }, {w, xin});
    EXPECT_TRUE(r.ok) << r.report;
  }
  const ag::GradCheckResult r1 = ag::gradcheck(
      [p](const std::vector<ag::Var>& v) { return ag::csr_propagate(p, v[0], v[1]); },
      {w, uniform({N}, -1, 1, 62)});
  EXPECT_TRUE(r1.ok) << r1.report;
}

// ---- validation ----------------------------------------------------------------------------

TEST(RecurrentLif, RejectsBadShapesWithClearErrors) {
  auto expect_error = [](LifCase n, const std::string& needle) {
    try {
      kernels::recurrent_lif_forward(n.p, n.cfg, n.x, false);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const LifCase base = small_net(NeuronModel::alif, UpdateOrder::gauss_seidel, true);
  LifCase n = base;
  n.x.w = uniform({3}, 0, 1, 1);
  expect_error(n, "w (one value per synapse)");
  n = base;
  n.x.tau_m = uniform({29}, 1, 2, 1);
  expect_error(n, "tau_m");
  n = base;
  n.x.tau_adp = Tensor();
  expect_error(n, "tau_adp");
  n = base;
  n.x.i_ext = uniform({12, 3, 26}, 0, 1, 1);
  expect_error(n, "input range");
  n = base;
  n.x.v0 = uniform({2, 30}, 0, 1, 1);
  expect_error(n, "v0");
  n = base;
  n.x.w_ro = uniform({4, 19}, 0, 1, 1);
  expect_error(n, "w_ro must be [R, 20]");
  n = base;
  n.cfg.group_offsets = {0, 10, 40};
  expect_error(n, "group_offsets");
  n = base;
  n.cfg.readout = {{25, 10}};
  expect_error(n, "readout range");
  n = base;
  n.x.tau_m = n.x.tau_m.clone();
  n.x.tau_m.data<double>()[4] = -1.0;
  expect_error(n, "tau_m[4]");
  n = base;
  n.x.i_ext = n.x.i_ext.to_dtype(DType::f32);
  expect_error(n, "i_ext");
}
