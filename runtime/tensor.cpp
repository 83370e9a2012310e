#include "runtime/tensor.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "runtime/convert.h"

namespace rsnn {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Storage::Storage(Device d, size_t bytes) : device_(d), bytes_(bytes), ptr_(alloc_bytes(d, bytes)) {}
Storage::Storage(Device d, size_t bytes, void* ptr, std::shared_ptr<void> owner)
    : device_(d), bytes_(bytes), ptr_(ptr), owner_(std::move(owner)) {}
Storage::~Storage() {
  if (!owner_) free_bytes(device_, ptr_);
}

Tensor Tensor::from_external(void* data, const Shape& shape, DType dtype, Device device,
                             std::shared_ptr<void> owner) {
  for (int64_t d : shape)
    RSNN_CHECK(d >= 0, "tensor shape ", rsnn::shape_str(shape), " has a negative dimension");
  RSNN_CHECK(owner != nullptr, "from_external: no owner keeps the memory alive");
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = std::make_shared<Storage>(device, t.nbytes(), data, std::move(owner));
  return t;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape)
    RSNN_CHECK(d >= 0, "tensor shape ", rsnn::shape_str(shape), " has a negative dimension");
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = std::make_shared<Storage>(device, t.nbytes());
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.zero_();
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, Device::cpu());
  t.fill_(value);
  return t.to(device);
}

int64_t Tensor::size(int dim) const {
  const int n = ndim();
  const int d = dim < 0 ? dim + n : dim;
  RSNN_CHECK(d >= 0 && d < n, "dimension ", dim, " out of range for shape ", shape_str());
  return shape_[d];
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  return std::string(dtype_name(dtype_)) + shape_str() + " on " + device().str();
}

void* Tensor::raw() const {
  RSNN_CHECK(defined(), "access to an undefined tensor");
  return static_cast<char*>(storage_->data()) + offset_;
}

Tensor Tensor::to(Device d, Stream s) const {
  RSNN_CHECK(defined(), "to(): undefined tensor");
  if (device() == d) return *this;
  Tensor out = empty(shape_, dtype_, d);
  copy_bytes(out.raw(), d, raw(), device(), nbytes(), s);
  return out;
}

Tensor Tensor::to_dtype(DType t) const {
  RSNN_CHECK(defined(), "to_dtype(): undefined tensor");
  if (t == dtype_) return *this;
  const Device dev = device();
  Tensor src = to(Device::cpu());
  Tensor out = empty(shape_, t, Device::cpu());
  convert_elements(out.raw(), t, src.raw(), dtype_, static_cast<size_t>(numel()));
  return out.to(dev);
}

Tensor Tensor::clone() const {
  RSNN_CHECK(defined(), "clone(): undefined tensor");
  Tensor out = empty(shape_, dtype_, device());
  copy_bytes(out.raw(), device(), raw(), device(), nbytes());
  return out;
}

void Tensor::copy_from(const Tensor& src, Stream s) {
  RSNN_CHECK(defined() && src.defined(), "copy_from: undefined tensor");
  RSNN_CHECK(src.shape_ == shape_ && src.dtype_ == dtype_, "copy_from: source ", src.describe(),
             " does not match destination ", describe());
  copy_bytes(raw(), device(), src.raw(), src.device(), nbytes(), s);
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      RSNN_CHECK(infer < 0, "reshape: more than one -1 in ", rsnn::shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    RSNN_CHECK(known > 0 && numel() % known == 0, "reshape: cannot view ", shape_str(), " as ",
               rsnn::shape_str(shape));
    s[infer] = numel() / known;
  }
  RSNN_CHECK(shape_numel(s) == numel(), "reshape: cannot view ", shape_str(), " as ",
             rsnn::shape_str(shape));
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

Tensor Tensor::narrow0(int64_t start, int64_t length) const {
  RSNN_CHECK(ndim() >= 1, "narrow0: tensor has no dimensions");
  RSNN_CHECK(start >= 0 && length >= 0 && start + length <= shape_[0], "narrow0: rows [", start,
             ", ", start + length, ") out of range for shape ", shape_str());
  Tensor t = *this;
  const int64_t row = shape_[0] ? numel() / shape_[0] : 0;
  t.offset_ += static_cast<size_t>(start * row) * dtype_size(dtype_);
  t.shape_[0] = length;
  return t;
}

Tensor& Tensor::zero_(Stream s) {
  RSNN_CHECK(defined(), "zero_(): undefined tensor");
  zero_bytes(raw(), device(), nbytes(), s);
  return *this;
}

Tensor& Tensor::fill_(double value) {
  RSNN_CHECK(defined(), "fill_(): undefined tensor");
  Tensor host = device().is_cpu() ? *this : empty(shape_, dtype_, Device::cpu());
  fill_elements(host.raw(), dtype_, static_cast<size_t>(numel()), value);
  if (!device().is_cpu()) copy_from(host);
  return *this;
}

void check_shape(const Tensor& t, const Shape& expected, const std::string& what) {
  RSNN_CHECK(t.defined(), what, ": tensor is undefined, expected shape ", shape_str(expected));
  RSNN_CHECK(t.shape() == expected, what, ": expected shape ", shape_str(expected), ", got ",
             t.shape_str());
}

void check_dtype(const Tensor& t, DType expected, const std::string& what) {
  RSNN_CHECK(t.dtype() == expected, what, ": expected ", dtype_name(expected), ", got ",
             dtype_name(t.dtype()));
}

void check_same_device(const Tensor& a, const Tensor& b, const std::string& what) {
  RSNN_CHECK(a.device() == b.device(), what, ": tensors on different devices (",
             a.device().str(), " and ", b.device().str(), ")");
}

void check_finite(const Tensor& t, const std::string& what) {
  if (!is_floating(t.dtype())) return;
  Tensor c = t.to(Device::cpu());
  dispatch_float(t.dtype(), "check_finite", [&](auto tag) {
    using T = decltype(tag);
    const T* p = c.data<T>();
    for (int64_t i = 0; i < c.numel(); ++i)
      RSNN_CHECK(std::isfinite(p[i]), what, ": non-finite value ", p[i], " at flat index ", i);
    return 0;
  });
}

}  // namespace rsnn
