#include "runtime/hdf5_io.h"

#include <hdf5.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <type_traits>
#include <utility>

#include "runtime/atomic_file.h"

namespace rsnn {

static_assert(std::is_same<hid_t, int64_t>::value, "hdf5_io.h stores hid_t as int64_t");

namespace {

// HDF5 prints its error stack to stderr unless told not to; the setting is per thread in
// thread-safe builds, so every entry point calls this.
void quiet_hdf5() {
  thread_local bool done = false;
  if (done) return;
  H5open();
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  done = true;
}

// The innermost message on HDF5's error stack (the most specific reason), then clear it.
std::string h5_reason() {
  std::string reason;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* out) -> herr_t {
        if (n == 0 && e->desc) *static_cast<std::string*>(out) = e->desc;
        return 0;
      },
      &reason);
  H5Eclear2(H5E_DEFAULT);
  return reason;
}

[[noreturn]] void h5_fail(const std::string& file, const std::string& what) {
  const std::string reason = h5_reason();
  RSNN_FAIL(file, ": ", what, reason.empty() ? "" : ": ", reason);
}

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
Handle checked(hid_t id, Handle::Closer close, const std::string& file, const std::string& what) {
  if (id < 0) h5_fail(file, what);
  return Handle(id, close);
}

void check(herr_t rc, const std::string& file, const std::string& what) {
  if (rc < 0) h5_fail(file, what);
}

