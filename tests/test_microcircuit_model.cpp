// The Potjans & Diesmann microcircuit builder (models/microcircuit/potjans.h), its spike
// statistics, and `rsnn microcircuit`: the published tables, synapse counts per pair, weight
// and delay distributions, DC compensation, reproducibility across thread counts, and a small
// network's rates within broad bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/microcircuit/analysis.h"
#include "models/microcircuit/potjans.h"
#include "runtime/hdf5_io.h"
#include "runtime/process.h"
#include "runtime/threads.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::mc;

namespace {

PotjansConfig small_config() {
  PotjansConfig c;
  c.scale = 0.02;
  c.k_scale = 0.1;
  c.seed = 3;
  return c;
}

int pop_of(const Microcircuit& m, int64_t i) {
  int p = 0;
  while (i >= m.offsets[p + 1]) ++p;
  return p;
}

// Mean of N(mu, sd) truncated below at lo.
double truncated_mean(double mu, double sd, double lo) {
  const double a = (lo - mu) / sd, pdf = std::exp(-0.5 * a * a) / std::sqrt(2 * M_PI);
  return mu + sd * pdf / (0.5 * std::erfc(a / std::sqrt(2.0)));
}

}  // namespace

TEST(MicrocircuitModel, PublishedTotals) {
  int64_t n = 0;
  for (int64_t x : kFullNeurons) n += x;
  EXPECT_EQ(n, 77169);
  const std::vector<int64_t> k = synapse_counts(1.0, 1.0);
  double total = 0;
  for (int64_t x : k) total += double(x);
  EXPECT_GT(total, 2.98e8);  // about 0.3 billion synapses
  EXPECT_LT(total, 3.00e8);
  EXPECT_EQ(k[0 * kPops + 5], 0);  // L5I -> L2/3E has probability 0
  EXPECT_NEAR(psc_from_psp(0.15, NeuronParams{}), 87.81, 0.01);
  // Halves round to even as in NEST's example: 2191.5 -> 2192, 106.5 -> 106, 7,717 in all.
  EXPECT_EQ(population_size(2, 0.1), 2192);
  EXPECT_EQ(population_size(5, 0.1), 106);
  int64_t n01 = 0;
  for (int p = 0; p < kPops; ++p) n01 += population_size(p, 0.1);
  EXPECT_EQ(n01, 7717);
}

TEST(MicrocircuitModel, BuiltNetworkFollowsTheTables) {
  const PotjansConfig c = small_config();
  const Microcircuit m = build_potjans(c);
  m.graph.validate("test");
  EXPECT_EQ(m.neurons(), 1544);
  std::vector<int64_t> count(kPops * kPops, 0);
  double w_sum[kPops][kPops] = {}, d_sum[2] = {};
  int64_t d_n[2] = {};
  for (int64_t s = 0; s < m.neurons(); ++s) {
    const int b = pop_of(m, s);
    for (int64_t k = m.graph.ptr[s]; k < m.graph.ptr[s + 1]; ++k) {
      const int a = pop_of(m, m.graph.target(k));
      ++count[a * kPops + b];
      w_sum[a][b] += m.graph.weight[k];
      EXPECT_TRUE(b % 2 == 0 ? m.graph.weight[k] >= 0.f : m.graph.weight[k] <= 0.f) << b;
      d_sum[b % 2] += m.graph.delay(k) * c.dt;
      ++d_n[b % 2];
    }
  }
  EXPECT_EQ(count, synapse_counts(c.scale, c.k_scale));
  EXPECT_EQ(count, m.synapses);
  const double w = psc_from_psp(0.15, NeuronParams{}) / std::sqrt(c.k_scale);
  EXPECT_NEAR(w_sum[2][2] / count[2 * kPops + 2], w, 0.01 * w);            // L4E -> L4E
  EXPECT_NEAR(w_sum[0][2] / count[0 * kPops + 2], 2 * w, 0.01 * 2 * w);    // L4E -> L2/3E doubled
  EXPECT_NEAR(w_sum[0][1] / count[0 * kPops + 1], -4 * w, 0.01 * 4 * w);   // g = -4
  EXPECT_NEAR(d_sum[0] / d_n[0], truncated_mean(1.5, 0.75, 0.1), 0.01);
  EXPECT_NEAR(d_sum[1] / d_n[1], truncated_mean(0.75, 0.375, 0.1), 0.01);
  EXPECT_EQ(m.graph.min_delay(), 1);
  // Poisson background: round(K_ext k) inputs at 8 Hz; DC restores the lost mean input.
  EXPECT_DOUBLE_EQ(m.drive.bg_lambda[0], 160 * 8.0 * 0.1e-3);
  EXPECT_FLOAT_EQ(m.drive.bg_weight[0], static_cast<float>(w));
  EXPECT_GT(m.drive.i_dc[0], 0.f);
}

