// The CUDA recurrent LIF layer against the CPU op (kernels/recurrent_lif.h): every neuron
// model, both update orders, every surrogate, with and without readout, pull / push / cuSPARSE
// propagation, float64 and float32, batch sizes that exercise every lane layout, optional
// inputs and partial gradient requests, the tape op on CUDA, reproducibility, scratch memory,
// and input errors. Every CUDA case skips without a usable device. Tolerances:
//   float64: identical spikes, values within 1e-12, gradients within 1e-9 (relative to the
//            largest expected magnitude); the CPU and GPU differ only in summation order (and
//            fused multiply-adds).
//   float32: identical spikes where no |u| is within 1e-5 of threshold (checked on the CPU
//            run), values within 1e-5, gradients within 1e-4 relative; push propagation adds
//            with atomics in a varying order, which these bounds cover.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/recurrent_lif.h"
#include "kernels/recurrent_lif.h"
#include "kernels/recurrent_lif_cuda.h"
#include "runtime/random.h"
#include "tests/lif_networks.h"
#include "tests/test_util.h"

using namespace rsnn;

namespace {

struct Net {
  Projection p;
  LifConfig cfg;
  kernels::LifInputs x;  // CPU, float64
  Tensor dspikes, dreadout;
};

Tensor uniform(const Shape& s, double lo, double hi, uint64_t stream, DType dt = DType::f64) {
  Tensor t = Tensor::empty(s, dt);
  fill_uniform(t, 99, stream, lo, hi);
  return t;
}

// 30 neurons in 3 groups (E, I, E); the same recipe as the CPU tests.
Net small_net(NeuronModel model, UpdateOrder order, bool readout, uint64_t seed = 1, int64_t T = 12,
              int64_t B = 3) {
  Net n;
  n.p = lif_net::random_groups({10, 10, 10}, {1.f, -1.f, 1.f}, {}, 0.3, seed);
  const int64_t N = 30, nnz = n.p.nnz();
  n.cfg.model = model;
  n.cfg.order = order;
  n.cfg.group_offsets = {0, 10, 20, 30};
  n.cfg.input_offset = 5;
  n.cfg.output_spikes = true;
  n.cfg.record_spikes = true;
  n.cfg.record_state = true;
  const uint64_t s = seed * 100;
  n.x.w = uniform({nnz}, 0.0, model == NeuronModel::if_ ? 0.05 : 0.5, s + 1);
  n.x.tau_m = uniform({N}, 4.0, 15.0, s + 2);
  n.x.tau_adp = uniform({N}, 3.0, 8.0, s + 3);
  n.x.b_base = uniform({N}, 0.2, 0.6, s + 4);
  const double hi = model == NeuronModel::if_ ? 0.25 : 3.0;
  n.x.i_ext = uniform({T, B, 20}, -0.3 * hi, hi, s + 5);
  n.x.v0 = uniform({B, N}, -0.5, 0.8, s + 6);
  n.x.a0 = uniform({B, N}, 0.0, 0.3, s + 7);
  n.x.s0 = uniform({B, N}, 0.0, 1.0, s + 8);
  n.dspikes = uniform({T, B, N}, -1.0, 1.0, s + 9);
  if (readout) {
    n.cfg.readout = {{0, 10}, {20, 10}};
    n.x.w_ro = uniform({4, 20}, -1.0, 1.0, s + 10);
    n.dreadout = uniform({T, B, 4}, -1.0, 1.0, s + 11);
  }
  return n;
}

// 240 neurons in 4 groups, alif, readout over two ranges; `drive` sets the firing rate.
Net medium_net(double drive, int64_t T = 25, int64_t B = 6) {
  Net n;
  const int64_t N = 240;
  n.p = lif_net::random_groups({60, 20, 100, 60}, {1.f, -1.f, 1.f, -1.f}, {}, 0.15, 21);
  n.cfg.model = NeuronModel::alif;
  n.cfg.group_offsets = {0, 60, 80, 180, 240};
  n.cfg.output_spikes = true;
  n.cfg.record_spikes = true;
  n.cfg.readout = {{0, 60}, {80, 100}};
  n.x.w = uniform({n.p.nnz()}, 0.0, 0.3, 31);
  n.x.tau_m = uniform({N}, 5.0, 15.0, 32);
  n.x.tau_adp = uniform({N}, 3.0, 8.0, 33);
  n.x.b_base = uniform({N}, 0.3, 0.6, 34);
  n.x.i_ext = uniform({T, B, 100}, -1.0, drive, 35);
  n.x.v0 = uniform({B, N}, -0.5, 0.5, 36);
  n.x.a0 = uniform({B, N}, 0.0, 0.2, 37);
  n.x.s0 = uniform({B, N}, 0.0, 1.0, 38);
  n.x.w_ro = uniform({16, 160}, -1.0, 1.0, 39);
  n.dspikes = uniform({T, B, N}, -1.0, 1.0, 40);
  n.dreadout = uniform({T, B, 16}, -1.0, 1.0, 41);
  return n;
}

Projection to_device(const Projection& p, Device d) {
  Projection q = p;
  q.post_ptr = p.post_ptr.to(d);
  q.pre_idx = p.pre_idx.to(d);
  q.pre_ptr = p.pre_ptr.to(d);
  q.post_idx = p.post_idx.to(d);
  q.syn_of_pre = p.syn_of_pre.to(d);
  q.source_sign = p.source_sign.to(d);
  return q;
}

kernels::LifInputs convert(const kernels::LifInputs& x, DType dt, Device d) {
  auto c = [dt, d](const Tensor& t) { return t.defined() ? t.to_dtype(dt).to(d) : Tensor(); };
  kernels::LifInputs y;
  y.w = c(x.w);
  y.tau_m = c(x.tau_m);
  y.tau_adp = c(x.tau_adp);
  y.b_base = c(x.b_base);
  y.i_ext = c(x.i_ext);
  y.v0 = c(x.v0);
  y.a0 = c(x.a0);
  y.s0 = c(x.s0);
  y.w_ro = c(x.w_ro);
  return y;
}

kernels::LifNeeds all_needs() {
  kernels::LifNeeds n;
  n.w = n.tau_m = n.tau_adp = n.i_ext = n.v0 = n.a0 = n.s0 = n.w_ro = true;
  return n;
}

// max |a - b| <= rtol * max(max |b|, floor); fails on NaN. Either tensor may be on any device.
void expect_close(const Tensor& a, const Tensor& b, double rtol, const std::string& what,
                  double floor = 1e-3) {
  ASSERT_EQ(a.defined(), b.defined()) << what << ": defined " << a.defined() << " vs " << b.defined();
  if (!b.defined()) return;
  ASSERT_EQ(a.shape(), b.shape()) << what;
  const auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  double scale = floor, err = 0;
  size_t worst = 0;
  for (size_t k = 0; k < av.size(); ++k) {
    ASSERT_FALSE(std::isnan(av[k])) << what << ": NaN at " << k;
    scale = std::max(scale, std::abs(bv[k]));
    if (std::abs(av[k] - bv[k]) > err) {
      err = std::abs(av[k] - bv[k]);
      worst = k;
    }
  }
  EXPECT_LE(err, rtol * scale) << what << ": worst element " << worst << " got " << av[worst]
                               << " want " << bv[worst] << " (scale " << scale << ")";
}

void expect_identical(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.defined(), b.defined()) << what;
  if (!a.defined()) return;
  ASSERT_EQ(a.shape(), b.shape()) << what;
  const auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  for (size_t k = 0; k < av.size(); ++k) ASSERT_EQ(av[k], bv[k]) << what << " differs at " << k;
}

