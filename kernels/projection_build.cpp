// Sampling a projection from group-to-group connection probabilities (see projection.h for
// the distribution and the Philox counter layout).
//
// Rows (post neurons) are cut into chunks of about equal expected work; each chunk samples
// its rows into its own buffer (OpenMP, dynamic schedule), then the buffers are concatenated
// in row order. A row's synapses depend only on (seed, stream, row, layouts, prob), so the
// chunking, and with it the thread count, cannot change the result.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/projection.h"
#include "runtime/philox.h"
#include "runtime/threads.h"

namespace rsnn {

namespace {

// One (pre group, post group) block that can hold synapses: 0 < p <= 1, group not empty.
struct Block {
  int64_t g;         // pre group
  double p;          // connection probability
  double log1m_p;    // log1p(-p), the denominator of the geometric gap
  int64_t start;     // first pre neuron of the group
  int64_t size;      // neurons in the group
};

struct Plan {
  int64_t n_pre = 0, n_post = 0, G = 0, H = 0;  // G pre groups, H post groups
  std::vector<int64_t> pre_off, post_off;
  std::vector<double> prob;                 // [G, H] row-major
  std::vector<std::vector<Block>> blocks;   // per post group
  std::vector<double> expected_per_row;     // per post group: expected in-degree
  bool skip_self = false;
};

Plan make_plan(const ProjectionSpec& spec, const std::string& what) {
  spec.pre.validate(what + ": pre layout");
  spec.post.validate(what + ": post layout");
  Plan plan;
  plan.G = spec.pre.groups();
  plan.H = spec.post.groups();
  plan.pre_off = spec.pre.offsets();
  plan.post_off = spec.post.offsets();
  plan.n_pre = plan.pre_off.back();
  plan.n_post = plan.post_off.back();
  RSNN_CHECK(spec.prob.defined(), what, ": prob is undefined");
  check_shape(spec.prob, {plan.G, plan.H}, what + ": prob [pre groups, post groups]");
  RSNN_CHECK(is_floating(spec.prob.dtype()), what, ": prob must be float64, got ",
             dtype_name(spec.prob.dtype()));
  plan.prob = spec.prob.to_vector<double>();
  for (int64_t g = 0; g < plan.G; ++g)
    for (int64_t h = 0; h < plan.H; ++h) {
      const double p = plan.prob[g * plan.H + h];
      RSNN_CHECK(p >= 0.0 && p <= 1.0, what, ": prob[", g, ", ", h, "] (", spec.pre.names[g],
                 " -> ", spec.post.names[h], ") = ", p, " is not a probability in [0, 1]");
    }
  if (spec.same_network)
    RSNN_CHECK(spec.pre.sizes == spec.post.sizes, what,
               ": same_network needs the same group sizes before and after (", plan.n_pre,
               " pre neurons in ", plan.G, " groups, ", plan.n_post, " post neurons in ", plan.H, ")");
  RSNN_CHECK(static_cast<double>(plan.n_post) * static_cast<double>(plan.G) < 4294967296.0, what,
             ": n_post x pre groups = ", plan.n_post, " x ", plan.G,
             " exceeds the 2^32 blocks of the counter layout");
  plan.skip_self = spec.same_network && !spec.allow_autapses;
  plan.blocks.resize(plan.H);
  plan.expected_per_row.assign(plan.H, 0.0);
  for (int64_t h = 0; h < plan.H; ++h)
    for (int64_t g = 0; g < plan.G; ++g) {
      const double p = plan.prob[g * plan.H + h];
      const int64_t size = plan.pre_off[g + 1] - plan.pre_off[g];
      if (p == 0.0 || size == 0) continue;
      plan.blocks[h].push_back(Block{g, p, std::log1p(-p), plan.pre_off[g], size});
      plan.expected_per_row[h] += p * static_cast<double>(size);
    }
  return plan;
}

Tensor signs_per_neuron(const PopulationLayout& layout) {
  Tensor t = Tensor::empty({layout.total()}, DType::f32);
  float* s = t.data<float>();
  const std::vector<int64_t> off = layout.offsets();
  for (int64_t g = 0; g < layout.groups(); ++g)
    std::fill(s + off[g], s + off[g + 1], static_cast<float>(layout.signs[g]));
  return t;
}

// Counter index of draw 0 of block (row, pre group g); draw k adds k.
inline uint64_t block_counter(int64_t row, int64_t G, int64_t g) {
  return (static_cast<uint64_t>(row) * static_cast<uint64_t>(G) + static_cast<uint64_t>(g)) << 32;
}

// Appends the sources of post neuron `row` (in post group h), ascending, to out.
// Equals the reference loop draw for draw: uniform_f64(seed, stream, base + k), computed
// here one Philox block per two draws (base is even, so draws 2m and 2m + 1 share a block).
template <class Push>
void sample_row(const Plan& plan, int64_t row, int64_t h, uint64_t seed, uint64_t stream, Push&& push) {
  for (const Block& b : plan.blocks[h]) {
    if (b.p == 1.0) {
      for (int64_t i = b.start; i < b.start + b.size; ++i)
        if (!(plan.skip_self && i == row)) push(static_cast<int32_t>(i));
      continue;
    }
    const uint64_t base_block = block_counter(row, plan.G, b.g) >> 1;
    int64_t j = -1;  // position in the group of the last draw
    for (uint64_t m = 0;; ++m) {
      const philox::Words w = philox::block(seed, stream, base_block + m);
      const double gap0 = std::floor(std::log(philox::to_unit_double(w.v[0], w.v[1])) / b.log1m_p);
      if (gap0 >= static_cast<double>(b.size - 1 - j)) break;
      j += static_cast<int64_t>(gap0) + 1;
      if (!(plan.skip_self && b.start + j == row)) push(static_cast<int32_t>(b.start + j));
      const double gap1 = std::floor(std::log(philox::to_unit_double(w.v[2], w.v[3])) / b.log1m_p);
      if (gap1 >= static_cast<double>(b.size - 1 - j)) break;
      j += static_cast<int64_t>(gap1) + 1;
      if (!(plan.skip_self && b.start + j == row)) push(static_cast<int32_t>(b.start + j));
    }
  }
}

// Growable int32 buffer whose memory comes from the pooled allocator (so pool_stats sees it).
class IndexBuffer {
 public:
  int64_t size() const { return n_; }
  const int32_t* data() const { return data_; }
  void reserve(int64_t cap) {
    if (cap <= cap_) return;
    Tensor bigger = Tensor::empty({cap}, DType::i32);
    if (n_ > 0) std::memcpy(bigger.data<int32_t>(), data_, static_cast<size_t>(n_) * sizeof(int32_t));
    store_ = bigger;
    data_ = store_.data<int32_t>();
    cap_ = cap;
  }
  void push(int32_t v) {
    if (n_ == cap_) reserve(std::max<int64_t>(1024, cap_ + cap_ / 2));
    data_[n_++] = v;
  }
  void release() { store_ = Tensor(); data_ = nullptr; n_ = cap_ = 0; }

