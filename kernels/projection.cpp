// Projection structure: layouts, construction from explicit structure, the pre-major
// transpose, copies, structural validation, and per-synapse values. Sampling from
// probabilities is in projection_build.cpp.
#include "kernels/projection.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/random.h"
#include "runtime/threads.h"

namespace rsnn {

namespace {
constexpr int64_t kMaxNeurons = std::numeric_limits<int32_t>::max();

// Split [0, n_rows) into `parts` contiguous ranges holding about equal numbers of synapses:
// bounds[k] = first row of range k, bounds[parts] = n_rows.
std::vector<int64_t> split_rows_by_nnz(const int64_t* ptr, int64_t n_rows, int parts) {
  std::vector<int64_t> bounds(parts + 1, n_rows);
  bounds[0] = 0;
  const int64_t nnz = ptr[n_rows];
  for (int k = 1; k < parts; ++k) {
    const int64_t target = nnz / parts * k + nnz % parts * k / parts;
    bounds[k] = std::lower_bound(ptr, ptr + n_rows + 1, target) - ptr;
    bounds[k] = std::max(bounds[k], bounds[k - 1]);
  }
  return bounds;
}

Tensor sign_tensor(const Tensor& source_sign, int64_t n_pre, const char* what) {
  RSNN_CHECK(source_sign.defined(), what, ": source_sign is undefined");
  check_shape(source_sign, {n_pre}, std::string(what) + ": source_sign");
  RSNN_CHECK(is_floating(source_sign.dtype()), what, ": source_sign must be float32, got ",
             dtype_name(source_sign.dtype()));
  Tensor s = source_sign.to(Device::cpu()).to_dtype(DType::f32).clone();
  const float* v = s.data<float>();
  for (int64_t i = 0; i < n_pre; ++i)
    RSNN_CHECK(v[i] == 1.0f || v[i] == -1.0f, what, ": source_sign[", i, "] = ", v[i],
               " (expected +1 or -1)");
  return s;
}

void check_counts(int64_t n_pre, int64_t n_post, const char* what) {
  RSNN_CHECK(n_pre >= 0 && n_pre <= kMaxNeurons && n_post >= 0 && n_post <= kMaxNeurons, what,
             ": n_pre = ", n_pre, ", n_post = ", n_post, " must lie in [0, 2^31 - 1]");
}
}  // namespace

// ---- layouts ------------------------------------------------------------------------

int64_t PopulationLayout::total() const {
  int64_t n = 0;
  for (int64_t s : sizes) n += s;
  return n;
}

std::vector<int64_t> PopulationLayout::offsets() const {
  std::vector<int64_t> off(sizes.size() + 1, 0);
  for (size_t g = 0; g < sizes.size(); ++g) off[g + 1] = off[g] + sizes[g];
  return off;
}

void PopulationLayout::validate(const std::string& what) const {
  RSNN_CHECK(!sizes.empty(), what, ": the layout has no groups");
  RSNN_CHECK(names.size() == sizes.size() && signs.size() == sizes.size(), what, ": ",
             names.size(), " names, ", sizes.size(), " sizes and ", signs.size(),
             " signs (expected one of each per group)");
  int64_t n = 0;
  for (size_t g = 0; g < sizes.size(); ++g) {
    RSNN_CHECK(sizes[g] >= 0, what, ": group ", g, " (", names[g], ") has negative size ", sizes[g]);
    RSNN_CHECK(signs[g] == 1 || signs[g] == -1, what, ": group ", g, " (", names[g], ") has sign ",
               signs[g], " (expected +1 or -1)");
    n += sizes[g];
    RSNN_CHECK(n <= kMaxNeurons, what, ": more than 2^31 - 1 neurons");
  }
}

// ---- the transpose ------------------------------------------------------------------

// Sort of the post-major synapses by source, in two cache-friendly passes (a one-pass
// counting sort scatters every synapse to a random one of n_pre rows, which is bound by
// cache and TLB misses for large networks; docs/perf-log.md).
//  1. Bucket pass: sources are grouped into buckets of 2^shift consecutive neurons (a few
//     thousand buckets at most). Post rows are split into ranges; each range counts its
//     synapses per bucket, then writes them, visiting its rows in order, into its slots of
//     each bucket: target j in post_idx, and in syn_of_pre the synapse id with the source's
//     offset in its bucket parked in bits 40 and up.
//  2. Bucket sort: each bucket (a few tens of thousands of synapses, in cache) is sorted by
//     source with a stable counting sort, which also yields pre_ptr.
// Both passes are stable, so targets come out ascending within each source row, whatever the
// number of threads.
namespace {
constexpr int kParkBits = 40;
constexpr int64_t kSynMask = (int64_t(1) << kParkBits) - 1;

// Sources in buckets of 2^shift consecutive neurons: about 32 k synapses per bucket on
// average, at most 4096 buckets, offsets within a bucket below 2^23 (they must fit above bit
// 40 of an int64).
struct Buckets {
  int shift = 0;
  int64_t count = 0, width = 0;
  std::vector<int64_t> start;  // count + 1 entries: where each bucket's synapses begin
};
Buckets plan_buckets(int64_t n_pre, int64_t nnz) {
  const double mean_out = static_cast<double>(nnz) / static_cast<double>(n_pre);
  Buckets b;
  while (b.shift < 23 && (int64_t(1) << b.shift) < n_pre &&
         (static_cast<double>(int64_t(1) << b.shift) * mean_out < 32768.0 ||
          ((n_pre - 1) >> b.shift) >= 4096))
    ++b.shift;
  b.count = ((n_pre - 1) >> b.shift) + 1;
  b.width = int64_t(1) << b.shift;
  b.start.assign(size_t(b.count) + 1, 0);
  return b;
}

// Pass 1: every synapse to its source's bucket, post rows in order within each range of rows.
void scatter_to_buckets(const int64_t* post_ptr, const int32_t* pre_idx, int64_t n_post, int64_t nnz,
                        Buckets& bk, int32_t* post_idx, int64_t* syn_of_pre) {
  const int parts = static_cast<int>(std::clamp<int64_t>(nnz / 65536, 1, num_threads()));
  const std::vector<int64_t> bounds = split_rows_by_nnz(post_ptr, n_post, parts);
  // cursor[k * buckets + b]: synapses of range k in bucket b, then where range k writes next.
  std::vector<int64_t> cursor(static_cast<size_t>(parts * bk.count), 0);
  const int shift = bk.shift;
#pragma omp parallel for schedule(static, 1) num_threads(parts) if (parts > 1)
  for (int k = 0; k < parts; ++k) {
    int64_t* c = cursor.data() + k * bk.count;
    for (int64_t s = post_ptr[bounds[k]]; s < post_ptr[bounds[k + 1]]; ++s) ++c[pre_idx[s] >> shift];
  }
  int64_t run = 0;
  for (int64_t b = 0; b < bk.count; ++b) {
    bk.start[b] = run;
    for (int k = 0; k < parts; ++k) {
      const int64_t count = cursor[k * bk.count + b];
      cursor[k * bk.count + b] = run;
      run += count;
    }
  }
  bk.start[bk.count] = run;
  const int64_t low_mask = bk.width - 1;
#pragma omp parallel for schedule(static, 1) num_threads(parts) if (parts > 1)
  for (int k = 0; k < parts; ++k) {
    int64_t* c = cursor.data() + k * bk.count;
    for (int64_t j = bounds[k]; j < bounds[k + 1]; ++j)
      for (int64_t s = post_ptr[j]; s < post_ptr[j + 1]; ++s) {
        const int32_t i = pre_idx[s];
        const int64_t e = c[i >> shift]++;
        post_idx[e] = static_cast<int32_t>(j);
        syn_of_pre[e] = s | (static_cast<int64_t>(i & low_mask) << kParkBits);
      }
  }
}

// Pass 2: a stable counting sort by source inside each bucket, which also yields pre_ptr.
void sort_buckets(const Buckets& bk, int64_t n_pre, int64_t nnz, int64_t* pre_ptr, int32_t* post_idx,
                  int64_t* syn_of_pre) {
  int64_t largest = 0;
  for (int64_t b = 0; b < bk.count; ++b) largest = std::max(largest, bk.start[b + 1] - bk.start[b]);
#pragma omp parallel if (bk.count > 1 && nnz > 65536)
  {
    std::vector<int64_t> next(bk.width + 1);
    Tensor scratch_post = Tensor::empty({largest}, DType::i32);
    Tensor scratch_syn = Tensor::empty({largest}, DType::i64);
    int32_t* tmp_post = scratch_post.data<int32_t>();
    int64_t* tmp_syn = scratch_syn.data<int64_t>();
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < bk.count; ++b) {
      const int64_t lo = b << bk.shift, width = std::min(bk.width, n_pre - lo);
      const int64_t start = bk.start[b], n = bk.start[b + 1] - start;
      std::fill(next.begin(), next.begin() + width + 1, 0);
      for (int64_t e = 0; e < n; ++e) {
        tmp_post[e] = post_idx[start + e];
        tmp_syn[e] = syn_of_pre[start + e];
        ++next[(tmp_syn[e] >> kParkBits) + 1];
      }
      next[0] = start;
      for (int64_t t = 0; t < width; ++t) {
        next[t + 1] += next[t];
        pre_ptr[lo + t] = next[t];
      }
      for (int64_t e = 0; e < n; ++e) {
        const int64_t d = next[tmp_syn[e] >> kParkBits]++;
        post_idx[d] = tmp_post[e];
        syn_of_pre[d] = tmp_syn[e] & kSynMask;
      }
    }
  }
}
}  // namespace