double min_abs(const Tensor& t) {
  double m = 1e300;
  for (double v : t.to_vector<double>()) m = std::min(m, std::abs(v));
  return m;
}

const char* prop_name(Propagation p) {
  switch (p) {
    case Propagation::automatic: return "automatic";
    case Propagation::pull: return "pull";
    case Propagation::push: return "push";
    case Propagation::cusparse: return "cusparse";
  }
  return "?";
}

const char* model_name(NeuronModel m) {
  return m == NeuronModel::alif ? "alif" : m == NeuronModel::lif ? "lif" : "if";
}

struct Tol {
  double value, grad;
};
constexpr Tol kF64{1e-12, 1e-9};
constexpr Tol kF32{1e-5, 1e-4};

struct Outcome {
  kernels::LifForward f;
  kernels::LifGrads g;
};

// The CPU op in dtype dt (pull propagation: the CPU rejects cusparse).
Outcome run_cpu(const Net& n, DType dt, const kernels::LifNeeds& needs = all_needs()) {
  LifConfig cfg = n.cfg;
  cfg.propagation = Propagation::pull;
  const kernels::LifInputs x = convert(n.x, dt, Device::cpu());
  Outcome r;
  r.f = kernels::recurrent_lif_forward(n.p, cfg, x, true);
  r.g = kernels::recurrent_lif_backward(n.p, cfg, x, r.f.saved, n.dspikes.to_dtype(dt),
                                        n.dreadout.defined() ? n.dreadout.to_dtype(dt) : Tensor(), needs);
  return r;
}

