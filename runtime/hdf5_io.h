// HDF5 files: datasets of Tensors, groups and attributes, over the HDF5 C API.
//
// Files written here are plain HDF5 that h5py, h5dump and MATLAB read:
//   Tensor dtype   HDF5 type in the file       h5py dtype
//   f32, f64       IEEE F32LE, F64LE           float32, float64
//   i32, i64       STD I32LE, I64LE            int32, int64
//   u8             STD U8LE                    uint8
// A Tensor of shape [] is a scalar dataset; every other shape is a simple dataspace of the
// same dimensions, in C (row-major) order, as h5py uses.
//
// Dataset and group paths are absolute or relative to the root ("force" == "/force").
// Writing creates missing intermediate groups.
//
// Errors: every HDF5 call is checked; HDF5's own error printing is switched off and each
// failure throws rsnn::Error with the file, the object and the reason, e.g.
//   "data.h5: dataset '/force' not found"
//   "data.h5: dataset '/x' has shape [3, 4], expected [3, 5]"
//   "notes.txt: not an HDF5 file"
// Thread safety: the system HDF5 library is built thread-safe; one H5File should still be
// used by one thread at a time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace rsnn {

struct H5WriteOptions {
  bool chunked = false;  // store in chunks (needed for compression)
  int gzip = -1;         // deflate level 0..9; -1: level 4 when chunked, none otherwise
  Shape chunk;           // chunk shape (same rank); empty: chosen, about 1 MiB per chunk
  // Datasets of at least this many bytes are chunked and gzip-compressed even when not
  // asked for; 0 turns the automatic choice off.
  size_t auto_chunk_bytes = size_t(4) << 20;
};

// For code that calls the HDF5 C API itself (the MATLAB-compatible writers): switch HDF5's
// error printing off on this thread, and the innermost reason of the last failure (the
// error stack is cleared).
void hdf5_quiet_errors();
std::string hdf5_error_reason();

class H5File {
 public:
  // A new file written atomically: the data goes to a temporary file beside `path`, which
  // close() (or the destructor) renames onto `path`. If the H5File is destroyed while an
  // exception unwinds, the temporary file is removed and any existing `path` is untouched.
  static H5File create(const std::string& path);
  // An existing file, read-only.
  static H5File open_read(const std::string& path);
  // An existing file, read-write; changes are made in place (not atomic).
  static H5File open_rw(const std::string& path);

  H5File(H5File&& other) noexcept;
  H5File& operator=(H5File&& other) noexcept;
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;
  // Closes the file. For create(): commits as close() does unless an exception is unwinding;
  // a failure there cannot throw and is reported on stderr, so call close() to see errors.
  ~H5File();

  const std::string& path() const { return path_; }
  bool is_open() const { return id_ >= 0; }
  // Flush and close; for create(), then rename the temporary file onto path(). Throws
  // rsnn::Error on failure (the temporary file is removed then). No-op when already closed.
  void close();

  // ---- datasets ----
  // Write `t` (any device) to `dataset`. An existing dataset of the same shape and dtype is
  // overwritten in place; one of another shape or dtype is replaced.
  void write(const std::string& dataset, const Tensor& t, const H5WriteOptions& options = {});
  // Read a dataset of one of the five Tensor dtypes into a CPU tensor (same dtype). Other
  // stored types (int16, uint32, float16, h5py bools, ...) throw and name the type: use
  // read_as for those.
  Tensor read(const std::string& dataset) const;
  // Read any integer, float or enum (h5py bool) dataset converted to `dtype` by HDF5
  // (integers convert exactly when in range; out-of-range values saturate). Reading a float
  // dataset as an integer dtype throws (it would truncate), as do non-numeric datasets.
  Tensor read_as(const std::string& dataset, DType dtype) const;
  // read / read_as after checking the stored shape against `expected`, where -1 matches any
  // size: throws "file: dataset '/x' has shape [..], expected [..]" before reading data.
  Tensor read_checked(const std::string& dataset, const Shape& expected) const;
  Tensor read_checked(const std::string& dataset, const Shape& expected, DType dtype) const;

  Shape dataset_shape(const std::string& dataset) const;  // [] for a scalar dataset
  DType dataset_dtype(const std::string& dataset) const;  // throws when no Tensor dtype fits
  std::string dataset_type_name(const std::string& dataset) const;  // "int16", "enum of int8"

  // ---- structure ----
  bool exists(const std::string& path) const;  // any object (group or dataset); "/" exists
  bool is_group(const std::string& path) const;
  bool is_dataset(const std::string& path) const;
  // Names (not paths) of the members of a group, sorted.
  std::vector<std::string> list(const std::string& group = "/") const;
  // Create a group and any missing parents; no-op when the group exists.
  void create_group(const std::string& path);
  // Unlink a dataset or group (the space is not reclaimed until the file is rewritten).
  void remove(const std::string& path);

  // ---- attributes (on a group or dataset; "/" is the file's root group) ----
  // An existing attribute of the same name is replaced. Strings are variable-length UTF-8
  // (h5py reads them as str); vectors are 1-d.
  void set_attr(const std::string& object, const std::string& name, double value);
  void set_attr(const std::string& object, const std::string& name, int64_t value);
  void set_attr(const std::string& object, const std::string& name, int value);
  void set_attr(const std::string& object, const std::string& name, const std::string& value);
  void set_attr(const std::string& object, const std::string& name, const char* value);
  void set_attr(const std::string& object, const std::string& name,
                const std::vector<double>& values);
  void set_attr(const std::string& object, const std::string& name,
                const std::vector<int64_t>& values);

  bool has_attr(const std::string& object, const std::string& name) const;
  std::vector<std::string> attr_names(const std::string& object) const;              // sorted
  double get_attr_double(const std::string& object, const std::string& name) const;  // any number
  int64_t get_attr_int(const std::string& object, const std::string& name) const;    // integers
  std::string get_attr_string(const std::string& object, const std::string& name) const;
  std::vector<double> get_attr_doubles(const std::string& object, const std::string& name) const;
  std::vector<int64_t> get_attr_ints(const std::string& object, const std::string& name) const;

 private:
  enum class Mode { read, read_write, create };
  H5File(const std::string& path, const std::string& tmp, int64_t id, Mode mode);
  void finish_noexcept() noexcept;  // close (commit) or, while unwinding, discard
  int64_t open_dataset(const std::string& dataset) const;  // hid_t, caller closes
  int64_t open_object(const std::string& object) const;    // hid_t, caller closes
  int64_t open_attr(const std::string& object, const std::string& name) const;
  void write_attr(const std::string& object, const std::string& name, int64_t type,
                  const Shape& shape, const void* data);
  Tensor read_impl(const std::string& dataset, const Shape* expected, const DType* as) const;

  std::string path_;  // the file the user named
  std::string tmp_;   // create(): where the data goes until close()
  int64_t id_ = -1;   // hid_t of the open file, -1 when closed
  Mode mode_ = Mode::read;
  int uncaught_ = 0;  // std::uncaught_exceptions() at creation
};

}  // namespace rsnn
