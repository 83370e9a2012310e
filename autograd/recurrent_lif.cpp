#include "autograd/recurrent_lif.h"

namespace rsnn::ag {
namespace {
Tensor value_or_empty(const Var& v) { return v.defined() ? v.value() : Tensor(); }
}  // namespace

RecurrentLifOutputs recurrent_lif(const Projection& p, const LifConfig& cfg,
                                  const RecurrentLifInputs& in) {
  kernels::LifInputs x;
  x.w = value_or_empty(in.w);
  x.tau_m = value_or_empty(in.tau_m);
  x.tau_adp = value_or_empty(in.tau_adp);
  x.i_ext = value_or_empty(in.i_ext);
  x.v0 = value_or_empty(in.v0);
  x.a0 = value_or_empty(in.a0);
  x.s0 = value_or_empty(in.s0);
  x.w_ro = value_or_empty(in.w_ro);
  x.b_base = in.b_base;

  const std::vector<Var> inputs = {in.w, in.tau_m, in.tau_adp, in.i_ext, in.v0, in.a0, in.s0, in.w_ro};
  const bool has_outputs = cfg.output_spikes || x.w_ro.defined();
  const bool rec = has_outputs && will_record(inputs);
  kernels::LifForward f = kernels::recurrent_lif_forward(p, cfg, x, rec);

  RecurrentLifOutputs out;
  out.spike_record = f.spike_record;
  out.v_record = f.v_record;
  out.a_record = f.a_record;
  out.stats = f.stats;
  out.saved_bytes = f.saved.bytes();
  out.saved_bytes_per_neuron_step = f.saved.bytes_per_neuron_step();
  std::vector<Tensor> values;
  if (cfg.output_spikes) values.push_back(f.spikes);
  if (x.w_ro.defined()) values.push_back(f.readout);
  if (values.empty()) return out;

  kernels::LifNeeds needs;
  needs.w = in.w.requires_grad();
  needs.tau_m = in.tau_m.requires_grad();
  needs.tau_adp = in.tau_adp.requires_grad();
  needs.i_ext = in.i_ext.requires_grad();
  needs.v0 = in.v0.requires_grad();
  needs.a0 = in.a0.requires_grad();
  needs.s0 = in.s0.requires_grad();
  needs.w_ro = in.w_ro.requires_grad();
  const bool with_spikes = cfg.output_spikes;
  const bool with_readout = x.w_ro.defined();
  kernels::LifSaved saved = f.saved;
  BackwardFn bw = [p, cfg, x, saved, needs, with_spikes, with_readout](const std::vector<Tensor>& g) {
    size_t k = 0;
    const Tensor dspikes = with_spikes ? g[k++] : Tensor();
    const Tensor dreadout = with_readout ? g[k++] : Tensor();
    kernels::LifGrads gr = kernels::recurrent_lif_backward(p, cfg, x, saved, dspikes, dreadout, needs);
    return std::vector<Tensor>{gr.dw, gr.dtau_m, gr.dtau_adp, gr.di_ext, gr.dv0, gr.da0, gr.ds0, gr.dw_ro};
  };
  std::vector<Var> vars = record("recurrent_lif", inputs, values, BackwardFnHolder{std::move(bw)});
  size_t k = 0;
  if (with_spikes) out.spikes = vars[k++];
  if (with_readout) out.readout = vars[k++];
  return out;
}

}  // namespace rsnn::ag