Outcome run_cuda(const Net& n, DType dt, Propagation prop, const kernels::LifNeeds& needs = all_needs()) {
  const Device dev = Device::cuda(0);
  LifConfig cfg = n.cfg;
  cfg.propagation = prop;
  const Projection p = to_device(n.p, dev);
  const kernels::LifInputs x = convert(n.x, dt, dev);
  Outcome r;
  r.f = kernels::recurrent_lif_forward(p, cfg, x, true);
  r.g = kernels::recurrent_lif_backward(p, cfg, x, r.f.saved, n.dspikes.to_dtype(dt).to(dev),
                                        n.dreadout.defined() ? n.dreadout.to_dtype(dt).to(dev) : Tensor(),
                                        needs);
  return r;
}

void expect_on_cuda(const Tensor& t, const std::string& what) {
  if (t.defined()) {
    EXPECT_TRUE(t.device().is_cuda()) << what << " is on " << t.device().str();
  }
}

void compare(const Outcome& got, const Outcome& want, Tol tol, const std::string& what) {
  SCOPED_TRACE(what);
  expect_on_cuda(got.f.saved.u, "saved u");
  expect_on_cuda(got.g.dw, "dw");
  expect_identical(got.f.spike_record, want.f.spike_record, "spike record");
  expect_identical(got.f.spikes, want.f.spikes, "spikes");
  EXPECT_EQ(got.f.stats.spikes, want.f.stats.spikes);
  EXPECT_EQ(got.f.stats.synaptic_events, want.f.stats.synaptic_events);
  expect_close(got.f.v_record, want.f.v_record, tol.value, "v record");
  expect_close(got.f.a_record, want.f.a_record, tol.value, "a record");
  expect_close(got.f.saved.u, want.f.saved.u, tol.value, "saved u");
  expect_close(got.f.saved.a, want.f.saved.a, tol.value, "saved a");
  expect_close(got.f.readout, want.f.readout, tol.value, "readout");
  expect_close(got.g.dw, want.g.dw, tol.grad, "dw");
  expect_close(got.g.dtau_m, want.g.dtau_m, tol.grad, "dtau_m");
  expect_close(got.g.dtau_adp, want.g.dtau_adp, tol.grad, "dtau_adp");
  expect_close(got.g.di_ext, want.g.di_ext, tol.grad, "di_ext");
  expect_close(got.g.dv0, want.g.dv0, tol.grad, "dv0");
  expect_close(got.g.da0, want.g.da0, tol.grad, "da0");
  expect_close(got.g.ds0, want.g.ds0, tol.grad, "ds0");
  expect_close(got.g.dw_ro, want.g.dw_ro, tol.grad, "dw_ro");
}

constexpr Propagation kCudaProps[] = {Propagation::pull, Propagation::push, Propagation::cusparse};

}  // namespace

// ---- against the CPU op ------------------------------------------------------------------