void detail::build_pre_major(Projection& p) {
  const int64_t n_pre = p.n_pre, n_post = p.n_post, nnz = p.nnz();
  RSNN_CHECK(nnz <= kSynMask, "projection: ", nnz, " synapses exceed the 2^40 supported");
  RSNN_CHECK(p.post_ptr.device().is_cpu() && p.pre_idx.device().is_cpu(),
             "build_pre_major: the post-major arrays must be on the CPU");
  p.pre_ptr = Tensor::empty({n_pre + 1}, DType::i64);
  p.post_idx = Tensor::empty({nnz}, DType::i32);
  p.syn_of_pre = Tensor::empty({nnz}, DType::i64);
  int64_t* pre_ptr = p.pre_ptr.data<int64_t>();
  pre_ptr[n_pre] = nnz;
  if (n_pre == 0) return;
  Buckets bk = plan_buckets(n_pre, nnz);
  scatter_to_buckets(p.post_ptr.data<int64_t>(), p.pre_idx.data<int32_t>(), n_post, nnz, bk,
                     p.post_idx.data<int32_t>(), p.syn_of_pre.data<int64_t>());
  sort_buckets(bk, n_pre, nnz, pre_ptr, p.post_idx.data<int32_t>(), p.syn_of_pre.data<int64_t>());
}

