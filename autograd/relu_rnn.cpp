#include "autograd/relu_rnn.h"

#include "kernels/relu_rnn.h"

namespace rsnn::ag {

Var relu_rnn(const Var& x, const Var& W_in, const Var& W_rec, const Var& b,
             bool return_sequences) {
  const Tensor H = kernels::relu_rnn_forward(x.value(), W_in.value(), W_rec.value(), b.value());
  const int64_t T = H.shape()[0], B = H.shape()[1], N = H.shape()[2];
  const Tensor out = return_sequences ? H : H.narrow0(T - 1, 1).reshape({B, N});
  const std::vector<Var> inputs{x, W_in, W_rec, b};
  if (!will_record(inputs)) return Var(out);
  const bool nx = x.requires_grad(), nwi = W_in.requires_grad(), nwr = W_rec.requires_grad(),
             nb = b.requires_grad();
  // x is needed for the shapes and dW_in; W_in only for dx.
  const Tensor xv = x.value(), wi = W_in.value(), wr = W_rec.value();
  return record1("relu_rnn", inputs, out, [=](const std::vector<Tensor>& g) {
    std::vector<Tensor> d(4);
    const Tensor dH = return_sequences ? g[0] : Tensor();
    const Tensor dl = return_sequences ? Tensor() : g[0];
    kernels::relu_rnn_backward(nx ? &d[0] : nullptr, nwi ? &d[1] : nullptr,
                               nwr ? &d[2] : nullptr, nb ? &d[3] : nullptr, dH, dl, xv, wi, wr,
                               H);
    return d;
  });
}

}  // namespace rsnn::ag
