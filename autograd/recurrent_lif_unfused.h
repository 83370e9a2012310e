// The recurrent LIF layer assembled from primitive tape ops, step by step: per step and group,
// a sparse propagation op (ag::csr_propagate), element-wise ops (autograd/ops.h) and the spike
// op (ag::spike). Same model, inputs and outputs as ag::recurrent_lif (autograd/recurrent_lif.h)
// but every intermediate [B, N] tensor is kept on the tape, as a framework would. It is the
// independent reference the fused op is tested against, and the "unfused" benchmark baseline.
// Fills only spikes (cfg.output_spikes) and readout (w_ro given); no records or stats.
#pragma once
#include "autograd/recurrent_lif.h"

namespace rsnn::ag {

RecurrentLifOutputs recurrent_lif_unfused(const Projection& p, const LifConfig& cfg,
                                          const RecurrentLifInputs& in);

}  // namespace rsnn::ag