// ---- construction from explicit structure --------------------------------------------

Projection projection_from_dense_mask(const Tensor& mask, const Tensor& source_sign) {
  const char* what = "projection_from_dense_mask";
  RSNN_CHECK(mask.defined() && mask.ndim() == 2, what, ": mask must be a 2-d [n_post, n_pre] tensor, got ",
             mask.defined() ? mask.describe() : std::string("an undefined tensor"));
  const int64_t n_post = mask.size(0), n_pre = mask.size(1);
  check_counts(n_pre, n_post, what);
  Projection p;
  p.n_pre = n_pre;
  p.n_post = n_post;
  p.source_sign = sign_tensor(source_sign, n_pre, what);
  // Non-zero test on float64 copies: every dtype converts exactly enough for "!= 0".
  const Tensor m = mask.to(Device::cpu()).to_dtype(DType::f64);
  const double* v = m.data<double>();
  p.post_ptr = Tensor::empty({n_post + 1}, DType::i64);
  int64_t* ptr = p.post_ptr.data<int64_t>();
  ptr[0] = 0;
  for (int64_t j = 0; j < n_post; ++j) {
    int64_t c = 0;
    for (int64_t i = 0; i < n_pre; ++i) c += v[j * n_pre + i] != 0.0;
    ptr[j + 1] = ptr[j] + c;
  }
  p.pre_idx = Tensor::empty({ptr[n_post]}, DType::i32);
  int32_t* idx = p.pre_idx.data<int32_t>();
  for (int64_t j = 0; j < n_post; ++j) {
    int64_t e = ptr[j];
    for (int64_t i = 0; i < n_pre; ++i)
      if (v[j * n_pre + i] != 0.0) idx[e++] = static_cast<int32_t>(i);
  }
  detail::build_pre_major(p);
  return p;
}

