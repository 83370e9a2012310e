// HDF5 helpers: round trips of every dtype, chunked + gzip data, groups, attributes,
// conversions, atomic creation, every error path, and (when h5py is present) interchange
// with h5py in both directions.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/hdf5_io.h"
#include "test_util.h"

using namespace rsnn;
namespace fs = std::filesystem;

using rsnn::test::expect_error;

namespace {

class H5 : public ::testing::Test {
 protected:
  rsnn::test::TempDir tmp_{"rsnn_h5"};
  const std::string& dir_ = tmp_.dir();
  std::string path(const std::string& name) const { return tmp_.path(name); }
  int files_in_dir() const {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) n += e.is_regular_file();
    return n;
  }
};

template <class T>
Tensor pattern(const Shape& shape, int salt = 0) {
  std::vector<T> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<T>(static_cast<int>((i * 7 + salt) % 200) - 50);
  Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
  return t.reshape(shape);
}

// A dataset of a type rsnn does not write, made with the raw C API.
void write_raw_dataset(const std::string& file, const char* name, hid_t file_type, hid_t mem_type,
                       const void* data, hsize_t n) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  hid_t space = H5Screate_simple(1, &n, nullptr);
  hid_t ds = H5Dcreate2(f, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(ds, 0);
  ASSERT_GE(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
  H5Dclose(ds);
  H5Sclose(space);
  H5Fclose(f);
}

}  // namespace

// ---- round trips -------------------------------------------------------------------------

TEST_F(H5, RoundTripEveryDtypeAndShape) {
  const std::string p = path("rt.h5");
  {
    H5File f = H5File::create(p);
    f.write("f32", pattern<float>({2, 3, 4}));
    f.write("/f64", pattern<double>({5}));
    f.write("i32", pattern<int32_t>({3, 3}));
    f.write("i64", pattern<int64_t>({1, 2, 1, 2}));
    f.write("u8", pattern<uint8_t>({17}).to_dtype(DType::u8));
    f.write("scalar", Tensor::full({}, 2.5, DType::f64));
    f.write("empty", Tensor::zeros({0, 3}, DType::f32));
    f.close();
  }
  EXPECT_EQ(files_in_dir(), 1);  // no temporary file left
  H5File f = H5File::open_read(p);
  EXPECT_EQ(f.list(),
            (std::vector<std::string>{"empty", "f32", "f64", "i32", "i64", "scalar", "u8"}));
  auto same = [&](const char* name, const Tensor& expected) {
    SCOPED_TRACE(name);
    EXPECT_EQ(f.dataset_shape(name), expected.shape());
    EXPECT_EQ(f.dataset_dtype(name), expected.dtype());
    Tensor t = f.read(name);
    EXPECT_EQ(t.dtype(), expected.dtype());
    EXPECT_EQ(t.shape(), expected.shape());
    EXPECT_EQ(t.to_vector<double>(), expected.to_vector<double>());
  };
  same("f32", pattern<float>({2, 3, 4}));
  same("f64", pattern<double>({5}));
  same("i32", pattern<int32_t>({3, 3}));
  same("i64", pattern<int64_t>({1, 2, 1, 2}));
  same("u8", pattern<uint8_t>({17}));
  same("scalar", Tensor::full({}, 2.5, DType::f64));
  same("empty", Tensor::zeros({0, 3}, DType::f32));
  EXPECT_EQ(f.dataset_type_name("i64"), "int64");
  EXPECT_EQ(f.dataset_type_name("u8"), "uint8");
}

