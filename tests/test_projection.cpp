// Sparse projections: sampling statistics on the barrel-cortex network, determinism across
// thread counts, structural invariants, explicit construction. Values, errors and CUDA are
// in test_projection_values.cpp; shared helpers in projection_testing.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "kernels/projection.h"
#include "runtime/npy.h"
#include "runtime/random.h"
#include "runtime/threads.h"

#include "projection_testing.h"
#include "test_util.h"

using namespace rsnn;

using rsnn::test::expect_error;
using namespace rsnn::test::projection;

namespace {

// A barrel table (13 x 13, i = presynaptic population) as a row-major vector; empty when the
// file is absent.
std::vector<double> read_table13(const std::string& path) {
  if (!std::filesystem::exists(path)) return {};
  const Tensor t = npy_load_as(path, DType::f64);
  EXPECT_EQ(t.shape(), (Shape{13, 13})) << path;
  return t.to_vector<double>();
}

const std::vector<int64_t> kPopSize = {440, 934, 94, 93, 2232, 106, 4, 55, 64, 64, 34, 60, 38};
const std::vector<int> kPopSign = {1, 1, -1, -1, 1, -1, -1, -1, -1, -1, -1, -1, -1};

// The barrel network as one 4418-neuron network: [thalamus (200, +1), the 13 populations].
// Returns false (and a reason) when the tables are absent.
bool barrel_spec(ProjectionSpec* spec, std::string* why) {
  const std::string dir = test::shared_data_dir() + "/barrel/";
  const auto th = read_table13(dir + "Exc_ThtoAll_prob.npy");
  const auto exc = read_table13(dir + "Exc_AlltoAll_prob.npy");
  const auto inh = read_table13(dir + "Inh_AlltoAll_prob.npy");
  if (th.empty() || exc.empty() || inh.empty()) {
    *why = "barrel probability tables not found in " + dir;
    return false;
  }
  PopulationLayout L;
  L.names.push_back("thalamus");
  L.sizes.push_back(200);
  L.signs.push_back(1);
  const char* names[] = {"Pyr_SP", "Pyr_SS", "Inh_FS", "Inh_RSNP", "Pyr", "Inh_FSBS", "Inh_FSCH",
                         "Inh_BSPV", "Inh_Mar", "Inh_DBC", "Inh_Bip", "Inh_SBC", "Inh_NG"};
  for (int k = 0; k < 13; ++k) {
    L.names.push_back(names[k]);
    L.sizes.push_back(kPopSize[k]);
    L.signs.push_back(kPopSign[k]);
  }
  std::vector<double> prob(14 * 14, 0.0);
  for (int k = 0; k < 13; ++k) prob[0 * 14 + (k + 1)] = th[0 * 13 + k];
  for (int g = 0; g < 13; ++g)
    for (int h = 0; h < 13; ++h) prob[(g + 1) * 14 + (h + 1)] = exc[g * 13 + h] + inh[g * 13 + h];
  spec->pre = spec->post = L;
  spec->prob = Tensor::from_vector(prob, {14, 14});
  spec->same_network = true;
  spec->allow_autapses = true;
  spec->seed = 515;
  spec->stream = 1;
  return true;
}

}  // namespace

// ---- sampling statistics -------------------------------------------------------------

