// The neuron-partitioned microcircuit (kernels/microcircuit_dist.h, build_potjans_local, and
// `mpirun -np N rsnn microcircuit`): each rank's part is the full network restricted to its
// neurons, and 2 and 4 ranks in both partition modes give the one-rank run's spikes exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/microcircuit_dist.h"
#include "models/microcircuit/potjans.h"
#include "runtime/error.h"
#include "runtime/hdf5_io.h"
#include "runtime/philox.h"
#include "test_util.h"

namespace {
using namespace rsnn;
using namespace rsnn::mc;

PotjansConfig small_config(uint64_t seed = 3) {
  PotjansConfig c;
  c.scale = 0.01;
  c.k_scale = 0.05;
  c.seed = seed;
  return c;
}

std::vector<Partition> all_parts(const PotjansConfig& c, const std::string& mode, int ranks) {
  std::vector<Partition> out;
  for (int r = 0; r < ranks; ++r) out.push_back(potjans_partition(c, mode, ranks, r));
  return out;
}

TEST(MicrocircuitDist, PartitionsCoverEveryNeuronOnce) {
  const PotjansConfig c = small_config();
  const int64_t n = build_potjans(c).neurons();
  for (const char* mode : {"round-robin", "population"})
    for (int ranks : {1, 2, 3, 4, 7}) {
      std::vector<int> seen(n, 0);
      int64_t total = 0;
      for (const Partition& p : all_parts(c, mode, ranks)) {
        ASSERT_EQ(p.n, n);
        total += p.local_count();
        for (int64_t l = 0; l < p.local_count(); ++l) {
          const int64_t i = p.global_id(l);
          ASSERT_EQ(p.owner(i), p.rank) << mode << " " << ranks;
          ASSERT_EQ(p.local_index(i), l);
          ASSERT_TRUE(l == 0 || p.global_id(l - 1) < i) << "local order must keep the global order";
          ++seen[i];
        }
      }
      EXPECT_EQ(total, n);
      EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), n) << mode << " " << ranks;
    }
  // Population mode cuts contiguous ranges of about equal load, so they differ from even blocks.
  const Partition p0 = potjans_partition(c, "population", 4, 0);
  EXPECT_EQ(p0.mode, Partition::Mode::kBlocks);
  EXPECT_GT(p0.local_count(), 0);
  test::expect_error([&] { potjans_partition(c, "random", 2, 0); }, "--partition");
  EXPECT_THROW(block_partition({0, 5, 3}, 0), Error);
}

TEST(MicrocircuitDist, LocalBuildIsTheFullNetworkRestricted) {
  const PotjansConfig c = small_config();
  const Microcircuit full = build_potjans(c);
  for (const char* mode : {"round-robin", "population"})
    for (int ranks : {2, 3}) {
      int64_t nnz = 0;
      for (const Partition& p : all_parts(c, mode, ranks)) {
        const LocalMicrocircuit m = build_potjans_local(c, p);
        const LocalCsr want = local_csr(full.graph, p);
        m.graph.validate("local graph");
        ASSERT_EQ(m.graph.ptr, want.ptr) << mode << " rank " << p.rank << " of " << ranks;
        ASSERT_EQ(m.graph.syn, want.syn) << mode << " rank " << p.rank;
        ASSERT_EQ(m.graph.weight, want.weight) << mode << " rank " << p.rank;
        EXPECT_EQ(m.v0, local_slice(full.v0, p));
        EXPECT_EQ(m.drive.i_dc, local_slice(full.drive.i_dc, p));
        EXPECT_EQ(m.drive.bg_lambda, local_slice(full.drive.bg_lambda, p));
        nnz += m.graph.nnz();
      }
      EXPECT_EQ(nnz, full.graph.nnz());
    }
  // A different seed gives a different network (the comparison above can fail).
  const Partition p = potjans_partition(c, "round-robin", 2, 0);
  EXPECT_NE(build_potjans_local(small_config(4), p).graph.syn, local_csr(full.graph, p).syn);
}

// A random network whose delays are 3..9 steps, so several steps run between exchanges.
DelayCsr slow_network(int64_t n, uint64_t seed) {
  std::vector<int32_t> src, tgt;
  std::vector<float> w;
  std::vector<int> d;
  for (int64_t k = 0; k < n * 30; ++k) {
    const philox::Words b = philox::block(seed, 9, k);
    src.push_back(int32_t(b.v[0] % n));
    tgt.push_back(int32_t(b.v[1] % n));
    w.push_back(float(int(b.v[2] % 2001) - 700) * 0.05f);
    d.push_back(3 + int(b.v[3] % 7));
  }
  return delay_csr_from_lists(n, src, tgt, w, d);
}

