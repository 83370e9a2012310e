// Internal to runtime/hdf5_*.cpp: the HDF5 handle wrapper and the checked-call helpers the
// file, dataset and attribute units share. Not part of the public API (runtime/hdf5_io.h).
#pragma once
#include <hdf5.h>

#include <string>
#include <utility>

#include "runtime/error.h"
#include "runtime/tensor.h"

namespace rsnn::hdf5_detail {

// HDF5 prints its error stack to stderr unless told not to; the setting is per thread in
// thread-safe builds, so every entry point calls this.
void quiet_hdf5();
// The innermost message on HDF5's error stack (the most specific reason), then clear it.
std::string h5_reason();
// Throw "file: what: reason" with the reason from HDF5's error stack.
[[noreturn]] void h5_fail(const std::string& file, const std::string& what);

// Owns one HDF5 identifier; the close function matches its kind.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, -1)), close_(o.close_) {}
  Handle& operator=(Handle&& o) noexcept {
    std::swap(id_, o.id_);
    std::swap(close_, o.close_);
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (id_ >= 0 && close_) close_(id_);
  }
  hid_t get() const { return id_; }

 private:
  hid_t id_ = -1;
  Closer close_ = nullptr;
};

// Wrap a newly returned id, throwing "file: what: reason" when it is negative.
Handle checked(hid_t id, Handle::Closer close, const std::string& file, const std::string& what);
void check(herr_t rc, const std::string& file, const std::string& what);

// "force" -> "/force", "/a//b/" -> "/a/b".
std::string normalize(const std::string& path);
// "int16", "uint8", "float32", "enum of int8", "string", ...
std::string type_name(hid_t type);
Handle make_space(const Shape& shape);  // scalar for [], else simple
Handle intermediate_groups_lcpl(const std::string& file);
// H5I_GROUP, H5I_DATASET or H5I_DATATYPE for the object at an existing path.
H5I_type_t object_type(hid_t file, const std::string& file_path, const std::string& p);

}  // namespace rsnn::hdf5_detail