Projection projection_from_pairs(int64_t n_pre, int64_t n_post, const std::vector<int32_t>& post,
                                 const std::vector<int32_t>& pre, const Tensor& source_sign) {
  const char* what = "projection_from_pairs";
  check_counts(n_pre, n_post, what);
  RSNN_CHECK(post.size() == pre.size(), what, ": ", post.size(), " post indices but ", pre.size(),
             " pre indices");
  const int64_t nnz = static_cast<int64_t>(post.size());
  Projection p;
  p.n_pre = n_pre;
  p.n_post = n_post;
  p.source_sign = sign_tensor(source_sign, n_pre, what);
  p.post_ptr = Tensor::zeros({n_post + 1}, DType::i64);
  int64_t* ptr = p.post_ptr.data<int64_t>();
  for (int64_t k = 0; k < nnz; ++k) {
    RSNN_CHECK(post[k] >= 0 && post[k] < n_post, what, ": pair ", k, " has post index ", post[k],
               " outside [0, ", n_post, ")");
    RSNN_CHECK(pre[k] >= 0 && pre[k] < n_pre, what, ": pair ", k, " has pre index ", pre[k],
               " outside [0, ", n_pre, ")");
    ++ptr[post[k] + 1];
  }
  for (int64_t j = 0; j < n_post; ++j) ptr[j + 1] += ptr[j];
  p.pre_idx = Tensor::empty({nnz}, DType::i32);
  int32_t* idx = p.pre_idx.data<int32_t>();
  {
    std::vector<int64_t> fill(ptr, ptr + n_post);
    for (int64_t k = 0; k < nnz; ++k) idx[fill[post[k]]++] = pre[k];
  }
  int64_t duplicate_row = -1;
#pragma omp parallel for schedule(dynamic, 256) if (nnz > 65536)
  for (int64_t j = 0; j < n_post; ++j) {
    std::sort(idx + ptr[j], idx + ptr[j + 1]);
    if (std::adjacent_find(idx + ptr[j], idx + ptr[j + 1]) != idx + ptr[j + 1]) {
#pragma omp critical(rsnn_projection_duplicate)
      if (duplicate_row < 0 || j < duplicate_row) duplicate_row = j;
    }
  }
  if (duplicate_row >= 0) {
    int32_t* row = idx + ptr[duplicate_row];
    const int32_t* dup = std::adjacent_find(row, idx + ptr[duplicate_row + 1]);
    RSNN_FAIL(what, ": duplicate synapse (post ", duplicate_row, ", pre ", *dup, ")");
  }
  detail::build_pre_major(p);
  return p;
}

// ---- copies and checks -----------------------------------------------------------------

Projection Projection::to(Device d) const {
  auto copy = [&](const Tensor& t) {
    if (!t.defined()) return Tensor();
    return t.device() == d ? t.clone() : t.to(d);
  };
  Projection out;
  out.n_pre = n_pre;
  out.n_post = n_post;
  out.post_ptr = copy(post_ptr);
  out.pre_idx = copy(pre_idx);
  out.pre_ptr = copy(pre_ptr);
  out.post_idx = copy(post_idx);
  out.syn_of_pre = copy(syn_of_pre);
  out.source_sign = copy(source_sign);
  if (d.is_cuda()) synchronize(d);
  return out;
}

// One CSR: ptr[0] = 0, ptr monotone, ptr[rows] = n, indices strictly ascending in range.
static void check_csr_arrays(const int64_t* ptr, const int32_t* idx, int64_t rows, int64_t cols, int64_t n,
                      const std::string& what, const char* ptr_name, const char* idx_name) {
  RSNN_CHECK(ptr[0] == 0 && ptr[rows] == n, what, ": ", ptr_name, " must run from 0 to nnz = ", n,
             ", got ", ptr[0], " .. ", ptr[rows]);
  for (int64_t r = 0; r < rows; ++r)  // first, so that the index loop stays in bounds
    RSNN_CHECK(ptr[r] <= ptr[r + 1], what, ": ", ptr_name, " decreases at row ", r, " (", ptr[r],
               " > ", ptr[r + 1], ")");
  int64_t bad = -1;
#pragma omp parallel for schedule(static) reduction(max : bad) if (n > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    bool ok = true;
    for (int64_t e = ptr[r]; ok && e < ptr[r + 1]; ++e)
      ok = idx[e] >= 0 && idx[e] < cols && (e == ptr[r] || idx[e - 1] < idx[e]);
    if (!ok) bad = std::max(bad, r);
  }
  RSNN_CHECK(bad < 0, what, ": row ", bad, " of ", idx_name,
             " is not strictly ascending and in range [0, ", cols, ")");
}