TEST(ProjectionBuild, BarrelBlockCountsMatchProbabilities) {
  ProjectionSpec spec;
  std::string why;
  if (!barrel_spec(&spec, &why)) GTEST_SKIP() << why;
  const Projection p = build_projection(spec);
  p.validate("barrel");
  EXPECT_EQ(p.n_pre, 4418);
  const auto counts = block_counts(p, spec.pre, spec.post).to_vector<int64_t>();
  const auto prob = spec.prob.to_vector<double>();
  double rec_expected = 0, rec_var = 0, th_expected = 0, th_var = 0;
  int64_t rec_count = 0, th_count = 0, nonzero_blocks = 0;
  for (int g = 0; g < 14; ++g)
    for (int h = 0; h < 14; ++h) {
      const double pr = prob[g * 14 + h];
      const double n = double(spec.pre.sizes[g]) * double(spec.post.sizes[h]);
      const int64_t c = counts[g * 14 + h];
      if (pr == 0) {
        EXPECT_EQ(c, 0) << "block " << spec.pre.names[g] << " -> " << spec.post.names[h];
        continue;
      }
      ++nonzero_blocks;
      const double mean = n * pr, sd = std::sqrt(n * pr * (1 - pr));
      EXPECT_LE(std::abs(c - mean), 4 * sd + 1e-9)
          << spec.pre.names[g] << " -> " << spec.post.names[h] << ": " << c << " synapses, expected "
          << mean << " +- " << sd;
      (g == 0 ? th_expected : rec_expected) += mean;
      (g == 0 ? th_var : rec_var) += n * pr * (1 - pr);
      (g == 0 ? th_count : rec_count) += c;
    }
  EXPECT_EQ(nonzero_blocks, 113 + 11);  // 33 E + 80 I recurrent blocks, 11 thalamic targets
  // The spec's expected totals, then the sampled totals within 4 sigma of them.
  EXPECT_NEAR(rec_expected, 1243468, 1.0);
  EXPECT_NEAR(th_expected, 26610, 1.0);
  EXPECT_LE(std::abs(rec_count - 1243468.0), 4 * std::sqrt(rec_var)) << rec_count;
  EXPECT_LE(std::abs(th_count - 26610.0), 4 * std::sqrt(th_var)) << th_count;
  EXPECT_EQ(p.nnz(), rec_count + th_count);
  // Nothing into the thalamus; signs follow the source population.
  EXPECT_EQ(p.post_ptr.to_vector<int64_t>()[200], 0);
  const auto sign = p.source_sign.to_vector<float>();
  EXPECT_EQ(sign[0], 1.0f);
  EXPECT_EQ(sign[200 + 440 + 934], -1.0f);  // first Inh_FS neuron
  EXPECT_EQ(sign[200 + 1561], 1.0f);        // first L2/3 Pyr neuron
}

// Each position of a group is taken with probability p, independently of the others:
// per-column frequencies and the in-degree variance match Bernoulli(p).
TEST(ProjectionBuild, GeometricSkippingIsUnbiasedPerPosition) {
  const double pr = 0.3;
  const int64_t n_pre = 50, n_post = 20000;
  ProjectionSpec s;
  s.pre = {{"src"}, {n_pre}, {1}};
  s.post = {{"dst"}, {n_post}, {1}};
  s.prob = Tensor::from_vector(std::vector<double>{pr}, {1, 1});
  s.seed = 3;
  const Projection p = build_projection(s);
  const auto ptr = p.pre_ptr.to_vector<int64_t>();
  const double col_sd = std::sqrt(n_post * pr * (1 - pr));
  for (int64_t i = 0; i < n_pre; ++i)
    EXPECT_LE(std::abs((ptr[i + 1] - ptr[i]) - n_post * pr), 4.5 * col_sd) << "column " << i;
  const auto rptr = p.post_ptr.to_vector<int64_t>();
  double m = 0, m2 = 0;
  for (int64_t j = 0; j < n_post; ++j) {
    const double d = double(rptr[j + 1] - rptr[j]);
    m += d;
    m2 += d * d;
  }
  m /= n_post;
  const double var = m2 / n_post - m * m, expected_var = n_pre * pr * (1 - pr);
  EXPECT_NEAR(m, n_pre * pr, 4 * std::sqrt(expected_var / n_post));
  EXPECT_NEAR(var, expected_var, 0.05 * expected_var);
  // A tiny probability over a long row: the count of a sparse block is right too.
  s.pre.sizes = {200000};
  s.post.sizes = {100};
  s.prob = Tensor::from_vector(std::vector<double>{2e-4}, {1, 1});
  const Projection q = build_projection(s);
  const double mean = 200000.0 * 100 * 2e-4;
  EXPECT_LE(std::abs(q.nnz() - mean), 4 * std::sqrt(mean));
  q.validate("sparse block");
}

