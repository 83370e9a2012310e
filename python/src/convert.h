// Arrays across the Python boundary without copies: a NumPy array or any DLPack tensor
// (PyTorch, CuPy) becomes an rsnn::Tensor over the same memory, and an rsnn::Tensor leaves as
// a NumPy array (CPU) or a DLPack-capable array (CUDA) that keeps the tensor's storage alive.
#pragma once
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <initializer_list>
#include <optional>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

#include "runtime/error.h"
#include "runtime/tensor.h"

namespace rsnn::py {

namespace nb = nanobind;

// Any dtype, any device, C-contiguous (nanobind makes a contiguous copy of a strided input when
// conversion is allowed; in-place arguments are declared .noconvert()).
using Array = nb::ndarray<nb::c_contig>;

// The tensor over `a`'s memory; `a` stays alive as long as the tensor's storage does. `what`
// names the argument in errors (unsupported dtype).
Tensor to_tensor(const Array& a, const std::string& what);
// Undefined tensor for None.
Tensor to_tensor(const std::optional<Array>& a, const std::string& what);

// A NumPy array (CPU) or a DLPack array (CUDA) over t's storage; None when t is undefined.
nb::object to_python(const Tensor& t);

// A NumPy array that takes over `v` (moved into the array's owner: no copy). `shape` defaults
// to 1-D; its product must equal v.size().
template <class T>
nb::object array_from(std::vector<T>&& v, std::vector<size_t> shape = {}) {
  if (shape.empty()) shape.push_back(v.size());
  size_t n = 1;
  for (size_t s : shape) n *= s;
  RSNN_CHECK(n == v.size(), "array_from: shape holds ", n, " values, the vector ", v.size());
  auto* keep = new std::vector<T>(std::move(v));
  nb::capsule owner(keep, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(keep->data(), shape.size(), shape.data(), owner).cast();
}

// A NumPy copy of `v` (for results the caller keeps).
template <class T>
nb::object array_of(const std::vector<T>& v, std::vector<size_t> shape = {}) {
  return array_from(std::vector<T>(v), std::move(shape));
}

// One column of `columns`: a name and the record member it holds.
template <class Row, class M>
std::pair<const char*, M Row::*> column(const char* name, M Row::*member) {
  return {name, member};
}

// DataFrame-ready columns of records: {name: array of row.*member over rows}, e.g.
// columns(epochs, column("loss", &Epoch::loss), column("accuracy", &Epoch::accuracy)).
template <class Row, class... M>
nb::dict columns(const std::vector<Row>& rows, std::pair<const char*, M Row::*>... cols) {
  nb::dict d;
  auto one = [&](const char* name, auto member) {
    std::vector<std::decay_t<decltype(rows[0].*member)>> v;
    v.reserve(rows.size());
    for (const Row& r : rows) v.push_back(r.*member);
    d[name] = array_from(std::move(v));
  };
  (one(cols.first, cols.second), ...);
  return d;
}

// One record as a dict of its named scalar members (the row form of `columns`).
template <class Row, class... M>
nb::dict fields(const Row& row, std::pair<const char*, M Row::*>... cols) {
  nb::dict d;
  ((d[cols.first] = row.*(cols.second)), ...);
  return d;
}

// A NumPy view of `n` values at `data`, owned by the C++ object that Python holds as `owner`
// (its member array): no copy, and the object stays alive while the view does.
template <class T>
nb::object view_of(T* data, std::initializer_list<size_t> shape, nb::handle owner) {
  return nb::ndarray<nb::numpy, T>(data, shape.size(), shape.begin(), owner).cast();
}

}  // namespace rsnn::py