TEST(CudaRecurrentLif, MatchesCpuFloat64AllModelsOrdersSurrogates) {
  RSNN_SKIP_WITHOUT_CUDA();
  for (NeuronModel m : {NeuronModel::alif, NeuronModel::lif, NeuronModel::if_})
    for (UpdateOrder o : {UpdateOrder::gauss_seidel, UpdateOrder::previous_step})
      for (Surrogate sg : {Surrogate::gaussian, Surrogate::fast_sigmoid, Surrogate::triangle})
        for (bool ro : {true, false}) {
          Net n = small_net(m, o, ro);
          n.cfg.surrogate = sg;
          n.cfg.sg_width = sg == Surrogate::triangle ? 0.6 : 0.4;
          n.cfg.sg_scale = 0.7;
          const Outcome want = run_cpu(n, DType::f64);
          ASSERT_GT(want.f.stats.spikes, 0);
          for (Propagation prop : kCudaProps)
            compare(run_cuda(n, DType::f64, prop), want, kF64,
                    std::string(model_name(m)) + (o == UpdateOrder::gauss_seidel ? " gs" : " prev") +
                        " surrogate " + std::to_string(static_cast<int>(sg)) + (ro ? " readout " : " ") +
                        prop_name(prop));
        }
}

TEST(CudaRecurrentLif, MatchesCpuFloat32AwayFromThreshold) {
  RSNN_SKIP_WITHOUT_CUDA();
  for (NeuronModel m : {NeuronModel::alif, NeuronModel::lif, NeuronModel::if_})
    for (UpdateOrder o : {UpdateOrder::gauss_seidel, UpdateOrder::previous_step}) {
      // the precondition for identical spikes: the first network (seed) of the recipe whose
      // float32 CPU run keeps every |u| above 1e-5
      Net n;
      Outcome want;
      uint64_t seed = 2;
      do {
        n = small_net(m, o, true, ++seed);
        want = run_cpu(n, DType::f32);
      } while (min_abs(want.f.saved.u) <= 1e-5 && seed < 12);
      ASSERT_GT(min_abs(want.f.saved.u), 1e-5) << "no seed in 3..12 keeps the values off the threshold";
      SCOPED_TRACE("seed " + std::to_string(seed));
      for (Propagation prop : kCudaProps)
        compare(run_cuda(n, DType::f32, prop), want, kF32,
                std::string(model_name(m)) + (o == UpdateOrder::gauss_seidel ? " gs " : " prev ") +
                    prop_name(prop));
    }
}

TEST(CudaRecurrentLif, MediumNetworkSparseAndDenseFiring) {
  RSNN_SKIP_WITHOUT_CUDA();
  for (UpdateOrder o : {UpdateOrder::gauss_seidel, UpdateOrder::previous_step})
    for (double drive : {1.2, 4.0}) {
      Net n = medium_net(drive);
      n.cfg.order = o;
      const Outcome want = run_cpu(n, DType::f64);
      ASSERT_GT(want.f.stats.spikes, 0);
      for (Propagation prop : {Propagation::pull, Propagation::push, Propagation::cusparse,
                               Propagation::automatic}) {
        const Outcome got = run_cuda(n, DType::f64, prop);
        compare(got, want, kF64,
                std::string(o == UpdateOrder::gauss_seidel ? "gs" : "prev") + " drive " +
                    std::to_string(drive) + " " + prop_name(prop));
        // on CUDA, automatic means pull (see kernels/recurrent_lif.cu)
        EXPECT_EQ(got.f.stats.push_steps, prop == Propagation::push ? n.x.i_ext.size(0) : 0);
        EXPECT_EQ(got.f.stats.push_steps + got.f.stats.pull_steps, n.x.i_ext.size(0));
      }
    }
}

// Batch sizes around the lane layouts: 1 (all lanes on synapses), 5 and 16 (mixed), 32, 33
// and 64 (two values per lane), 100 and 130 (four per lane, and a second pass).
TEST(CudaRecurrentLif, EveryBatchLaneLayout) {
  RSNN_SKIP_WITHOUT_CUDA();
  for (int64_t B : {1, 5, 16, 32, 33, 64, 100, 130}) {
    const Net n = medium_net(2.0, 5, B);
    const Outcome want = run_cpu(n, DType::f64);
    for (Propagation prop : kCudaProps)
      compare(run_cuda(n, DType::f64, prop), want, kF64, "B " + std::to_string(B) + " " + prop_name(prop));
  }
}

