// HDF5 datasets: writing Tensors (chunking, gzip) and reading them back, exactly or converted.
#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime/hdf5_detail.h"
#include "runtime/hdf5_io.h"

namespace rsnn {

using namespace hdf5_detail;

namespace {

hid_t file_type(DType t) {
  switch (t) {
    case DType::f32: return H5T_IEEE_F32LE;
    case DType::f64: return H5T_IEEE_F64LE;
    case DType::i32: return H5T_STD_I32LE;
    case DType::i64: return H5T_STD_I64LE;
    case DType::u8: return H5T_STD_U8LE;
  }
  return -1;
}

hid_t memory_type(DType t) {
  switch (t) {
    case DType::f32: return H5T_NATIVE_FLOAT;
    case DType::f64: return H5T_NATIVE_DOUBLE;
    case DType::i32: return H5T_NATIVE_INT32;
    case DType::i64: return H5T_NATIVE_INT64;
    case DType::u8: return H5T_NATIVE_UINT8;
  }
  return -1;
}

// The Tensor dtype that holds a stored type exactly, if any.
bool dtype_for(hid_t type, DType& out) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  const bool is_signed = cls == H5T_INTEGER && H5Tget_sign(type) != H5T_SGN_NONE;
  if (cls == H5T_FLOAT && size == 4)
    out = DType::f32;
  else if (cls == H5T_FLOAT && size == 8)
    out = DType::f64;
  else if (cls == H5T_INTEGER && is_signed && size == 4)
    out = DType::i32;
  else if (cls == H5T_INTEGER && is_signed && size == 8)
    out = DType::i64;
  else if (cls == H5T_INTEGER && !is_signed && size == 1)
    out = DType::u8;
  else
    return false;
  return true;
}

Shape space_shape(hid_t space, const std::string& file, const std::string& what) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) h5_fail(file, "cannot read the dataspace of " + what);
  if (H5Sget_simple_extent_type(space) == H5S_NULL) return Shape{0};
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space, dims.data(), nullptr) < 0)
    h5_fail(file, "cannot read the dimensions of " + what);
  return Shape(dims.begin(), dims.end());
}

bool shape_matches(const Shape& actual, const Shape& expected) {
  if (actual.size() != expected.size()) return false;
  for (size_t i = 0; i < actual.size(); ++i)
    if (expected[i] != -1 && expected[i] != actual[i]) return false;
  return true;
}

// Chunk dims for `shape`: halve the largest dimension until a chunk holds at most 1 MiB.
std::vector<hsize_t> auto_chunk(const Shape& shape, size_t item) {
  std::vector<hsize_t> c(shape.begin(), shape.end());
  auto bytes = [&] {
    size_t b = item;
    for (hsize_t d : c) b *= d;
    return b;
  };
  while (bytes() > (size_t(1) << 20)) {
    auto it = std::max_element(c.begin(), c.end());
    if (*it <= 1) break;
    *it = (*it + 1) / 2;
  }
  return c;
}

}  // namespace

int64_t H5File::open_dataset(const std::string& dataset) const {
  const std::string p = normalize(dataset);
  RSNN_CHECK(exists(p), path_, ": dataset '", p, "' not found");
  RSNN_CHECK(object_type(id_, path_, p) == H5I_DATASET, path_, ": '", p,
             "' is a group, not a dataset");
  const hid_t ds = H5Dopen2(id_, p.c_str(), H5P_DEFAULT);
  if (ds < 0) h5_fail(path_, "cannot open dataset '" + p + "'");
  return ds;
}

Shape H5File::dataset_shape(const std::string& dataset) const {
  Handle ds(open_dataset(dataset), H5Dclose);
  const std::string what = "dataset '" + normalize(dataset) + "'";
  Handle space =
      checked(H5Dget_space(ds.get()), H5Sclose, path_, "cannot read the dataspace of " + what);
  return space_shape(space.get(), path_, what);
}

