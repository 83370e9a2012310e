// autograd/data_parallel.h on one rank: a shard plan's gradient is the shard-ordered sum of
// the shards' own gradients, bit for bit, and within rounding of the whole batch's gradient.
// (Several ranks: tests/test_dist.cpp for the sum, the training tests for whole systems.)
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "autograd/data_parallel.h"
#include "autograd/ops.h"
#include "runtime/device.h"
#include "runtime/dist_cuda.h"

namespace {
using namespace rsnn;

struct Problem {
  Tensor x, y;  // [B, 5], [B, 3]
  ag::Var w{Tensor::zeros({3, 5}), true}, b{Tensor::zeros({3}), true};
  explicit Problem(int64_t B) {
    std::mt19937 g(7);
    std::normal_distribution<float> d;
    x = Tensor::empty({B, 5});
    y = Tensor::empty({B, 3});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = d(g);
    for (int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] = d(g);
    for (int64_t i = 0; i < w.value().numel(); ++i) w.value().data<float>()[i] = d(g);
  }
  // Backward of the batch-mean squared error restricted to `s`, weighted by its share.
  void step(dist::Range s) {
    ag::Var xs(x.narrow0(s.begin, s.size())), ys(y.narrow0(s.begin, s.size()));
    ag::Var loss = ag::scale(ag::mse(ag::linear(xs, w, b), ys), double(s.size()) / double(x.size(0)));
    ag::backward(loss);
  }
  std::vector<float> grads() const {
    std::vector<float> g = w.grad().to_vector<float>(), gb = b.grad().to_vector<float>();
    g.insert(g.end(), gb.begin(), gb.end());
    return g;
  }
};

TEST(DataParallel, ShardsAddInOrder) {
  const int64_t B = 11;
  Problem p(B);
  dist::ShardPlan plan = dist::plan_shards(B, 4);
  std::vector<int> seen;
  ag::shard_gradients(plan, {p.w, p.b}, [&](int shard, dist::Range s) {
    seen.push_back(shard);
    p.step(s);
  });
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3}));
  const std::vector<float> sharded = p.grads();

  // The same sum by hand: each shard alone from zero gradients, added in order.
  std::vector<float> by_hand;
  for (int k = 0; k < 4; ++k) {
    p.w.zero_grad();
    p.b.zero_grad();
    p.step(plan.samples(k));
    std::vector<float> g = p.grads();
    if (k == 0) by_hand = g;
    else for (size_t i = 0; i < g.size(); ++i) by_hand[i] += g[i];
  }
  ASSERT_EQ(sharded.size(), by_hand.size());
  EXPECT_EQ(0, std::memcmp(sharded.data(), by_hand.data(), sharded.size() * sizeof(float)));

  // And within rounding of the whole batch at once.
  p.w.zero_grad();
  p.b.zero_grad();
  p.step({0, B});
  const std::vector<float> whole = p.grads();
  for (size_t i = 0; i < whole.size(); ++i) EXPECT_NEAR(sharded[i], whole[i], 1e-5f) << i;
}

TEST(DataParallel, UnreachedParametersStayUndefined) {
  Problem p(4);
  ag::Var unused(Tensor::zeros({2}), true);
  ag::shard_gradients(dist::plan_shards(4, 2), {p.w, unused}, [&](int, dist::Range s) { p.step(s); });
  EXPECT_TRUE(p.w.grad().defined());
  EXPECT_FALSE(unused.grad().defined());
}

TEST(DataParallel, StatsSumInShardOrder) {
  std::vector<double> v = {1e16, 3.0, -1e16, 5.0};  // two shards of two statistics
  std::vector<double> s = ag::sum_shard_stats(v, 2, 2);
  EXPECT_EQ(s[0], 0.0);
  EXPECT_EQ(s[1], 8.0);
}

// Two leaves fed by one add receive the same gradient tensor; the sum must not be written
// into storage they share.
TEST(DataParallel, SharedGradientStorageIsNotAliased) {
  ag::Var a(Tensor::full({3}, 1.0), true), b(Tensor::full({3}, 2.0), true);
  ag::shard_gradients(dist::plan_shards(2, 2), {a, b}, [&](int shard, dist::Range) {
    ag::backward(ag::sum(ag::scale(ag::add(a, b), shard + 1.0)));
  });
  EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{3, 3, 3}));
  EXPECT_EQ(b.grad().to_vector<float>(), (std::vector<float>{3, 3, 3}));
}

// The device sum (runtime/dist_cuda.h) against the host's, bit for bit.
TEST(DataParallelCuda, DeviceSumMatchesHost) {
  if (!cuda_usable()) GTEST_SKIP() << "no usable CUDA device";
  const int shards = 5;
  const size_t n = 3001;
  std::vector<float> local(shards * n);
  std::mt19937 g(3);
  std::uniform_real_distribution<float> u(-1, 1);
  for (size_t i = 0; i < local.size(); ++i) local[i] = std::ldexp(u(g), int(i % 37) - 18);
  std::vector<float> host(n);
  dist::sum_shards(local.data(), shards, n, host.data());
  const Device dev = Device::cuda(0);
  Tensor d_local = Tensor::from_vector(local).to(dev), d_out = Tensor::empty({int64_t(n)}, DType::f32, dev);
  dist::sum_shards_cuda(d_local.data<float>(), shards, n, d_out.data<float>(), Stream{dev});
  const std::vector<float> back = d_out.to_vector<float>();
  EXPECT_EQ(0, std::memcmp(back.data(), host.data(), n * sizeof(float)));
}

TEST(DataParallelCuda, DeviceParametersMatchHost) {
  if (!cuda_usable()) GTEST_SKIP() << "no usable CUDA device";
  Problem p(9);
  const std::vector<float> w0 = p.w.value().to_vector<float>();
  ag::shard_gradients(dist::plan_shards(9, 3), {p.w, p.b}, [&](int, dist::Range s) { p.step(s); });
  const std::vector<float> host = p.grads();
  const Device dev = Device::cuda(0);
  p.x = p.x.to(dev);
  p.y = p.y.to(dev);
  p.w = ag::Var(Tensor::from_vector(w0, {3, 5}).to(dev), true);
  p.b = ag::Var(Tensor::zeros({3}, DType::f32, dev), true);
  ag::shard_gradients(dist::plan_shards(9, 3), {p.w, p.b}, [&](int, dist::Range s) { p.step(s); });
  const std::vector<float> device = p.grads();
  ASSERT_EQ(device.size(), host.size());
  for (size_t i = 0; i < host.size(); ++i) EXPECT_NEAR(device[i], host[i], 1e-5f) << i;
}

}  // namespace
