// runtime/dist.h: shard plans, the ordered shard sum and the byte gather, on one rank here and
// on 2 and 4 ranks through mpirun (this program re-runs itself as the ranks' worker).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/dist.h"
#include "test_util.h"

namespace {
using rsnn::dist::Range;

// A partial whose order of addition matters in float: values of very different sizes.
float partial(int shard, size_t i) {
  return float(std::ldexp(1.0 + 0.37 * double(i % 7), (shard * 11 + int(i)) % 40 - 20)) *
         (shard % 2 ? -1.0f : 1.0f);
}
std::vector<float> expected_sum(int shards, size_t n) {
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    float s = partial(0, i);
    for (int k = 1; k < shards; ++k) s += partial(k, i);
    out[i] = s;
  }
  return out;
}

TEST(Dist, BlocksCoverEveryItemOnce) {
  for (int64_t count : {0, 1, 5, 7, 128})
    for (int ranks : {1, 2, 3, 4}) {
      int64_t next = 0;
      for (int r = 0; r < ranks; ++r) {
        Range b = rsnn::dist::block(count, ranks, r);
        EXPECT_EQ(b.begin, next);
        EXPECT_LE(b.size(), count / ranks + 1);
        EXPECT_GE(b.size(), count / ranks);
        next = b.end;
      }
      EXPECT_EQ(next, count);
    }
}

TEST(Dist, OneRankPlanHoldsEveryShard) {
  ASSERT_FALSE(rsnn::dist::active()) << "run this suite without mpirun";
  rsnn::dist::ShardPlan p = rsnn::dist::plan_shards(10, 4);
  EXPECT_EQ(p.shards, 4);
  EXPECT_EQ(p.first_shard, 0);
  EXPECT_EQ(p.local_shards, 4);
  EXPECT_EQ(p.samples(0).begin, 0);
  EXPECT_EQ(p.samples(0).end, 3);
  EXPECT_EQ(p.samples(3).end, 10);
  EXPECT_EQ(rsnn::dist::plan_shards(10, 0).shards, 1);  // 0: one shard per rank
}

TEST(Dist, BadShardCountsAreErrors) {
  using rsnn::test::expect_error;
  expect_error([] { rsnn::dist::check_shards(8, 3, 2, "--shards"); }, {"--shards 3", "multiple of the 2"});
  expect_error([] { rsnn::dist::check_shards(2, 4, 4, "--shards"); }, {"--shards 4", "batch of 2"});
  expect_error([] { rsnn::dist::check_shards(8, -1, 1, "--shards"); }, {"--shards", ">= 0"});
  EXPECT_NO_THROW(rsnn::dist::check_shards(8, 0, 4, "--shards"));
}

TEST(Dist, OneRankSumsShardsInOrder) {
  const int shards = 4;
  const size_t n = 53;
  std::vector<float> local(shards * n);
  for (int s = 0; s < shards; ++s)
    for (size_t i = 0; i < n; ++i) local[s * n + i] = partial(s, i);
  std::vector<float> out(n);
  rsnn::dist::sum_shards(local.data(), shards, n, out.data());
  EXPECT_EQ(0, std::memcmp(out.data(), expected_sum(shards, n).data(), n * sizeof(float)));
  // The fixture is order-sensitive: summing in reverse gives other bits somewhere.
  bool differs = false;
  for (size_t i = 0; i < n; ++i) {
    float r = partial(3, i) + partial(2, i) + partial(1, i) + partial(0, i);
    differs |= r != out[i];
  }
  EXPECT_TRUE(differs);
}

// The worker: runs inside each rank when RSNN_DIST_WORKER is set.
TEST(DistWorker, SumAndGather) {
  if (!std::getenv("RSNN_DIST_WORKER")) GTEST_SKIP() << "runs only as an mpirun worker";
  rsnn::dist::init(nullptr, nullptr);
  ASSERT_TRUE(rsnn::dist::active());
  const int shards = 4;
  const size_t n = 1000;
  rsnn::dist::ShardPlan p = rsnn::dist::plan_shards(9, shards);
  std::vector<float> local(size_t(p.local_shards) * n);
  for (int s = 0; s < p.local_shards; ++s)
    for (size_t i = 0; i < n; ++i) local[s * n + i] = partial(p.first_shard + s, i);
  std::vector<float> out(n);
  rsnn::dist::sum_shards(local.data(), p.local_shards, n, out.data());
  EXPECT_EQ(0, std::memcmp(out.data(), expected_sum(shards, n).data(), n * sizeof(float)));

  // Rank r sends r+1 bytes of value r.
  const int r = rsnn::dist::rank();
  std::vector<uint8_t> mine(size_t(r) + 1, uint8_t(r));
  std::vector<size_t> off;
  std::vector<uint8_t> all = rsnn::dist::allgather_bytes(mine.data(), mine.size(), &off);
  ASSERT_EQ(off.size(), size_t(rsnn::dist::size()) + 1);
  for (int k = 0; k < rsnn::dist::size(); ++k) {
    ASSERT_EQ(off[k + 1] - off[k], size_t(k) + 1);
    for (size_t j = off[k]; j < off[k + 1]; ++j) EXPECT_EQ(all[j], k);
  }
  // The inline form: ranks 0 and 1 fit in 2 bytes, the others overflow into the second gather.
  for (size_t inline_bytes : {size_t(0), size_t(2), size_t(64)}) {
    std::vector<size_t> off2;
    EXPECT_EQ(rsnn::dist::allgather_bytes(mine.data(), mine.size(), &off2, inline_bytes), all);
    EXPECT_EQ(off2, off);
  }
  EXPECT_EQ(rsnn::dist::sum_int(r + 1), int64_t(rsnn::dist::size()) * (rsnn::dist::size() + 1) / 2);
  double v = r == 0 ? 2.5 : 0.0;
  rsnn::dist::broadcast(&v, sizeof v);
  EXPECT_EQ(v, 2.5);
  rsnn::dist::finalize();
}

class DistRanks : public ::testing::TestWithParam<int> {};

TEST_P(DistRanks, WorkersAgreeWithOneRank) {
  const std::string self = ::testing::internal::GetArgvs()[0];
  rsnn::test::CmdResult r = rsnn::test::run_command(
      "RSNN_DIST_WORKER=1 " + rsnn::test::mpirun(GetParam()) + self +
      " --gtest_color=no --gtest_filter=DistWorker.SumAndGather");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("[  PASSED  ] 1 test"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("SKIPPED"), std::string::npos) << r.out;
}
INSTANTIATE_TEST_SUITE_P(Mpirun, DistRanks, ::testing::Values(2, 4));

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// A command that does not split its work runs once, on rank 0; a bad flag fails every rank.
TEST(DistCli, UndistributedCommandRunsOnRankZeroAlone) {
  rsnn::test::CmdResult r = rsnn::test::run_command(rsnn::test::mpirun(3) + rsnn::test::rsnn_exe() + " info");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(count(r.out, "CPU threads:"), 1u) << r.out;
  EXPECT_EQ(count(r.out, "rsnn: info runs on rank 0 alone while the other ranks wait\n"), 1u) << r.out;
  r = rsnn::test::run_command(rsnn::test::mpirun(2) + rsnn::test::rsnn_exe() + " info --bogus");
  EXPECT_NE(r.rc, 0) << r.out;
  // Every rank fails the same way; the first to abort may end the other before it prints.
  EXPECT_NE(r.out.find(" of 2: The following argument was not expected: --bogus"), std::string::npos) << r.out;
}

}  // namespace
