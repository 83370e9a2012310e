// Sparse projections between populations of neurons.
//
// A projection from n_pre source neurons to n_post target neurons is stored once as CSR with
// rows = postsynaptic targets ("post-major", for gathering input currents), plus its
// transpose with rows = presynaptic sources ("pre-major", for event-driven scatter of
// spikes). Synaptic values (weights) live outside the structure, one per non-zero in
// post-major order, so they can be a trainable Var; the transpose refers to them through
// `syn_of_pre`. The sign of every synapse is the sign of its source (Dale's principle).
//
// Sampling is counter-based (Philox): the same seed and stream give the same network on
// any thread count, and a network built on the CPU is copied unchanged to a GPU.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/cuda_entry.h"
#include "runtime/hd.h"
#include "runtime/tensor.h"

namespace rsnn {

// Contiguous groups of neurons (cell types), in order.
struct PopulationLayout {
  std::vector<std::string> names;
  std::vector<int64_t> sizes;
  std::vector<int> signs;  // +1 excitatory, -1 inhibitory: the sign of every synapse it sends

  int64_t groups() const { return static_cast<int64_t>(sizes.size()); }
  int64_t total() const;                 // sum of sizes
  std::vector<int64_t> offsets() const;  // groups() + 1 entries, offsets[0] = 0
  void validate(const std::string& what) const;  // throws on mismatched lengths, bad sizes/signs
};

// Memory: 16 bytes per synapse (pre_idx, post_idx, syn_of_pre) + 20 per neuron (pointers, sign).
struct Projection {
  int64_t n_pre = 0;
  int64_t n_post = 0;
  // post-major CSR
  Tensor post_ptr;    // int64 [n_post + 1]
  Tensor pre_idx;     // int32 [nnz]: source of each synapse, ascending within each row
  // pre-major transpose
  Tensor pre_ptr;     // int64 [n_pre + 1]
  Tensor post_idx;    // int32 [nnz]: target of each pre-major entry, ascending within each row
  Tensor syn_of_pre;  // int64 [nnz]: post-major synapse id of each pre-major entry
  // per source
  Tensor source_sign;  // float32 [n_pre]: +1 or -1

  int64_t nnz() const { return pre_idx.defined() ? pre_idx.numel() : 0; }
  Device device() const { return post_ptr.defined() ? post_ptr.device() : Device::cpu(); }
  Projection to(Device d) const;  // copies every array (a deep copy when already on d)
  void validate(const std::string& what) const;  // structural checks (CPU copies), throws
};

// Checks of the post-major half alone (what detail::build_pre_major reads): dtypes, shapes,
// post_ptr from 0 to nnz and monotone, pre_idx strictly ascending per row and in [0, n_pre).
// Loaders call it on untrusted arrays (a checkpoint) before anything indexes with them.
void validate_post_major(const Projection& p, const std::string& what);

// Independent Bernoulli(prob[pre group, post group]) draws for every (pre, post) neuron pair.
//
// Sampling (exactly the distribution of independent draws, without one draw per pair): for
// each post row r and pre group g with 0 < p < 1, the gaps between successive synapses are
// geometric, gap = floor(log(u) / log1p(-p)), u = philox::uniform_f64(seed, stream, index);
// p = 0 draws nothing, p = 1 takes the whole group. Counter layout: the k-th draw of block
// (r, g) has index ((r * pre.groups() + g) << 32) + k (k <= group size < 2^31), so no two draws
// share a counter and the network is a pure function of (seed, stream, layouts, prob): the
// same on any thread count. Requires n_post * pre.groups() < 2^32. Give projections built
// with the same seed different streams. With same_network and !allow_autapses the pair
// (i, i) is drawn like any other and then dropped, so every other pair is unchanged.
struct ProjectionSpec {
  PopulationLayout pre;
  PopulationLayout post;
  Tensor prob;                // float64 [pre.groups(), post.groups()]: rows = presynaptic group
  bool allow_autapses = true; // when pre and post are the same network, keep i -> i synapses
  bool same_network = false;  // pre and post are the same neurons (for allow_autapses)
  uint64_t seed = 0;
  uint64_t stream = 0;
};
Projection build_projection(const ProjectionSpec& spec);
// The plain single-threaded specification of build_projection (one uniform_f64 call per
// draw, std::vector rows, a serial transpose): same result, bit for bit. For tests.
Projection build_projection_reference(const ProjectionSpec& spec);

// Synapse count of every (pre group, post group) block: int64 [pre.groups(), post.groups()]
// (CPU). The layouts must cover p.n_pre and p.n_post neurons.
Tensor block_counts(const Projection& p, const PopulationLayout& pre, const PopulationLayout& post);

// Construction from explicit structure (tests, converters, small networks).
// mask: [n_post, n_pre], non-zero = synapse. source_sign: float32 [n_pre].
Projection projection_from_dense_mask(const Tensor& mask, const Tensor& source_sign);
// Synapses given as (post, pre) pairs in any order; duplicates are an error.
Projection projection_from_pairs(int64_t n_pre, int64_t n_post, const std::vector<int32_t>& post,
                                 const std::vector<int32_t>& pre, const Tensor& source_sign);

// Per-non-zero values (float32/float64 [nnz], post-major order), any device. Value i is the
// Philox number (seed, stream, i) (runtime/random.h), so the same on any thread count and
// backend. Uniform values lie in [lo, hi] (the open interval, rounded to the value type).
void init_uniform(Tensor& values, double lo, double hi, uint64_t seed, uint64_t stream);
void init_normal(Tensor& values, double mean, double stddev, uint64_t seed, uint64_t stream);
void clamp_(Tensor& values, double lo, double hi);  // in place, any device; NaN stays NaN
// Dense [n_post, n_pre] matrix of sign * value (or value alone when signed = false), in the
// dtype of values, on the projection's device (built on the CPU: for tests, small networks).
Tensor to_dense(const Projection& p, const Tensor& values, bool signed_values = true);

namespace detail {
// Fills p.pre_ptr, p.post_idx and p.syn_of_pre (CPU) from p.post_ptr and p.pre_idx (CPU).
void build_pre_major(Projection& p);
// The per-element clamp shared by the CPU loop and the CUDA kernel.
template <class T>
RSNN_HD T clamp_value(T x, T lo, T hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}
// CUDA half of clamp_ (kernels/projection.cu): n values of dtype t at `values`.
RSNN_CUDA_ENTRY("clamp_", void clamp_cuda(void* values, int64_t n, DType t, double lo, double hi,
                                          Stream stream));
}  // namespace detail

}  // namespace rsnn
