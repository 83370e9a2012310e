// .npy reading and writing: round trips, hand-made headers (versions, key order, Fortran
// order, big-endian, bool), every error path, and the project's shared data files.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/atomic_file.h"
#include "runtime/npy.h"
#include "test_util.h"

using namespace rsnn;
namespace fs = std::filesystem;

using rsnn::test::expect_error;

namespace {

class Npy : public ::testing::Test {
 protected:
  rsnn::test::TempDir tmp_{"rsnn_npy"};
  const std::string& dir_ = tmp_.dir();
  std::string path(const std::string& name) const { return tmp_.path(name); }
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A hand-made .npy file: magic, version, header length (2 bytes for 1.0, 4 otherwise), the
// dict text padded with spaces and '\n', then the raw data bytes.
std::string make_npy(const std::string& dict, const std::string& data, int major = 1) {
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  const size_t len_bytes = major == 1 ? 2 : 4;
  std::string header = dict;
  const size_t prelude = 8 + len_bytes;
  while ((prelude + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  for (size_t i = 0; i < len_bytes; ++i)
    out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  return out + header + data;
}

template <class T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

template <class T>
std::string big_endian_bytes_of(const std::vector<T>& v) {
  std::string s = bytes_of(v);
  for (size_t i = 0; i < s.size(); i += sizeof(T))
    for (size_t a = i, b = i + sizeof(T) - 1; a < b; ++a, --b) std::swap(s[a], s[b]);
  return s;
}

}  // namespace

// ---- round trips ---------------------------------------------------------------------

template <class T>
void round_trip(const std::string& path, const Shape& shape) {
  std::vector<T> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>((i * 37 + 11) % 251) - T(3);
  Tensor t = Tensor::from_vector(v, shape.empty() ? Shape{} : shape);
  if (shape.empty()) t = t.reshape({});
  npy_save(path, t);
  Tensor back = npy_load(path);
  EXPECT_EQ(back.dtype(), dtype_of<T>());
  EXPECT_EQ(back.shape(), shape);
  EXPECT_EQ(back.to_vector<T>(), v) << path;
  // Version 1.0, data starts on a 64-byte boundary, header ends in '\n'.
  const NpyHeader h = npy_header(path);
  EXPECT_EQ(h.major_version, 1);
  EXPECT_EQ(h.data_offset % 64, 0u);
  const std::string raw = read_all(path);
  EXPECT_EQ(raw[h.data_offset - 1], '\n');
  EXPECT_EQ(raw.size(), h.data_offset + v.size() * sizeof(T));
}

TEST_F(Npy, RoundTripEveryDtypeAndRank) {
  round_trip<float>(path("f32.npy"), {2, 3, 4});
  round_trip<double>(path("f64.npy"), {5, 7});
  round_trip<int32_t>(path("i32.npy"), {9});
  round_trip<int64_t>(path("i64.npy"), {2, 1, 3, 1, 2});
  round_trip<uint8_t>(path("u8.npy"), {4, 4});
  round_trip<double>(path("scalar.npy"), {});
  round_trip<float>(path("empty.npy"), {0, 3});
}

TEST_F(Npy, SaveWritesNumpyCompatibleHeader) {
  npy_save(path("a.npy"), Tensor::zeros({3}, DType::u8));
  const std::string raw = read_all(path("a.npy"));
  EXPECT_NE(raw.find("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }"),
            std::string::npos);
  npy_save(path("b.npy"), Tensor::zeros({2, 5}, DType::i64));
  EXPECT_NE(read_all(path("b.npy")).find("'shape': (2, 5)"), std::string::npos);
  // A header beyond 65535 bytes (here: 22000 dimensions) needs format version 2.0.
  Tensor deep = Tensor::full(Shape(22000, 1), 5.0, DType::i32);
  npy_save(path("deep.npy"), deep);
  const NpyHeader h = npy_header(path("deep.npy"));
  EXPECT_EQ(h.major_version, 2);
  EXPECT_EQ(h.data_offset % 64, 0u);
  Tensor back = npy_load(path("deep.npy"));
  EXPECT_EQ(back.shape(), deep.shape());
  EXPECT_EQ(back.item<int32_t>(), 5);
}

TEST_F(Npy, SaveIsAtomicAndReplaces) {
  const std::string p = path("x.npy");
  npy_save(p, Tensor::full({4}, 1.0, DType::f64));
  npy_save(p, Tensor::full({2}, 2.0, DType::f32));
  Tensor t = npy_load(p);
  EXPECT_EQ(t.shape(), Shape{2});
  EXPECT_EQ(t.dtype(), DType::f32);
  // No temporary files are left behind.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  // Saving into a missing directory fails with the path and leaves nothing.
  expect_error([&] { npy_save(path("no/such/dir.npy"), t); }, {"no/such/dir.npy"});
}

TEST_F(Npy, LoadAsConverts) {
  npy_save(path("i.npy"), Tensor::from_vector<int32_t>({1, -2, 3}));
  Tensor t = npy_load_as(path("i.npy"), DType::f64);
  EXPECT_EQ(t.dtype(), DType::f64);
  EXPECT_EQ(t.to_vector<double>(), (std::vector<double>{1, -2, 3}));
}

// ---- hand-made headers ---------------------------------------------------------------

TEST_F(Npy, FortranOrder2D) {
  // a = [[1, 2, 3], [4, 5, 6]] stored column by column.
  write_all(path("f.npy"), make_npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
                                    bytes_of<double>({1, 4, 2, 5, 3, 6})));
  Tensor t = npy_load(path("f.npy"));
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.to_vector<double>(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

TEST_F(Npy, FortranOrderAnyRank) {
  // a[i, j, k, l] = 1000 i + 100 j + 10 k + l with shape (2, 3, 4, 2), column-major bytes.
  const Shape s{2, 3, 4, 2};
  std::vector<int32_t> col;
  for (int l = 0; l < 2; ++l)
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 3; ++j)
        for (int i = 0; i < 2; ++i) col.push_back(1000 * i + 100 * j + 10 * k + l);
  write_all(
      path("f4.npy"),
      make_npy("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4, 2), }", bytes_of(col)));
  Tensor t = npy_load(path("f4.npy"));
  ASSERT_EQ(t.shape(), s);
  const int32_t* p = t.data<int32_t>();
  int64_t n = 0;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k)
        for (int l = 0; l < 2; ++l) EXPECT_EQ(p[n++], 1000 * i + 100 * j + 10 * k + l);

  // 1-d and 0-d Fortran arrays are the same as C ones; u8 and i64 items transpose too.
  write_all(path("f1.npy"), make_npy("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2), }",
                                     std::string("\x01\x03\x02\x04", 4)));
  EXPECT_EQ(npy_load(path("f1.npy")).to_vector<int>(), (std::vector<int>{1, 2, 3, 4}));
  write_all(path("f8.npy"), make_npy("{'descr': '<i8', 'fortran_order': True, 'shape': (3, 1), }",
                                     bytes_of<int64_t>({7, 8, 9})));
  EXPECT_EQ(npy_load(path("f8.npy")).to_vector<int64_t>(), (std::vector<int64_t>{7, 8, 9}));
}

TEST_F(Npy, HeaderKeysAnyOrderAndSpelling) {
  const std::string data = bytes_of<float>({1, 2, 3, 4, 5, 6});
  const char* dicts[] = {
      "{'shape': (3, 2), 'fortran_order': False, 'descr': '<f4'}",
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3,2)}",
      "{ 'fortran_order' : False , 'shape' : ( 3 , 2 , ) , 'descr' : '<f4' , }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 2L), }",  // Python 2 longs
  };
  for (const char* d : dicts) {
    write_all(path("k.npy"), make_npy(d, data));
    Tensor t = npy_load(path("k.npy"));
    EXPECT_EQ(t.shape(), (Shape{3, 2})) << d;
    EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6})) << d;
  }
}