// Sources and targets uniform: per-source out-degrees of a pair are multinomial and per-target
// in-degrees too, so both have variance close to their mean (Poisson-like, not fixed).
TEST(MicrocircuitModel, DegreesOfUniformSourcesAndTargets) {
  PotjansConfig c = small_config();
  c.scale = 0.05;
  const Microcircuit m = build_potjans(c);
  const int64_t e0 = m.offsets[2], e1 = m.offsets[3];  // L4E -> L4E
  std::vector<double> out(e1 - e0, 0), in(e1 - e0, 0);
  for (int64_t s = e0; s < e1; ++s)
    for (int64_t k = m.graph.ptr[s]; k < m.graph.ptr[s + 1]; ++k) {
      const int64_t t = m.graph.target(k);
      if (t >= e0 && t < e1) {
        ++out[s - e0];
        ++in[t - e0];
      }
    }
  for (const std::vector<double>* deg : {&out, &in}) {
    double sum = 0, sq = 0;
    for (double x : *deg) sum += x;
    const double mean = sum / double(deg->size());
    for (double x : *deg) sq += (x - mean) * (x - mean);
    const double var = sq / double(deg->size());
    EXPECT_NEAR(mean, double(m.synapses[2 * kPops + 2]) / double(e1 - e0), 1e-9);
    EXPECT_NEAR(var / mean, 1.0 - 1.0 / double(e1 - e0), 0.15);
  }
}

TEST(MicrocircuitModel, BackgroundCurrents) {
  PotjansConfig c = small_config();
  c.scale = 0.005;  // full in-degrees: keep the network small
  c.k_scale = 1.0;
  const Microcircuit full_k = build_potjans(c);
  EXPECT_EQ(full_k.drive.i_dc[0], 0.f);  // nothing to compensate
  c.poisson = false;
  const Microcircuit dc = build_potjans(c);
  EXPECT_EQ(dc.drive.bg_lambda[0], 0.0);
  // The mean of 1600 inputs of 87.81 pA at 8 Hz through a 0.5 ms synapse.
  EXPECT_NEAR(dc.drive.i_dc[0], 1e-3 * 0.5 * 87.81 * 1600 * 8, 0.01);
}

TEST(MicrocircuitModel, BuildIsReproducibleAcrossThreadCounts) {
  const PotjansConfig c = small_config();
  const int before = num_threads();
  set_num_threads(1);
  const Microcircuit a = build_potjans(c);
  set_num_threads(2);
  const Microcircuit b = build_potjans(c);
  EXPECT_EQ(a.graph.ptr, b.graph.ptr);
  EXPECT_EQ(a.graph.syn, b.graph.syn);
  EXPECT_EQ(a.graph.weight, b.graph.weight);
  EXPECT_EQ(a.v0, b.v0);
  set_num_threads(before);
  PotjansConfig other = c;
  other.seed = 4;
  EXPECT_NE(build_potjans(other).graph.syn, a.graph.syn);
}

TEST(MicrocircuitModel, SmallNetworkRatesInBroadBoundsAndReproducible) {
  const PotjansConfig c = small_config();
  const Microcircuit m = build_potjans(c);
  std::vector<std::string> names(kPopNames.begin(), kPopNames.end());
  std::vector<int32_t> first;
  for (int threads : {1, 2}) {
    State s = make_state(m.graph, m.v0);
    mc::detail::simulate_cpu_threads(m.graph, m.prop, m.drive, s, 1000, {}, threads);  // 100 ms
    const SimResult r = mc::detail::simulate_cpu_threads(m.graph, m.prop, m.drive, s, 2000, {}, threads);
    if (threads == 1) {
      first = r.spikes.neuron;
      for (const PopulationStats& p : population_stats(r.spikes, m.offsets, names, c.dt)) {
        EXPECT_TRUE(std::isfinite(p.rate_hz)) << p.name;
        EXPECT_GT(p.rate_hz, 0.1) << p.name;
        EXPECT_LT(p.rate_hz, 50.0) << p.name;
      }
    } else {
      EXPECT_EQ(r.spikes.neuron, first);
    }
  }
}

