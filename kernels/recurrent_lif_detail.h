// Internal to kernels/recurrent_lif*.cpp: sizes and per-call tables shared by the reference,
// the optimized CPU path and (later) the CUDA launcher. Not a public header.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/recurrent_lif.h"

namespace rsnn::kernels::lif_detail {

// Sizes of one call, after validation.
struct Dims {
  int64_t T = 0, B = 0, N = 0, N_in = 0, in_off = 0, R = 0, N_ro = 0, G = 1, nnz = 0;
  bool gauss_seidel = true;
  bool has_readout = false;
  std::vector<int64_t> offsets;   // G+1 group offsets
  std::vector<int32_t> group_of;  // [N]
  std::vector<int64_t> ro_col;    // [N]: column of W_ro read from this neuron, or -1
};

// Validates everything (throws) and fills the sizes.
Dims make_dims(const Projection& p, const LifConfig& cfg, const LifInputs& x);

// Row splits for the two update orders (see recurrent_lif_cpu_forward.cpp):
//   post_split[i]: first synapse of post-major row i whose source is in group(i) or later
//                  (the synapses before it carry this step's spikes; previous_step: row start)
//   pre_split[j]:  first entry of pre-major row j whose target is in a later group than j
//                  (those targets see this step's spike of j; previous_step: row end)
void row_splits(const Projection& p, const Dims& d, std::vector<int64_t>& post_split,
                std::vector<int64_t>& pre_split);

// Per-neuron constants; tau_adp may be undefined unless alif.
template <class T>
std::vector<lif::NeuronConst<T>> neuron_consts(const lif::ModelParams<T>& m, const LifInputs& x,
                                               int64_t N);

}  // namespace rsnn::kernels::lif_detail