TEST_F(Npy, Versions2And3) {
  for (int major : {2, 3}) {
    write_all(path("v.npy"), make_npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
                                      bytes_of<int64_t>({-5, 5}), major));
    EXPECT_EQ(npy_header(path("v.npy")).major_version, major);
    EXPECT_EQ(npy_load(path("v.npy")).to_vector<int64_t>(), (std::vector<int64_t>{-5, 5}));
  }
}

TEST_F(Npy, BigEndianIsSwapped) {
  write_all(path("be8.npy"), make_npy("{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }",
                                      big_endian_bytes_of<double>({1.5, -2.25, 1e300})));
  EXPECT_EQ(npy_load(path("be8.npy")).to_vector<double>(),
            (std::vector<double>{1.5, -2.25, 1e300}));
  write_all(path("be4.npy"), make_npy("{'descr': '>i4', 'fortran_order': True, 'shape': (2, 2), }",
                                      big_endian_bytes_of<int32_t>({1, 3, -2, 70000})));
  EXPECT_EQ(npy_load(path("be4.npy")).to_vector<int32_t>(),
            (std::vector<int32_t>{1, -2, 3, 70000}));
  write_all(path("bef.npy"), make_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                                      big_endian_bytes_of<float>({3.25f})));
  EXPECT_EQ(npy_load(path("bef.npy")).item<float>(), 3.25f);
  write_all(path("bel.npy"), make_npy("{'descr': '>i8', 'fortran_order': False, 'shape': (), }",
                                      big_endian_bytes_of<int64_t>({-1234567890123LL})));
  EXPECT_EQ(npy_load(path("bel.npy")).item<int64_t>(), -1234567890123LL);
}

