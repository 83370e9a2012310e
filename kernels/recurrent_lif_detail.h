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

// The element types the op is compiled for: X(T) once per type (explicit instantiations).
#define RSNN_LIF_FOR_EACH_FLOAT(X) X(float) X(double)

// Validates everything a version of the op needs alike (throws a one-line rsnn::Error) and
// fills the sizes: every tensor on the projection's device, of the weights' dtype, of the
// sizes the projection and i_ext set; the config. The values of tau_m and tau_adp are checked
// by check_time_constants, on host copies for a device.
Dims check_dims(const Projection& p, const LifConfig& cfg, const LifInputs& x);
// tau_m (unless if_) and tau_adp (alif) positive and finite; host tensors.
void check_time_constants(const LifConfig& cfg, const Tensor& tau_m, const Tensor& tau_adp);
// check_dims and check_time_constants for the CPU op (a CPU projection).
Dims make_dims(const Projection& p, const LifConfig& cfg, const LifInputs& x);

// What a backward is given besides the inputs: the saved state and the output gradients, of
// the call's sizes and dtype, on the projection's device dev (one-line rsnn::Error otherwise).
void check_backward_inputs(const Dims& d, const LifConfig& cfg, DType dt, Device dev, const LifSaved& saved,
                           const Tensor& dspikes, const Tensor& dreadout);

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
