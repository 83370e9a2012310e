// MICrONS field loader and the variants' recurrent initialisations (spec §1, §1a, §6).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "models/microns/field.h"
#include "models/microns/variants.h"
#include "runtime/npy.h"
#include "test_util.h"

using namespace rsnn;
using namespace rsnn::microns;
namespace fs = std::filesystem;

namespace {

std::string micron_dir() { return test::shared_data_dir() + "/microns"; }

#define SKIP_WITHOUT_FIELD(name)                                                      \
  do {                                                                                \
    if (!fs::exists(micron_dir() + "/" name "/sttc_matrix.npy"))                     \
      GTEST_SKIP() << "MICrONS field " name " not found under " << micron_dir();     \
  } while (0)

LoadOptions plain_positions_662() {
  LoadOptions o;
  o.positions_path = micron_dir() + "/6_6_2_derived/positions_plain_int64_Nx3.npy";
  return o;
}

// A copy of a field folder (and INF.md) in `tmp`, so that files can be broken.
std::string copy_field(const test::TempDir& tmp, const std::string& name) {
  const std::string dst = tmp.path(name);
  fs::create_directories(dst);
  for (const auto& e : fs::directory_iterator(micron_dir() + "/" + name))
    fs::copy_file(e.path(), dst + "/" + e.path().filename().string());
  fs::copy_file(micron_dir() + "/INF.md", tmp.path("INF.md"));
  for (const auto& e : fs::directory_iterator(dst))
    fs::permissions(e.path(), fs::perms::owner_read | fs::perms::owner_write);
  return dst;
}

struct Stats {
  double diag_mean = 0, diag_max = 0, off_mean = 0, off_max = 0, sum_abs = 0, min = 1e9;
};
Stats stats(const std::vector<float>& W, int N) {
  Stats s;
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      const double w = W[size_t(i) * N + j];
      s.sum_abs += std::fabs(w);
      s.min = std::min(s.min, w);
      if (i == j) s.diag_mean += w / N, s.diag_max = std::max(s.diag_max, w);
      else s.off_mean += w / (double(N) * (N - 1)), s.off_max = std::max(s.off_max, w);
    }
  return s;
}

}  // namespace

TEST(MicronsField, Loads662) {
  SKIP_WITHOUT_FIELD("6_6_2");
  const Field f = load_field(micron_dir() + "/6_6_2", plain_positions_662());
  EXPECT_EQ(f.name, "6_6_2");
  ASSERT_EQ(f.N, 312);
  EXPECT_EQ(f.grid.nx, 12);
  EXPECT_EQ(f.grid.ny, 13);
  EXPECT_EQ(f.grid.nz, 2);
  double syn = 0;
  int nz = 0;
  for (double c : f.connectome) syn += c, nz += c != 0;
  EXPECT_EQ(syn, 338);  // spec §6
  EXPECT_EQ(nz, 316);
  for (int i = 0; i < 312; ++i) {
    EXPECT_DOUBLE_EQ(f.sttc[i * 312 + i], 1.0);
    for (int j = 0; j < i; ++j) ASSERT_EQ(f.sttc[i * 312 + j], f.sttc[j * 312 + i]);
  }
  ASSERT_EQ(f.positions.size(), 312u * 3);
  for (int i = 0; i < 312; ++i) {
    EXPECT_GE(f.positions[i * 3], 123392);
    EXPECT_LE(f.positions[i * 3], 372800);
    EXPECT_GE(f.positions[i * 3 + 2], 15012);
  }
  EXPECT_EQ(f.root_ids.size(), 312u);
}

TEST(MicronsField, Loads572AfterConversion) {
  SKIP_WITHOUT_FIELD("5_7_2");
  test::TempDir tmp("microns_field");
  const std::string dir = copy_field(tmp, "5_7_2");
  // The published positions are a pickle: refused with the converter named.
  test::expect_error([&] { load_field(dir); },
                     {"positions_5_7_2.npy", "pickled", "tools/microns_positions_to_npy.py"});
  const std::string conv = std::string(RSNN_SOURCE_DIR) + "/tools/microns_positions_to_npy.py";
  const std::string cmd = "/usr/bin/python3 -c 'import numpy' 2>/dev/null && /usr/bin/python3 " +
                          conv + " " + dir + "/positions_5_7_2.npy >/dev/null";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "python3 with numpy unavailable: " << cmd;
  const Field f = load_field(dir);
  EXPECT_EQ(f.N, 390);
  EXPECT_EQ(f.grid.size(), 390);
  EXPECT_EQ(f.grid.nx, 13);
  EXPECT_EQ(f.positions.size(), 390u * 3);
  // An explicit grid overrides INF.md, and must multiply to N.
  LoadOptions o;
  o.grid = {390, 1, 1};
  EXPECT_EQ(load_field(dir, o).grid.nx, 390);
  o.grid = {10, 10, 1};
  test::expect_error([&] { load_field(dir, o); }, {"does not multiply to N = 390"});
}

