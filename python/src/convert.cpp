#include "python/src/convert.h"

#include <memory>
#include <vector>

namespace rsnn::py {

namespace {

DType dtype_from(nb::dlpack::dtype t, const std::string& what) {
  using C = nb::dlpack::dtype_code;
  const auto code = static_cast<C>(t.code);
  if (t.lanes == 1) {
    if (code == C::Float && t.bits == 32) return DType::f32;
    if (code == C::Float && t.bits == 64) return DType::f64;
    if (code == C::Int && t.bits == 32) return DType::i32;
    if (code == C::Int && t.bits == 64) return DType::i64;
    if (code == C::UInt && t.bits == 8) return DType::u8;
  }
  RSNN_FAIL(what, ": unsupported dtype (code ", int(t.code), ", ", int(t.bits),
            " bits); rsnn takes float32, float64, int32, int64 or uint8");
}

nb::dlpack::dtype dtype_to(DType t) {
  switch (t) {
    case DType::f32: return nb::dtype<float>();
    case DType::f64: return nb::dtype<double>();
    case DType::i32: return nb::dtype<int32_t>();
    case DType::i64: return nb::dtype<int64_t>();
    case DType::u8: return nb::dtype<uint8_t>();
  }
  RSNN_FAIL("to_python: unknown dtype");
}

}  // namespace

Tensor to_tensor(const Array& a, const std::string& what) {
  const DType dt = dtype_from(a.dtype(), what);
  Device dev;
  if (a.device_type() == nb::device::cpu::value) {
    dev = Device::cpu();
  } else if (a.device_type() == nb::device::cuda::value) {
    RSNN_CHECK(cuda_compiled(), what, ": a CUDA array, but this rsnn was built without CUDA");
    dev = Device::cuda(a.device_id());
  } else {
    RSNN_FAIL(what, ": arrays on DLPack device type ", a.device_type(),
              " are not supported (CPU or CUDA only)");
  }
  Shape shape(a.ndim());
  for (size_t i = 0; i < a.ndim(); ++i) shape[i] = static_cast<int64_t>(a.shape(i));
  // The owner holds a reference to the array; it may be released on a thread without the GIL
  // (a kernel call that released it), so the deleter takes the GIL.
  std::shared_ptr<void> owner(new Array(a), [](void* p) {
    nb::gil_scoped_acquire gil;
    delete static_cast<Array*>(p);
  });
  return Tensor::from_external(a.data(), shape, dt, dev, std::move(owner));
}

Tensor to_tensor(const std::optional<Array>& a, const std::string& what) {
  return a ? to_tensor(*a, what) : Tensor();
}

nb::object to_python(const Tensor& t) {
  if (!t.defined()) return nb::none();
  auto* keep = new Tensor(t);
  nb::capsule owner(keep, [](void* p) noexcept { delete static_cast<Tensor*>(p); });
  std::vector<size_t> shape(t.shape().begin(), t.shape().end());
  const int dev_type = t.device().is_cpu() ? nb::device::cpu::value : nb::device::cuda::value;
  if (t.device().is_cpu())
    return nb::ndarray<nb::numpy>(t.raw(), shape.size(), shape.data(), owner, nullptr,
                                  dtype_to(t.dtype()), dev_type, 0)
        .cast();
  return nb::ndarray<>(t.raw(), shape.size(), shape.data(), owner, nullptr, dtype_to(t.dtype()),
                       dev_type, t.device().index)
      .cast();
}

}  // namespace rsnn::py
