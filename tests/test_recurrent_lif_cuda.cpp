// The CUDA recurrent LIF layer against the CPU op (kernels/recurrent_lif.h) where CUDA has
// cases of its own: batch sizes that exercise every lane layout, optional inputs and partial
// gradient requests, the step counts of each propagation, the tape op on CUDA,
// reproducibility, a non-default stream, scratch memory, and input errors. Every model, order,
// surrogate and dtype against the reference is in test_recurrent_lif_parity.cpp. Every CUDA
// case skips without a usable device. Tolerance (float64): identical spikes, values within
// 1e-12, gradients within 1e-9 (relative to the largest expected magnitude); the CPU and GPU
// differ only in summation order (and fused multiply-adds).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/recurrent_lif.h"
#include "kernels/recurrent_lif.h"
#include "kernels/recurrent_lif_cuda.h"
#include "runtime/random.h"
#include "tests/lif_testing.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::lif_net;
using namespace rsnn::lif_test;

namespace {

struct Tol {
  double value, grad;
};
constexpr Tol kF64{1e-12, 1e-9};

struct Outcome {
  kernels::LifForward f;
  kernels::LifGrads g;
};

// The CPU op in dtype dt (pull propagation: the CPU rejects cusparse).
Outcome run_cpu(const LifCase& n, DType dt, const kernels::LifNeeds& needs = all_needs()) {
  LifConfig cfg = n.cfg;
  cfg.propagation = Propagation::pull;
  const kernels::LifInputs x = convert(n.x, dt, Device::cpu());
  Outcome r;
  r.f = kernels::recurrent_lif_forward(n.p, cfg, x, true);
  r.g = kernels::recurrent_lif_backward(n.p, cfg, x, r.f.saved, n.dspikes.to_dtype(dt),
                                        n.dreadout.defined() ? n.dreadout.to_dtype(dt) : Tensor(), needs);
  return r;
}

Outcome run_cuda(const LifCase& n, DType dt, Propagation prop, const kernels::LifNeeds& needs = all_needs()) {
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

// On CUDA, automatic means pull (see kernels/recurrent_lif.cu); every step is counted once.
TEST(CudaRecurrentLif, StepsCountedPerPropagation) {
  RSNN_SKIP_WITHOUT_CUDA();
  for (double drive : {1.2, 4.0}) {
    const LifCase n = medium_net(DType::f64, drive);
    for (Propagation prop : {Propagation::pull, Propagation::push, Propagation::cusparse, Propagation::automatic}) {
      const Outcome got = run_cuda(n, DType::f64, prop);
      EXPECT_EQ(got.f.stats.push_steps, prop == Propagation::push ? n.x.i_ext.size(0) : 0) << prop_name(prop);
      EXPECT_EQ(got.f.stats.push_steps + got.f.stats.pull_steps, n.x.i_ext.size(0)) << prop_name(prop);
    }
  }
}

// Batch sizes around the lane layouts: 1 (all lanes on synapses), 5 and 16 (mixed), 32, 33
// and 64 (two values per lane), 100 and 130 (four per lane, and a second pass).
TEST(CudaRecurrentLif, EveryBatchLaneLayout) {
  RSNN_SKIP_WITHOUT_CUDA();
  for (int64_t B : {1, 5, 16, 32, 33, 64, 100, 130}) {
    const LifCase n = medium_net(DType::f64, 2.0, 1, B, 5);
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
    LifCase n;
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
  const LifCase n = medium_net(DType::f64, 2.0, 1, 40, 20);
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
  const LifCase n = medium_net(DType::f64, 2.0, 1, 8, 10);
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
  const LifCase n = small_net(NeuronModel::alif, UpdateOrder::gauss_seidel, true, 7);
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
  const LifCase n = small_net(NeuronModel::alif, UpdateOrder::gauss_seidel, true);
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
  LifCase n = small_net(NeuronModel::lif, UpdateOrder::gauss_seidel, false);
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
  const LifCase n = small_net(NeuronModel::lif, UpdateOrder::gauss_seidel, false);
  try {
    kernels::cuda::recurrent_lif_forward(n.p, n.cfg, n.x, false, Stream{});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("built without the CUDA backend"), std::string::npos) << e.what();
  }
}
#endif