// No initial state, no readout, an empty group, a group nothing projects to, and only some
// gradients asked for: the same tensors defined as on the CPU, with the same values.
TEST(CudaRecurrentLif, OptionalInputsEmptyGroupsAndPartialNeeds) {
  RSNN_SKIP_WITHOUT_CUDA();
  // groups 0 (10, receives no synapse), 1 (empty), 2 (15, inhibitory), 3 (15)
  const std::vector<std::vector<double>> prob = {{0, 0, 0.3, 0.3}, {0, 0, 0, 0}, {0, 0, 0.3, 0.3}, {0, 0, 0.3, 0.3}};
  for (NeuronModel m : {NeuronModel::alif, NeuronModel::if_}) {
    Net n;
    n.p = lif_net::random_groups({10, 0, 15, 15}, {1.f, 1.f, -1.f, 1.f}, prob, 0.0, 8);
    const int64_t N = 40, T = 9, B = 4;
    n.cfg.model = m;
    n.cfg.group_offsets = {0, 10, 10, 25, 40};
    n.cfg.output_spikes = true;
    n.cfg.input_offset = 0;
    n.x.w = uniform({n.p.nnz()}, 0.0, m == NeuronModel::if_ ? 0.05 : 0.4, 51);
    n.x.tau_m = uniform({N}, 4.0, 12.0, 52);
    n.x.tau_adp = uniform({N}, 3.0, 8.0, 53);
    n.x.b_base = uniform({N}, 0.2, 0.5, 54);
    n.x.i_ext = uniform({T, B, 40}, -0.2, m == NeuronModel::if_ ? 0.3 : 2.5, 55);
    n.dspikes = uniform({T, B, N}, -1.0, 1.0, 56);
    kernels::LifNeeds needs;
    needs.w = needs.tau_adp = needs.s0 = true;  // s0 undefined: its gradient is still defined
    for (UpdateOrder o : {UpdateOrder::gauss_seidel, UpdateOrder::previous_step}) {
      n.cfg.order = o;
      const Outcome want = run_cpu(n, DType::f64, needs);
      ASSERT_GT(want.f.stats.spikes, 0);
      EXPECT_FALSE(want.g.dtau_m.defined());
      for (Propagation prop : kCudaProps)
        compare(run_cuda(n, DType::f64, prop, needs), want, kF64,
                std::string(model_name(m)) + (o == UpdateOrder::gauss_seidel ? " gs " : " prev ") + prop_name(prop));
    }
  }
}

// ---- reproducibility and streams ----------------------------------------------------------

TEST(CudaRecurrentLif, PullForwardAndBackwardAreBitwiseReproducible) {
  RSNN_SKIP_WITHOUT_CUDA();
  const Net n = medium_net(2.0, 20, 40);
  const Outcome a = run_cuda(n, DType::f32, Propagation::pull);
  const Outcome b = run_cuda(n, DType::f32, Propagation::pull);
  expect_identical(a.f.saved.u, b.f.saved.u, "saved u");
  expect_identical(a.f.saved.a, b.f.saved.a, "saved a");
  expect_identical(a.f.readout, b.f.readout, "readout");
  expect_identical(a.g.dw, b.g.dw, "dw");
  expect_identical(a.g.dtau_m, b.g.dtau_m, "dtau_m");
  expect_identical(a.g.dtau_adp, b.g.dtau_adp, "dtau_adp");
  expect_identical(a.g.di_ext, b.g.di_ext, "di_ext");
  expect_identical(a.g.ds0, b.g.ds0, "ds0");
  expect_identical(a.g.dw_ro, b.g.dw_ro, "dw_ro");
}