TEST_F(H5, ChunkedAndCompressed) {
  // 400 x 1000 float32 (1.6 MB) of a smooth, compressible pattern.
  const Shape s{400, 1000};
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 1000) * 0.5f;
  const Tensor t = Tensor::from_vector(v, s);
  const size_t raw_bytes = v.size() * sizeof(float);

  H5WriteOptions plain;
  plain.auto_chunk_bytes = 0;
  H5WriteOptions gz;
  gz.gzip = 6;
  H5WriteOptions auto_small;
  auto_small.auto_chunk_bytes = 1000;  // chunk + compress everything above 1000 bytes
  H5WriteOptions odd_chunks;
  odd_chunks.chunked = true;
  odd_chunks.chunk = {7, 5000};  // larger than the second dimension: clamped
  odd_chunks.gzip = 0;

  struct Case {
    const char* name;
    H5WriteOptions opt;
    bool compressed;
  };
  for (const Case& c : {Case{"plain", plain, false}, Case{"gzip", gz, true},
                        Case{"auto", auto_small, true}, Case{"chunks", odd_chunks, false}}) {
    SCOPED_TRACE(c.name);
    const std::string p = path(std::string(c.name) + ".h5");
    {
      H5File f = H5File::create(p);
      f.write("/data/x", t, c.opt);
      f.close();
    }
    const size_t size = fs::file_size(p);
    if (c.compressed)
      EXPECT_LT(size, raw_bytes / 10);
    else
      EXPECT_GT(size, raw_bytes);
    H5File f = H5File::open_read(p);
    Tensor back = f.read("/data/x");
    ASSERT_EQ(back.shape(), s);
    EXPECT_EQ(back.to_vector<float>(), v);
  }
  H5WriteOptions bad;
  bad.gzip = 12;
  H5File f = H5File::create(path("bad.h5"));
  expect_error([&] { f.write("x", t, bad); }, {"gzip level 12"});
  H5WriteOptions bad_chunk;
  bad_chunk.chunk = {4};
  expect_error([&] { f.write("x", t, bad_chunk); }, {"chunk shape [4]", "rank"});
}

TEST_F(H5, GroupsAndStructure) {
  H5File f = H5File::create(path("g.h5"));
  f.write("/a/b/c/x", Tensor::zeros({2}));  // intermediate groups are created
  f.create_group("/a/d");
  f.create_group("/a/d");  // idempotent
  f.create_group("e/f");
  EXPECT_TRUE(f.exists("/"));
  EXPECT_TRUE(f.exists("a/b/c/x"));
  EXPECT_TRUE(f.is_dataset("/a/b/c/x"));
  EXPECT_FALSE(f.is_group("/a/b/c/x"));
  EXPECT_TRUE(f.is_group("/a/b"));
  EXPECT_FALSE(f.exists("/a/zz/q"));
  EXPECT_FALSE(f.exists("/nope"));
  EXPECT_FALSE(f.is_dataset("/nope"));
  EXPECT_FALSE(f.exists("/a/b/c/x/y"));  // below a dataset
  expect_error([&] { f.write("/a/b/c/x/y", Tensor::zeros({1})); },
               {"cannot create dataset '/a/b/c/x/y'"});
  EXPECT_EQ(f.list("/"), (std::vector<std::string>{"a", "e"}));
  EXPECT_EQ(f.list("/a"), (std::vector<std::string>{"b", "d"}));
  EXPECT_TRUE(f.list("/e/f").empty());
  expect_error([&] { f.list("/a/b/c/x"); }, {"'/a/b/c/x' is not a group"});
  expect_error([&] { f.list("/q"); }, {"group '/q' not found"});
  expect_error([&] { f.create_group("/a/b/c/x"); }, {"a dataset has that name"});
  f.remove("/a/b");
  EXPECT_FALSE(f.exists("/a/b/c/x"));
  EXPECT_EQ(f.list("/a"), (std::vector<std::string>{"d"}));
  expect_error([&] { f.remove("/a/b"); }, {"not found"});
  expect_error([&] { f.read("/a/d"); }, {"'/a/d' is a group, not a dataset"});
}

TEST_F(H5, OverwriteInPlaceOrReplace) {
  const std::string p = path("o.h5");
  {
    H5File f = H5File::create(p);
    f.write("x", pattern<float>({3, 2}));
    f.close();
  }
  {
    H5File f = H5File::open_rw(p);
    f.write("x", Tensor::full({3, 2}, 9.0));  // same shape and dtype: in place
    EXPECT_EQ(f.read("x").to_vector<float>(), std::vector<float>(6, 9.0f));
    f.write("x", Tensor::full({4}, 1.0, DType::i64));  // replaced
    EXPECT_EQ(f.dataset_dtype("x"), DType::i64);
    EXPECT_EQ(f.dataset_shape("x"), Shape{4});
    f.write("y/z", Tensor::full({1}, 3.0, DType::f64));
    f.close();
  }
  H5File f = H5File::open_read(p);
  EXPECT_EQ(f.read("x").to_vector<int64_t>(), std::vector<int64_t>(4, 1));
  EXPECT_EQ(f.read("y/z").item<double>(), 3.0);
  expect_error([&] { f.write("w", Tensor::zeros({1})); }, {"read-only"});
  expect_error([&] { f.set_attr("/", "a", 1.0); }, {"read-only"});
}