TEST_F(Npy, BoolAndUnsignedBytes) {
  write_all(path("b.npy"), make_npy("{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }",
                                    std::string("\x00\x01\x01\x02", 4)));
  Tensor b = npy_load(path("b.npy"));
  EXPECT_EQ(b.dtype(), DType::u8);
  EXPECT_EQ(b.to_vector<int>(), (std::vector<int>{0, 1, 1, 1}));
  write_all(path("u.npy"), make_npy("{'descr': '<u1', 'fortran_order': False, 'shape': (2,), }",
                                    std::string("\xff\x07", 2)));
  EXPECT_EQ(npy_load(path("u.npy")).to_vector<int>(), (std::vector<int>{255, 7}));
}

TEST_F(Npy, ScalarHasEmptyShape) {
  write_all(path("s.npy"), make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                                    bytes_of<double>({2.5})));
  Tensor t = npy_load(path("s.npy"));
  EXPECT_EQ(t.ndim(), 0);
  EXPECT_EQ(t.numel(), 1);
  EXPECT_EQ(t.item<double>(), 2.5);
}

// ---- errors --------------------------------------------------------------------------

TEST_F(Npy, Errors) {
  const std::string good = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
  const std::string data = bytes_of<double>({1, 2, 3, 4});
  auto load = [&](const std::string& name, const std::string& bytes) {
    write_all(path(name), bytes);
    return [this, name] { npy_load(path(name)); };
  };
  expect_error([&] { npy_load(path("missing.npy")); }, {"missing.npy", "cannot open"});
  expect_error(load("magic.npy", "PK\x03\x04 not numpy at all"), {"magic.npy", "magic"});
  expect_error(load("empty.npy", ""), {"empty.npy", "magic"});
  expect_error(load("version.npy", make_npy(good, data, 9)), {"version.npy", "version 9.0"});
  expect_error(load("trunc.npy", make_npy(good, data.substr(0, 20))),
               {"trunc.npy", "needs 32 data bytes", "has 20", "truncated"});
  expect_error(load("trail.npy", make_npy(good, data + "xx")), {"trail.npy", "trailing"});
  expect_error(load("header.npy", make_npy(good, "").substr(0, 30)), {"header.npy", "truncated"});
  expect_error(load("dtype.npy",
                    make_npy("{'descr': '<i2', 'fortran_order': False, 'shape': (4,), }", data)),
               {"dtype.npy", "'<i2'"});
  expect_error(
      load("obj.npy", make_npy("{'descr': '|O', 'fortran_order': False, 'shape': (4,), }", data)),
      {"obj.npy", "Python objects"});
  expect_error(
      load("struct.npy",
           make_npy("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (4,), }", data)),
      {"struct.npy", "structured"});
  expect_error(load("nokey.npy", make_npy("{'descr': '<f8', 'shape': (2, 2), }", data)),
               {"nokey.npy", "fortran_order"});
  expect_error(load("extra.npy", make_npy("{'descr': '<f8', 'fortran_order': False, "
                                          "'shape': (2, 2), 'x': 1}",
                                          data)),
               {"extra.npy", "unknown key 'x'"});
  expect_error(load("syntax.npy", make_npy("{'descr': '<f8', 'fortran_order': Maybe, "
                                           "'shape': (2, 2)}",
                                           data)),
               {"syntax.npy", "True or False"});
  expect_error(load("shape.npy", make_npy("{'descr': '<f8', 'fortran_order': False, "
                                          "'shape': (2, -2)}",
                                          data)),
               {"shape.npy", "dimension"});
}

