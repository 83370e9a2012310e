// HDF5 files: the shared helpers, opening and closing, and the group structure. Datasets
// are in hdf5_dataset.cpp, attributes in hdf5_attr.cpp.
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
#include "runtime/hdf5_detail.h"

namespace rsnn {

static_assert(std::is_same<hid_t, int64_t>::value, "hdf5_io.h stores hid_t as int64_t");

namespace hdf5_detail {

void quiet_hdf5() {
  thread_local bool done = false;
  if (done) return;
  H5open();
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  done = true;
}

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

Handle checked(hid_t id, Handle::Closer close, const std::string& file, const std::string& what) {
  if (id < 0) h5_fail(file, what);
  return Handle(id, close);
}

void check(herr_t rc, const std::string& file, const std::string& what) {
  if (rc < 0) h5_fail(file, what);
}

std::string normalize(const std::string& path) {
  std::string out = "/";
  for (char c : path) {
    if (c == '/' && out.back() == '/') continue;
    out.push_back(c);
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

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

Handle make_space(const Shape& shape) {
  if (shape.empty()) return Handle(H5Screate(H5S_SCALAR), H5Sclose);
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  return Handle(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
}

Handle intermediate_groups_lcpl(const std::string& file) {
  Handle lcpl =
      checked(H5Pcreate(H5P_LINK_CREATE), H5Pclose, file, "cannot create a property list");
  check(H5Pset_create_intermediate_group(lcpl.get(), 1), file, "cannot set link properties");
  return lcpl;
}

H5I_type_t object_type(hid_t file, const std::string& file_path, const std::string& p) {
  Handle obj = checked(H5Oopen(file, p.c_str(), H5P_DEFAULT), H5Oclose, file_path,
                       "cannot open '" + p + "'");
  return H5Iget_type(obj.get());
}

}  // namespace hdf5_detail

using namespace hdf5_detail;

namespace {

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

}  // namespace rsnn
