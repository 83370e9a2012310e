// One parity fixture for the fused recurrent LIF op: every implementation, {optimized CPU
// (pull, push, automatic), CUDA (pull, push, cuSPARSE; skipped without a usable device), the
// fused op on the tape, the same model from primitive tape ops (unfused)}, against the plain
// reference kernels (the specification), over every neuron model, both update orders, every
// surrogate, with and without a readout (columns in neuron order or not) and spike output.
// Each implementation gives what it has (the unfused tape no records, the tapes no saved
// state); every gradient is that of sum(dspikes * spikes) + sum(dreadout * readout).
// Tolerances, relative to the largest expected magnitude (lif_test::expect_close):
//   float64: identical spikes; values within 1e-12; gradients within 1e-10 (CPU, tape), 1e-9
//            (CUDA: summation order, fused multiply-adds), 1e-6 (unfused: the tape sums
//            dL/dtau_m in another order over many more terms).
//   float32: against the float32 CPU op on a network whose |u| stays above 1e-5 (identical
//            spikes), values within 1e-5, gradients within 1e-4; the float32 CPU op itself
//            against the float64 reference at the same bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "autograd/recurrent_lif.h"
#include "autograd/recurrent_lif_unfused.h"
#include "kernels/recurrent_lif.h"
#include "runtime/device.h"
#include "tests/lif_testing.h"

using namespace rsnn;
using namespace rsnn::lif_net;
using namespace rsnn::lif_test;