TEST(CudaRecurrentLif, RunsOnANonDefaultStream) {
  RSNN_SKIP_WITHOUT_CUDA();
  const Device dev = Device::cuda(0);
  const Net n = medium_net(2.0, 10, 8);
  const Outcome want = run_cuda(n, DType::f64, Propagation::pull);
  const Projection p = to_device(n.p, dev);
  const kernels::LifInputs x = convert(n.x, DType::f64, dev);
  const Tensor dsp = n.dspikes.to(dev), dro = n.dreadout.to(dev);
  synchronize(dev);
  const Stream s = create_stream(dev);
  Outcome got;
  got.f = kernels::cuda::recurrent_lif_forward(p, n.cfg, x, true, s);
  got.g = kernels::cuda::recurrent_lif_backward(p, n.cfg, x, got.f.saved, dsp, dro, all_needs(), s);
  synchronize(s);
  destroy_stream(s);
  // the neuron state comes from our kernels alone: bitwise equal; what passes through cuBLAS
  // (readout, and the readout error in the gradients) may take another GEMM path
  expect_identical(got.f.saved.u, want.f.saved.u, "saved u");
  expect_close(got.f.readout, want.f.readout, kF64.value, "readout");
  expect_close(got.g.dw, want.g.dw, kF64.value, "dw");
  expect_close(got.g.di_ext, want.g.di_ext, kF64.value, "di_ext");
  expect_close(got.g.dw_ro, want.g.dw_ro, kF64.value, "dw_ro");
}

// ---- the op on the tape --------------------------------------------------------------------

TEST(CudaRecurrentLif, TapeOpOnCuda) {
  RSNN_SKIP_WITHOUT_CUDA();
  const Device dev = Device::cuda(0);
  const Net n = small_net(NeuronModel::alif, UpdateOrder::gauss_seidel, true, 7);
  const kernels::LifInputs x = convert(n.x, DType::f64, dev);
  ag::RecurrentLifInputs in;
  in.w = ag::Var(x.w, true);
  in.tau_m = ag::Var(x.tau_m, true);
  in.tau_adp = ag::Var(x.tau_adp, true);
  in.i_ext = ag::Var(x.i_ext, true);
  in.v0 = ag::Var(x.v0, true);
  in.a0 = ag::Var(x.a0, true);
  in.s0 = ag::Var(x.s0, true);
  in.w_ro = ag::Var(x.w_ro, true);
  in.b_base = x.b_base;
  const ag::RecurrentLifOutputs out = ag::recurrent_lif(to_device(n.p, dev), n.cfg, in);
  ASSERT_TRUE(out.readout.requires_grad());
  EXPECT_EQ(out.saved_bytes_per_neuron_step, 16.0);  // float64 alif: u and a
  ag::backward(out.spikes, n.dspikes.to(dev), true);
  ag::backward(out.readout, n.dreadout.to(dev));
  const Outcome want = run_cpu(n, DType::f64);
  expect_on_cuda(in.w.grad(), "w grad");
  expect_close(in.w.grad(), want.g.dw, kF64.grad, "w");
  expect_close(in.tau_m.grad(), want.g.dtau_m, kF64.grad, "tau_m");
  expect_close(in.tau_adp.grad(), want.g.dtau_adp, kF64.grad, "tau_adp");
  expect_close(in.i_ext.grad(), want.g.di_ext, kF64.grad, "i_ext");
  expect_close(in.v0.grad(), want.g.dv0, kF64.grad, "v0");
  expect_close(in.a0.grad(), want.g.da0, kF64.grad, "a0");
  expect_close(in.s0.grad(), want.g.ds0, kF64.grad, "s0");
  expect_close(in.w_ro.grad(), want.g.dw_ro, kF64.grad, "w_ro");
}

// ---- memory ------------------------------------------------------------------------------------

