// The fused ReLU RNN: reference vs optimized CPU vs CUDA, a double-precision finite-
// difference check of the reference backward, and the op on the tape.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "autograd/relu_rnn.h"
#include "kernels/relu_rnn.h"
#include "runtime/philox.h"
#include "test_util.h"

using namespace rsnn;
using kernels::ReluRnnDims;

namespace {

std::vector<float> randv(size_t n, uint64_t stream, double scale, double shift = 0) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = float(shift + scale * philox::normal(7, stream, i));
  return v;
}

struct Case {
  ReluRnnDims d;
  std::vector<float> x, Wi, Wr, b, dH, dl;
  explicit Case(ReluRnnDims dd) : d(dd) {
    x = randv(d.T * d.B * d.n_in, 1, 1.0);
    Wi = randv(d.n_in * d.N, 2, 0.5);
    Wr = randv(d.N * d.N, 3, 0.9 / std::sqrt(double(d.N)));
    b = randv(d.N, 4, 0.1, 0.05);
    dH = randv(d.T * d.B * d.N, 5, 1.0);
    dl = randv(d.B * d.N, 6, 1.0);
  }
};

struct Grads {
  std::vector<float> H, dx, dWi, dWr, db;
};

Grads run_ref(const Case& c, bool use_dH) {
  const auto& d = c.d;
  Grads g{std::vector<float>(d.T * d.B * d.N), std::vector<float>(c.x.size()),
          std::vector<float>(c.Wi.size()), std::vector<float>(c.Wr.size()),
          std::vector<float>(c.b.size())};
  kernels::relu_rnn_forward_ref(g.H.data(), c.x.data(), c.Wi.data(), c.Wr.data(), c.b.data(), d);
  kernels::relu_rnn_backward_ref(g.dx.data(), g.dWi.data(), g.dWr.data(), g.db.data(),
                                 use_dH ? c.dH.data() : nullptr, c.dl.data(), c.x.data(),
                                 c.Wi.data(), c.Wr.data(), g.H.data(), d);
  return g;
}

Grads run_tensor(const Case& c, bool use_dH, Device dev) {
  const auto& d = c.d;
  auto T = [&](const std::vector<float>& v, Shape s) { return Tensor::from_vector(v, s).to(dev); };
  const Tensor x = T(c.x, {d.T, d.B, d.n_in}), Wi = T(c.Wi, {d.n_in, d.N}),
               Wr = T(c.Wr, {d.N, d.N}), b = T(c.b, {d.N});
  const Tensor H = kernels::relu_rnn_forward(x, Wi, Wr, b);
  Tensor dx, dWi, dWr, db;
  kernels::relu_rnn_backward(&dx, &dWi, &dWr, &db, use_dH ? T(c.dH, {d.T, d.B, d.N}) : Tensor(),
                             T(c.dl, {d.B, d.N}), x, Wi, Wr, H);
  return {H.to_vector<float>(), dx.to_vector<float>(), dWi.to_vector<float>(),
          dWr.to_vector<float>(), db.to_vector<float>()};
}

void expect_close(const std::vector<float>& a, const std::vector<float>& b, double tol,
                  const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  double scale = 1e-6;
  for (float v : b) scale = std::max(scale, double(std::fabs(v)));
  size_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::fabs(double(a[i]) - b[i]) > tol * scale) ++bad;
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << a.size() << " entries differ";
}

void expect_same(const Grads& a, const Grads& b, double tol) {
  expect_close(a.H, b.H, tol, "H");
  expect_close(a.dx, b.dx, tol, "dx");
  expect_close(a.dWi, b.dWi, tol, "dW_in");
  expect_close(a.dWr, b.dWr, tol, "dW_rec");
  expect_close(a.db, b.db, tol, "db");
}

}  // namespace

TEST(ReluRnn, OptimizedCpuMatchesReference) {
  for (bool use_dH : {false, true}) {
    const Case c(ReluRnnDims{9, 5, 3, 17});
    const Grads r = run_ref(c, use_dH);
    size_t active = 0;
    for (float h : r.H) active += h > 0;
    // Both sides of the ReLU are exercised.
    EXPECT_GT(active, r.H.size() / 5);
    EXPECT_LT(active, r.H.size() * 4 / 5);
    expect_same(run_tensor(c, use_dH, Device::cpu()), r, 1e-4);
  }
}