// "force" -> "/force", "/a//b/" -> "/a/b".
std::string normalize(const std::string& path) {
  std::string out = "/";
  for (char c : path) {
    if (c == '/' && out.back() == '/') continue;
    out.push_back(c);
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

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

// "int16", "uint8", "float32", "enum of int8", "string", ...
std::string type_name(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t bits = 8 * H5Tget_size(type);
  switch (cls) {
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_FLOAT: return "float" + std::to_string(bits);
    case H5T_ENUM: {
      Handle base(H5Tget_super(type), H5Tclose);
      return "enum of " + (base.get() >= 0 ? type_name(base.get()) : std::string("?"));
    }
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ARRAY: return "array";
    case H5T_VLEN: return "variable-length sequence";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_REFERENCE: return "reference";
    default: return "unknown type";
  }
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

Handle make_space(const Shape& shape) {
  if (shape.empty()) return Handle(H5Screate(H5S_SCALAR), H5Sclose);
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  return Handle(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
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

Handle intermediate_groups_lcpl(const std::string& file) {
  Handle lcpl =
      checked(H5Pcreate(H5P_LINK_CREATE), H5Pclose, file, "cannot create a property list");
  check(H5Pset_create_intermediate_group(lcpl.get(), 1), file, "cannot set link properties");
  return lcpl;
}

std::string errno_text() { return std::strerror(errno); }

void require_file(const std::string& path) {
  struct stat st;
  RSNN_CHECK(::stat(path.c_str(), &st) == 0, path, ": cannot open HDF5 file: ", errno_text());
  RSNN_CHECK(S_ISREG(st.st_mode), path, ": not a regular file");
  const htri_t is_h5 = H5Fis_hdf5(path.c_str());
  if (is_h5 < 0) h5_fail(path, "cannot open HDF5 file");
  RSNN_CHECK(is_h5 > 0, path, ": not an HDF5 file");
}

Handle file_access_plist(const std::string& file) {
  Handle fapl =
      checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, file, "cannot create a property list");
  // Close every object with the file, so the file is really closed before a rename.
  check(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), file, "cannot set file properties");
  return fapl;
}

}  // namespace

void hdf5_quiet_errors() { quiet_hdf5(); }
std::string hdf5_error_reason() { return h5_reason(); }

// ---- opening and closing ----------------------------------------------------------------

H5File::H5File(const std::string& path, const std::string& tmp, int64_t id, Mode mode)
    : path_(path), tmp_(tmp), id_(id), mode_(mode), uncaught_(std::uncaught_exceptions()) {}

H5File H5File::create(const std::string& path) {
  quiet_hdf5();
  const std::string tmp = temp_path_for(path);
  Handle fapl = file_access_plist(path);
  const hid_t id = H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  if (id < 0) h5_fail(path, "cannot create HDF5 file (writing '" + tmp + "')");
  return H5File(path, tmp, id, Mode::create);
}

H5File H5File::open_read(const std::string& path) {
  quiet_hdf5();
  require_file(path);
  Handle fapl = file_access_plist(path);
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (id < 0) h5_fail(path, "cannot open HDF5 file");
  return H5File(path, "", id, Mode::read);
}

H5File H5File::open_rw(const std::string& path) {
  quiet_hdf5();
  require_file(path);
  Handle fapl = file_access_plist(path);
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get());
  if (id < 0) h5_fail(path, "cannot open HDF5 file for writing");
  return H5File(path, "", id, Mode::read_write);
}

H5File::H5File(H5File&& o) noexcept
    : path_(std::move(o.path_)),
      tmp_(std::move(o.tmp_)),
      id_(std::exchange(o.id_, -1)),
      mode_(o.mode_),
      uncaught_(o.uncaught_) {}

H5File& H5File::operator=(H5File&& o) noexcept {
  if (this != &o) {
    finish_noexcept();
    path_ = std::move(o.path_);
    tmp_ = std::move(o.tmp_);
    id_ = std::exchange(o.id_, -1);
    mode_ = o.mode_;
    uncaught_ = o.uncaught_;
  }
  return *this;
}

H5File::~H5File() { finish_noexcept(); }

void H5File::finish_noexcept() noexcept {
  if (id_ < 0) return;
  if (mode_ == Mode::create && std::uncaught_exceptions() > uncaught_) {
    // An exception is unwinding: drop the temporary file, leave the target untouched.
    H5Fclose(std::exchange(id_, -1));
    std::remove(tmp_.c_str());
    return;
  }
  try {
    close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rsnn: error closing HDF5 file: %s\n", e.what());
  }
}

void H5File::close() {
  if (id_ < 0) return;
  quiet_hdf5();
  const hid_t id = std::exchange(id_, -1);
  if (H5Fclose(id) < 0) {
    if (mode_ == Mode::create) std::remove(tmp_.c_str());
    h5_fail(path_, "cannot close HDF5 file");
  }
  if (mode_ != Mode::create) return;
  try {
    commit_temp(tmp_, path_);
  } catch (...) {
    std::remove(tmp_.c_str());
    throw;
  }
}

// ---- structure ---------------------------------------------------------------------------

namespace {
// H5I_GROUP, H5I_DATASET or H5I_DATATYPE for the object at an existing path.
H5I_type_t object_type(hid_t file, const std::string& file_path, const std::string& p) {
  Handle obj = checked(H5Oopen(file, p.c_str(), H5P_DEFAULT), H5Oclose, file_path,
                       "cannot open '" + p + "'");
  return H5Iget_type(obj.get());
}
}  // namespace

bool H5File::exists(const std::string& path) const {
  RSNN_CHECK(is_open(), path_, ": HDF5 file is closed");
  quiet_hdf5();
  const std::string p = normalize(path);
  if (p == "/") return true;
  // H5Lexists fails (rather than returning false) when a parent is missing or is not a
  // group: walk down one link at a time.
  size_t pos = 0;
  while (true) {
    pos = p.find('/', pos + 1);
    const std::string prefix = p.substr(0, pos);
    const htri_t link = H5Lexists(id_, prefix.c_str(), H5P_DEFAULT);
    if (link < 0) h5_fail(path_, "cannot look up '" + prefix + "'");
    if (link == 0) return false;
    const htri_t object = H5Oexists_by_name(id_, prefix.c_str(), H5P_DEFAULT);
    if (object < 0) h5_fail(path_, "cannot look up '" + prefix + "'");
    if (object == 0) return false;  // a dangling soft or external link
    if (pos == std::string::npos) return true;
    if (object_type(id_, path_, prefix) != H5I_GROUP) return false;  // "/x/y", /x a dataset
  }
}

bool H5File::is_group(const std::string& path) const {
  return exists(path) && object_type(id_, path_, normalize(path)) == H5I_GROUP;
}

bool H5File::is_dataset(const std::string& path) const {
  return exists(path) && object_type(id_, path_, normalize(path)) == H5I_DATASET;
}

std::vector<std::string> H5File::list(const std::string& group) const {
  const std::string g = normalize(group);
  RSNN_CHECK(exists(g), path_, ": group '", g, "' not found");
  RSNN_CHECK(is_group(g), path_, ": '", g, "' is not a group");
  std::vector<std::string> names;
  const herr_t rc = H5Literate_by_name(
      id_, g.c_str(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->push_back(name);
        return 0;
      },
      &names, H5P_DEFAULT);
  if (rc < 0) h5_fail(path_, "cannot list group '" + g + "'");
  std::sort(names.begin(), names.end());
  return names;
}

void H5File::create_group(const std::string& path) {
  const std::string p = normalize(path);
  if (exists(p)) {
    RSNN_CHECK(is_group(p), path_, ": cannot create group '", p, "': a dataset has that name");
    return;
  }
  Handle lcpl = intermediate_groups_lcpl(path_);
  checked(H5Gcreate2(id_, p.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose, path_,
          "cannot create group '" + p + "'");
}

void H5File::remove(const std::string& path) {
  const std::string p = normalize(path);
  RSNN_CHECK(p != "/", path_, ": cannot remove the root group");
  RSNN_CHECK(exists(p), path_, ": cannot remove '", p, "': not found");
  check(H5Ldelete(id_, p.c_str(), H5P_DEFAULT), path_, "cannot remove '" + p + "'");
}

// ---- datasets ----------------------------------------------------------------------------

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

// ---- attributes --------------------------------------------------------------------------

int64_t H5File::open_object(const std::string& object) const {
  const std::string p = normalize(object);
  RSNN_CHECK(exists(p), path_, ": object '", p, "' not found");
  const hid_t id = H5Oopen(id_, p.c_str(), H5P_DEFAULT);
  if (id < 0) h5_fail(path_, "cannot open '" + p + "'");
  return id;
}

void H5File::write_attr(const std::string& object, const std::string& name, int64_t type,
                        const Shape& shape, const void* data) {
  RSNN_CHECK(mode_ != Mode::read, path_, ": cannot set attribute '", name, "' of '",
             normalize(object), "': file is open read-only");
  const std::string what = "attribute '" + name + "' of '" + normalize(object) + "'";
  Handle obj(open_object(object), H5Oclose);
  const htri_t has = H5Aexists(obj.get(), name.c_str());
  if (has < 0) h5_fail(path_, "cannot look up " + what);
  if (has > 0) check(H5Adelete(obj.get(), name.c_str()), path_, "cannot replace " + what);
  Handle space = make_space(shape);
  if (space.get() < 0) h5_fail(path_, "cannot create the dataspace of " + what);
  Handle attr =
      checked(H5Acreate2(obj.get(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose, path_, "cannot create " + what);
  hid_t mem = type;
  if (type == H5T_IEEE_F64LE) mem = H5T_NATIVE_DOUBLE;
  if (type == H5T_STD_I64LE) mem = H5T_NATIVE_INT64;
  check(H5Awrite(attr.get(), mem, data), path_, "cannot write " + what);
}

void H5File::set_attr(const std::string& object, const std::string& name, double value) {
  write_attr(object, name, H5T_IEEE_F64LE, {}, &value);
}
void H5File::set_attr(const std::string& object, const std::string& name, int64_t value) {
  write_attr(object, name, H5T_STD_I64LE, {}, &value);
}
void H5File::set_attr(const std::string& object, const std::string& name, int value) {
  set_attr(object, name, static_cast<int64_t>(value));
}
void H5File::set_attr(const std::string& object, const std::string& name, const char* value) {
  set_attr(object, name, std::string(value));
}
void H5File::set_attr(const std::string& object, const std::string& name,
                      const std::string& value) {
  Handle type = checked(H5Tcopy(H5T_C_S1), H5Tclose, path_, "cannot make a string type");
  check(H5Tset_size(type.get(), H5T_VARIABLE), path_, "cannot make a string type");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), path_, "cannot make a string type");
  const char* p = value.c_str();
  write_attr(object, name, type.get(), {}, &p);
}
void H5File::set_attr(const std::string& object, const std::string& name,
                      const std::vector<double>& values) {
  write_attr(object, name, H5T_IEEE_F64LE, {static_cast<int64_t>(values.size())}, values.data());
}
void H5File::set_attr(const std::string& object, const std::string& name,
                      const std::vector<int64_t>& values) {
  write_attr(object, name, H5T_STD_I64LE, {static_cast<int64_t>(values.size())}, values.data());
}

bool H5File::has_attr(const std::string& object, const std::string& name) const {
  Handle obj(open_object(object), H5Oclose);
  const htri_t has = H5Aexists(obj.get(), name.c_str());
  if (has < 0)
    h5_fail(path_, "cannot look up attribute '" + name + "' of '" + normalize(object) + "'");
  return has > 0;
}

std::vector<std::string> H5File::attr_names(const std::string& object) const {
  Handle obj(open_object(object), H5Oclose);
  std::vector<std::string> names;
  hsize_t idx = 0;
  const herr_t rc = H5Aiterate2(
      obj.get(), H5_INDEX_NAME, H5_ITER_INC, &idx,
      [](hid_t, const char* name, const H5A_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->push_back(name);
        return 0;
      },
      &names);
  if (rc < 0) h5_fail(path_, "cannot list the attributes of '" + normalize(object) + "'");
  std::sort(names.begin(), names.end());
  return names;
}

int64_t H5File::open_attr(const std::string& object, const std::string& name) const {
  Handle obj(open_object(object), H5Oclose);
  const std::string what = "attribute '" + name + "' of '" + normalize(object) + "'";
  const htri_t has = H5Aexists(obj.get(), name.c_str());
  if (has < 0) h5_fail(path_, "cannot look up " + what);
  RSNN_CHECK(has > 0, path_, ": ", what, " not found");
  const hid_t attr = H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT);
  if (attr < 0) h5_fail(path_, "cannot open " + what);
  return attr;
}

namespace {
// Read a numeric attribute of any shape as `mem` items; `integers_only` rejects floats.
template <class T>
std::vector<T> read_numeric_attr(hid_t attr, hid_t mem, bool integers_only, const std::string& file,
                                 const std::string& what) {
  Handle type = checked(H5Aget_type(attr), H5Tclose, file, "cannot read the type of " + what);
  const H5T_class_t cls = H5Tget_class(type.get());
  RSNN_CHECK(cls == H5T_INTEGER || (!integers_only && cls == H5T_FLOAT), file, ": ", what, " is ",
             type_name(type.get()), ", not ", integers_only ? "an integer" : "a number");
  Handle space =
      checked(H5Aget_space(attr), H5Sclose, file, "cannot read the dataspace of " + what);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) h5_fail(file, "cannot read the size of " + what);
  std::vector<T> out(static_cast<size_t>(n));
  if (n > 0) check(H5Aread(attr, mem, out.data()), file, "cannot read " + what);
  return out;
}
}  // namespace

