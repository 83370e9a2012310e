// Helpers shared by the projection suites (test_projection*.cpp): a small spec that
// touches every sampling branch, bitwise comparison of two projections, and a dense mask.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernels/projection.h"
#include "runtime/threads.h"

namespace rsnn::test::projection {

// A small spec touching every branch: empty group, p = 0, p = 1, 0 < p < 1.
inline ProjectionSpec small_spec(bool same_network, bool autapses) {
  PopulationLayout L{{"a", "b", "empty", "c"}, {37, 120, 0, 55}, {1, -1, 1, -1}};
  ProjectionSpec s;
  s.pre = s.post = L;
  std::vector<double> prob = {0.3, 1.0, 0.5, 0.0,   //
                              0.05, 0.7, 0.2, 1.0,  //
                              0.4, 0.4, 0.4, 0.4,   //
                              0.0, 0.01, 0.9, 0.6};
  s.prob = Tensor::from_vector(prob, {4, 4});
  s.same_network = same_network;
  s.allow_autapses = autapses;
  s.seed = 42;
  s.stream = 7;
  return s;
}

template <class T>
bool same_array(const Tensor& a, const Tensor& b) {
  if (a.numel() != b.numel() || a.dtype() != b.dtype()) return false;
  const auto va = a.to_vector<T>(), vb = b.to_vector<T>();
  return va.size() == 0 || std::memcmp(va.data(), vb.data(), va.size() * sizeof(T)) == 0;
}

inline void expect_identical(const Projection& a, const Projection& b) {
  EXPECT_EQ(a.n_pre, b.n_pre);
  EXPECT_EQ(a.n_post, b.n_post);
  EXPECT_TRUE(same_array<int64_t>(a.post_ptr, b.post_ptr));
  EXPECT_TRUE(same_array<int32_t>(a.pre_idx, b.pre_idx));
  EXPECT_TRUE(same_array<int64_t>(a.pre_ptr, b.pre_ptr));
  EXPECT_TRUE(same_array<int32_t>(a.post_idx, b.post_idx));
  EXPECT_TRUE(same_array<int64_t>(a.syn_of_pre, b.syn_of_pre));
  EXPECT_TRUE(same_array<float>(a.source_sign, b.source_sign));
}

// Dense 0/1 [n_post, n_pre] connectivity of a projection, by brute force over its CSR.
inline std::vector<uint8_t> dense_mask(const Projection& p) {
  std::vector<uint8_t> m(p.n_post * p.n_pre, 0);
  const auto ptr = p.post_ptr.to_vector<int64_t>();
  const auto idx = p.pre_idx.to_vector<int32_t>();
  for (int64_t j = 0; j < p.n_post; ++j)
    for (int64_t s = ptr[j]; s < ptr[j + 1]; ++s) m[j * p.n_pre + idx[s]] += 1;
  return m;
}

struct ThreadGuard {
  int saved = num_threads();
  ~ThreadGuard() { set_num_threads(saved); }
};

}  // namespace rsnn::test::projection
