#include <gtest/gtest.h>
#include <cmath>
#include <sstream>
#include <algorithm>

#include "runtime/tensor.h"
#include "test_util.h"

using namespace rsnn;

TEST(Tensor, ShapeNumelAndAccess) {
  Tensor t = Tensor::zeros({2, 3, 4}, DType::f32);
  EXPECT_EQ(t.ndim(), 3);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_EQ(t.nbytes(), 96u);
  EXPECT_EQ(t.shape_str(), "[2, 3, 4]");
  for (int i = 0; i < 24; ++i) EXPECT_EQ(t.data<float>()[i], 0.0f);
  EXPECT_THROW(t.data<double>(), Error);
  EXPECT_THROW(t.size(3), Error);
}

TEST(Tensor, FromVectorCloneAndShare) {
  Tensor a = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor shared = a;
  Tensor deep = a.clone();
  a.data<double>()[0] = 42;
  EXPECT_EQ(shared.data<double>()[0], 42);
  EXPECT_EQ(deep.data<double>()[0], 1);
  EXPECT_THROW(Tensor::from_vector<float>({1, 2, 3}, {2, 2}), Error);
}

TEST(Tensor, ReshapeAndNarrowAreViews) {
  Tensor a = Tensor::from_vector<int32_t>({0, 1, 2, 3, 4, 5, 6, 7}, {4, 2});
  Tensor r = a.reshape({2, -1});
  EXPECT_EQ(r.shape(), (Shape{2, 4}));
  Tensor rows = a.narrow0(1, 2);
  EXPECT_EQ(rows.shape(), (Shape{2, 2}));
  EXPECT_EQ(rows.data<int32_t>()[0], 2);
  rows.data<int32_t>()[0] = -1;
  EXPECT_EQ(a.data<int32_t>()[2], -1);
  EXPECT_THROW(a.reshape({3, -1}), Error);
  EXPECT_THROW(a.narrow0(3, 2), Error);
}

TEST(Tensor, DtypeConversionAndItem) {
  Tensor a = Tensor::from_vector<float>({1.5f, -2.0f, 3.25f});
  Tensor d = a.to_dtype(DType::f64);
  EXPECT_EQ(d.dtype(), DType::f64);
  EXPECT_DOUBLE_EQ(d.data<double>()[2], 3.25);
  Tensor i = a.to_dtype(DType::i64);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_FLOAT_EQ(Tensor::full({1}, 7.0).item<float>(), 7.0f);
  EXPECT_THROW(a.item<float>(), Error);
}

TEST(Tensor, ChecksGiveClearMessages) {
  Tensor a = Tensor::zeros({2, 3});
  try {
    check_shape(a, {3, 2}, "weights");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "weights: expected shape [3, 2], got [2, 3]");
  }
  a.data<float>()[4] = std::nanf("");
  try {
    check_finite(a, "input");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("flat index 4"), std::string::npos) << e.what();
  }
}

TEST(Device, ParseAndFallback) {
  EXPECT_TRUE(parse_device("cpu").is_cpu());
  EXPECT_EQ(parse_device("cuda:1").index, 1);
  EXPECT_THROW(parse_device("tpu"), Error);
  EXPECT_THROW(parse_device("cuda:x"), Error);
  std::ostringstream log;
  Device d = select_device("cuda", &log);
  if (!cuda_usable()) {
    EXPECT_TRUE(d.is_cpu());
    const std::string msg = log.str();
    EXPECT_NE(msg.find("running on the CPU"), std::string::npos);
    EXPECT_EQ(std::count(msg.begin(), msg.end(), '\n'), 1);
  } else {
    EXPECT_TRUE(d.is_cuda());
  }
}

TEST(Pool, ReusesFreedBlocksAndTracksPeak) {
  const Device cpu = Device::cpu();
  pool_empty_cache(cpu);
  pool_reset_peak(cpu);
  const PoolStats s0 = pool_stats(cpu);
  void* p = alloc_bytes(cpu, 1000);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  free_bytes(cpu, p);
  void* q = alloc_bytes(cpu, 900);  // same 1024-byte class: served from the cache
  EXPECT_EQ(p, q);
  const PoolStats s1 = pool_stats(cpu);
  EXPECT_EQ(s1.cache_hits, s0.cache_hits + 1);
  EXPECT_GE(s1.peak_bytes_in_use, s0.bytes_in_use + 1024);
  free_bytes(cpu, q);
  EXPECT_THROW(free_bytes(cpu, reinterpret_cast<void*>(0x1234)), Error);
}

TEST(CudaTensor, RoundTripThroughDevice) {
  RSNN_SKIP_WITHOUT_CUDA();
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
  Tensor g = a.to(Device::cuda());
  EXPECT_TRUE(g.device().is_cuda());
  Tensor z = Tensor::zeros({2, 2}, DType::f32, Device::cuda());
  z.copy_from(g);
  EXPECT_EQ(z.to_vector<float>(), a.to_vector<float>());
  Tensor f = Tensor::full({3}, 2.5, DType::f64, Device::cuda());
  EXPECT_EQ(f.to_vector<double>(), (std::vector<double>{2.5, 2.5, 2.5}));
}