 private:
  Tensor store_;
  int32_t* data_ = nullptr;
  int64_t n_ = 0, cap_ = 0;
};

// First row of each of `parts` chunks of about equal expected work (draws + row overhead);
// bounds[parts] = n_post.
std::vector<int64_t> split_rows_by_work(const Plan& plan, int64_t parts) {
  std::vector<double> work(plan.H), cum(plan.H + 1, 0.0);
  for (int64_t h = 0; h < plan.H; ++h) {
    work[h] = plan.expected_per_row[h] + static_cast<double>(plan.blocks[h].size()) + 1.0;
    cum[h + 1] = cum[h] + work[h] * static_cast<double>(plan.post_off[h + 1] - plan.post_off[h]);
  }
  std::vector<int64_t> bounds(parts + 1, plan.n_post);
  bounds[0] = 0;
  int64_t h = 0;
  for (int64_t k = 1; k < parts; ++k) {
    const double target = cum[plan.H] * static_cast<double>(k) / static_cast<double>(parts);
    while (h + 1 < plan.H && cum[h + 1] <= target) ++h;
    const double rows = std::ceil((target - cum[h]) / work[h]);
    const int64_t r = plan.post_off[h] + std::clamp<int64_t>(static_cast<int64_t>(rows), 0,
                                                             plan.post_off[h + 1] - plan.post_off[h]);
    bounds[k] = std::clamp<int64_t>(r, bounds[k - 1], plan.n_post);
  }
  return bounds;
}

}  // namespace

Projection build_projection(const ProjectionSpec& spec) {
  const Plan plan = make_plan(spec, "build_projection");
  Projection p;
  p.n_pre = plan.n_pre;
  p.n_post = plan.n_post;
  p.source_sign = signs_per_neuron(spec.pre);
  p.post_ptr = Tensor::empty({plan.n_post + 1}, DType::i64);
  int64_t* ptr = p.post_ptr.data<int64_t>();
  ptr[0] = 0;

  const int64_t parts = std::min<int64_t>(plan.n_post, 16 * static_cast<int64_t>(num_threads()));
  const std::vector<int64_t> bounds = split_rows_by_work(plan, parts);
  std::vector<IndexBuffer> buffers(parts);
  // Sample: ptr[r + 1] holds the in-degree of row r for now.
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < parts; ++c) {
    IndexBuffer& buf = buffers[c];
    const int64_t r0 = bounds[c], r1 = bounds[c + 1];
    int64_t h = std::upper_bound(plan.post_off.begin(), plan.post_off.end(), r0) - plan.post_off.begin() - 1;
    double expected = 0;
    for (int64_t r = r0, hh = h; r < r1; ++r) {
      while (r >= plan.post_off[hh + 1]) ++hh;
      expected += plan.expected_per_row[hh];
    }
    buf.reserve(static_cast<int64_t>(expected + 8.0 * std::sqrt(expected) + 64.0));
    for (int64_t r = r0; r < r1; ++r) {
      while (r >= plan.post_off[h + 1]) ++h;
      const int64_t before = buf.size();
      sample_row(plan, r, h, spec.seed, spec.stream, [&](int32_t i) { buf.push(i); });
      ptr[r + 1] = buf.size() - before;
    }
  }
  // Concatenate in row order.
  std::vector<int64_t> chunk_start(parts + 1, 0);
  for (int64_t c = 0; c < parts; ++c) chunk_start[c + 1] = chunk_start[c] + buffers[c].size();
  p.pre_idx = Tensor::empty({chunk_start[parts]}, DType::i32);
  int32_t* idx = p.pre_idx.data<int32_t>();
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < parts; ++c) {
    if (buffers[c].size() > 0)
      std::memcpy(idx + chunk_start[c], buffers[c].data(),
                  static_cast<size_t>(buffers[c].size()) * sizeof(int32_t));
    buffers[c].release();
    int64_t run = chunk_start[c];
    for (int64_t r = bounds[c]; r < bounds[c + 1]; ++r) ptr[r + 1] = run += ptr[r + 1];
  }
  detail::build_pre_major(p);
  return p;
}