// ---- determinism ------------------------------------------------------------------------

TEST(ProjectionBuild, BitIdenticalAcrossThreadCountsAndToReference) {
  ThreadGuard guard;
  std::vector<ProjectionSpec> specs = {small_spec(true, true), small_spec(true, false),
                                       small_spec(false, true)};
  ProjectionSpec barrel;
  std::string why;
  const bool have_barrel = barrel_spec(&barrel, &why);
  if (have_barrel) specs.push_back(barrel);
  for (const ProjectionSpec& spec : specs) {
    const Projection ref = build_projection_reference(spec);
    ref.validate("reference");
    for (int threads : {1, 2, 3, 8}) {
      set_num_threads(threads);
      SCOPED_TRACE("threads = " + std::to_string(threads));
      const Projection p = build_projection(spec);
      p.validate("optimized");
      expect_identical(p, ref);
    }
  }
  if (!have_barrel) GTEST_SKIP() << why << " (small networks checked)";
}

TEST(ProjectionBuild, SeedsAndStreamsGiveDifferentNetworks) {
  ProjectionSpec a = small_spec(true, true);
  const Projection pa = build_projection(a);
  ProjectionSpec b = a;
  b.seed += 1;
  ProjectionSpec c = a;
  c.stream += 1;
  EXPECT_NE(dense_mask(pa), dense_mask(build_projection(b)));
  EXPECT_NE(dense_mask(pa), dense_mask(build_projection(c)));
  EXPECT_EQ(dense_mask(pa), dense_mask(build_projection(a)));
}

TEST(ProjectionBuild, AutapsesAreDroppedAndNothingElseChanges) {
  const Projection with = build_projection(small_spec(true, true));
  const Projection without = build_projection(small_spec(true, false));
  auto m_with = dense_mask(with);
  const auto m_without = dense_mask(without);
  const int64_t n = with.n_pre;
  int64_t diagonal = 0;
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(m_without[i * n + i], 0) << i;
    diagonal += m_with[i * n + i];
    m_with[i * n + i] = 0;
  }
  EXPECT_GT(diagonal, 0);  // diagonal blocks a -> a, b -> b, c -> c have p > 0
  EXPECT_EQ(m_with, m_without);
}

TEST(ProjectionBuild, ProbabilityOneAndZeroBlocksAreExact) {
  const ProjectionSpec s = small_spec(true, false);
  const Projection p = build_projection(s);
  const auto c = block_counts(p, s.pre, s.post).to_vector<int64_t>();
  EXPECT_EQ(c[0 * 4 + 1], 37 * 120);  // a -> b, p = 1
  EXPECT_EQ(c[1 * 4 + 3], 120 * 55);  // b -> c, p = 1
  EXPECT_EQ(c[3 * 4 + 0], 0);         // c -> a, p = 0
  // A p = 1 network without autapses: everything but the diagonal.
  ProjectionSpec full;
  full.pre = full.post = {{"x"}, {10}, {-1}};
  full.prob = Tensor::from_vector(std::vector<double>{1.0}, {1, 1});
  full.same_network = true;
  full.allow_autapses = false;
  const auto m = dense_mask(build_projection(full));
  for (int j = 0; j < 10; ++j)
    for (int i = 0; i < 10; ++i) EXPECT_EQ(m[j * 10 + i], i != j ? 1 : 0);
  full.allow_autapses = true;
  EXPECT_EQ(build_projection(full).nnz(), 100);
}

// ---- structure ---------------------------------------------------------------------------

