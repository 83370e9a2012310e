#include "kernels/dense_cuda.cuh"
#include "kernels/elementwise.h"

namespace rsnn::kernels::cuda {

namespace {
using detail::grid_for;
using detail::kThreads;
using detail::raw;

template <UnaryOp OP, class T>
__global__ void unary_forward_kernel(T* out, const T* x, int64_t n, T p) {
  RSNN_GRID_STRIDE(i, n) out[i] = unary_value<OP, T>(x[i], p);
}

template <UnaryOp OP, class T>
__global__ void unary_backward_kernel(T* dx, const T* dy, const T* x, const T* y, int64_t n, T p) {
  RSNN_GRID_STRIDE(i, n)
  dx[i] += dy[i] * unary_derivative<OP, T>(x ? x[i] : T(0), y ? y[i] : T(0), p);
}

template <BinaryOp OP, class T>
__global__ void binary_forward_kernel(T* out, const T* a, const T* b, int64_t outer, int64_t inner,
                                      bool a_full, bool b_full) {
  RSNN_GRID_STRIDE(i, outer * inner) {
    const int64_t j = i % inner;
    out[i] = binary_value<OP, T>(a[a_full ? i : j], b[b_full ? i : j]);
  }
}

// The gradient term of operand WHICH (0: a, 1: b) at (o, j).
template <BinaryOp OP, class T, int WHICH>
struct BinaryGradTerm {
  const T *dout, *a, *b;
  int64_t inner;
  bool a_full, b_full;
  __device__ T operator()(int64_t o, int64_t j) const {
    const int64_t i = o * inner + j;
    const T av = a[a_full ? i : j], bv = b[b_full ? i : j];
    return dout[i] * (WHICH == 0 ? binary_da<OP, T>(av, bv) : binary_db<OP, T>(av, bv));
  }
};

// d (outer, inner) += term(o, j) for a full operand.
template <class T, class Term>
__global__ void add_term_kernel(T* d, int64_t outer, int64_t inner, Term term) {
  RSNN_GRID_STRIDE(i, outer * inner) d[i] += term(i / inner, i % inner);
}

template <BinaryOp OP, class T, int WHICH>
void binary_grad(T* d, bool full, const T* dout, const T* a, const T* b, int64_t outer,
                 int64_t inner, bool a_full, bool b_full, Stream stream) {
  if (!d) return;
  const BinaryGradTerm<OP, T, WHICH> term{dout, a, b, inner, a_full, b_full};
  if (full) {
    add_term_kernel<<<grid_for(outer * inner), kThreads, 0, raw(stream)>>>(d, outer, inner, term);
    RSNN_CUDA_CHECK_LAUNCH();
  } else {
    detail::colsum_into(d, outer, inner, true, term, stream);
  }
}
}  // namespace

template <class T>
void unary_forward(UnaryOp op, T* out, const T* x, int64_t n, T p, Stream stream) {
  if (n == 0) return;
  detail::use_device(stream);
  visit_unary(op, [&](auto tag) {
    constexpr UnaryOp OP = decltype(tag)::value;
    unary_forward_kernel<OP, T><<<grid_for(n), kThreads, 0, raw(stream)>>>(out, x, n, p);
  });
  RSNN_CUDA_CHECK_LAUNCH();
}

template <class T>
void unary_backward(UnaryOp op, T* dx, const T* dy, const T* x, const T* y, int64_t n, T p,
                    Stream stream) {
  if (n == 0) return;
  detail::use_device(stream);
  visit_unary(op, [&](auto tag) {
    constexpr UnaryOp OP = decltype(tag)::value;
    unary_backward_kernel<OP, T><<<grid_for(n), kThreads, 0, raw(stream)>>>(dx, dy, x, y, n, p);
  });
  RSNN_CUDA_CHECK_LAUNCH();
}

template <class T>
void binary_forward(BinaryOp op, T* out, const T* a, const T* b, int64_t outer, int64_t inner,
                    bool a_full, bool b_full, Stream stream) {
  if (outer * inner == 0) return;
  detail::use_device(stream);
  visit_binary(op, [&](auto tag) {
    constexpr BinaryOp OP = decltype(tag)::value;
    binary_forward_kernel<OP, T><<<grid_for(outer * inner), kThreads, 0, raw(stream)>>>(
        out, a, b, outer, inner, a_full, b_full);
  });
  RSNN_CUDA_CHECK_LAUNCH();
}

template <class T>
void binary_backward(BinaryOp op, T* da, T* db, const T* dout, const T* a, const T* b,
                     int64_t outer, int64_t inner, bool a_full, bool b_full, Stream stream) {
  if (outer * inner == 0) return;
  detail::use_device(stream);
  visit_binary(op, [&](auto tag) {
    constexpr BinaryOp OP = decltype(tag)::value;
    binary_grad<OP, T, 0>(da, a_full, dout, a, b, outer, inner, a_full, b_full, stream);
    binary_grad<OP, T, 1>(db, b_full, dout, a, b, outer, inner, a_full, b_full, stream);
  });
}

#define RSNN_INSTANTIATE(T)                                                                       \
  template void unary_forward<T>(UnaryOp, T*, const T*, int64_t, T, Stream);                      \
  template void unary_backward<T>(UnaryOp, T*, const T*, const T*, const T*, int64_t, T, Stream); \
  template void binary_forward<T>(BinaryOp, T*, const T*, const T*, int64_t, int64_t, bool, bool, \
                                  Stream);                                                        \
  template void binary_backward<T>(BinaryOp, T*, T*, const T*, const T*, const T*, int64_t,       \
                                   int64_t, bool, bool, Stream);
RSNN_INSTANTIATE(float)
RSNN_INSTANTIATE(double)
#undef RSNN_INSTANTIATE

}  // namespace rsnn::kernels::cuda
