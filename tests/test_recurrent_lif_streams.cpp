// The LIF op's explicit-stream entry points (kernels/recurrent_lif.h): the same bits as the
// default-stream calls, a stream of another device refused, and on a GPU two networks run at
// once on two streams from two host threads.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "kernels/recurrent_lif.h"
#include "kernels/testing/lif_networks.h"
#include "runtime/device.h"
#include "test_util.h"

namespace {
using namespace rsnn;
using namespace rsnn::lif_net;

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  const Tensor ha = a.to(Device::cpu()), hb = b.to(Device::cpu());
  return ha.shape() == hb.shape() && ha.dtype() == hb.dtype() &&
         std::memcmp(ha.raw(), hb.raw(), ha.nbytes()) == 0;
}

struct Result {
  kernels::LifForward f;
  kernels::LifGrads g;
};

Result run(const LifCase& n, Device d, const Stream* stream) {
  const Projection p = to_device(n.p, d);
  const kernels::LifInputs x = convert(n.x, DType::f32, d);
  const Tensor ds = n.dspikes.to_dtype(DType::f32).to(d);
  const Tensor dr = n.dreadout.defined() ? n.dreadout.to_dtype(DType::f32).to(d) : Tensor();
  Result r;
  if (stream) {
    r.f = kernels::recurrent_lif_forward(p, n.cfg, x, true, *stream);
    r.g = kernels::recurrent_lif_backward(p, n.cfg, x, r.f.saved, ds, dr, all_needs(), *stream);
  } else {
    r.f = kernels::recurrent_lif_forward(p, n.cfg, x, true);
    r.g = kernels::recurrent_lif_backward(p, n.cfg, x, r.f.saved, ds, dr, all_needs());
  }
  return r;
}

void expect_same(const Result& a, const Result& b) {
  EXPECT_TRUE(same_bits(a.f.spikes, b.f.spikes));
  EXPECT_TRUE(same_bits(a.f.v_record, b.f.v_record));
  EXPECT_TRUE(same_bits(a.f.readout, b.f.readout));
  EXPECT_TRUE(same_bits(a.g.dw, b.g.dw));
  EXPECT_TRUE(same_bits(a.g.dtau_m, b.g.dtau_m));
  EXPECT_TRUE(same_bits(a.g.di_ext, b.g.di_ext));
  EXPECT_TRUE(same_bits(a.g.dw_ro, b.g.dw_ro));
}

TEST(LifStreams, CpuStreamGivesTheDefaultCallsBits) {
  const LifCase n = small_net(NeuronModel::alif, UpdateOrder::gauss_seidel, true);
  const Stream s = default_stream(Device::cpu());
  expect_same(run(n, Device::cpu(), &s), run(n, Device::cpu(), nullptr));
}

TEST(LifStreams, StreamOfAnotherDeviceIsAnError) {
  const LifCase n = small_net(NeuronModel::alif, UpdateOrder::gauss_seidel, false);
  const Stream s{Device::cuda(0), nullptr};
  rsnn::test::expect_error([&] { kernels::recurrent_lif_forward(n.p, n.cfg, n.x, false, s); },
                           {"recurrent_lif_forward", "stream belongs to cuda:0", "projection to cpu"});
  kernels::LifSaved none;
  rsnn::test::expect_error(
      [&] { kernels::recurrent_lif_backward(n.p, n.cfg, n.x, none, n.dspikes, Tensor(), all_needs(), s); },
      {"recurrent_lif_backward", "stream belongs to cuda:0"});
}

TEST(LifStreamsCuda, TwoNetworksOnTwoStreamsAtOnce) {
  if (!cuda_usable()) GTEST_SKIP() << "no usable CUDA device";
  const Device d = Device::cuda(0);
  LifCase a = medium_net(DType::f64, 1.5, 2), b = medium_net(DType::f64, 2.5, 1);
  a.cfg.propagation = b.cfg.propagation = Propagation::pull;  // deterministic sums on CUDA
  const Result ref_a = run(a, d, nullptr), ref_b = run(b, d, nullptr);
  const Stream sa = create_stream(d), sb = create_stream(d);
  Result got_a, got_b;
  std::thread ta([&] { got_a = run(a, d, &sa); });
  std::thread tb([&] { got_b = run(b, d, &sb); });
  ta.join();
  tb.join();
  destroy_stream(sa);
  destroy_stream(sb);
  expect_same(got_a, ref_a);
  expect_same(got_b, ref_b);
}

}  // namespace