// 3000 neurons with ~30 synapses each: a dense N x N float64 matrix alone would be 72 MB.
// Everything the op allocates is O(T*N*B + nnz): stay below 8 MB of new pooled memory.
TEST(CudaRecurrentLif, NoDenseScratch) {
  RSNN_SKIP_WITHOUT_CUDA();
  const Device dev = Device::cuda(0);
  const int64_t N = 3000, T = 8, B = 2;
  const Projection p = to_device(lif_net::random_fixed_indegree(N, 30, 0.2, 3), dev);
  LifConfig cfg;
  cfg.group_offsets = {0, 2400, N};
  cfg.readout = {{0, 100}};
  kernels::LifInputs x;
  x.w = uniform({p.nnz()}, 0.0, 0.2, 61).to(dev);
  x.tau_m = Tensor::full({N}, 10.0, DType::f64, dev);
  x.tau_adp = Tensor::full({N}, 5.0, DType::f64, dev);
  x.b_base = Tensor::full({N}, 0.5, DType::f64, dev);
  x.i_ext = uniform({T, B, N}, 0.0, 4.0, 62).to(dev);
  x.w_ro = uniform({8, 100}, -1, 1, 63).to(dev);
  const Tensor dro = uniform({T, B, 8}, -1, 1, 64).to(dev);
  for (Propagation prop : kCudaProps) {
    cfg.propagation = prop;
    synchronize(dev);
    pool_reset_peak(dev);
    const size_t before = pool_stats(dev).bytes_in_use;
    const kernels::LifForward f = kernels::recurrent_lif_forward(p, cfg, x, true);
    const kernels::LifGrads g = kernels::recurrent_lif_backward(p, cfg, x, f.saved, Tensor(), dro, all_needs());
    synchronize(dev);
    const size_t extra = pool_stats(dev).peak_bytes_in_use - before;
    EXPECT_LT(extra, size_t(8) << 20) << prop_name(prop) << ": " << extra << " bytes";
    EXPECT_GT(f.stats.spikes, 0);
  }
}

// ---- errors --------------------------------------------------------------------------------

TEST(CudaRecurrentLif, RejectsMixedDevicesAndMissingState) {
  RSNN_SKIP_WITHOUT_CUDA();
  const Device dev = Device::cuda(0);
  const Net n = small_net(NeuronModel::alif, UpdateOrder::gauss_seidel, true);
  const Projection p = to_device(n.p, dev);
  auto expect_error = [](auto&& fn, const std::string& needle) {
    try {
      fn();
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  kernels::LifInputs x = convert(n.x, DType::f64, dev);
  x.tau_m = n.x.tau_m;  // left on the CPU
  expect_error([&] { kernels::recurrent_lif_forward(p, n.cfg, x, false); }, "tau_m is on cpu");
  x = convert(n.x, DType::f64, dev);
  x.i_ext = x.i_ext.to(Device::cpu());
  expect_error([&] { kernels::recurrent_lif_forward(p, n.cfg, x, false); }, "all tensors must be on one device");
  x = convert(n.x, DType::f64, dev);
  Tensor tau = n.x.tau_m.clone();
  tau.data<double>()[4] = -1.0;
  x.tau_m = tau.to(dev);
  expect_error([&] { kernels::recurrent_lif_forward(p, n.cfg, x, false); }, "tau_m[4]");
  x = convert(n.x, DType::f64, dev);
  x.w_ro = uniform({4, 19}, 0, 1, 1).to(dev);
  expect_error([&] { kernels::recurrent_lif_forward(p, n.cfg, x, false); }, "w_ro must be [R, 20]");
  x = convert(n.x, DType::f64, dev);
  expect_error([&] { kernels::recurrent_lif_backward(p, n.cfg, x, kernels::LifSaved(), Tensor(), Tensor(), all_needs()); },
               "nothing was saved");
  const kernels::LifForward f = kernels::recurrent_lif_forward(p, n.cfg, x, true);
  expect_error([&] { kernels::recurrent_lif_backward(p, n.cfg, x, f.saved, n.dspikes, Tensor(), all_needs()); },
               "dspikes is on cpu");
}

// ---- dispatch (no device needed) -------------------------------------------------------------

TEST(RecurrentLifDispatch, CpuRejectsCusparse) {
  Net n = small_net(NeuronModel::lif, UpdateOrder::gauss_seidel, false);
  n.cfg.propagation = Propagation::cusparse;
  try {
    kernels::recurrent_lif_forward(n.p, n.cfg, n.x, false);
    ADD_FAILURE() << "the CPU op accepted Propagation::cusparse";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cusparse"), std::string::npos) << e.what();
  }
}

#ifndef RSNN_WITH_CUDA
TEST(RecurrentLifDispatch, CpuOnlyBuildSaysSo) {
  const Net n = small_net(NeuronModel::lif, UpdateOrder::gauss_seidel, false);
  try {
    kernels::cuda::recurrent_lif_forward(n.p, n.cfg, n.x, false, Stream{});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("built without the CUDA backend"), std::string::npos) << e.what();
  }
}
#endif