std::vector<double> H5File::get_attr_doubles(const std::string& object,
                                             const std::string& name) const {
  Handle attr(open_attr(object, name), H5Aclose);
  return read_numeric_attr<double>(attr.get(), H5T_NATIVE_DOUBLE, false, path_,
                                   "attribute '" + name + "' of '" + normalize(object) + "'");
}

std::vector<int64_t> H5File::get_attr_ints(const std::string& object,
                                           const std::string& name) const {
  Handle attr(open_attr(object, name), H5Aclose);
  return read_numeric_attr<int64_t>(attr.get(), H5T_NATIVE_INT64, true, path_,
                                    "attribute '" + name + "' of '" + normalize(object) + "'");
}

double H5File::get_attr_double(const std::string& object, const std::string& name) const {
  const std::vector<double> v = get_attr_doubles(object, name);
  RSNN_CHECK(v.size() == 1, path_, ": attribute '", name, "' of '", normalize(object), "' holds ",
             v.size(), " values, expected one");
  return v[0];
}

int64_t H5File::get_attr_int(const std::string& object, const std::string& name) const {
  const std::vector<int64_t> v = get_attr_ints(object, name);
  RSNN_CHECK(v.size() == 1, path_, ": attribute '", name, "' of '", normalize(object), "' holds ",
             v.size(), " values, expected one");
  return v[0];
}