// ---- interchange with NumPy ------------------------------------------------------------

namespace {
// A python3 that can import numpy, or "" when none.
std::string python_with_numpy() {
  for (const char* py : {"python3", "/usr/bin/python3"}) {
    const std::string cmd = std::string(py) + " -c 'import numpy' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return "";
}
}  // namespace

TEST_F(Npy, InterchangeWithNumpy) {
  const std::string py = python_with_numpy();
  if (py.empty()) GTEST_SKIP() << "no python3 with numpy found";
  // NumPy writes arrays in several layouts and byte orders; we read them.
  std::ofstream(path("w.py")) << "import sys, numpy as np\n"
                                 "d = sys.argv[1]\n"
                                 "a = np.arange(24, dtype=np.float64).reshape(2, 3, 4) * 0.5\n"
                                 "np.save(d + '/c.npy', a)\n"
                                 "np.save(d + '/f.npy', np.asfortranarray(a))\n"
                                 "np.save(d + '/be.npy', a.astype('>f4'))\n"
                                 "np.save(d + '/bef.npy', np.asfortranarray(a.astype('>i8')))\n"
                                 "np.save(d + '/b.npy', np.array([[True, False], [False, True]]))\n"
                                 "np.save(d + '/s.npy', np.float32(7.5))\n"
                                 "np.save(d + '/e.npy', np.zeros((0, 5), dtype=np.int32))\n";
  ASSERT_EQ(std::system((py + " " + path("w.py") + " " + dir_).c_str()), 0);
  std::vector<double> expected(24);
  for (int i = 0; i < 24; ++i) expected[i] = 0.5 * i;
  for (const char* name : {"c.npy", "f.npy", "be.npy", "bef.npy"}) {
    SCOPED_TRACE(name);
    Tensor t = npy_load(path(name));
    EXPECT_EQ(t.shape(), (Shape{2, 3, 4}));
    std::vector<double> want = expected;
    if (std::string(name) == "bef.npy")
      for (double& w : want) w = static_cast<double>(static_cast<int64_t>(w));
    EXPECT_EQ(t.to_vector<double>(), want);
  }
  EXPECT_EQ(npy_load(path("b.npy")).to_vector<int>(), (std::vector<int>{1, 0, 0, 1}));
  EXPECT_EQ(npy_load(path("s.npy")).shape(), Shape{});
  EXPECT_EQ(npy_load(path("s.npy")).item<float>(), 7.5f);
  EXPECT_EQ(npy_load(path("e.npy")).shape(), (Shape{0, 5}));

  // We write; NumPy reads.
  npy_save(path("ours_f.npy"), Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}));
  npy_save(path("ours_u.npy"), Tensor::from_vector<uint8_t>({9, 8}));
  npy_save(path("ours_s.npy"), Tensor::full({}, -4.0, DType::i64));
  std::ofstream(path("r.py"))
      << "import sys, numpy as np\n"
         "d = sys.argv[1]\n"
         "f = np.load(d + '/ours_f.npy')\n"
         "assert f.dtype == np.float32 and (f == np.arange(1, 7).reshape(2, 3)).all()\n"
         "u = np.load(d + '/ours_u.npy')\n"
         "assert u.dtype == np.uint8 and list(u) == [9, 8]\n"
         "s = np.load(d + '/ours_s.npy')\n"
         "assert s.shape == () and s.dtype == np.int64 and s == -4\n";
  EXPECT_EQ(std::system((py + " " + path("r.py") + " " + dir_).c_str()), 0)
      << "numpy could not read what rsnn wrote";
}