TEST(MicronsField, BadInputsAreOneLineErrors) {
  SKIP_WITHOUT_FIELD("6_6_2");
  test::TempDir tmp("microns_bad");
  const std::string dir = copy_field(tmp, "6_6_2");
  const LoadOptions o = plain_positions_662();
  ASSERT_EQ(load_field(dir, o).N, 312);
  const std::string corr = dir + "/corr_matrix.npy";
  const Tensor good = npy_load(corr);
  // wrong shape
  npy_save(corr, Tensor::zeros({311, 312}, DType::f64));
  test::expect_error([&] { load_field(dir, o); }, {"corr_matrix.npy", "expected shape [312, 312]"});
  // NaN
  std::vector<double> v = good.to_vector<double>();
  v[5 * 312 + 7] = NAN;
  npy_save(corr, Tensor::from_vector(v, {312, 312}));
  test::expect_error([&] { load_field(dir, o); }, {"corr_matrix.npy", "non-finite", "[5, 7]"});
  // asymmetric
  v = good.to_vector<double>();
  v[5 * 312 + 7] += 0.5;
  npy_save(corr, Tensor::from_vector(v, {312, 312}));
  test::expect_error([&] { load_field(dir, o); }, {"corr_matrix.npy", "not symmetric"});
  // missing
  fs::remove(corr);
  test::expect_error([&] { load_field(dir, o); }, {"corr_matrix.npy", "missing file"});
  npy_save(corr, good);
  // a negative synapse count in the CSV
  {
    const std::string csv = dir + "/connectome_6_6_2.csv";
    std::ifstream in(csv);
    std::string head, row, rest, line;
    std::getline(in, head);
    std::getline(in, row);
    while (std::getline(in, line)) rest += line + "\n";
    row.replace(row.find(",0"), 2, ",-1");
    std::ofstream(csv) << head << "\n" << row << "\n" << rest;
  }
  test::expect_error([&] { load_field(dir, o); }, {"connectome_6_6_2.csv", "non-negative integer"});
  // a field INF.md does not list
  test::expect_error([&] { grid_from_inf(tmp.path("INF.md"), "1_2_3"); }, {"INF.md", "1_2_3"});
  // a grid whose product overflows int64 (found by fuzz_microns; UBSan flagged the product)
  std::ofstream(tmp.path("INF.md"), std::ios::app)
      << "| 1 | 2 | 3 | 8 | (2147483647, 2147483647, 2147483647) |\n";
  test::expect_error([&] { grid_from_inf(tmp.path("INF.md"), "1_2_3"); },
                     {"INF.md", "does not multiply to 8"});
}

TEST(MicronsVariants, CanonicalOrder) {
  const char* keys[11] = {"W*D*C", "WD*C", "WDC", "WD*", "WD", "W",
                          "W*D*C*", "WD*C*", "W*DC*", "W!D*C", "W!D*C*"};
  ASSERT_EQ(variants().size(), 11u);
  for (int i = 0; i < 11; ++i) EXPECT_EQ(variants()[i].key, keys[i]);
  EXPECT_EQ(variant("WDC").dist, DistKind::grid);
  EXPECT_EQ(variant("W*DC*").reg, RegKind::wdc_emd);
  EXPECT_EQ(variant("W!D*C").init, InitKind::permuted_bio);
  EXPECT_EQ(variant("W").reg, RegKind::l1);
  test::expect_error([] { variant("XYZ"); }, {"unknown variant 'XYZ'", "W*D*C"});
}

// The construction on a fixed lognormal matrix L[i,j] = exp(-0.5 + 0.5 sin(0.37 i + 1.13 j)),
// against numpy running the original's cell on the same L (values printed by numpy 1.24).
TEST(MicronsVariants, BioWeightsMatchNumpyOnAFixedDraw) {
  SKIP_WITHOUT_FIELD("6_6_2");
  const Field f = load_field(micron_dir() + "/6_6_2", plain_positions_662());
  const int N = 312;
  std::vector<double> L(size_t(N) * N);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) L[i * N + j] = std::exp(-0.5 + 0.5 * std::sin(0.37 * i + 1.13 * j));
  struct Want { BioSource src; double diag, off, sum, w01, w53; };
  const Want want[3] = {
      {BioSource::corr_sttc, 0.3693717420101166, 0.001740548643283546, 284.1329048005573,
       0.004988625179976225, 0.0033569533843547106},
      {BioSource::precision_sttc, 0.2731672525405884, 0.0020959952380508184, 288.6067695519014,
       0.003813467686995864, 0.001596859423443675},
      {BioSource::sttc_only, 0.04593602567911148, 0.0028859747108072042, 294.3639369721641,
       0.00577290914952755, 0.002950302790850401}};
  for (const Want& w : want) {
    const std::vector<float> W = bio_weights_from(f, w.src, L);
    const Stats s = stats(W, N);
    EXPECT_NEAR(s.diag_mean, w.diag, 1e-6 * w.diag);
    EXPECT_NEAR(s.off_mean, w.off, 1e-6 * w.off);
    EXPECT_NEAR(s.sum_abs, w.sum, 1e-5 * w.sum);
    EXPECT_NEAR(W[0 * N + 1], w.w01, 1e-6 * w.w01);
    EXPECT_NEAR(W[5 * N + 3], w.w53, 1e-6 * w.w53);
  }
}