std::string H5File::get_attr_string(const std::string& object, const std::string& name) const {
  const std::string what = "attribute '" + name + "' of '" + normalize(object) + "'";
  Handle attr(open_attr(object, name), H5Aclose);
  Handle type =
      checked(H5Aget_type(attr.get()), H5Tclose, path_, "cannot read the type of " + what);
  RSNN_CHECK(H5Tget_class(type.get()) == H5T_STRING, path_, ": ", what, " is ",
             type_name(type.get()), ", not a string");
  Handle space =
      checked(H5Aget_space(attr.get()), H5Sclose, path_, "cannot read the dataspace of " + what);
  RSNN_CHECK(H5Sget_simple_extent_npoints(space.get()) == 1, path_, ": ", what,
             " is not a single string");
  Handle mem = checked(H5Tcopy(type.get()), H5Tclose, path_, "cannot copy the type of " + what);
  const htri_t variable = H5Tis_variable_str(type.get());
  if (variable < 0) h5_fail(path_, "cannot inspect the type of " + what);
  if (variable > 0) {
    char* s = nullptr;
    check(H5Aread(attr.get(), mem.get(), &s), path_, "cannot read " + what);
    std::string out = s ? s : "";
    if (s) H5free_memory(s);
    return out;
  }
  const size_t size = H5Tget_size(type.get());
  std::string out(size, '\0');
  if (size > 0) check(H5Aread(attr.get(), mem.get(), &out[0]), path_, "cannot read " + what);
  if (H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD) {
    out.erase(out.find_last_not_of(' ') + 1);
  } else {
    out.resize(std::strlen(out.c_str()));
  }
  return out;
}

}  // namespace rsnn
