// Small recurrent networks for the recurrent-LIF tests and benchmarks.
//
// lif_net::from_pairs fills a Projection from (post, pre) pairs. It stands in for
// kernels/projection.h's projection_from_pairs/build_projection until those land in main
// (branch wt-proj); then these helpers should call them instead.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "kernels/projection.h"
#include "runtime/philox.h"

namespace rsnn::lif_net {

inline Projection from_pairs(int64_t n, std::vector<std::pair<int32_t, int32_t>> post_pre,
                             const std::vector<float>& sign) {
  std::sort(post_pre.begin(), post_pre.end());
  const int64_t nnz = static_cast<int64_t>(post_pre.size());
  Projection p;
  p.n_pre = p.n_post = n;
  p.post_ptr = Tensor::zeros({n + 1}, DType::i64);
  p.pre_idx = Tensor::empty({nnz}, DType::i32);
  p.pre_ptr = Tensor::zeros({n + 1}, DType::i64);
  p.post_idx = Tensor::empty({nnz}, DType::i32);
  p.syn_of_pre = Tensor::empty({nnz}, DType::i64);
  p.source_sign = Tensor::from_vector<float>(sign);
  int64_t* post_ptr = p.post_ptr.data<int64_t>();
  int64_t* pre_ptr = p.pre_ptr.data<int64_t>();
  for (int64_t k = 0; k < nnz; ++k) {
    p.pre_idx.data<int32_t>()[k] = post_pre[k].second;
    ++post_ptr[post_pre[k].first + 1];
    ++pre_ptr[post_pre[k].second + 1];
  }
  for (int64_t i = 0; i < n; ++i) {
    post_ptr[i + 1] += post_ptr[i];
    pre_ptr[i + 1] += pre_ptr[i];
  }
  std::vector<int64_t> fill(pre_ptr, pre_ptr + n);
  for (int64_t k = 0; k < nnz; ++k) {  // post-major order keeps targets ascending per source
    const int32_t j = post_pre[k].second;
    const int64_t slot = fill[j]++;
    p.post_idx.data<int32_t>()[slot] = post_pre[k].first;
    p.syn_of_pre.data<int64_t>()[slot] = k;
  }
  return p;
}

// n neurons in groups of the given sizes; synapse j -> i present with probability
// prob[group(j)][group(i)] (or `density` for every pair when prob is empty); source signs
// per group. Philox draws indexed by pair, so the network depends on the seed only.
inline Projection random_groups(const std::vector<int64_t>& sizes, const std::vector<float>& group_sign,
                                const std::vector<std::vector<double>>& prob, double density,
                                uint64_t seed) {
  const int64_t G = static_cast<int64_t>(sizes.size());
  std::vector<int64_t> off(G + 1, 0);
  for (int64_t g = 0; g < G; ++g) off[g + 1] = off[g] + sizes[g];
  const int64_t n = off[G];
  std::vector<int32_t> group(n);
  std::vector<float> sign(n);
  for (int64_t g = 0; g < G; ++g)
    for (int64_t i = off[g]; i < off[g + 1]; ++i) {
      group[i] = static_cast<int32_t>(g);
      sign[i] = group_sign[g];
    }
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const double pr = prob.empty() ? density : prob[group[j]][group[i]];
      if (pr <= 0) continue;
      if (philox::to_unit_float(philox::u32(seed, 7, static_cast<uint64_t>(i * n + j))) < pr)
        pairs.emplace_back(static_cast<int32_t>(i), static_cast<int32_t>(j));
    }
  return from_pairs(n, std::move(pairs), sign);
}

// Large sparse random network with a fixed in-degree per neuron (sources drawn with
// replacement, duplicates dropped): cost O(nnz), for the scale benchmarks.
inline Projection random_fixed_indegree(int64_t n, int64_t in_degree, double frac_inhibitory,
                                        uint64_t seed) {
  std::vector<float> sign(n);
  const int64_t n_exc = n - static_cast<int64_t>(std::llround(frac_inhibitory * n));
  for (int64_t i = 0; i < n; ++i) sign[i] = i < n_exc ? 1.f : -1.f;
  std::vector<std::pair<int32_t, int32_t>> pairs;
  pairs.reserve(static_cast<size_t>(n * in_degree));
  std::vector<int32_t> src;
  for (int64_t i = 0; i < n; ++i) {
    src.clear();
    for (int64_t k = 0; k < in_degree; ++k)
      src.push_back(static_cast<int32_t>(philox::u32(seed, 11, static_cast<uint64_t>(i * in_degree + k)) % n));
    std::sort(src.begin(), src.end());
    src.erase(std::unique(src.begin(), src.end()), src.end());
    for (int32_t j : src) pairs.emplace_back(static_cast<int32_t>(i), j);
  }
  return from_pairs(n, std::move(pairs), sign);
}

}  // namespace rsnn::lif_net