TEST_F(H5, Attributes) {
  const std::string p = path("attr.h5");
  {
    H5File f = H5File::create(p);
    f.write("/net/w", Tensor::zeros({2, 2}));
    f.set_attr("/", "seed", int64_t{42});
    f.set_attr("/", "count", 7);
    f.set_attr("/", "dt", 0.001);
    f.set_attr("/", "name", "barrel cortex");
    f.set_attr("/net", "taus", std::vector<double>{20.0, 100.5});
    f.set_attr("/net", "sizes", std::vector<int64_t>{4218, 200});
    f.set_attr("/net/w", "units", std::string("nA"));
    f.set_attr("/net/w", "units", std::string("pA"));  // replaced
    f.set_attr("/net/w", "empty", std::string());
    expect_error([&] { f.set_attr("/missing", "x", 1.0); }, {"object '/missing' not found"});
    f.close();
  }
  H5File f = H5File::open_read(p);
  EXPECT_EQ(f.get_attr_int("/", "seed"), 42);
  EXPECT_EQ(f.get_attr_int("/", "count"), 7);
  EXPECT_EQ(f.get_attr_double("/", "seed"), 42.0);  // integers read as doubles too
  EXPECT_EQ(f.get_attr_double("/", "dt"), 0.001);
  EXPECT_EQ(f.get_attr_string("/", "name"), "barrel cortex");
  EXPECT_EQ(f.get_attr_doubles("/net", "taus"), (std::vector<double>{20.0, 100.5}));
  EXPECT_EQ(f.get_attr_ints("/net", "sizes"), (std::vector<int64_t>{4218, 200}));
  EXPECT_EQ(f.get_attr_string("net/w", "units"), "pA");
  EXPECT_EQ(f.get_attr_string("net/w", "empty"), "");
  EXPECT_TRUE(f.has_attr("/", "dt"));
  EXPECT_FALSE(f.has_attr("/", "nope"));
  EXPECT_EQ(f.attr_names("/"), (std::vector<std::string>{"count", "dt", "name", "seed"}));
  expect_error([&] { f.get_attr_double("/", "nope"); },
               {"attr.h5", "attribute 'nope' of '/' not found"});
  expect_error([&] { f.get_attr_int("/", "dt"); },
               {"attribute 'dt' of '/' is float64, not an integer"});
  expect_error([&] { f.get_attr_string("/", "dt"); }, {"not a string"});
  expect_error([&] { f.get_attr_double("/", "name"); }, {"is string, not a number"});
  expect_error([&] { f.get_attr_double("/net", "taus"); }, {"holds 2 values, expected one"});
}