TEST(ProjectionStructure, CsrInvariantsAndTransposeConsistency) {
  const Projection p = build_projection(small_spec(false, true));
  p.validate("small");
  const auto ptr = p.post_ptr.to_vector<int64_t>(), pptr = p.pre_ptr.to_vector<int64_t>();
  const auto idx = p.pre_idx.to_vector<int32_t>(), pidx = p.post_idx.to_vector<int32_t>();
  const auto syn = p.syn_of_pre.to_vector<int64_t>();
  ASSERT_EQ(ptr.front(), 0);
  ASSERT_EQ(ptr.back(), p.nnz());
  ASSERT_EQ(pptr.back(), p.nnz());
  for (int64_t j = 0; j < p.n_post; ++j) {
    ASSERT_LE(ptr[j], ptr[j + 1]);
    for (int64_t s = ptr[j]; s < ptr[j + 1]; ++s) {
      ASSERT_GE(idx[s], 0);
      ASSERT_LT(idx[s], p.n_pre);
      if (s > ptr[j]) {
        ASSERT_LT(idx[s - 1], idx[s]);
      }
    }
  }
  std::vector<int> seen(p.nnz(), 0);
  for (int64_t i = 0; i < p.n_pre; ++i)
    for (int64_t e = pptr[i]; e < pptr[i + 1]; ++e) {
      if (e > pptr[i]) {
        ASSERT_LT(pidx[e - 1], pidx[e]);
      }
      const int64_t s = syn[e];
      ASSERT_GE(s, 0);
      ASSERT_LT(s, p.nnz());
      ++seen[s];
      EXPECT_EQ(idx[s], i);
      EXPECT_TRUE(s >= ptr[pidx[e]] && s < ptr[pidx[e] + 1]);
    }
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
}

TEST(ProjectionStructure, ValidateCatchesCorruption) {
  const Projection good = build_projection(small_spec(false, true));
  {
    Projection p = good.to(Device::cpu());
    int32_t* idx = p.pre_idx.data<int32_t>();
    const int64_t* ptr = p.post_ptr.data<int64_t>();
    int64_t row = 0;
    while (ptr[row + 1] - ptr[row] < 2) ++row;
    std::swap(idx[ptr[row]], idx[ptr[row] + 1]);
    expect_error([&] { p.validate("swapped"); }, "strictly ascending");
  }
  {
    Projection p = good.to(Device::cpu());
    int64_t* syn = p.syn_of_pre.data<int64_t>();
    std::swap(syn[0], syn[1]);
    expect_error([&] { p.validate("syn"); }, "syn_of_pre");
  }
  {
    Projection p = good.to(Device::cpu());
    p.source_sign.data<float>()[3] = 0.5f;
    expect_error([&] { p.validate("sign"); }, "source_sign[3]");
  }
  {
    Projection p = good.to(Device::cpu());
    p.post_ptr = p.post_ptr.narrow0(0, p.n_post);
    expect_error([&] { p.validate("ptr"); }, "post_ptr");
  }
  {
    Projection p = good.to(Device::cpu());
    p.post_idx.data<int32_t>()[0] = static_cast<int32_t>(p.n_post);
    expect_error([&] { p.validate("range"); }, "in range");
  }
  {
    Projection p = good.to(Device::cpu());
    p.pre_ptr.data<int64_t>()[5] = -7;
    expect_error([&] { p.validate("ptr"); }, "pre_ptr decreases at row 4");
  }
}

TEST(ProjectionStructure, BlockCountsMatchBruteForce) {
  const ProjectionSpec s = small_spec(false, true);
  const Projection p = build_projection(s);
  const auto m = dense_mask(p);
  const auto off = s.pre.offsets();
  const auto c = block_counts(p, s.pre, s.post).to_vector<int64_t>();
  for (int g = 0; g < 4; ++g)
    for (int h = 0; h < 4; ++h) {
      int64_t n = 0;
      for (int64_t j = off[h]; j < off[h + 1]; ++j)
        for (int64_t i = off[g]; i < off[g + 1]; ++i) n += m[j * p.n_pre + i];
      EXPECT_EQ(c[g * 4 + h], n) << g << " -> " << h;
    }
  EXPECT_EQ(c[0 * 4 + 1], 37 * 120);  // p = 1
  EXPECT_EQ(c[3 * 4 + 0], 0);         // p = 0
}