Projection build_projection_reference(const ProjectionSpec& spec) {
  const Plan plan = make_plan(spec, "build_projection_reference");
  const int64_t G = plan.G, H = plan.H;
  std::vector<std::vector<int32_t>> rows(plan.n_post);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t r = plan.post_off[h]; r < plan.post_off[h + 1]; ++r)
      for (int64_t g = 0; g < G; ++g) {
        const double p = plan.prob[g * H + h];
        const int64_t start = plan.pre_off[g], size = plan.pre_off[g + 1] - start;
        std::vector<int64_t> taken;  // positions within the group
        if (p == 1.0) {
          for (int64_t j = 0; j < size; ++j) taken.push_back(j);
        } else if (p > 0.0) {
          // Geometric gaps: P(gap = m) = (1 - p)^m p, the run of failures before a success.
          int64_t j = -1;
          for (uint64_t k = 0;; ++k) {
            const double u = philox::uniform_f64(spec.seed, spec.stream, block_counter(r, G, g) + k);
            const double gap = std::floor(std::log(u) / std::log1p(-p));
            if (j + 1 + gap >= static_cast<double>(size)) break;
            j += 1 + static_cast<int64_t>(gap);
            taken.push_back(j);
          }
        }
        for (int64_t j : taken)
          if (!(plan.skip_self && start + j == r)) rows[r].push_back(static_cast<int32_t>(start + j));
      }
  Projection out;
  out.n_pre = plan.n_pre;
  out.n_post = plan.n_post;
  out.source_sign = signs_per_neuron(spec.pre);
  std::vector<int64_t> post_ptr{0};
  std::vector<int32_t> pre_idx;
  for (const auto& row : rows) {
    pre_idx.insert(pre_idx.end(), row.begin(), row.end());
    post_ptr.push_back(static_cast<int64_t>(pre_idx.size()));
  }
  std::vector<std::vector<std::pair<int32_t, int64_t>>> cols(plan.n_pre);  // (target, synapse)
  for (int64_t j = 0; j < plan.n_post; ++j)
    for (int64_t s = post_ptr[j]; s < post_ptr[j + 1]; ++s)
      cols[pre_idx[s]].push_back({static_cast<int32_t>(j), s});
  std::vector<int64_t> pre_ptr{0}, syn_of_pre;
  std::vector<int32_t> post_idx;
  for (const auto& col : cols) {
    for (const auto& [j, s] : col) {
      post_idx.push_back(j);
      syn_of_pre.push_back(s);
    }
    pre_ptr.push_back(static_cast<int64_t>(post_idx.size()));
  }
  out.post_ptr = Tensor::from_vector(post_ptr);
  out.pre_idx = Tensor::from_vector(pre_idx);
  out.pre_ptr = Tensor::from_vector(pre_ptr);
  out.post_idx = Tensor::from_vector(post_idx);
  out.syn_of_pre = Tensor::from_vector(syn_of_pre);
  return out;
}

}  // namespace rsnn