TEST_F(H5, ReadAsConvertsOtherTypes) {
  const std::string p = path("types.h5");
  {
    H5File f = H5File::create(p);
    f.write("i32", Tensor::from_vector<int32_t>({-3, 0, 7}));
    f.write("f64", Tensor::from_vector<double>({0.5, 1.5}));
    f.close();
  }
  const std::vector<int16_t> i16{-300, 0, 300};
  const std::vector<uint32_t> u32{0, 4000000000u, 5};
  const std::vector<int8_t> i8{-1, 2};
  write_raw_dataset(p, "i16", H5T_STD_I16LE, H5T_NATIVE_INT16, i16.data(), 3);
  write_raw_dataset(p, "u32", H5T_STD_U32BE, H5T_NATIVE_UINT32, u32.data(), 3);
  write_raw_dataset(p, "i8", H5T_STD_I8LE, H5T_NATIVE_INT8, i8.data(), 2);
  {
    // An h5py-style bool: enum of int8 {FALSE = 0, TRUE = 1}.
    hid_t e = H5Tenum_create(H5T_NATIVE_INT8);
    int8_t v = 0;
    H5Tenum_insert(e, "FALSE", &v);
    v = 1;
    H5Tenum_insert(e, "TRUE", &v);
    const std::vector<int8_t> b{1, 0, 1, 1};
    write_raw_dataset(p, "bool", e, e, b.data(), 4);
    H5Tclose(e);
    hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, 4);
    write_raw_dataset(p, "str", s, s, "abcdefgh", 2);
    H5Tclose(s);
  }
  {
    hid_t raw = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(raw, 0);
    ASSERT_GE(H5Lcreate_soft("/nowhere", raw, "dangling", H5P_DEFAULT, H5P_DEFAULT), 0);
    H5Fclose(raw);
  }
  H5File f = H5File::open_read(p);
  EXPECT_FALSE(f.exists("dangling"));
  expect_error([&] { f.read("dangling"); }, {"dataset '/dangling' not found"});
  EXPECT_EQ(f.read_as("i32", DType::f64).to_vector<double>(), (std::vector<double>{-3, 0, 7}));
  EXPECT_EQ(f.read_as("f64", DType::f32).to_vector<float>(), (std::vector<float>{0.5f, 1.5f}));
  EXPECT_EQ(f.read_as("i16", DType::i32).to_vector<int32_t>(),
            (std::vector<int32_t>{-300, 0, 300}));
  EXPECT_EQ(f.read_as("i16", DType::f32).to_vector<float>(), (std::vector<float>{-300, 0, 300}));
  EXPECT_EQ(f.read_as("u32", DType::i64).to_vector<int64_t>(),
            (std::vector<int64_t>{0, 4000000000LL, 5}));
  EXPECT_EQ(f.read_as("i8", DType::i64).to_vector<int64_t>(), (std::vector<int64_t>{-1, 2}));
  EXPECT_EQ(f.read_as("bool", DType::u8).to_vector<int>(), (std::vector<int>{1, 0, 1, 1}));
  EXPECT_EQ(f.read_as("bool", DType::f32).to_vector<float>(), (std::vector<float>{1, 0, 1, 1}));
  EXPECT_EQ(f.dataset_type_name("i16"), "int16");
  EXPECT_EQ(f.dataset_type_name("u32"), "uint32");
  EXPECT_EQ(f.dataset_type_name("bool"), "enum of int8");
  // read() insists on a Tensor dtype; float -> integer and strings are refused.
  expect_error([&] { f.read("i16"); }, {"types.h5", "dataset '/i16' has type int16", "read_as"});
  expect_error([&] { f.dataset_dtype("bool"); }, {"enum of int8"});
  expect_error([&] { f.read_as("f64", DType::i64); }, {"'/f64' holds float64", "truncate"});
  expect_error([&] { f.read_as("str", DType::f32); }, {"'/str' has type string"});
  // Out-of-range integers saturate (documented HDF5 behaviour).
  EXPECT_EQ(f.read_as("i16", DType::u8).to_vector<int>(), (std::vector<int>{0, 0, 255}));
}

TEST_F(H5, ReadChecked) {
  const std::string p = path("c.h5");
  {
    H5File f = H5File::create(p);
    f.write("x", Tensor::zeros({3, 4}, DType::f32));
    f.close();
  }
  H5File f = H5File::open_read(p);
  EXPECT_EQ(f.read_checked("x", {3, 4}).shape(), (Shape{3, 4}));
  EXPECT_EQ(f.read_checked("x", {-1, 4}).shape(), (Shape{3, 4}));
  EXPECT_EQ(f.read_checked("x", {-1, -1}, DType::f64).dtype(), DType::f64);
  expect_error(
      [&] {
        f.read_checked("x", {3, 5});
      },
      {p + ": dataset '/x' has shape [3, 4], expected [3, 5]"});
  expect_error([&] { f.read_checked("x", {-1}); }, {"has shape [3, 4], expected [-1]"});
  expect_error([&] { f.read_checked("/force", {-1}); }, {p + ": dataset '/force' not found"});
}

// ---- atomic creation ------------------------------------------------------------------------