void validate_post_major(const Projection& p, const std::string& what) {
  check_counts(p.n_pre, p.n_post, what.c_str());
  RSNN_CHECK(p.post_ptr.defined() && p.pre_idx.defined(), what, ": post_ptr or pre_idx is undefined");
  check_dtype(p.post_ptr, DType::i64, what + ": post_ptr");
  check_shape(p.post_ptr, {p.n_post + 1}, what + ": post_ptr");
  check_dtype(p.pre_idx, DType::i32, what + ": pre_idx");
  RSNN_CHECK(p.pre_idx.ndim() == 1, what, ": pre_idx must be 1-d, got ", p.pre_idx.describe());
  const Tensor pp = p.post_ptr.to(Device::cpu()), pi = p.pre_idx.to(Device::cpu());
  check_csr_arrays(pp.data<int64_t>(), pi.data<int32_t>(), p.n_post, p.n_pre, pi.numel(), what,
                   "post_ptr", "pre_idx");
}

void Projection::validate(const std::string& what) const {
  check_counts(n_pre, n_post, what.c_str());
  auto need = [&](const Tensor& t, const char* name, DType dt, int64_t n) {
    RSNN_CHECK(t.defined(), what, ": ", name, " is undefined");
    check_dtype(t, dt, what + ": " + name);
    check_shape(t, {n}, what + ": " + name);
  };
  need(post_ptr, "post_ptr", DType::i64, n_post + 1);
  const int64_t n = pre_idx.defined() ? pre_idx.numel() : 0;
  need(pre_idx, "pre_idx", DType::i32, n);
  need(pre_ptr, "pre_ptr", DType::i64, n_pre + 1);
  need(post_idx, "post_idx", DType::i32, n);
  need(syn_of_pre, "syn_of_pre", DType::i64, n);
  need(source_sign, "source_sign", DType::f32, n_pre);
  const Device d = device();
  for (const Tensor* t : {&pre_idx, &pre_ptr, &post_idx, &syn_of_pre, &source_sign})
    RSNN_CHECK(t->device() == d, what, ": arrays on different devices (", d.str(), " and ",
               t->device().str(), ")");

  const Tensor pp = post_ptr.to(Device::cpu()), pi = pre_idx.to(Device::cpu());
  const Tensor qp = pre_ptr.to(Device::cpu()), qi = post_idx.to(Device::cpu());
  const Tensor sp = syn_of_pre.to(Device::cpu()), sg = source_sign.to(Device::cpu());
  auto check_csr = [&](const int64_t* ptr, const int32_t* idx, int64_t rows, int64_t cols,
                       const char* ptr_name, const char* idx_name) {
    check_csr_arrays(ptr, idx, rows, cols, n, what, ptr_name, idx_name);
  };
  const int64_t* post_ptr_v = pp.data<int64_t>();
  const int32_t* pre_idx_v = pi.data<int32_t>();
  const int64_t* pre_ptr_v = qp.data<int64_t>();
  const int32_t* post_idx_v = qi.data<int32_t>();
  const int64_t* syn = sp.data<int64_t>();
  check_csr(post_ptr_v, pre_idx_v, n_post, n_pre, "post_ptr", "pre_idx");
  check_csr(pre_ptr_v, post_idx_v, n_pre, n_post, "pre_ptr", "post_idx");
  // Each pre-major entry (i, j) names a post-major synapse with the same (i, j). Both orders
  // hold distinct pairs, so this map from nnz entries to nnz synapses is a bijection.
  int64_t bad = -1;
#pragma omp parallel for schedule(static) reduction(max : bad) if (n > 65536)
  for (int64_t i = 0; i < n_pre; ++i)
    for (int64_t e = pre_ptr_v[i]; e < pre_ptr_v[i + 1]; ++e) {
      const int64_t s = syn[e], j = post_idx_v[e];
      if (s < post_ptr_v[j] || s >= post_ptr_v[j + 1] || pre_idx_v[s] != i) bad = std::max(bad, e);
    }
  RSNN_CHECK(bad < 0, what, ": pre-major entry ", bad, " (target ", bad >= 0 ? post_idx_v[bad] : 0,
             ") has syn_of_pre = ", bad >= 0 ? syn[bad] : 0, ", which is not that synapse");
  const float* sv = sg.data<float>();
  for (int64_t i = 0; i < n_pre; ++i)
    RSNN_CHECK(sv[i] == 1.0f || sv[i] == -1.0f, what, ": source_sign[", i, "] = ", sv[i],
               " (expected +1 or -1)");
}

