// Small and large random recurrent networks for the recurrent-LIF tests and benchmarks, built
// with kernels/projection.h.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/projection.h"
#include "runtime/philox.h"

namespace rsnn::lif_net {

// Groups of the given sizes and signs; every ordered pair of neurons (self included) is a
// synapse with probability `density` (Philox, so the network depends on the seed only).
inline Projection random_groups(const std::vector<int64_t>& sizes, const std::vector<int>& group_sign,
                                double density, uint64_t seed) {
  ProjectionSpec spec;
  for (size_t g = 0; g < sizes.size(); ++g) {
    spec.pre.names.push_back("g" + std::to_string(g));
    spec.pre.sizes.push_back(sizes[g]);
    spec.pre.signs.push_back(group_sign[g]);
  }
  spec.post = spec.pre;
  const int64_t G = static_cast<int64_t>(sizes.size());
  spec.prob = Tensor::full({G, G}, density, DType::f64);
  spec.same_network = true;
  spec.allow_autapses = true;
  spec.seed = seed;
  spec.stream = 3;
  return build_projection(spec);
}

// As above with per-group signs as floats and, when `prob` is not empty, a per-block
// probability table prob[pre group][post group] in place of the uniform density.
inline Projection random_groups(const std::vector<int64_t>& sizes, const std::vector<float>& group_sign,
                                const std::vector<std::vector<double>>& prob, double density,
                                uint64_t seed) {
  std::vector<int> signs(group_sign.size());
  for (size_t g = 0; g < signs.size(); ++g) signs[g] = group_sign[g] < 0 ? -1 : 1;
  if (prob.empty()) return random_groups(sizes, signs, density, seed);
  ProjectionSpec spec;
  const int64_t G = static_cast<int64_t>(sizes.size());
  for (int64_t g = 0; g < G; ++g) {
    spec.pre.names.push_back("g" + std::to_string(g));
    spec.pre.sizes.push_back(sizes[g]);
    spec.pre.signs.push_back(signs[g]);
  }
  spec.post = spec.pre;
  spec.prob = Tensor::empty({G, G}, DType::f64);
  for (int64_t i = 0; i < G; ++i)
    for (int64_t j = 0; j < G; ++j) spec.prob.data<double>()[i * G + j] = prob[i][j];
  spec.same_network = true;
  spec.allow_autapses = true;
  spec.seed = seed;
  spec.stream = 3;
  return build_projection(spec);
}

// Large sparse random network with a fixed in-degree per neuron (sources drawn with
// replacement, duplicates dropped), 80 % excitatory then 20 % inhibitory: cost O(nnz).
inline Projection random_fixed_indegree(int64_t n, int64_t in_degree, double frac_inhibitory,
                                        uint64_t seed) {
  std::vector<float> sign(static_cast<size_t>(n));
  const int64_t n_exc = n - static_cast<int64_t>(std::llround(frac_inhibitory * static_cast<double>(n)));
  for (int64_t i = 0; i < n; ++i) sign[i] = i < n_exc ? 1.f : -1.f;
  std::vector<int32_t> post, pre, src;
  post.reserve(static_cast<size_t>(n * in_degree));
  pre.reserve(static_cast<size_t>(n * in_degree));
  for (int64_t i = 0; i < n; ++i) {
    src.clear();
    for (int64_t k = 0; k < in_degree; ++k)
      src.push_back(static_cast<int32_t>(philox::u32(seed, 11, static_cast<uint64_t>(i * in_degree + k)) % n));
    std::sort(src.begin(), src.end());
    src.erase(std::unique(src.begin(), src.end()), src.end());
    for (int32_t j : src) {
      post.push_back(static_cast<int32_t>(i));
      pre.push_back(j);
    }
  }
  return projection_from_pairs(n, n, post, pre, Tensor::from_vector<float>(sign));
}

}  // namespace rsnn::lif_net