// ---- the project's data files ---------------------------------------------------------

namespace {
std::string barrel(const std::string& name) {
  return rsnn::test::shared_data_dir() + "/barrel/" + name;
}
}  // namespace

TEST(NpySharedData, BarrelProbabilities) {
  if (!fs::exists(barrel("Exc_ThtoAll_prob.npy")))
    GTEST_SKIP() << "shared data absent: " << barrel("Exc_ThtoAll_prob.npy");
  // Fortran-order 13x13 float64 tables; rows are presynaptic types, columns postsynaptic.
  const NpyHeader h = npy_header(barrel("Exc_ThtoAll_prob.npy"));
  EXPECT_TRUE(h.fortran_order);
  Tensor th = npy_load(barrel("Exc_ThtoAll_prob.npy"));
  ASSERT_EQ(th.shape(), (Shape{13, 13}));
  ASSERT_EQ(th.dtype(), DType::f64);
  const double row0[13] = {0.079436983, 0.084066576, 0.099371373, 0.089002933, 0.00074332,
                           0.000814751, 0.0,         0.002024793, 0.0,         0.000994318,
                           0.000467914, 0.000151515, 0.000478469};
  for (int j = 0; j < 13; ++j) EXPECT_NEAR(th.data<double>()[j], row0[j], 1e-8) << "column " << j;

  Tensor exc = npy_load(barrel("Exc_AlltoAll_prob.npy"));
  Tensor inh = npy_load(barrel("Inh_AlltoAll_prob.npy"));
  ASSERT_EQ(exc.shape(), (Shape{13, 13}));
  ASSERT_EQ(inh.shape(), (Shape{13, 13}));
  EXPECT_NEAR(exc.data<double>()[0 * 13 + 4], 0.13816, 1e-5);  // Pyr_SP -> Pyr
  EXPECT_NEAR(exc.data<double>()[1 * 13 + 3], 0.34261, 1e-5);
  EXPECT_NEAR(inh.data<double>()[2 * 13 + 0], 0.38286, 1e-5);
  for (const Tensor* t : {&th, &exc, &inh})
    for (double p : t->to_vector<double>()) {
      EXPECT_GE(p, 0.0);
      EXPECT_LE(p, 1.0);
    }
}

