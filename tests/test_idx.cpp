// IDX reading: hand-made files of every element type, plain and gzip, the error paths, and
// the Fashion-MNIST files of the Debian package dataset-fashion-mnist when installed.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/idx.h"
#include "test_util.h"

using namespace rsnn;
namespace fs = std::filesystem;

using rsnn::test::expect_error;

namespace {

class Idx : public ::testing::Test {
 protected:
  rsnn::test::TempDir tmp_{"rsnn_idx"};
  const std::string& dir_ = tmp_.dir();
  std::string path(const std::string& name) const { return tmp_.path(name); }
};

void write_plain(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

std::string big_endian(uint64_t v, int bytes) {
  std::string s;
  for (int i = bytes - 1; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

// Magic and dimensions of an IDX file.
std::string idx_head(int type, const std::vector<uint32_t>& dims) {
  std::string s{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) s += big_endian(d, 4);
  return s;
}

template <class T, class Bits>
std::string be_items(const std::vector<T>& v) {
  std::string s;
  for (T x : v) {
    Bits b;
    std::memcpy(&b, &x, sizeof b);
    s += big_endian(static_cast<uint64_t>(b), sizeof b);
  }
  return s;
}

}  // namespace

TEST_F(Idx, ImagesPlainAndGzip) {
  // 2 images of 3 x 4 pixels, value = 100 n + 10 r + c.
  std::string data;
  for (int n = 0; n < 2; ++n)
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c) data.push_back(static_cast<char>(100 * n + 10 * r + c));
  const std::string file = idx_head(0x08, {2, 3, 4}) + data;
  write_plain(path("img-idx3-ubyte"), file);
  write_gz(path("img-idx3-ubyte.gz"), file);
  for (const char* name : {"img-idx3-ubyte", "img-idx3-ubyte.gz"}) {
    SCOPED_TRACE(name);
    Tensor t = idx_load(path(name));
    ASSERT_EQ(t.dtype(), DType::u8);
    ASSERT_EQ(t.shape(), (Shape{2, 3, 4}));
    const uint8_t* p = t.data<uint8_t>();
    EXPECT_EQ(p[0], 0);
    EXPECT_EQ(p[1 * 12 + 2 * 4 + 3], 123);
    EXPECT_EQ(p[0 * 12 + 1 * 4 + 2], 12);
    const IdxHeader h = idx_header(path(name));
    EXPECT_EQ(h.type_code, 0x08);
    EXPECT_EQ(h.shape, (Shape{2, 3, 4}));
  }
}

TEST_F(Idx, EveryElementType) {
  write_gz(path("i8"), idx_head(0x09, {3}) + std::string("\xff\x00\x7f", 3));
  EXPECT_EQ(idx_load(path("i8")).to_vector<int32_t>(), (std::vector<int32_t>{-1, 0, 127}));
  write_plain(path("i16"), idx_head(0x0B, {3}) + be_items<int16_t, uint16_t>({-300, 2, 32767}));
  Tensor i16 = idx_load(path("i16"));
  EXPECT_EQ(i16.dtype(), DType::i32);
  EXPECT_EQ(i16.to_vector<int32_t>(), (std::vector<int32_t>{-300, 2, 32767}));
  write_plain(path("i32"), idx_head(0x0C, {2, 2}) + be_items<int32_t, uint32_t>({-7, 70000, 0, 1}));
  EXPECT_EQ(idx_load(path("i32")).to_vector<int32_t>(), (std::vector<int32_t>{-7, 70000, 0, 1}));
  write_gz(path("f32"), idx_head(0x0D, {2}) + be_items<float, uint32_t>({1.5f, -0.25f}));
  Tensor f32 = idx_load(path("f32"));
  EXPECT_EQ(f32.dtype(), DType::f32);
  EXPECT_EQ(f32.to_vector<float>(), (std::vector<float>{1.5f, -0.25f}));
  write_plain(path("f64"), idx_head(0x0E, {1, 2}) + be_items<double, uint64_t>({1e-300, 3.0}));
  Tensor f64 = idx_load(path("f64"));
  EXPECT_EQ(f64.shape(), (Shape{1, 2}));
  EXPECT_EQ(f64.to_vector<double>(), (std::vector<double>{1e-300, 3.0}));
  write_plain(path("empty"), idx_head(0x08, {0, 28, 28}));
  EXPECT_EQ(idx_load(path("empty")).shape(), (Shape{0, 28, 28}));
}

TEST_F(Idx, Errors) {
  const std::string good = idx_head(0x08, {2, 3}) + std::string(6, '\x01');
  expect_error([&] { idx_load(path("missing.gz")); }, {"missing.gz", "cannot open"});
  write_plain(path("magic"), std::string("\x01\x02\x08\x01", 4) + good.substr(4));
  expect_error([&] { idx_load(path("magic")); }, {"magic", "not an IDX file"});
  write_plain(path("short"), std::string("\x00\x00", 2));
  expect_error([&] { idx_load(path("short")); }, {"short", "not an IDX file"});
  write_plain(path("type"), idx_head(0x0A, {2, 3}) + std::string(6, '\x01'));
  expect_error([&] { idx_load(path("type")); }, {"type", "unknown IDX element type 0xa"});
  write_plain(path("rank0"), idx_head(0x08, {}));
  expect_error([&] { idx_load(path("rank0")); }, {"rank0", "rank 0"});
  write_plain(path("dims"), idx_head(0x08, {2, 3, 4}).substr(0, 10));
  expect_error([&] { idx_load(path("dims")); }, {"dims", "truncated", "3 dimensions"});
  write_plain(path("trunc"), good.substr(0, good.size() - 2));
  expect_error([&] { idx_load(path("trunc")); }, {"trunc", "need 6 data bytes, found 4"});
  write_gz(path("trunc.gz"), good.substr(0, good.size() - 1));
  expect_error([&] { idx_load(path("trunc.gz")); }, {"trunc.gz", "need 6 data bytes, found 5"});
  write_plain(path("trail"), good + "x");
  expect_error([&] { idx_load(path("trail")); }, {"trail", "trailing bytes"});
  write_plain(path("huge"), idx_head(0x0E, {0xffffffffu, 0xffffffffu, 0xffffffffu}));
  expect_error([&] { idx_load(path("huge")); }, {"huge", "too large"});

  // A gzip file cut short, and one with a damaged payload (CRC mismatch or inflate error).
  std::string big = idx_head(0x0D, {1000});
  for (int i = 0; i < 1000; ++i) big += big_endian(static_cast<uint32_t>(i * 2654435761u), 4);
  write_gz(path("full.gz"), big);
  std::ifstream in(path("full.gz"), std::ios::binary);
  const std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_plain(path("cut.gz"), gz.substr(0, gz.size() / 2));
  expect_error([&] { idx_load(path("cut.gz")); }, {"cut.gz", "truncated IDX file"});
  std::string damaged = gz;
  for (size_t i = gz.size() / 2; i < gz.size() / 2 + 8; ++i) damaged[i] ^= 0x5a;
  write_plain(path("damaged.gz"), damaged);
  EXPECT_THROW(idx_load(path("damaged.gz")), Error);
  std::string bad_crc = gz;
  bad_crc[gz.size() - 6] ^= 1;  // the CRC-32 in the gzip trailer
  write_plain(path("crc.gz"), bad_crc);
  expect_error([&] { idx_load(path("crc.gz")); },
               {"crc.gz: corrupt gzip data: incorrect data check"});
  EXPECT_EQ(idx_load(path("full.gz")).numel(), 1000);
}

TEST(IdxFashionMnist, DebianPackageFiles) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not installed (Debian package dataset-fashion-mnist): " << dir;
  Tensor train_x = idx_load(dir + "/train-images-idx3-ubyte.gz");
  Tensor train_y = idx_load(dir + "/train-labels-idx1-ubyte.gz");
  Tensor test_x = idx_load(dir + "/t10k-images-idx3-ubyte.gz");
  Tensor test_y = idx_load(dir + "/t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(train_x.dtype(), DType::u8);
  EXPECT_EQ(train_x.shape(), (Shape{60000, 28, 28}));
  EXPECT_EQ(train_y.shape(), (Shape{60000}));
  EXPECT_EQ(test_x.shape(), (Shape{10000, 28, 28}));
  EXPECT_EQ(test_y.shape(), (Shape{10000}));
  for (const auto& [labels, per_class] : {std::pair<Tensor, int>{train_y, 6000}, {test_y, 1000}}) {
    std::vector<int> count(10, 0);
    for (uint8_t y : labels.to_vector<uint8_t>()) {
      ASSERT_LT(y, 10);
      ++count[y];
    }
    for (int c = 0; c < 10; ++c) EXPECT_EQ(count[c], per_class) << "class " << c;
  }
  // Images use the full 0..255 range and are mostly background (0).
  const uint8_t* px = train_x.data<uint8_t>();
  int64_t zeros = 0, max = 0;
  for (int64_t i = 0; i < train_x.numel(); ++i) {
    zeros += px[i] == 0;
    max = std::max<int64_t>(max, px[i]);
  }
  EXPECT_EQ(max, 255);
  EXPECT_GT(zeros, train_x.numel() / 3);
  EXPECT_LT(zeros, train_x.numel());
}