TEST(MicrocircuitDist, OneRankMatchesTheReferenceAtAnyInterval) {
  const int64_t n = 300;
  const DelayCsr g = slow_network(n, 5);
  Drive drive;
  drive.i_dc.assign(n, 420.f);
  drive.bg_lambda.assign(n, 0.3);
  drive.bg_weight.assign(n, 40.f);
  drive.seed = 11;
  const LifPropagators p = make_propagators(NeuronParams{}, 0.1);
  std::vector<float> v0(n);
  for (int64_t i = 0; i < n; ++i) v0[i] = float(i % 15);
  State ref_state = make_state(g, v0);
  const SimResult ref = simulate_reference(g, p, drive, ref_state, 400);
  ASSERT_GT(ref.spikes.neuron.size(), 100u);
  const Partition part = round_robin_partition(n, 1, 0);
  const LocalCsr lg = local_csr(g, part);
  for (int interval : {1, 2, 3}) {
    State s = make_local_state(lg, v0);
    ExchangeStats xs;
    SimResult r = simulate_dist(lg, part, p, drive, s, 150, interval, true, &xs);
    const SimResult r2 = simulate_dist(lg, part, p, drive, s, 250, interval, true, &xs);  // a split run
    for (size_t t = 1; t < r2.spikes.step_ptr.size(); ++t) r.spikes.step_ptr.push_back(r2.spikes.step_ptr[t] + r.spikes.neuron.size());
    r.spikes.neuron.insert(r.spikes.neuron.end(), r2.spikes.neuron.begin(), r2.spikes.neuron.end());
    EXPECT_EQ(r.spikes.step_ptr, ref.spikes.step_ptr) << "interval " << interval;
    EXPECT_EQ(r.spikes.neuron, ref.spikes.neuron) << "interval " << interval;
    EXPECT_EQ(s.v, ref_state.v);
    EXPECT_EQ(s.ring, ref_state.ring) << "interval " << interval;  // the synapses still in flight
    EXPECT_EQ(xs.intervals, (150 + interval - 1) / interval + (250 + interval - 1) / interval);
    EXPECT_EQ(xs.spikes_sent, int64_t(ref.spikes.neuron.size()));
  }
  State s = make_local_state(lg, v0);
  EXPECT_THROW(simulate_dist(lg, part, p, drive, s, 10, 4, true), Error);  // beyond the minimum delay
}

// ---- the command under mpirun ----

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Every spike dataset of a spikes.h5 (HDF5 stamps object times, so the files' bytes differ
// between any two runs; their contents must not).
std::string spike_contents(const std::string& path) {
  H5File h5 = H5File::open_read(path);
  std::string all;
  for (const char* pop : {"L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"})
    for (const char* what : {"neuron", "time_ms"}) {
      const Tensor t = h5.read(std::string("/spikes/") + pop + "/" + what);
      all += std::string(pop) + what + std::string(static_cast<const char*>(t.raw()), t.nbytes());
    }
  return all;
}

std::set<std::string> files_in(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

const char* kArgs = " microcircuit --scale 0.02 --time 150 --presim 50 --plot off --threads 1 --out ";

TEST(MicrocircuitDistCli, RanksGiveTheOneRankSpikes) {
  test::TempDir dir("rsnn_mcdist");
  const std::string one = dir.dir() + "/one";
  test::CmdResult r = test::run_command(test::rsnn_exe() + kArgs + one + " --seed 7");
  ASSERT_EQ(r.rc, 0) << r.out;
  const std::string rates = read_text(one + "/rates.csv"), spikes = spike_contents(one + "/spikes.h5");
  ASSERT_GT(spikes.size(), 200u);
  struct Case { int np; const char* mode; };
  for (const Case& c : {Case{2, "round-robin"}, Case{2, "population"}, Case{4, "round-robin"}, Case{4, "population"}}) {
    const std::string out = dir.dir() + "/np" + std::to_string(c.np) + c.mode;
    r = test::run_command(test::mpirun(c.np) + test::rsnn_exe() + kArgs + out + " --seed 7 --partition " + c.mode);
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_EQ(read_text(out + "/rates.csv"), rates) << c.np << " " << c.mode;
    EXPECT_EQ(spike_contents(out + "/spikes.h5"), spikes) << c.np << " " << c.mode;
    EXPECT_EQ(files_in(out), files_in(one)) << "rank 0 writes the one-rank files, nobody else writes";
    const std::string js = read_text(out + "/summary.json");
    EXPECT_NE(js.find("\"ranks\": " + std::to_string(c.np)), std::string::npos) << js;
    EXPECT_NE(js.find(std::string("\"partition\": \"") + c.mode + "\""), std::string::npos);
    EXPECT_NE(js.find("\"rank\": " + std::to_string(c.np - 1)), std::string::npos);
    const size_t table = r.out.find("population  rate_hz"), built = r.out.find(" neurons, ");
    ASSERT_NE(table, std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("population  rate_hz", table + 1), std::string::npos) << "only rank 0 prints: " << r.out;
    EXPECT_EQ(r.out.find(" neurons, ", built + 1), std::string::npos) << "only rank 0 prints: " << r.out;
  }
  // The comparison can fail: another seed gives other spikes.
  const std::string other = dir.dir() + "/other";
  r = test::run_command(test::mpirun(2) + test::rsnn_exe() + kArgs + other + " --seed 8");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(spike_contents(other + "/spikes.h5"), spikes);
}

TEST(MicrocircuitDistCli, BadPartitionIsAnError) {
  test::TempDir dir("rsnn_mcdist");
  for (const std::string& start : {test::rsnn_exe(), test::mpirun(2) + test::rsnn_exe()}) {
    const test::CmdResult r = test::run_command(start + kArgs + dir.dir() + "/x --partition random");
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.out.find("--partition: expected round-robin or population, got 'random'"), std::string::npos) << r.out;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.dir() + "/x/rates.csv"));
}

}  // namespace