TEST(ProjectionStructure, FromDenseMaskRoundTrip) {
  const int64_t n_post = 23, n_pre = 31;
  Tensor mask = Tensor::empty({n_post, n_pre}, DType::u8);
  fill_bernoulli(mask, 5, 0, 0.3);
  Tensor sign = Tensor::empty({n_pre}, DType::f32);
  for (int64_t i = 0; i < n_pre; ++i) sign.data<float>()[i] = i % 3 == 0 ? -1.0f : 1.0f;
  const Projection p = projection_from_dense_mask(mask, sign);
  p.validate("from mask");
  const auto mv = mask.to_vector<uint8_t>();
  EXPECT_EQ(dense_mask(p), mv);
  Tensor ones = Tensor::full({p.nnz()}, 1.0, DType::f64);
  EXPECT_EQ(to_dense(p, ones, false).to_vector<double>(), mask.to_vector<double>());
  // Signed values: d[j, i] = sign[i] * value of synapse (j, i).
  Tensor values = Tensor::empty({p.nnz()}, DType::f32);
  init_uniform(values, 0.5, 2.0, 9, 0);
  const auto d = to_dense(p, values).to_vector<float>();
  const auto v = values.to_vector<float>();
  const auto ptr = p.post_ptr.to_vector<int64_t>();
  const auto idx = p.pre_idx.to_vector<int32_t>();
  int64_t checked = 0;
  for (int64_t j = 0; j < n_post; ++j)
    for (int64_t s = ptr[j]; s < ptr[j + 1]; ++s, ++checked)
      EXPECT_EQ(d[j * n_pre + idx[s]], sign.data<float>()[idx[s]] * v[s]);
  EXPECT_EQ(checked, p.nnz());
  int64_t nonzero = std::count_if(d.begin(), d.end(), [](float x) { return x != 0; });
  EXPECT_EQ(nonzero, p.nnz());
}

TEST(ProjectionStructure, FromPairsMatchesMaskAndRejectsDuplicates) {
  const int64_t n_post = 17, n_pre = 29;
  Tensor mask = Tensor::empty({n_post, n_pre}, DType::f32);
  fill_bernoulli(mask, 8, 1, 0.25);
  const Tensor sign = Tensor::full({n_pre}, -1.0, DType::f32);
  const Projection from_mask = projection_from_dense_mask(mask, sign);
  // The same synapses as (post, pre) pairs in a scrambled order.
  std::vector<int32_t> post, pre;
  const auto mv = mask.to_vector<float>();
  for (int64_t k = 0; k < n_post * n_pre; ++k) {
    const int64_t e = (k * 7919) % (n_post * n_pre);  // 7919 is prime: a permutation
    if (mv[e] != 0) {
      post.push_back(static_cast<int32_t>(e / n_pre));
      pre.push_back(static_cast<int32_t>(e % n_pre));
    }
  }
  const Projection from_pairs = projection_from_pairs(n_pre, n_post, post, pre, sign);
  from_pairs.validate("from pairs");
  expect_identical(from_pairs, from_mask);

  post.push_back(post[3]);
  pre.push_back(pre[3]);
  expect_error([&] { projection_from_pairs(n_pre, n_post, post, pre, sign); },
               {"duplicate synapse (post " + std::to_string(post[3]) + ", pre " + std::to_string(pre[3])});
  expect_error([&] { projection_from_pairs(n_pre, n_post, {0, 1}, {0}, sign); }, "2 post indices but 1");
  expect_error([&] { projection_from_pairs(n_pre, n_post, {0, int32_t(n_post)}, {0, 1}, sign); },
               "pair 1 has post index 17");
  expect_error([&] { projection_from_pairs(n_pre, n_post, {0}, {-1}, sign); }, "pre index -1");
  expect_error([&] { projection_from_pairs(n_pre, n_post, {0}, {0}, Tensor::full({3}, 1.0)); },
               "source_sign");
  expect_error([&] { projection_from_pairs(2, 2, {0}, {0}, Tensor::full({2}, 0.0)); },
               "source_sign[0] = 0");
  // An empty projection is fine.
  const Projection empty = projection_from_pairs(4, 3, {}, {}, Tensor::full({4}, 1.0));
  empty.validate("empty");
  EXPECT_EQ(empty.nnz(), 0);
}

