// Tensor: a shape, an element type, a device and a contiguous, reference-counted block of
// memory. Copies of a Tensor share storage (like a shared_ptr); clone() makes a deep copy.
// Views (reshape, narrow0) share storage too. Row-major; the last dimension is contiguous.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "runtime/device.h"
#include "runtime/dtype.h"
#include "runtime/error.h"

namespace rsnn {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);  // "[2, 3]"
int64_t shape_numel(const Shape& s);

// Owns one device allocation.
class Storage {
 public:
  Storage(Device d, size_t bytes);
  // Borrows `ptr` (memory of another library: a NumPy array, a DLPack tensor); `owner` keeps
  // it alive and nothing is freed here.
  Storage(Device d, size_t bytes, void* ptr, std::shared_ptr<void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  Device device_;
  size_t bytes_;
  void* ptr_;
  std::shared_ptr<void> owner_;  // set when borrowed
};

class Tensor {
 public:
  Tensor() = default;  // undefined tensor: defined() == false

  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
                     Device device = Device::cpu());
  // A CPU tensor holding a copy of `values`; shape defaults to {values.size()}.
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, Shape shape = {});
  // A tensor over `data` (contiguous, row-major) without a copy; `owner` keeps the memory alive
  // as long as any tensor shares this storage (the Python bindings: python/).
  static Tensor from_external(void* data, const Shape& shape, DType dtype, Device device,
                              std::shared_ptr<void> owner);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t size(int dim) const;  // negative dims count from the end
  int64_t numel() const { return shape_numel(shape_); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  std::string shape_str() const { return rsnn::shape_str(shape_); }
  std::string describe() const;  // "float32[2, 3] on cpu"

  void* raw() const;
  // Typed pointer; throws when T does not match dtype().
  template <class T> T* data() const;

  // ---- copies and conversions ----
  Tensor to(Device d, Stream s = Stream{}) const;  // shares storage when already there
  Tensor to_dtype(DType t) const;                  // float/int conversions (any device)
  Tensor clone() const;
  void copy_from(const Tensor& src, Stream s = Stream{});  // same shape and dtype, any devices
  template <class T> std::vector<T> to_vector() const;      // any device, converts dtype
  template <class T> T item() const;                          // numel() == 1

  // ---- views (share storage) ----
  Tensor reshape(const Shape& shape) const;  // one dim may be -1
  Tensor narrow0(int64_t start, int64_t length) const;  // rows [start, start+length) of dim 0

  // ---- in place ----
  Tensor& zero_(Stream s = Stream{});
  Tensor& fill_(double value);

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;  // bytes into storage
  Shape shape_;
  DType dtype_ = DType::f32;
};

// Throws "what: expected shape [..], got [..]" when t's shape differs.
void check_shape(const Tensor& t, const Shape& expected, const std::string& what);
void check_dtype(const Tensor& t, DType expected, const std::string& what);
void check_same_device(const Tensor& a, const Tensor& b, const std::string& what);
// Throws naming `what` and the first bad index when a float tensor holds NaN or Inf.
void check_finite(const Tensor& t, const std::string& what);

// ---- template definitions ----

template <class T>
T* Tensor::data() const {
  RSNN_CHECK(dtype_of<T>() == dtype_, "tensor holds ", dtype_name(dtype_), ", accessed as ",
             dtype_name(dtype_of<T>()));
  return static_cast<T*>(raw());
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, Shape shape) {
  if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
  RSNN_CHECK(shape_numel(shape) == static_cast<int64_t>(values.size()), "from_vector: ",
             values.size(), " values do not fill shape ", rsnn::shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>(), Device::cpu());
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = to(Device::cpu()).to_dtype(dtype_of<T>());
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}

template <class T>
T Tensor::item() const {
  RSNN_CHECK(numel() == 1, "item(): tensor ", describe(), " does not hold one element");
  return to_vector<T>()[0];
}

}  // namespace rsnn
