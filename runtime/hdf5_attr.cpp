// HDF5 attributes on groups and datasets: numbers, strings and 1-d vectors.
#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime/hdf5_detail.h"
#include "runtime/hdf5_io.h"

namespace rsnn {

using namespace hdf5_detail;

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