TEST(MicrocircuitModel, StatisticsOfAKnownRecord) {
  // Population A (neurons 0, 1): neuron 0 fires at steps 0, 10, 30 (ISIs 10, 20: CV 1/3).
  SpikeRecord rec;
  rec.step_ptr.assign(41, 0);
  std::vector<std::pair<int, int>> ev = {{0, 0}, {10, 0}, {30, 0}, {5, 2}};
  for (auto [t, i] : ev) {
    rec.neuron.push_back(i);
    for (int u = t + 1; u <= 40; ++u) ++rec.step_ptr[u];
  }
  rec.neuron = {0, 2, 0, 0};  // in step order: steps 0, 5, 10, 30
  const auto st = population_stats(rec, {0, 2, 3}, {"A", "B"}, 1.0, 10.0);
  EXPECT_EQ(st[0].spikes, 3);
  EXPECT_NEAR(st[0].rate_hz, 3 / (2 * 0.04), 1e-9);
  EXPECT_NEAR(st[0].cv_isi, 1.0 / 3.0, 1e-12);
  EXPECT_EQ(st[0].cv_neurons, 1);
  EXPECT_TRUE(std::isnan(st[1].cv_isi));
  // Bins of 10 steps: A has counts 1, 1, 0, 1 -> mean 0.75, variance 0.1875.
  EXPECT_NEAR(st[0].synchrony, 0.25, 1e-12);
  EXPECT_NE(stats_csv(st).find("A,2,3,37.5,0.333333,1,0.25"), std::string::npos) << stats_csv(st);
}

TEST(MicrocircuitModel, SpikesIntoHdf5WithSampling) {
  SpikeRecord rec;  // steps 0..3: neuron 1 at 0, neuron 0 at 1, neurons 0 and 2 at 3
  rec.step_ptr = {0, 1, 2, 2, 4};
  rec.neuron = {1, 0, 0, 2};
  test::TempDir dir("rsnn_mc_h5");
  const std::string path = dir.dir() + "/spikes.h5";
  write_spikes_h5(path, rec, {0, 2, 3}, {"A", "B"}, 0.1, 0.5);  // records neuron 0 of A, 2 of B
  H5File f = H5File::open_read(path);
  EXPECT_EQ(f.read("/spikes/A/neuron").to_vector<int32_t>(), (std::vector<int32_t>{0, 0}));
  const std::vector<double> ta = f.read("/spikes/A/time_ms").to_vector<double>();
  ASSERT_EQ(ta.size(), 2u);
  EXPECT_NEAR(ta[0], 0.2, 1e-12);
  EXPECT_NEAR(ta[1], 0.4, 1e-12);
  EXPECT_EQ(f.read("/spikes/B/neuron").to_vector<int32_t>(), (std::vector<int32_t>{0}));
  EXPECT_EQ(f.get_attr_int("/spikes/A", "recorded"), 1);
  EXPECT_EQ(f.get_attr_int("/spikes/A", "size"), 2);
  EXPECT_EQ(f.get_attr_int("/", "steps"), 4);
  f.close();
  write_spikes_h5(path, rec, {0, 2, 3}, {"A", "B"}, 0.1, 1.0);
  EXPECT_EQ(H5File::open_read(path).read("/spikes/A/neuron").to_vector<int32_t>(), (std::vector<int32_t>{1, 0, 0}));
  EXPECT_THROW(write_spikes_h5(path, rec, {0, 2, 3}, {"A", "B"}, 0.1, 0.0), Error);
}