std::string H5File::dataset_type_name(const std::string& dataset) const {
  Handle ds(open_dataset(dataset), H5Dclose);
  Handle type = checked(H5Dget_type(ds.get()), H5Tclose, path_,
                        "cannot read the type of '" + normalize(dataset) + "'");
  return type_name(type.get());
}

DType H5File::dataset_dtype(const std::string& dataset) const {
  Handle ds(open_dataset(dataset), H5Dclose);
  const std::string p = normalize(dataset);
  Handle type =
      checked(H5Dget_type(ds.get()), H5Tclose, path_, "cannot read the type of '" + p + "'");
  DType t;
  RSNN_CHECK(dtype_for(type.get(), t), path_, ": dataset '", p, "' has type ",
             type_name(type.get()), ", which no Tensor dtype holds (use read_as to convert)");
  return t;
}

void H5File::write(const std::string& dataset, const Tensor& t, const H5WriteOptions& opt) {
  RSNN_CHECK(is_open(), path_, ": HDF5 file is closed");
  RSNN_CHECK(mode_ != Mode::read, path_, ": cannot write dataset '", normalize(dataset),
             "': file is open read-only");
  RSNN_CHECK(t.defined(), path_, ": cannot write an undefined tensor to '", normalize(dataset),
             "'");
  const std::string p = normalize(dataset);
  RSNN_CHECK(p != "/", path_, ": '/' is the root group, not a dataset name");
  RSNN_CHECK(opt.gzip >= -1 && opt.gzip <= 9, path_, ": gzip level ", opt.gzip, " for '", p,
             "' is not in 0..9");
  const Tensor host = t.to(Device::cpu());
  const Shape& shape = host.shape();
  const std::string what = "dataset '" + p + "'";

  if (exists(p)) {
    if (is_dataset(p) && dataset_shape(p) == shape) {
      Handle ds(open_dataset(p), H5Dclose);
      Handle type =
          checked(H5Dget_type(ds.get()), H5Tclose, path_, "cannot read the type of " + what);
      DType stored;
      if (dtype_for(type.get(), stored) && stored == host.dtype()) {
        if (host.numel() > 0)
          check(H5Dwrite(ds.get(), memory_type(host.dtype()), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                         host.raw()),
                path_, "cannot write " + what);
        return;
      }
    }
    remove(p);
  }

  const bool can_chunk = !shape.empty() && host.numel() > 0;
  const bool want_chunks = opt.chunked || opt.gzip > 0 || !opt.chunk.empty() ||
                           (opt.auto_chunk_bytes > 0 && host.nbytes() >= opt.auto_chunk_bytes);
  const bool chunked = can_chunk && want_chunks;
  const int gzip = opt.gzip >= 0 ? opt.gzip : (chunked ? 4 : 0);

  Handle dcpl =
      checked(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, path_, "cannot create a property list");
  if (chunked) {
    std::vector<hsize_t> chunk;
    if (opt.chunk.empty()) {
      chunk = auto_chunk(shape, dtype_size(host.dtype()));
    } else {
      RSNN_CHECK(opt.chunk.size() == shape.size(), path_, ": chunk shape ", shape_str(opt.chunk),
                 " for ", what, " does not match its rank (shape ", shape_str(shape), ")");
      for (size_t i = 0; i < shape.size(); ++i) {
        RSNN_CHECK(opt.chunk[i] >= 1, path_, ": chunk shape ", shape_str(opt.chunk), " for ", what,
                   " has a dimension below 1");
        chunk.push_back(static_cast<hsize_t>(std::min(opt.chunk[i], shape[i])));
      }
    }
    check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), path_,
          "cannot set the chunk shape of " + what);
    if (gzip > 0) {
      RSNN_CHECK(H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0, path_,
                 ": this HDF5 library has no gzip (deflate) filter");
      check(H5Pset_shuffle(dcpl.get()), path_, "cannot enable the shuffle filter for " + what);
      check(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(gzip)), path_,
            "cannot enable gzip for " + what);
    }
  }
  Handle space = make_space(shape);
  if (space.get() < 0) h5_fail(path_, "cannot create the dataspace of " + what);
  Handle lcpl = intermediate_groups_lcpl(path_);
  Handle ds = checked(H5Dcreate2(id_, p.c_str(), file_type(host.dtype()), space.get(), lcpl.get(),
                                 dcpl.get(), H5P_DEFAULT),
                      H5Dclose, path_, "cannot create " + what);
  if (host.numel() > 0)
    check(H5Dwrite(ds.get(), memory_type(host.dtype()), H5S_ALL, H5S_ALL, H5P_DEFAULT, host.raw()),
          path_, "cannot write " + what);
}

