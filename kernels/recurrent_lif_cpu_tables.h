// Internal to the optimized CPU recurrent LIF layer: the per-call tables derived from the
// projection, the config and the weights (Net), and the backward's error-gather tables
// (BwdTables), which a forward may build beside its time loop and keep in LifSaved::tables.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/recurrent_lif_cpu.h"

namespace rsnn::kernels::lif_cpu {

// The network of one call: sizes, model constants and the projection's arrays.
template <class T>
struct Net {
  Dims d;
  lif::ModelParams<T> m;
  lif::SurrogateParams<T> sg;
  std::vector<lif::NeuronConst<T>> nc;
  std::vector<int64_t> post_split, pre_split, pre_end;  // row splits (lif_detail::row_splits), row ends
  const int64_t *post_ptr = nullptr, *pre_ptr = nullptr, *syn_of_pre = nullptr;
  const int32_t *pre_idx = nullptr, *post_idx = nullptr;
  const float* sign = nullptr;
  RawVec<T> w_signed;              // [nnz] sign * w, post-major
  std::vector<int64_t> ro_neuron;  // [N_ro] neuron of each readout column
  RawVec<T> w_ro_t;                // [N_ro, R] W_ro transposed (the forward's spike-driven sums)
  const T* w_ro = nullptr;         // W_ro [R, N_ro] (the backward's readout error)

  // Validates the inputs (make_dims) and builds the tables on all threads.
  Net(const Projection& p, const LifConfig& cfg, const LifInputs& x);

  // sign * w in pre-major order (the forward's push), on all threads or on the calling one.
  RawVec<T> w_signed_pre_major(bool parallel) const;
};

// The backward's gather tables, sign * w * in_gain(target) and the targets in backward order:
// the same-step part of row j (pre-major entries [pre_split[j], pre_end[j])) at
// same_step_at[j], its previous-step part ([pre_ptr[j], pre_split[j])) at prev_step_at[j]. The
// same-step parts come in the order the group loop visits the rows (groups descending, rows
// ascending), then the previous-step parts (rows ascending), so that every step reads the
// tables as one sequential stream. 16-bit targets when N <= 65,536 (the gather streams the
// index and weight tables every step). Built from the weights and the projection alone, so a
// forward whose time loop runs on one thread builds them on another meanwhile
// (LifSaved::tables); `from` and `cfg` say what from, so that a backward given other inputs
// builds its own. The tables hold on to those tensors: no other tensor can take their place at
// the same address while the tables exist (the Net also reads them).
template <class T>
struct BwdTables final : LifBackwardTables {
  std::shared_ptr<const Net<T>> net;
  std::vector<Tensor> held;       // tensors_of(p, x)
  std::vector<const void*> from;  // their storage
  LifConfig cfg;
  RawVec<T> gather_w;             // [nnz] sign * w * in_gain(target), backward order
  std::vector<int64_t> same_step_at, prev_step_at;  // [N] where row j's parts start
  // prefix sums of the rows' work (for_rows_by_work) in the group loop and in the
  // previous-step loop: the row's gather entries + the entries its other per-row work is worth
  std::vector<int64_t> work_same_step, work_prev_step;
  RawVec<uint16_t> post16;  // targets, N <= 65,536
  RawVec<int32_t> post32;   // targets, larger N
  // [nnz] the pre-major entry of each post-major synapse (syn_of_pre inverted): 32-bit when nnz
  // fits, else 64-bit
  RawVec<uint32_t> pre_of_syn32;
  RawVec<int64_t> pre_of_syn64;
  int64_t bytes() const override;
};

// Builds the backward's tables for `net` (on all threads, or on the calling one).
template <class T>
std::shared_ptr<BwdTables<T>> make_bwd_tables(std::shared_ptr<const Net<T>> net, const Projection& p,
                                              const LifConfig& cfg, const LifInputs& x, bool parallel);

// The saved tables when they were built from these inputs (BwdTables), else null. d: the
// backward's own dims of the call.
template <class T>
std::shared_ptr<const BwdTables<T>> saved_tables(const LifSaved& saved, const Projection& p, const LifConfig& cfg,
                                                 const LifInputs& x, const Dims& d);

#define RSNN_LIF_CPU_TABLES_EXTERN(T) \
  extern template struct Net<T>;      \
  extern template struct BwdTables<T>;
RSNN_LIF_FOR_EACH_FLOAT(RSNN_LIF_CPU_TABLES_EXTERN)
#undef RSNN_LIF_CPU_TABLES_EXTERN

}  // namespace rsnn::kernels::lif_cpu
