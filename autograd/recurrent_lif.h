// The fused recurrent (adaptive) LIF layer as ONE op on the tape (kernels/recurrent_lif.h
// has the model, shapes, layout and what is kept for backward).
//
//   ag::RecurrentLifInputs in;  in.w = ...; in.tau_m = ...; in.i_ext = ...; in.b_base = ...;
//   auto out = ag::recurrent_lif(proj, cfg, in);   // out.readout [T, B, R], out.spikes [T, B, N]
//
// Trainable (any Var may require a gradient): w [nnz], tau_m [N], tau_adp [N], i_ext
// [T, B, N_in], initial state v0, a0, s0 [B, N], readout weights w_ro [R, N_ro]. b_base [N]
// is a plain tensor. Undefined v0/a0/s0 mean zeros; undefined w_ro means no readout.
// Differentiable outputs: `spikes` (cfg.output_spikes) and `readout` (w_ro given); the
// uint8 spike record and the v/a traces are plain tensors. The op keeps only u = v - Th and
// a per neuron-step for backward (saved_bytes_per_neuron_step reports it: 8 in float32 alif).
#pragma once
#include "autograd/var.h"
#include "kernels/recurrent_lif.h"

namespace rsnn::ag {

struct RecurrentLifInputs {
  Var w;        // [nnz] synaptic magnitudes, post-major (clamp to >= 0 yourself for Dale)
  Var tau_m;    // [N]
  Var tau_adp;  // [N] (alif)
  Var i_ext;    // [T, B, N_in] external current into [input_offset, input_offset + N_in)
  Var v0, a0, s0;  // [B, N] initial state (s0 may be real-valued)
  Var w_ro;     // [R, N_ro] fused readout weights
  Tensor b_base;  // [N] baseline threshold
};

struct RecurrentLifOutputs {
  Var spikes;           // [T, B, N] float (cfg.output_spikes)
  Var readout;          // [T, B, R]
  Tensor spike_record;  // uint8 [T, B, N] (cfg.record_spikes)
  Tensor v_record;      // [T, B, N] (cfg.record_state)
  Tensor a_record;      // [T, B, N] (cfg.record_state)
  kernels::LifStats stats;
  int64_t saved_bytes = 0;                  // held for backward (0 when nothing is recorded)
  double saved_bytes_per_neuron_step = 0.0;
};

RecurrentLifOutputs recurrent_lif(const Projection& p, const LifConfig& cfg,
                                  const RecurrentLifInputs& in);

}  // namespace rsnn::ag
