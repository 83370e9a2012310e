#include "autograd/data_parallel.h"

#include <algorithm>
#include <cstring>

#include "runtime/error.h"

namespace rsnn::ag {

void shard_gradients(const dist::ShardPlan& plan, const std::vector<Var>& params,
                     const std::function<void(int shard, dist::Range samples)>& shard_step) {
  size_t n = 0;
  std::vector<size_t> offset;
  for (const Var& p : params) {
    RSNN_CHECK(p.value().dtype() == DType::f32, "shard_gradients: parameter ", p.value().describe(),
               " is not float32");
    offset.push_back(n);
    n += size_t(p.value().numel());
  }
  // Partials of this rank's shards back to back; reached[i]: some shard gave param i a gradient.
  std::vector<float> local(size_t(plan.local_shards) * n, 0.0f);
  std::vector<int> reached(params.size(), 0);
  for (int s = 0; s < plan.local_shards; ++s) {
    for (const Var& p : params) p.zero_grad();
    const int shard = plan.first_shard + s;
    shard_step(shard, plan.samples(shard));
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor& g = params[i].grad();
      if (!g.defined()) continue;
      RSNN_CHECK(g.numel() == params[i].value().numel(), "shard_gradients: gradient ", g.describe(),
                 " does not match its parameter ", params[i].value().describe());
      reached[i] = 1;
      const std::vector<float> h = g.to_vector<float>();
      std::memcpy(local.data() + size_t(s) * n + offset[i], h.data(), h.size() * sizeof(float));
    }
  }
  std::vector<float> sum(n);
  dist::sum_shards(local.data(), plan.local_shards, n, sum.data());
  // Whether any rank's shard reached each parameter, so every rank leaves the same ones undefined.
  for (size_t i = 0; i < params.size(); ++i) reached[i] = dist::sum_int(reached[i]) > 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const Var& p = params[i];
    if (!reached[i]) {
      p.zero_grad();
      continue;
    }
    Tensor host = Tensor::empty(p.value().shape(), DType::f32, Device::cpu());
    std::memcpy(host.data<float>(), sum.data() + offset[i], host.nbytes());
    if (!p.grad().defined()) p.grad() = Tensor::zeros(p.value().shape(), DType::f32, p.value().device());
    p.grad().copy_from(host);
  }
}

std::vector<double> sum_shard_stats(const std::vector<double>& values, int local_shards, size_t n) {
  RSNN_CHECK(values.size() == size_t(local_shards) * n, "sum_shard_stats: ", values.size(),
             " values for ", local_shards, " shards of ", n);
  std::vector<double> out(n);
  dist::sum_shards(values.data(), local_shards, n, out.data());
  return out;
}

}  // namespace rsnn::ag