TEST_F(H5, CreateIsAtomic) {
  const std::string p = path("atomic.h5");
  {
    H5File f = H5File::create(p);
    f.write("v", Tensor::full({2}, 1.0));
  }  // destructor commits
  ASSERT_TRUE(fs::exists(p));
  // An exception unwinding before close() leaves the old file untouched and no temporary.
  try {
    H5File f = H5File::create(p);
    f.write("v", Tensor::full({2}, 2.0));
    throw std::runtime_error("simulated failure");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(H5File::open_read(p).read("v").to_vector<float>(), (std::vector<float>{1, 1}));
  EXPECT_EQ(files_in_dir(), 1);
  // Until close(), the target keeps its old contents.
  H5File f = H5File::create(p);
  f.write("v", Tensor::full({2}, 3.0));
  EXPECT_EQ(H5File::open_read(p).read("v").to_vector<float>(), (std::vector<float>{1, 1}));
  f.close();
  f.close();  // no-op
  EXPECT_EQ(H5File::open_read(p).read("v").to_vector<float>(), (std::vector<float>{3, 3}));
  EXPECT_EQ(files_in_dir(), 1);
  expect_error([&] { f.read("v"); }, {"closed"});
  expect_error([&] { H5File::create(path("no/dir/x.h5")); }, {"no/dir/x.h5", "cannot create"});
}

// ---- errors ----------------------------------------------------------------------------------

TEST_F(H5, FileErrors) {
  expect_error([&] { H5File::open_read(path("missing.h5")); }, {"missing.h5", "No such file"});
  expect_error([&] { H5File::open_rw(path("missing.h5")); }, {"missing.h5"});
  { std::ofstream(path("notes.txt")) << "just some text, not HDF5\n"; }
  expect_error([&] { H5File::open_read(path("notes.txt")); },
               {path("notes.txt") + ": not an HDF5 file"});
  expect_error([&] { H5File::open_read(dir_); }, {"not a regular file"});
}

TEST_F(H5, TruncatedAndCorruptFilesThrow) {
  const std::string p = path("big.h5");
  {
    H5File f = H5File::create(p);
    f.write("a", pattern<double>({20000}));
    H5WriteOptions gz;
    gz.gzip = 4;
    f.write("g/b", pattern<float>({300, 300}, 3), gz);
    f.set_attr("/g", "note", "x");
    f.close();
  }
  const std::string bytes = [&] {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream os;
    os << in.rdbuf();
    return os.str();
  }();
  // Truncated to half: open (or at the latest, read) must throw rsnn::Error.
  {
    std::ofstream(path("half.h5"), std::ios::binary).write(bytes.data(), bytes.size() / 2);
    EXPECT_THROW(
        {
          H5File f = H5File::open_read(path("half.h5"));
          f.read("a");
          f.read("g/b");
        },
        Error);
  }
  // 32-byte blocks overwritten in turn with garbage, densely over the metadata at the start
  // of the file, sparsely over the data: using the file either works (the garbage hit raw
  // data) or throws rsnn::Error; it never crashes.
  int threw = 0, attempts = 0;
  for (size_t at = 0; at + 32 <= bytes.size(); at += at < 4096 ? 32 : 4096) {
    std::string bad = bytes;
    for (size_t i = at; i < at + 32; ++i) bad[i] = static_cast<char>(0xA5 ^ (i * 31));
    std::ofstream(path("bad.h5"), std::ios::binary | std::ios::trunc).write(bad.data(), bad.size());
    ++attempts;
    try {
      H5File f = H5File::open_read(path("bad.h5"));
      for (const auto& name : f.list("/")) (void)name;
      f.read("a");
      f.read_as("g/b", DType::f64);
      (void)f.get_attr_string("/g", "note");
    } catch (const Error&) {
      ++threw;
    }
  }
  // The metadata blocks (superblock, root group, heaps, object headers) are detected.
  EXPECT_GE(threw, 10) << "of " << attempts << " corrupted files";
}

// ---- interchange with h5py -----------------------------------------------------------------

namespace {
// A python3 that can import h5py and numpy, or "" when none.
std::string python_with_h5py() {
  for (const char* py : {"python3", "/usr/bin/python3"}) {
    const std::string cmd = std::string(py) + " -c 'import h5py, numpy' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return "";
}
}  // namespace

TEST_F(H5, InterchangeWithH5py) {
  const std::string py = python_with_h5py();
  if (py.empty()) GTEST_SKIP() << "no python3 with h5py and numpy found";

  // rsnn writes, h5py checks.
  const std::string ours = path("ours.h5");
  {
    H5File f = H5File::create(ours);
    f.write("/m/w", Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}));
    f.write("/m/ids", Tensor::from_vector<int64_t>({7, -8}));
    f.write("/s", Tensor::full({}, 0.25, DType::f64));
    H5WriteOptions gz;
    gz.gzip = 5;
    f.write("/z", pattern<uint8_t>({50, 40}), gz);
    f.set_attr("/", "name", "rsnn run");
    f.set_attr("/m", "taus", std::vector<double>{1.5, 2.5});
    f.set_attr("/m", "seed", int64_t{123});
    f.close();
  }
  const std::string check_script = path("check.py");
  std::ofstream(check_script)
      << "import sys, h5py, numpy as np\n"
         "f = h5py.File(sys.argv[1], 'r')\n"
         "assert f['m/w'].dtype == np.float32 and f['m/w'].shape == (2, 3)\n"
         "assert (f['m/w'][()] == np.arange(1, 7).reshape(2, 3)).all()\n"
         "assert f['m/ids'].dtype == np.int64 and list(f['m/ids'][()]) == [7, -8]\n"
         "assert f['s'].shape == () and f['s'][()] == 0.25\n"
         "z = f['z']\n"
         "assert z.compression == 'gzip' and z.dtype == np.uint8 and z.shape == (50, 40)\n"
         "exp = (((np.arange(2000) * 7) % 200) - 50).astype(np.uint8).reshape(50, 40)\n"
         "assert (z[()] == exp).all()\n"
         "name = f.attrs['name']\n"
         "assert (name.decode() if isinstance(name, bytes) else name) == 'rsnn run', name\n"
         "assert list(f['m'].attrs['taus']) == [1.5, 2.5]\n"
         "assert f['m'].attrs['seed'] == 123\n"
         "print('h5py read ok')\n";
  EXPECT_EQ(std::system((py + " " + check_script + " " + ours).c_str()), 0)
      << "h5py could not read what rsnn wrote";

  // h5py writes, rsnn reads.
  const std::string theirs = path("theirs.h5");
  const std::string write_script = path("write.py");
  std::ofstream(write_script)
      << "import sys, h5py, numpy as np\n"
         "with h5py.File(sys.argv[1], 'w') as f:\n"
         "    f['a'] = np.arange(12, dtype=np.float64).reshape(3, 4)\n"
         "    f.create_dataset('g/b', data=np.arange(1000, dtype=np.int32), compression='gzip',\n"
         "                     chunks=(100,))\n"
         "    f['flags'] = np.array([True, False, True])\n"
         "    f['i16'] = np.array([-2, 3], dtype=np.int16)\n"
         "    f['u8'] = np.array([[1, 2], [3, 255]], dtype=np.uint8)\n"
         "    f['fo'] = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))\n"
         "    f.attrs['label'] = 'from h5py'\n"
         "    f.attrs['fixed'] = np.bytes_('fixed-len')\n"
         "    f.attrs['lr'] = 0.01\n"
         "    f.attrs['n'] = np.int32(5)\n"
         "    f['g'].attrs['v'] = np.array([1.0, 2.0, 3.0])\n";
  ASSERT_EQ(std::system((py + " " + write_script + " " + theirs).c_str()), 0);
  H5File f = H5File::open_read(theirs);
  Tensor a = f.read("a");
  EXPECT_EQ(a.shape(), (Shape{3, 4}));
  EXPECT_EQ(a.to_vector<double>()[7], 7.0);
  Tensor b = f.read("g/b");
  EXPECT_EQ(b.dtype(), DType::i32);
  EXPECT_EQ(b.to_vector<int32_t>()[999], 999);
  EXPECT_EQ(f.read_as("flags", DType::u8).to_vector<int>(), (std::vector<int>{1, 0, 1}));
  EXPECT_THROW(f.read("flags"), Error);
  EXPECT_EQ(f.read_as("i16", DType::i32).to_vector<int32_t>(), (std::vector<int32_t>{-2, 3}));
  EXPECT_EQ(f.read("u8").to_vector<int>(), (std::vector<int>{1, 2, 3, 255}));
  EXPECT_EQ(f.read("fo").to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(f.get_attr_string("/", "label"), "from h5py");
  EXPECT_EQ(f.get_attr_string("/", "fixed"), "fixed-len");
  EXPECT_EQ(f.get_attr_double("/", "lr"), 0.01);
  EXPECT_EQ(f.get_attr_int("/", "n"), 5);
  EXPECT_EQ(f.get_attr_doubles("g", "v"), (std::vector<double>{1, 2, 3}));
}

TEST_F(H5, WritesDeviceTensors) {
  RSNN_SKIP_WITHOUT_CUDA();
  Tensor host = Tensor::from_vector<double>({1, 2, 3, 4}, {2, 2});
  {
    H5File f = H5File::create(path("dev.h5"));
    f.write("w", host.to(Device::cuda(0)));
    f.close();
  }
  EXPECT_EQ(H5File::open_read(path("dev.h5")).read("w").to_vector<double>(),
            host.to_vector<double>());
}