namespace {

enum class Impl { reference, cpu, cuda, tape, unfused };

struct Variant {
  Impl impl;
  Propagation prop;  // cpu and cuda
  const char* name;
};
// Test names and ctest's listing show the variant's name (not the struct's bytes, which hold a
// pointer and so change from run to run).
void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

const Variant kVariants[] = {
    {Impl::cpu, Propagation::pull, "cpu_pull"},          {Impl::cpu, Propagation::push, "cpu_push"},
    {Impl::cpu, Propagation::automatic, "cpu_automatic"}, {Impl::cuda, Propagation::pull, "cuda_pull"},
    {Impl::cuda, Propagation::push, "cuda_push"},        {Impl::cuda, Propagation::cusparse, "cuda_cusparse"},
    {Impl::tape, Propagation::automatic, "tape"},         {Impl::unfused, Propagation::automatic, "unfused"},
};

struct Tol {
  double value, grad;
};

Tol f64_tol(Impl i) {
  return i == Impl::cuda ? Tol{1e-12, 1e-9} : i == Impl::unfused ? Tol{1e-12, 1e-6} : Tol{1e-12, 1e-10};
}
constexpr Tol kF32{1e-5, 1e-4};

// What an implementation gave (undefined where it gives nothing), on the CPU.
struct Outcome {
  Tensor spikes, spike_record, readout, v_record, a_record, saved_u, saved_a;
  int64_t spike_count = -1;      // -1: not counted
  int64_t synaptic_events = -1;  // -1: not counted (the reference does not)
  kernels::LifGrads g;
};

Tensor on_cpu(const Tensor& t) { return t.defined() ? t.to(Device::cpu()) : Tensor(); }

Outcome from_kernels(const kernels::LifForward& f, const kernels::LifGrads& g) {
  Outcome r;
  r.spikes = on_cpu(f.spikes);
  r.spike_record = on_cpu(f.spike_record);
  r.readout = on_cpu(f.readout);
  r.v_record = on_cpu(f.v_record);
  r.a_record = on_cpu(f.a_record);
  r.saved_u = on_cpu(f.saved.u);
  r.saved_a = on_cpu(f.saved.a);
  r.spike_count = f.stats.spikes;
  r.synaptic_events = f.stats.synaptic_events;
  for (auto [to, from] : {std::pair<Tensor*, const Tensor*>{&r.g.dw, &g.dw}, {&r.g.dtau_m, &g.dtau_m},
                          {&r.g.dtau_adp, &g.dtau_adp}, {&r.g.di_ext, &g.di_ext}, {&r.g.dv0, &g.dv0},
                          {&r.g.da0, &g.da0}, {&r.g.ds0, &g.ds0}, {&r.g.dw_ro, &g.dw_ro}})
    *to = on_cpu(*from);
  return r;
}

// The op (kernels) on device d in dtype dt.
Outcome run_kernels(const LifCase& n, DType dt, Propagation prop, Device d) {
  LifConfig cfg = n.cfg;
  cfg.propagation = prop;
  const Projection p = d.is_cpu() ? n.p : to_device(n.p, d);
  const kernels::LifInputs x = convert(n.x, dt, d);
  const kernels::LifForward f = kernels::recurrent_lif_forward(p, cfg, x, true);
  if (d.is_cuda()) {
    EXPECT_TRUE(f.saved.u.device().is_cuda()) << "the saved state should stay on the device";
  }
  const Tensor dro = n.dreadout.defined() ? n.dreadout.to_dtype(dt).to(d) : Tensor();
  const Tensor dsp = n.dspikes.defined() ? n.dspikes.to_dtype(dt).to(d) : Tensor();
  const kernels::LifGrads g = kernels::recurrent_lif_backward(p, cfg, x, f.saved, dsp, dro, all_needs());
  if (d.is_cuda()) {
    EXPECT_TRUE(g.dw.device().is_cuda()) << "the gradients should stay on the device";
  }
  return from_kernels(f, g);
}

// The fused op (ag::recurrent_lif) or the unfused one on the tape, on the CPU.
template <class Op>
Outcome run_tape(const LifCase& n, DType dt, Op op) {
  const kernels::LifInputs x = convert(n.x, dt);
  std::vector<ag::Var> v;
  for (const Tensor* t : {&x.w, &x.tau_m, &x.tau_adp, &x.i_ext, &x.v0, &x.a0, &x.s0, &x.w_ro})
    v.push_back(t->defined() ? ag::Var(t->clone(), true) : ag::Var());
  ag::RecurrentLifInputs in;
  in.w = v[0], in.tau_m = v[1], in.tau_adp = v[2], in.i_ext = v[3];
  in.v0 = v[4], in.a0 = v[5], in.s0 = v[6], in.w_ro = v[7];
  in.b_base = x.b_base;
  const ag::RecurrentLifOutputs out = op(n.p, n.cfg, in);
  EXPECT_EQ(out.spikes.defined(), n.cfg.output_spikes);
  if (out.spikes.defined()) {
    EXPECT_TRUE(out.spikes.requires_grad());
  }
  if (out.readout.defined()) {
    EXPECT_TRUE(out.readout.requires_grad());
  }
  Outcome r;
  if (out.spikes.defined()) {
    r.spikes = out.spikes.value();
    ag::backward(out.spikes, n.dspikes.to_dtype(dt), true);
  }
  if (out.readout.defined()) {
    r.readout = out.readout.value();
    ag::backward(out.readout, n.dreadout.to_dtype(dt), true);
  }
  r.spike_record = out.spike_record;
  r.v_record = out.v_record;
  r.a_record = out.a_record;
  // a leaf no gradient reached (tau_adp, a0 outside alif) has a zero gradient
  auto grad = [](const ag::Var& a) {
    return !a.defined() ? Tensor() : a.grad().defined() ? a.grad() : Tensor::zeros(a.shape(), a.dtype());
  };
  r.g.dw = grad(v[0]), r.g.dtau_m = grad(v[1]), r.g.dtau_adp = grad(v[2]), r.g.di_ext = grad(v[3]);
  r.g.dv0 = grad(v[4]), r.g.da0 = grad(v[5]), r.g.ds0 = grad(v[6]), r.g.dw_ro = grad(v[7]);
  return r;
}

Outcome run(const Variant& v, const LifCase& n, DType dt) {
  switch (v.impl) {
    case Impl::reference: {
      const kernels::LifInputs x = convert(n.x, DType::f64);
      Outcome r = from_kernels(kernels::recurrent_lif_forward_ref(n.p, n.cfg, x),
                               kernels::recurrent_lif_backward_ref(n.p, n.cfg, x, n.dspikes, n.dreadout));
      r.synaptic_events = -1;  // not counted by the reference
      return r;
    }
    case Impl::cpu: return run_kernels(n, dt, v.prop, Device::cpu());
    case Impl::cuda: return run_kernels(n, dt, v.prop, Device::cuda(0));
    case Impl::tape: return run_tape(n, dt, ag::recurrent_lif);
    case Impl::unfused: return run_tape(n, dt, ag::recurrent_lif_unfused);
  }
  return {};
}

// got against want, where got has it (the saved state in the same layout; records and counts
// only where both have them).
void compare(const Outcome& got, const Outcome& want, Tol tol) {
  auto both = [](const Tensor& a, const Tensor& b) { return a.defined() && b.defined(); };
  expect_identical(got.spikes, want.spikes, "spikes");
  if (both(got.spike_record, want.spike_record)) expect_identical(got.spike_record, want.spike_record, "spike record");
  if (got.spike_count >= 0 && want.spike_count >= 0) {
    EXPECT_EQ(got.spike_count, want.spike_count);
  }
  if (got.synaptic_events >= 0 && want.synaptic_events >= 0) {
    EXPECT_EQ(got.synaptic_events, want.synaptic_events);
  }
  if (both(got.v_record, want.v_record)) expect_close(got.v_record, want.v_record, tol.value, "v record");
  if (both(got.a_record, want.a_record)) expect_close(got.a_record, want.a_record, tol.value, "a record");
  if (both(got.saved_u, want.saved_u)) expect_close(got.saved_u, want.saved_u, tol.value, "saved u");
  if (both(got.saved_a, want.saved_a)) expect_close(got.saved_a, want.saved_a, tol.value, "saved a");
  expect_close(got.readout, want.readout, tol.value, "readout");
  expect_close(got.g.dw, want.g.dw, tol.grad, "dw");
  expect_close(got.g.dtau_m, want.g.dtau_m, tol.grad, "dtau_m");
  expect_close(got.g.dtau_adp, want.g.dtau_adp, tol.grad, "dtau_adp");
  expect_close(got.g.di_ext, want.g.di_ext, tol.grad, "di_ext");
  expect_close(got.g.dv0, want.g.dv0, tol.grad, "dv0");
  expect_close(got.g.da0, want.g.da0, tol.grad, "da0");
  expect_close(got.g.ds0, want.g.ds0, tol.grad, "ds0");
  expect_close(got.g.dw_ro, want.g.dw_ro, tol.grad, "dw_ro");
}

enum class Readout { none, ordered, reversed };

// The small network (kernels/testing/lif_networks.h) with a surrogate, a readout and spike output as given.
LifCase make_case(NeuronModel m, UpdateOrder o, Surrogate sg, Readout ro, bool spikes, uint64_t seed) {
  LifCase n = small_net(m, o, ro != Readout::none, seed);
  n.cfg.surrogate = sg;
  n.cfg.sg_width = sg == Surrogate::triangle ? 0.6 : 0.4;
  n.cfg.sg_scale = 0.7;
  if (ro == Readout::reversed) n.cfg.readout = {{20, 10}, {0, 10}};  // columns need not follow neuron order
  n.cfg.output_spikes = spikes;
  if (!spikes) n.dspikes = Tensor();  // no spike output, no gradient for it
  return n;
}

// The gradients that must not vanish (w, tau_m unless if, i_ext, v0, s0): else comparing them
// would prove little.
void expect_gradients_reach(const Outcome& o, NeuronModel m) {
  auto max_abs = [](const Tensor& t) {
    double mx = 0;
    for (double x : t.to_vector<double>()) mx = std::max(mx, std::abs(x));
    return mx;
  };
  EXPECT_GT(max_abs(o.g.dw), 0.0) << "dw is zero";
  if (m != NeuronModel::if_) {
    EXPECT_GT(max_abs(o.g.dtau_m), 0.0) << "dtau_m is zero";
  }
  EXPECT_GT(max_abs(o.g.di_ext), 0.0) << "di_ext is zero";
  EXPECT_GT(max_abs(o.g.dv0), 0.0) << "dv0 is zero";
  EXPECT_GT(max_abs(o.g.ds0), 0.0) << "ds0 is zero";
}

class LifParity : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    if (GetParam().impl == Impl::cuda && !cuda_usable()) GTEST_SKIP() << "no usable CUDA device";
  }
};

}  // namespace