// With the Philox lognormal draw: the spec's statistics of W_bio on 6_6_2. They vary with
// the draw (numpy seeds 0-3 give diagonal means 0.211-0.268, sums 165-205), so ranges.
TEST(MicronsVariants, BioWeightsMatchTheSpec) {
  SKIP_WITHOUT_FIELD("6_6_2");
  const Field f = load_field(micron_dir() + "/6_6_2", plain_positions_662());
  double diag = 0;
  for (int sim = 0; sim < 3; ++sim) {
    const std::vector<float> W = bio_weights(f, BioSource::corr_sttc, 1, sim);
    const Stats s = stats(W, 312);
    EXPECT_GT(s.diag_mean, 0.17);
    EXPECT_LT(s.diag_mean, 0.34);
    diag += s.diag_mean / 3;
    EXPECT_NEAR(s.diag_max, 0.949, 0.01);  // ~ the spectral radius: diagonal-dominant
    EXPECT_GT(s.off_mean, 0.0008);
    EXPECT_LT(s.off_mean, 0.0018);
    EXPECT_LT(s.off_max, 0.03);
    EXPECT_GE(s.min, 0.0);
    EXPECT_NEAR(spectral_radius(std::vector<double>(W.begin(), W.end()), 312), 0.95, 1e-5);
  }
  EXPECT_NEAR(diag, 0.24, 0.05);
  const Stats o = stats(bio_weights(f, BioSource::sttc_only, 1, 0), 312);
  EXPECT_NEAR(o.diag_mean, 0.046, 0.01);
  EXPECT_NEAR(o.off_mean, 0.0029, 0.0005);
  // Keyed by (seed, sim): another sim differs, the same one repeats.
  EXPECT_NE(bio_weights(f, BioSource::corr_sttc, 1, 1), bio_weights(f, BioSource::corr_sttc, 1, 0));
  EXPECT_EQ(bio_weights(f, BioSource::corr_sttc, 2, 0), bio_weights(f, BioSource::corr_sttc, 2, 0));
}

TEST(MicronsVariants, OrthogonalAndPermutation) {
  const int N = 64;
  const std::vector<float> Q = orthogonal_weights(N, 3, 5);
  double worst = 0;
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      double dot = 0;
      for (int k = 0; k < N; ++k) dot += double(Q[k * N + i]) * Q[k * N + j];
      worst = std::max(worst, std::fabs(dot - (i == j)));
    }
  EXPECT_LT(worst, 1e-5);
  // Keras's sign fix makes it a proper draw: mean |q| ~ sqrt(2/(pi N)).
  double sa = 0;
  for (float q : Q) sa += std::fabs(q);
  EXPECT_NEAR(sa / (N * N), std::sqrt(2 / (M_PI * N)), 0.01);
  const std::vector<int> perm = random_permutation(N, 3, 6);
  std::vector<int> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < N; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_NE(perm, sorted);
  const std::vector<float> P = permute_nodes(Q, N, perm);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) ASSERT_EQ(P[i * N + j], Q[perm[i] * N + perm[j]]);
  // A relabelling keeps the diagonal (permuted) and the spectrum.
  std::vector<float> dq, dp;
  for (int i = 0; i < N; ++i) dq.push_back(Q[i * N + i]), dp.push_back(P[i * N + i]);
  std::sort(dq.begin(), dq.end());
  std::sort(dp.begin(), dp.end());
  EXPECT_EQ(dq, dp);
  EXPECT_NEAR(spectral_radius(std::vector<double>(P.begin(), P.end()), N), 1.0, 1e-6);
  const std::vector<float> g = glorot_uniform(8, 312, 1, 2);
  const double lim = std::sqrt(6.0 / 320);
  const auto [lo, hi] = std::minmax_element(g.begin(), g.end());
  EXPECT_GE(*lo, -lim);
  EXPECT_LE(*hi, lim);
  EXPECT_LT(*lo, -0.9 * lim);
  EXPECT_GT(*hi, 0.9 * lim);
}