Tensor H5File::read_impl(const std::string& dataset, const Shape* expected, const DType* as) const {
  const std::string p = normalize(dataset);
  const std::string what = "dataset '" + p + "'";
  Handle ds(open_dataset(p), H5Dclose);
  Handle space =
      checked(H5Dget_space(ds.get()), H5Sclose, path_, "cannot read the dataspace of " + what);
  const Shape shape = space_shape(space.get(), path_, what);
  if (expected)
    RSNN_CHECK(shape_matches(shape, *expected), path_, ": ", what, " has shape ", shape_str(shape),
               ", expected ", shape_str(*expected));
  Handle type = checked(H5Dget_type(ds.get()), H5Tclose, path_, "cannot read the type of " + what);
  const H5T_class_t cls = H5Tget_class(type.get());
  DType stored;
  const bool exact = dtype_for(type.get(), stored);
  if (!as) {
    RSNN_CHECK(exact, path_, ": ", what, " has type ", type_name(type.get()),
               ", which no Tensor dtype holds (use read_as to convert)");
  } else {
    RSNN_CHECK(cls == H5T_INTEGER || cls == H5T_FLOAT || cls == H5T_ENUM, path_, ": ", what,
               " has type ", type_name(type.get()), "; only numeric datasets can be read");
    RSNN_CHECK(cls != H5T_FLOAT || is_floating(*as), path_, ": ", what, " holds ",
               type_name(type.get()), "; reading it as ", dtype_name(*as),
               " would truncate (read it as float32 or float64)");
  }
  const DType target = as ? *as : stored;
  Tensor out = Tensor::empty(shape, target);
  const size_t n = static_cast<size_t>(out.numel());
  if (n == 0) return out;

  if (cls == H5T_ENUM) {
    // HDF5 has no enum -> number conversion: read the enum's integer base, then convert.
    Handle base =
        checked(H5Tget_super(type.get()), H5Tclose, path_, "cannot read the base of " + what);
    Handle native = checked(H5Tget_native_type(base.get(), H5T_DIR_ASCEND), H5Tclose, path_,
                            "cannot map the type of " + what);
    const size_t item = std::max(H5Tget_size(native.get()), dtype_size(target));
    std::vector<unsigned char> buf(n * item);
    check(H5Dread(ds.get(), native.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), path_,
          "cannot read " + what);
    check(H5Tconvert(native.get(), memory_type(target), n, buf.data(), nullptr, H5P_DEFAULT), path_,
          "cannot convert " + what + " to " + dtype_name(target));
    std::memcpy(out.raw(), buf.data(), out.nbytes());
    return out;
  }
  check(H5Dread(ds.get(), memory_type(target), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.raw()), path_,
        "cannot read " + what);
  return out;
}

Tensor H5File::read(const std::string& dataset) const {
  return read_impl(dataset, nullptr, nullptr);
}

Tensor H5File::read_as(const std::string& dataset, DType dtype) const {
  return read_impl(dataset, nullptr, &dtype);
}

Tensor H5File::read_checked(const std::string& dataset, const Shape& expected) const {
  return read_impl(dataset, &expected, nullptr);
}

Tensor H5File::read_checked(const std::string& dataset, const Shape& expected, DType dtype) const {
  return read_impl(dataset, &expected, &dtype);
}

}  // namespace rsnn