Tensor block_counts(const Projection& p, const PopulationLayout& pre, const PopulationLayout& post) {
  pre.validate("block_counts: pre layout");
  post.validate("block_counts: post layout");
  RSNN_CHECK(pre.total() == p.n_pre && post.total() == p.n_post, "block_counts: layouts cover ",
             pre.total(), " x ", post.total(), " neurons, the projection ", p.n_pre, " x ", p.n_post);
  const int64_t G = pre.groups(), H = post.groups();
  const Tensor pp = p.post_ptr.to(Device::cpu()), pi = p.pre_idx.to(Device::cpu());
  const int64_t* ptr = pp.data<int64_t>();
  const int32_t* idx = pi.data<int32_t>();
  std::vector<int32_t> group_of(p.n_pre);
  const std::vector<int64_t> pre_off = pre.offsets(), post_off = post.offsets();
  for (int64_t g = 0; g < G; ++g)
    std::fill(group_of.begin() + pre_off[g], group_of.begin() + pre_off[g + 1], static_cast<int32_t>(g));
  Tensor out = Tensor::zeros({G, H}, DType::i64);
  int64_t* c = out.data<int64_t>();
  for (int64_t h = 0; h < H; ++h) {
    std::vector<int64_t> col(G, 0);
    for (int64_t s = ptr[post_off[h]]; s < ptr[post_off[h + 1]]; ++s) ++col[group_of[idx[s]]];
    for (int64_t g = 0; g < G; ++g) c[g * H + h] = col[g];
  }
  return out;
}

// ---- per-synapse values ---------------------------------------------------------------

namespace {
void check_values(const Tensor& values, const char* what) {
  RSNN_CHECK(values.defined(), what, ": values tensor is undefined");
  RSNN_CHECK(values.ndim() == 1, what, ": values must be 1-d [nnz], got ", values.describe());
  RSNN_CHECK(is_floating(values.dtype()), what, ": values must be float32 or float64, got ",
             dtype_name(values.dtype()));
}
}  // namespace

void init_uniform(Tensor& values, double lo, double hi, uint64_t seed, uint64_t stream) {
  check_values(values, "init_uniform");
  RSNN_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "init_uniform: bad range [", lo,
             ", ", hi, "]");
  fill_uniform(values, seed, stream, lo, hi);
}

void init_normal(Tensor& values, double mean, double stddev, uint64_t seed, uint64_t stream) {
  check_values(values, "init_normal");
  RSNN_CHECK(std::isfinite(mean) && std::isfinite(stddev) && stddev >= 0,
             "init_normal: bad mean ", mean, " or standard deviation ", stddev);
  fill_normal(values, seed, stream, mean, stddev);
}

void clamp_(Tensor& values, double lo, double hi) {
  check_values(values, "clamp_");
  RSNN_CHECK(!(lo > hi) && !std::isnan(lo) && !std::isnan(hi), "clamp_: bad range [", lo, ", ", hi, "]");
  const int64_t n = values.numel();
  if (values.device().is_cuda()) {
    detail::clamp_cuda(values.raw(), n, values.dtype(), lo, hi, Stream{values.device()});
    return;
  }
  dispatch_float(values.dtype(), "clamp_", [&](auto tag) {
    using T = decltype(tag);
    T* v = values.data<T>();
    const T tlo = static_cast<T>(lo), thi = static_cast<T>(hi);
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) v[i] = detail::clamp_value(v[i], tlo, thi);
    return 0;
  });
}

Tensor to_dense(const Projection& p, const Tensor& values, bool signed_values) {
  RSNN_CHECK(values.defined(), "to_dense: values tensor is undefined");
  check_shape(values, {p.nnz()}, "to_dense: values");
  RSNN_CHECK(is_floating(values.dtype()), "to_dense: values must be float32 or float64, got ",
             dtype_name(values.dtype()));
  const Tensor pp = p.post_ptr.to(Device::cpu()), pi = p.pre_idx.to(Device::cpu());
  const Tensor sg = p.source_sign.to(Device::cpu()), v = values.to(Device::cpu());
  Tensor out = Tensor::zeros({p.n_post, p.n_pre}, values.dtype());
  dispatch_float(values.dtype(), "to_dense", [&](auto tag) {
    using T = decltype(tag);
    const int64_t* ptr = pp.data<int64_t>();
    const int32_t* idx = pi.data<int32_t>();
    const float* sign = sg.data<float>();
    const T* val = v.data<T>();
    T* d = out.data<T>();
    for (int64_t j = 0; j < p.n_post; ++j)
      for (int64_t s = ptr[j]; s < ptr[j + 1]; ++s)
        d[j * p.n_pre + idx[s]] = signed_values ? static_cast<T>(sign[idx[s]]) * val[s] : val[s];
    return 0;
  });
  return out.to(p.device());
}

}  // namespace rsnn