// The transpose against a serial one, on a skewed network: one source projecting to every
// target, many sources with no synapse, several transpose buckets and a partial last one.
TEST(ProjectionStructure, TransposeHandlesSkewAndEmptySources) {
  ThreadGuard guard;
  const int64_t n_pre = 300001, n_post = 1500;
  std::vector<int32_t> post, pre;
  for (int32_t j = 0; j < n_post; ++j) {
    post.push_back(j);
    pre.push_back(123456);  // out-degree n_post
    for (int k = 0; k < 60; ++k) {
      const int32_t i = static_cast<int32_t>((int64_t(j) * 7919 + int64_t(k) * 104729) % (n_pre / 2)) * 2;
      if (i == 123456) continue;
      post.push_back(j);
      pre.push_back(i);  // even sources only: every odd source row is empty
    }
  }
  const Tensor sign = Tensor::full({n_pre}, 1.0, DType::f32);
  std::vector<std::vector<std::pair<int32_t, int64_t>>> expected;
  for (int threads : {1, 3}) {
    set_num_threads(threads);
    const Projection p = projection_from_pairs(n_pre, n_post, post, pre, sign);
    p.validate("skewed");
    const auto ptr = p.post_ptr.to_vector<int64_t>();
    const auto idx = p.pre_idx.to_vector<int32_t>();
    std::vector<std::vector<std::pair<int32_t, int64_t>>> rows(n_pre);
    for (int64_t j = 0; j < n_post; ++j)
      for (int64_t s = ptr[j]; s < ptr[j + 1]; ++s) rows[idx[s]].push_back({int32_t(j), s});
    const auto pptr = p.pre_ptr.to_vector<int64_t>();
    const auto pidx = p.post_idx.to_vector<int32_t>();
    const auto syn = p.syn_of_pre.to_vector<int64_t>();
    for (int64_t i = 0; i < n_pre; ++i) {
      ASSERT_EQ(pptr[i + 1] - pptr[i], int64_t(rows[i].size())) << "source " << i;
      for (size_t k = 0; k < rows[i].size(); ++k) {
        ASSERT_EQ(pidx[pptr[i] + k], rows[i][k].first);
        ASSERT_EQ(syn[pptr[i] + k], rows[i][k].second);
      }
    }
    EXPECT_EQ(pptr[123457] - pptr[123456], n_post);
  }
}

TEST(ProjectionStructure, EmptyNetworks) {
  ProjectionSpec s;
  s.pre = {{"none"}, {0}, {1}};
  s.post = {{"some"}, {5}, {1}};
  s.prob = Tensor::from_vector(std::vector<double>{0.5}, {1, 1});
  Projection p = build_projection(s);
  p.validate("no sources");
  EXPECT_EQ(p.nnz(), 0);
  EXPECT_EQ(p.post_ptr.to_vector<int64_t>(), std::vector<int64_t>(6, 0));
  std::swap(s.pre, s.post);
  p = build_projection(s);
  p.validate("no targets");
  EXPECT_EQ(p.nnz(), 0);
  EXPECT_EQ(p.pre_ptr.to_vector<int64_t>(), std::vector<int64_t>(6, 0));
  EXPECT_EQ(to_dense(p, Tensor::empty({0}, DType::f32)).shape(), (Shape{0, 5}));
}

// A mid-size network: 100k neurons, p = 1e-3, about 10 M synapses.
TEST(ProjectionStructure, MidSizeScale) {
  ProjectionSpec s;
  const int64_t n = 100000;
  s.pre = s.post = {{"all"}, {n}, {1}};
  s.prob = Tensor::from_vector(std::vector<double>{1e-3}, {1, 1});
  s.same_network = true;
  s.seed = 11;
  const Projection p = build_projection(s);
  const double mean = double(n) * n * 1e-3;
  EXPECT_LE(std::abs(p.nnz() - mean), 4 * std::sqrt(mean * (1 - 1e-3)));
  p.validate("100k");
}