TEST(ReluRnn, CudaMatchesReference) {
  RSNN_SKIP_WITHOUT_CUDA();
  for (bool use_dH : {false, true}) {
    const Case c(ReluRnnDims{12, 33, 8, 70});
    expect_same(run_tensor(c, use_dH, Device::cuda()), run_ref(c, use_dH), 1e-4);
  }
}

// L = sum(dH * H) + sum(dl * h_last) in double; central differences against the backward.
TEST(ReluRnn, ReferenceBackwardMatchesFiniteDifferences) {
  const ReluRnnDims d{4, 2, 2, 5};
  const Case c(d);
  auto D = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
  std::vector<double> x = D(c.x), Wi = D(c.Wi), Wr = D(c.Wr), b = D(c.b), dH = D(c.dH),
                      dl = D(c.dl);
  auto loss = [&]() {
    std::vector<double> H(d.T * d.B * d.N);
    kernels::relu_rnn_forward_ref(H.data(), x.data(), Wi.data(), Wr.data(), b.data(), d);
    double L = 0;
    for (size_t i = 0; i < H.size(); ++i) L += dH[i] * H[i];
    for (int64_t i = 0; i < d.B * d.N; ++i) L += dl[i] * H[(d.T - 1) * d.B * d.N + i];
    return L;
  };
  std::vector<double> H(d.T * d.B * d.N), gx(x.size()), gWi(Wi.size()), gWr(Wr.size()),
      gb(b.size());
  kernels::relu_rnn_forward_ref(H.data(), x.data(), Wi.data(), Wr.data(), b.data(), d);
  kernels::relu_rnn_backward_ref(gx.data(), gWi.data(), gWr.data(), gb.data(), dH.data(),
                                 dl.data(), x.data(), Wi.data(), Wr.data(), H.data(), d);
  const double eps = 1e-6;
  int checked = 0;
  for (auto [p, g] : {std::pair{&x, &gx}, {&Wi, &gWi}, {&Wr, &gWr}, {&b, &gb}})
    for (size_t i = 0; i < p->size(); ++i) {
      const double keep = (*p)[i];
      (*p)[i] = keep + eps;
      const double lp = loss();
      (*p)[i] = keep - eps;
      const double lm = loss();
      (*p)[i] = keep;
      EXPECT_NEAR((lp - lm) / (2 * eps), (*g)[i], 1e-6 * (1 + std::fabs((*g)[i]))) << i;
      ++checked;
    }
  EXPECT_EQ(checked, int(x.size() + Wi.size() + Wr.size() + b.size()));
}

// The op on the tape: h_T (and the full sequence) give the kernel's gradients.
TEST(ReluRnn, AutogradOpMatchesKernel) {
  const ReluRnnDims d{6, 4, 3, 11};
  const Case c(d);
  const Grads r = run_ref(c, /*use_dH=*/false);
  auto V = [](const std::vector<float>& v, Shape s) {
    return ag::Var(Tensor::from_vector(v, s), true);
  };
  ag::Var x = V(c.x, {d.T, d.B, d.n_in}), Wi = V(c.Wi, {d.n_in, d.N}), Wr = V(c.Wr, {d.N, d.N}),
          b = V(c.b, {d.N});
  const ag::Var h = ag::relu_rnn(x, Wi, Wr, b);
  ASSERT_EQ(h.shape(), Shape({d.B, d.N}));
  ag::backward(h, Tensor::from_vector(c.dl, {d.B, d.N}));
  expect_close(x.grad().to_vector<float>(), r.dx, 1e-4, "dx");
  expect_close(Wi.grad().to_vector<float>(), r.dWi, 1e-4, "dW_in");
  expect_close(Wr.grad().to_vector<float>(), r.dWr, 1e-4, "dW_rec");
  expect_close(b.grad().to_vector<float>(), r.db, 1e-4, "db");
  const ag::Var H = ag::relu_rnn(x.detach(), Wi.detach(), Wr.detach(), b.detach(), true);
  expect_close(H.value().to_vector<float>(), r.H, 1e-5, "H (return_sequences)");
}

TEST(ReluRnn, BadShapesAreErrors) {
  const Tensor x = Tensor::zeros({3, 2, 4}), Wi = Tensor::zeros({4, 5}), Wr = Tensor::zeros({5, 5});
  test::expect_error([&] { kernels::relu_rnn_forward(x, Wi, Wr, Tensor::zeros({6})); },
                     {"relu_rnn b"});
  test::expect_error([&] { kernels::relu_rnn_forward(x, Tensor::zeros({3, 5}), Wr, Tensor::zeros({5})); },
                     {"relu_rnn W_in"});
}