TEST_P(LifParity, Float64AllModelsOrdersSurrogatesReadouts) {
  const Variant v = GetParam();
  for (NeuronModel m : {NeuronModel::alif, NeuronModel::lif, NeuronModel::if_})
    for (UpdateOrder o : {UpdateOrder::gauss_seidel, UpdateOrder::previous_step})
      for (Surrogate sg : {Surrogate::gaussian, Surrogate::fast_sigmoid, Surrogate::triangle})
        for (auto [ro, spikes] : {std::pair{Readout::ordered, true}, {Readout::none, true},
                                  {Readout::reversed, false}}) {
          SCOPED_TRACE(std::string(model_name(m)) + (o == UpdateOrder::gauss_seidel ? " gs" : " prev") +
                       " surrogate " + std::to_string(static_cast<int>(sg)) + " readout " +
                       std::to_string(static_cast<int>(ro)) + (spikes ? " spikes" : ""));
          const LifCase n = make_case(m, o, sg, ro, spikes, 1);
          const Outcome want = run({Impl::reference, Propagation::pull, "reference"}, n, DType::f64);
          EXPECT_GT(want.spike_count, 0) << "the test network should fire";
          EXPECT_LT(want.spike_count, n.x.v0.numel() * n.x.i_ext.size(0) / 2) << "the network should not saturate";
          expect_gradients_reach(want, m);
          const Outcome got = run(v, n, DType::f64);
          compare(got, want, f64_tol(v.impl));
          if (v.impl == Impl::cuda) {  // the event count, which the reference does not keep
            const Outcome cpu = run({Impl::cpu, Propagation::pull, "cpu"}, n, DType::f64);
            EXPECT_EQ(got.synaptic_events, cpu.synaptic_events);
          }
        }
}

