// The fused recurrent LIF op against the same model assembled from primitive tape ops
// (autograd/recurrent_lif_unfused.h: csr_propagate + element-wise ops + spike per step and
// group): identical spikes, the same readout, and every gradient, in both update orders, all
// three neuron models and all surrogates, with and without the fused readout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/recurrent_lif.h"
#include "autograd/recurrent_lif_unfused.h"
#include "runtime/random.h"
#include "tests/lif_networks.h"

using namespace rsnn;

namespace {

Tensor uniform(const Shape& s, double lo, double hi, uint64_t stream, DType dt) {
  Tensor t = Tensor::empty(s, DType::f64);
  fill_uniform(t, 7, stream, lo, hi);
  return t.to_dtype(dt);
}

struct Case {
  NeuronModel model;
  UpdateOrder order;
  Surrogate surrogate;
  bool readout;
  bool spikes;
};

std::string name(const Case& c) {
  const char* m = c.model == NeuronModel::alif ? "alif" : c.model == NeuronModel::lif ? "lif" : "if";
  return std::string(m) + (c.order == UpdateOrder::gauss_seidel ? " gauss_seidel" : " previous_step") +
         " surrogate " + std::to_string(static_cast<int>(c.surrogate)) + (c.readout ? " readout" : "") +
         (c.spikes ? " spikes" : "");
}

// N = 30 in 3 groups (E, I, E), B = 3, T = 12, mixed signs, real-valued s0.
struct Net {
  Projection p;
  LifConfig cfg;
  std::vector<Tensor> leaves;  // w, tau_m, tau_adp, i_ext, v0, a0, s0, w_ro
  Tensor b_base, dspikes, dreadout;
};

Net make_net(const Case& c, DType dt, uint64_t seed) {
  Net n;
  const int64_t N = 30, T = 12, B = 3;
  n.p = lif_net::random_groups({10, 10, 10}, {1, -1, 1}, 0.3, seed);
  n.cfg.model = c.model;
  n.cfg.order = c.order;
  n.cfg.surrogate = c.surrogate;
  n.cfg.sg_width = c.surrogate == Surrogate::triangle ? 0.7 : 0.4;
  n.cfg.sg_scale = 0.8;
  n.cfg.group_offsets = {0, 10, 20, 30};
  n.cfg.input_offset = 4;
  n.cfg.output_spikes = c.spikes;
  if (c.readout) n.cfg.readout = {{20, 10}, {0, 10}};  // columns need not follow neuron order
  const bool if_ = c.model == NeuronModel::if_;
  const uint64_t s = seed * 20;
  n.leaves = {uniform({n.p.nnz()}, 0, if_ ? 0.05 : 0.5, s + 1, dt), uniform({N}, 4, 15, s + 2, dt),
              uniform({N}, 3, 8, s + 3, dt), uniform({T, B, 22}, if_ ? -0.05 : -1.0, if_ ? 0.25 : 3.0, s + 4, dt),
              uniform({B, N}, -0.5, 0.8, s + 5, dt), uniform({B, N}, 0, 0.3, s + 6, dt),
              uniform({B, N}, 0, 1, s + 7, dt), c.readout ? uniform({5, 20}, -1, 1, s + 8, dt) : Tensor()};
  n.b_base = uniform({N}, 0.2, 0.6, s + 9, dt);
  n.dspikes = uniform({T, B, N}, -1, 1, s + 10, dt);
  n.dreadout = uniform({T, B, 5}, -1, 1, s + 11, dt);
  return n;
}

struct Run {
  Tensor spikes, readout;
  std::vector<Tensor> grads;
};

template <class F>
Run run(const Net& n, F op) {
  std::vector<ag::Var> v;
  for (const Tensor& t : n.leaves) v.push_back(t.defined() ? ag::Var(t.clone(), true) : ag::Var());
  ag::RecurrentLifInputs in;
  in.w = v[0];
  in.tau_m = v[1];
  in.tau_adp = v[2];
  in.i_ext = v[3];
  in.v0 = v[4];
  in.a0 = v[5];
  in.s0 = v[6];
  in.w_ro = v[7];
  in.b_base = n.b_base;
  const ag::RecurrentLifOutputs out = op(n.p, n.cfg, in);
  Run r;
  if (out.spikes.defined()) {
    r.spikes = out.spikes.value();
    ag::backward(out.spikes, n.dspikes, true);
  }
  if (out.readout.defined()) {
    r.readout = out.readout.value();
    ag::backward(out.readout, n.dreadout, true);
  }
  for (const ag::Var& x : v) {
    if (!x.defined()) {
      r.grads.emplace_back();
      continue;
    }
    // a leaf no gradient reached (tau_adp, a0 outside alif) is a zero gradient
    r.grads.push_back(x.grad().defined() ? x.grad() : Tensor::zeros(x.shape(), x.dtype()));
  }
  return r;
}

// max |a - b| <= rtol * max |b| (norm-wise relative), no NaN.
void expect_close(const Tensor& a, const Tensor& b, double rtol, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  const auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  double scale = 1e-300, err = 0;
  for (size_t k = 0; k < av.size(); ++k) {
    ASSERT_FALSE(std::isnan(av[k]) || std::isnan(bv[k])) << what << ": NaN at " << k;
    scale = std::max(scale, std::abs(bv[k]));
    err = std::max(err, std::abs(av[k] - bv[k]));
  }
  if (scale < 1e-200) return;  // both zero
  EXPECT_LE(err, rtol * scale) << what << ": max error " << err << " of scale " << scale;
}

void compare(const Case& c, DType dt, double value_tol, double grad_tol, uint64_t seed) {
  SCOPED_TRACE(name(c) + (dt == DType::f32 ? " float32" : " float64"));
  const Net n = make_net(c, dt, seed);
  const Run fused = run(n, ag::recurrent_lif);
  const Run unfused = run(n, ag::recurrent_lif_unfused);
  if (c.spikes) {
    const auto a = fused.spikes.to_vector<double>(), b = unfused.spikes.to_vector<double>();
    ASSERT_EQ(a, b) << "spikes differ";
    const double fired = std::count(a.begin(), a.end(), 1.0);
    EXPECT_GT(fired, 0.02 * a.size()) << "the network should fire";
    EXPECT_LT(fired, 0.6 * a.size()) << "the network should not saturate";
  }
  if (c.readout) expect_close(fused.readout, unfused.readout, value_tol, "readout");
  const char* names[] = {"w", "tau_m", "tau_adp", "i_ext", "v0", "a0", "s0", "w_ro"};
  for (size_t k = 0; k < fused.grads.size(); ++k)
    if (fused.grads[k].defined()) expect_close(fused.grads[k], unfused.grads[k], grad_tol, names[k]);
  for (size_t k : {0, 1, 3, 4, 6}) {  // these gradients must not vanish (w, tau_m, i_ext, v0, s0)
    const auto g = fused.grads[k].to_vector<double>();
    double mx = 0;
    for (double x : g) mx = std::max(mx, std::abs(x));
    if (!(k == 1 && c.model == NeuronModel::if_)) {
      EXPECT_GT(mx, 0.0) << names[k] << " gradient is zero";
    }
  }
}

}  // namespace

TEST(RecurrentLifUnfused, Float64AllModelsOrdersSurrogates) {
  for (NeuronModel m : {NeuronModel::alif, NeuronModel::lif, NeuronModel::if_})
    for (UpdateOrder o : {UpdateOrder::gauss_seidel, UpdateOrder::previous_step})
      for (Surrogate s : {Surrogate::gaussian, Surrogate::fast_sigmoid, Surrogate::triangle}) {
        compare({m, o, s, true, true}, DType::f64, 1e-12, 1e-6, 1);
        compare({m, o, s, false, true}, DType::f64, 1e-12, 1e-6, 2);
        compare({m, o, s, true, false}, DType::f64, 1e-12, 1e-6, 3);
      }
}

TEST(RecurrentLifUnfused, Float32) {
  for (NeuronModel m : {NeuronModel::alif, NeuronModel::lif, NeuronModel::if_})
    for (UpdateOrder o : {UpdateOrder::gauss_seidel, UpdateOrder::previous_step})
      compare({m, o, Surrogate::gaussian, true, true}, DType::f32, 1e-5, 1e-4, 4);
}