TEST(MicrocircuitModel, BadConfigIsAnError) {
  PotjansConfig c = small_config();
  c.scale = 0;
  EXPECT_THROW(build_potjans(c), Error);
  c = small_config();
  c.k_scale = 1.5;
  EXPECT_THROW(build_potjans(c), Error);
  c = small_config();
  c.scale = 1e-5;  // empty populations
  EXPECT_THROW(build_potjans(c), Error);
  c = small_config();
  c.delay_inh = 0.05;
  EXPECT_THROW(build_potjans(c), Error);
}

TEST(MicrocircuitCli, WritesRatesAndRejectsBadFlags) {
  test::TempDir dir("rsnn_mc");
  const std::string out = dir.dir() + "/run";
  test::CmdResult r = test::run_rsnn("microcircuit --scale 0.02 --k-scale 0.1 --time 50 --presim 20 --seed 2 --out " + out);
  ASSERT_EQ(r.rc, 0) << r.out;
  std::ifstream csv(out + "/rates.csv");
  std::string line;
  int rows = 0;
  std::getline(csv, line);
  EXPECT_EQ(line, "population,neurons,spikes,rate_hz,cv_isi,cv_neurons,synchrony");
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, kPops);
  std::ifstream js(out + "/summary.json");
  std::stringstream ss;
  ss << js.rdbuf();
  EXPECT_NE(ss.str().find("\"neurons\": 1544"), std::string::npos);
  EXPECT_NE(ss.str().find("\"bytes_per_synapse\": 8"), std::string::npos);
  H5File h5 = H5File::open_read(out + "/spikes.h5");
  EXPECT_TRUE(h5.is_dataset("/spikes/L23E/neuron"));
  EXPECT_TRUE(h5.is_dataset("/spikes/L6I/time_ms"));
  for (const char* bad : {"--scale 1.5", "--scale 0.02 --background noise", "--scale 0.02 --time 0.05",
                          "--scale 0.02 --k-scale 0", "--scale 0.02 --record-fraction 1.5", "--scale 0.02 --v0 flat"}) {
    r = test::run_rsnn(std::string("microcircuit ") + bad + " --out " + out);
    EXPECT_NE(r.rc, 0) << bad;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << bad << ": " << r.out;
  }
}

namespace {
// True when `path` starts with the PNG signature and an IHDR chunk of nonzero width and height.
bool valid_png(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  unsigned char h[24] = {};
  if (!f.read(reinterpret_cast<char*>(h), 24)) return false;
  const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (!std::equal(sig, sig + 8, h) || std::string(reinterpret_cast<char*>(h + 12), 4) != "IHDR") return false;
  auto be32 = [&](int o) { return (uint32_t(h[o]) << 24) | (uint32_t(h[o + 1]) << 16) | (uint32_t(h[o + 2]) << 8) | h[o + 3]; };
  return be32(16) > 0 && be32(20) > 0;
}
}  // namespace

TEST(MicrocircuitCli, DrawsRasterAndRatePngs) {
  const std::string script = std::string(RSNN_SOURCE_DIR) + "/tools/plot_microcircuit.py";
  setenv("RSNN_MC_PLOT_SCRIPT", script.c_str(), 1);  // the child rsnn inherits it
  const PythonScript ps = find_python_script("plot_microcircuit.py", "RSNN_MC_PLOT_SCRIPT", "matplotlib, h5py, numpy");
  if (!ps.found()) GTEST_SKIP() << ps.why_not;
  test::TempDir dir("rsnn_mc_png");
  const std::string out = dir.dir() + "/run";
  const test::CmdResult r =
      test::run_rsnn("microcircuit --scale 0.02 --k-scale 0.1 --time 100 --presim 20 --plot on --out " + out);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(valid_png(out + "/raster.png")) << r.out;
  EXPECT_TRUE(valid_png(out + "/rates.png")) << r.out;
  EXPECT_FALSE(std::filesystem::exists(out + "/rates.png.tmp.png"));
  // --plot off draws nothing; --plot must be one of the three words.
  const std::string off = dir.dir() + "/off";
  ASSERT_EQ(test::run_rsnn("microcircuit --scale 0.02 --time 10 --presim 0 --plot off --out " + off).rc, 0);
  EXPECT_FALSE(std::filesystem::exists(off + "/rates.png"));
  EXPECT_NE(test::run_rsnn("microcircuit --scale 0.02 --time 10 --plot maybe --out " + off).rc, 0);
}