// The first network (seed) of the recipe whose float32 CPU run keeps every |u| above 1e-5, so
// that every float32 implementation gives the same spikes.
TEST_P(LifParity, Float32AwayFromThreshold) {
  const Variant v = GetParam();
  for (NeuronModel m : {NeuronModel::alif, NeuronModel::lif, NeuronModel::if_})
    for (UpdateOrder o : {UpdateOrder::gauss_seidel, UpdateOrder::previous_step}) {
      LifCase n;
      Outcome want;
      uint64_t seed = 2;
      do {
        n = make_case(m, o, Surrogate::gaussian, Readout::ordered, true, ++seed);
        want = run({Impl::cpu, Propagation::pull, "cpu"}, n, DType::f32);
      } while (min_abs(want.saved_u) <= 1e-5 && seed < 12);
      ASSERT_GT(min_abs(want.saved_u), 1e-5) << "no seed in 3..12 keeps the values off the threshold";
      SCOPED_TRACE(std::string(model_name(m)) + (o == UpdateOrder::gauss_seidel ? " gs" : " prev") + " seed " +
                   std::to_string(seed));
      if (v.impl == Impl::cpu && v.prop == Propagation::pull) {
        // the float32 CPU op itself against the float64 reference
        compare(want, run({Impl::reference, Propagation::pull, "reference"}, n, DType::f64), kF32);
        EXPECT_GT(want.spike_count, 0);
      } else {
        compare(run(v, n, DType::f32), want, kF32);
      }
    }
}

// 240 neurons in 4 groups, alif, a readout of 19 units over two ranges: sparse and dense
// firing (drive), both orders, a batch of one slice and of several (B = 20: 8-sample blocks,
// the last partial).
TEST_P(LifParity, MediumNetworkSparseAndDenseFiring) {
  const Variant v = GetParam();
  struct M {
    UpdateOrder order;
    double drive;
    int64_t B;
  };
  for (const M& c : {M{UpdateOrder::gauss_seidel, 2.0, 6}, M{UpdateOrder::gauss_seidel, 2.0, 20},
                     M{UpdateOrder::gauss_seidel, 1.2, 6}, M{UpdateOrder::gauss_seidel, 4.0, 6},
                     M{UpdateOrder::previous_step, 1.2, 6}, M{UpdateOrder::previous_step, 4.0, 6}}) {
    SCOPED_TRACE(std::string(c.order == UpdateOrder::gauss_seidel ? "gs" : "prev") + " drive " +
                 std::to_string(c.drive) + " B " + std::to_string(c.B));
    LifCase n = medium_net(DType::f64, c.drive, 1, c.B);
    n.cfg.order = c.order;
    const Outcome want = run({Impl::reference, Propagation::pull, "reference"}, n, DType::f64);
    EXPECT_GT(want.spike_count, 0);
    compare(run(v, n, DType::f64), want, f64_tol(v.impl));
  }
}

INSTANTIATE_TEST_SUITE_P(Implementations, LifParity, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<Variant>& i) { return std::string(i.param.name); });
