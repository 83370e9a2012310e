// The recurrent LIF layer's public entry points (contract in recurrent_lif.h): the CUDA half
// for a projection on a CUDA device, else the optimized CPU op (recurrent_lif_cpu.h).
#include "kernels/recurrent_lif.h"

#include "kernels/recurrent_lif_cpu.h"
#include "kernels/recurrent_lif_cuda.h"

namespace rsnn::kernels {

namespace {
void check_stream(const Projection& p, Stream stream, const char* what) {
  RSNN_CHECK(stream.device == p.device(), what, ": the stream belongs to ", stream.device.str(),
             ", the projection to ", p.device().str());
}
}  // namespace

LifForward recurrent_lif_forward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                 bool keep_for_backward, Stream stream) {
  check_stream(p, stream, "recurrent_lif_forward");
  if (p.device().is_cuda()) return cuda::recurrent_lif_forward(p, cfg, x, keep_for_backward, stream);
  RSNN_CHECK(cfg.propagation != Propagation::cusparse,
             "recurrent_lif_forward: Propagation::cusparse needs the projection on a CUDA device "
             "(on the CPU use pull, push or automatic)");
  RSNN_CHECK(x.w.defined(), "recurrent_lif_forward: the synaptic weights w are required");
  return lif_cpu::cpu_forward(p, cfg, x, keep_for_backward);
}

LifForward recurrent_lif_forward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                 bool keep_for_backward) {
  return recurrent_lif_forward(p, cfg, x, keep_for_backward, default_stream(p.device()));
}

LifGrads recurrent_lif_backward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                const LifSaved& saved, const Tensor& dspikes,
                                const Tensor& dreadout, const LifNeeds& needs, Stream stream) {
  check_stream(p, stream, "recurrent_lif_backward");
  if (p.device().is_cuda())
    return cuda::recurrent_lif_backward(p, cfg, x, saved, dspikes, dreadout, needs, stream);
  RSNN_CHECK(x.w.defined(), "recurrent_lif_backward: the synaptic weights w are required");
  return lif_cpu::cpu_backward(p, cfg, x, saved, dspikes, dreadout, needs);
}

LifGrads recurrent_lif_backward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                const LifSaved& saved, const Tensor& dspikes,
                                const Tensor& dreadout, const LifNeeds& needs) {
  return recurrent_lif_backward(p, cfg, x, saved, dspikes, dreadout, needs,
                                default_stream(p.device()));
}

}  // namespace rsnn::kernels