TEST(NpySharedData, MicronsDerived) {
  const std::string dir = rsnn::test::shared_data_dir() + "/microns/6_6_2_derived";
  if (!fs::exists(dir)) GTEST_SKIP() << "shared data absent: " << dir;
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".npy") continue;
    ++files;
    const std::string p = e.path().string();
    Tensor t = npy_load(p);
    const std::string name = e.path().stem().string();
    SCOPED_TRACE(name);
    EXPECT_EQ(t.numel() * static_cast<int64_t>(dtype_size(t.dtype())),
              static_cast<int64_t>(npy_header(p).data_bytes()));
    if (name.rfind("D_", 0) == 0 || name.rfind("normalized_", 0) == 0 ||
        name.rfind("connectome", 0) == 0) {
      ASSERT_EQ(t.ndim(), 2);
      EXPECT_EQ(t.size(0), t.size(1));  // square N x N
    }
    if (is_floating(t.dtype())) {
      EXPECT_NO_THROW(check_finite(t, name));
    }
  }
  EXPECT_GE(files, 10);

  Tensor conn = npy_load(dir + "/connectome_int64_NxN.npy");
  ASSERT_EQ(conn.dtype(), DType::i64);
  ASSERT_EQ(conn.shape(), (Shape{312, 312}));
  // Stored in Fortran order: asymmetric entries pin the orientation (numpy: c[0, 120] == 0,
  // c[120, 0] == 1, c[2, 5] == 1, c[5, 2] == 0).
  const int64_t* c = conn.data<int64_t>();
  EXPECT_EQ(c[0 * 312 + 120], 0);
  EXPECT_EQ(c[120 * 312 + 0], 1);
  EXPECT_EQ(c[2 * 312 + 5], 1);
  EXPECT_EQ(c[5 * 312 + 2], 0);
  for (int64_t i = 0; i < conn.numel(); ++i) ASSERT_GE(c[i], 0);

  Tensor grid = npy_load(dir + "/D_grid.npy");
  ASSERT_EQ(grid.dtype(), DType::f32);
  const float* g = grid.data<float>();
  for (int i = 0; i < 312; ++i) {
    EXPECT_EQ(g[i * 312 + i], 0.0f);
    for (int j = 0; j < i; ++j) ASSERT_EQ(g[i * 312 + j], g[j * 312 + i]);
  }

  // Fortran-order (3, 312) float32: numpy gives c[:, :2] = [[.17718758, .19829355],
  // [.5059609, .58607537], [.89530134, .6986312]].
  Tensor coords = npy_load(dir + "/coords_normalized_intended.npy");
  ASSERT_EQ(coords.shape(), (Shape{3, 312}));
  const float* q = coords.data<float>();
  EXPECT_NEAR(q[0 * 312 + 1], 0.19829355f, 1e-7);
  EXPECT_NEAR(q[1 * 312 + 0], 0.5059609f, 1e-7);
  EXPECT_NEAR(q[2 * 312 + 1], 0.6986312f, 1e-7);

  // positions: N x 3 int64, equal to the CSV copy (one header line, then x,y,z per row).
  Tensor pos = npy_load(dir + "/positions_plain_int64_Nx3.npy");
  ASSERT_EQ(pos.dtype(), DType::i64);
  ASSERT_EQ(pos.ndim(), 2);
  ASSERT_EQ(pos.size(1), 3);
  std::ifstream csv(dir + "/positions_plain_int64_Nx3.csv");
  ASSERT_TRUE(csv) << "positions CSV missing";
  std::string line;
  std::vector<int64_t> from_csv;
  while (std::getline(csv, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) from_csv.push_back(std::stoll(cell));
  }
  EXPECT_EQ(from_csv, pos.to_vector<int64_t>());
}

TEST(NpySharedData, PickledArraysAreRejected) {
  const std::string p = rsnn::test::shared_data_dir() + "/microns/6_6_2/positions_6_6_2.npy";
  if (!fs::exists(p)) GTEST_SKIP() << "shared data absent: " << p;
  expect_error([&] { npy_load(p); }, {"positions_6_6_2.npy", "'|O'"});
}

TEST(AtomicFile, WriteTextAndDiscard) {
  const rsnn::test::TempDir tmp("rsnn_atomic");
  const fs::path dir = tmp.dir();
  const std::string p = (dir / "out.txt").string();
  write_text_atomic(p, "first\n");
  write_text_atomic(p, "second\n");
  EXPECT_EQ(read_all(p), "second\n");
  {
    AtomicFile f(p);
    write_all(f.temp_path(), "partial");
    EXPECT_NE(f.temp_path(), temp_path_for(p));  // fresh names
    // destroyed without commit: the temporary file goes, the target stays
  }
  EXPECT_EQ(read_all(p), "second\n");
  {
    AtomicFile f(p);
    write_all(f.temp_path(), "third\n");
    f.commit();
    EXPECT_TRUE(f.committed());
    EXPECT_THROW(f.commit(), Error);
  }
  EXPECT_EQ(read_all(p), "third\n");
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  expect_error([&] { commit_temp((dir / "nope").string(), p); }, {"nope"});
  expect_error([&] { write_text_atomic((dir / "a/b.txt").string(), "x"); }, {"a/b.txt"});
}

TEST_F(Npy, SavesDeviceTensors) {
  RSNN_SKIP_WITHOUT_CUDA();
  Tensor host = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  npy_save(path("dev.npy"), host.to(Device::cuda(0)));
  EXPECT_EQ(npy_load(path("dev.npy")).to_vector<float>(), host.to_vector<float>());
}
