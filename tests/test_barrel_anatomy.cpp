// Barrel-cortex anatomy (spec §1.1-1.3): populations, the shipped connection tables, their
// loaders and every loader error, the network projection spec and the expected counts.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <sys/stat.h>

#include "models/barrel/anatomy.h"
#include "runtime/npy.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::barrel;

namespace {

const std::string kShipped = std::string(RSNN_SOURCE_DIR) + "/data/barrel";

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

// A fresh temporary folder, removed with its files at the end of the test.
void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The CSV with one cell replaced: data_row 0 is the header, 1..13 the data rows; col 0 is
// the name column.
std::string csv_with_cell(const std::string& csv, int data_row, int col, const std::string& value) {
  std::istringstream in(csv);
  std::string line, out;
  int row = 0;  // 0 = the header
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') {
      if (row == data_row) {
        std::vector<std::string> cells;
        std::string cell;
        std::istringstream ls(line);
        while (std::getline(ls, cell, ',')) cells.push_back(cell);
        cells[col] = value;
        line.clear();
        for (size_t i = 0; i < cells.size(); ++i) line += (i ? "," : "") + cells[i];
      }
      ++row;
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

TEST(BarrelAnatomy, PopulationsMatchTheSpec) {
  const auto& p = populations();
  ASSERT_EQ(p.size(), 13u);
  const std::vector<std::string> names{"Pyr_SP",   "Pyr_SS",  "Inh_FS",  "Inh_RSNP", "Pyr",
                                       "Inh_FSBS", "Inh_FSCH", "Inh_BSPV", "Inh_Mar", "Inh_DBC",
                                       "Inh_Bip",  "Inh_SBC", "Inh_NG"};
  const std::vector<int64_t> sizes{440, 934, 94, 93, 2232, 106, 4, 55, 64, 64, 34, 60, 38};
  const std::vector<int64_t> offsets{0, 440, 1374, 1468, 1561, 3793, 3899, 3903, 3958, 4022, 4086, 4120, 4180};
  const std::vector<int> signs{+1, +1, -1, -1, +1, -1, -1, -1, -1, -1, -1, -1, -1};
  for (int i = 0; i < 13; ++i) {
    EXPECT_EQ(p[i].name, names[i]);
    EXPECT_EQ(p[i].size, sizes[i]);
    EXPECT_EQ(p[i].offset, offsets[i]);
    EXPECT_EQ(p[i].sign, signs[i]);
    EXPECT_EQ(p[i].layer, i < 4 ? "L4" : "L2/3");
    EXPECT_EQ(population_index(names[i]), i);
  }
  EXPECT_EQ(p[12].offset + p[12].size, kCorticalNeurons);
  EXPECT_NE(error_of([] { population_index("Pyr_L5"); }).find("Inh_NG"), std::string::npos);

  const PopulationLayout net = network_layout();
  ASSERT_EQ(net.sizes.size(), 14u);
  EXPECT_EQ(net.names[0], "VPM");
  EXPECT_EQ(net.sizes[0], 200);
  EXPECT_EQ(net.signs[0], +1);
  int64_t total = 0;
  for (auto s : net.sizes) total += s;
  EXPECT_EQ(total, 4418);
  EXPECT_EQ(cortex_layout().names, population_names());
}

TEST(BarrelAnatomy, ShippedCsvEqualsTheOriginalNpy) {
  const std::string shared = test::shared_data_dir() + "/barrel";
  for (TableKind kind : {TableKind::thalamic, TableKind::exc, TableKind::inh}) {
    const std::string npy = shared + "/" + table_stem(kind) + ".npy";
    if (!exists(npy)) GTEST_SKIP() << "reference table absent: " << npy;
    const Tensor a = read_table_csv(kShipped + "/" + table_stem(kind) + ".csv", kind);
    const Tensor b = read_table_npy(npy, kind);
    ASSERT_EQ(a.shape(), b.shape());
    const double* pa = a.data<double>();
    const double* pb = b.data<double>();
    for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(pa[i], pb[i]) << table_stem(kind) << " at " << i;
    // The raw file really is Fortran-ordered 13x13; element [0][1] of Exc_AlltoAll is
    // Pyr_SP -> Pyr_SS (0.03873...), not [1][0] (Pyr_SS -> Pyr_SP, 0.08064...).
    if (kind == TableKind::exc) {
      EXPECT_NEAR(pb[0 * 13 + 1], 0.03873126, 1e-8);
      EXPECT_NEAR(pb[1 * 13 + 0], 0.08064, 1e-5);
    }
  }
  // Loading the whole folder of .npy files gives the same tables as the shipped CSVs.
  const ConnectionTables from_npy = load_tables(shared);
  const ConnectionTables from_csv = load_tables(kShipped);
  EXPECT_EQ(from_npy.exc.to_vector<double>(), from_csv.exc.to_vector<double>());
  EXPECT_EQ(from_npy.inh.to_vector<double>(), from_csv.inh.to_vector<double>());
  EXPECT_EQ(from_npy.thalamic.to_vector<double>(), from_csv.thalamic.to_vector<double>());
}

TEST(BarrelAnatomy, TablesHaveTheSpecStructure) {
  const ConnectionTables t = load_tables(kShipped);
  const auto th = t.thalamic.to_vector<double>();
  EXPECT_NEAR(th[0], 0.079436983, 1e-9);
  EXPECT_EQ(th[6], 0.0);  // FSCH and Mar receive no thalamic input
  EXPECT_EQ(th[8], 0.0);
  const auto e = t.exc.to_vector<double>();
  const auto i = t.inh.to_vector<double>();
  int ne = 0, ni = 0;
  for (int k = 0; k < 169; ++k) {
    ne += e[k] > 0;
    ni += i[k] > 0;
  }
  EXPECT_EQ(ne, 33);
  EXPECT_EQ(ni, 80);
  EXPECT_NEAR(e[1 * 13 + 3], 0.34261, 1e-5);  // Pyr_SS -> Inh_RSNP
  EXPECT_NEAR(i[2 * 13 + 0], 0.38286, 1e-5);  // Inh_FS -> Pyr_SP
  const auto type = t.type().to_vector<int32_t>();
  const auto prob = t.prob().to_vector<double>();
  for (int k = 0; k < 169; ++k) {
    EXPECT_EQ(prob[k], e[k] + i[k]);
    EXPECT_EQ(type[k], e[k] > 0 ? 1 : (i[k] > 0 ? -1 : 0));
  }
}

TEST(BarrelAnatomy, ExpectedCountsMatchTheSpec) {
  const ExpectedCounts c = expected_counts(load_tables(kShipped));
  EXPECT_NEAR(c.recurrent_exc, 1024322.0, 1e-6);
  EXPECT_NEAR(c.recurrent_inh, 219146.0, 1e-6);
  EXPECT_NEAR(c.recurrent_total, 1243468.0, 1e-6);
  EXPECT_NEAR(c.thalamic, 26610.45, 0.01);
  EXPECT_EQ(c.recurrent_dense_area, 13276798.0);
  EXPECT_EQ(c.thalamic_dense_area, 830000.0);
  EXPECT_EQ(c.thalamic_blocks, 11);
  EXPECT_EQ(c.exc_blocks, 33);
  EXPECT_EQ(c.inh_blocks, 80);
  const std::vector<double> in_deg{169, 57, 178, 384, 375, 802, 793, 405, 475, 414, 406, 405, 587};
  for (int k = 0; k < 13; ++k) EXPECT_NEAR(c.in_degree_recurrent[k], in_deg[k], 0.5) << k;
  for (int k = 0; k < 4; ++k) {
    EXPECT_GT(c.in_degree_thalamic[k], 15.0);
    EXPECT_LT(c.in_degree_thalamic[k], 20.0);
  }
  for (int k = 4; k < 13; ++k) EXPECT_LT(c.in_degree_thalamic[k], 0.5);
  // The block table adds up to the totals; nothing projects into the thalamus.
  const auto s = c.synapses.to_vector<double>();
  double sum = 0;
  for (int pre = 0; pre < 14; ++pre) {
    EXPECT_EQ(s[pre * 14 + 0], 0.0);
    for (int post = 0; post < 14; ++post) sum += s[pre * 14 + post];
  }
  EXPECT_NEAR(sum, c.recurrent_total + c.thalamic, 1e-6);
}

TEST(BarrelAnatomy, NetworkProjectionSpec) {
  const ConnectionTables t = load_tables(kShipped);
  const ProjectionSpec spec = network_projection_spec(t, 515, 3);
  EXPECT_EQ(spec.seed, 515u);
  EXPECT_EQ(spec.stream, 3u);
  EXPECT_TRUE(spec.same_network);
  EXPECT_TRUE(spec.allow_autapses);
  EXPECT_EQ(spec.pre.names, network_layout().names);
  EXPECT_EQ(spec.post.sizes, network_layout().sizes);
  ASSERT_EQ(spec.prob.shape(), (Shape{14, 14}));
  const auto p = spec.prob.to_vector<double>();
  const auto th = t.thalamic.to_vector<double>();
  const auto all = t.prob().to_vector<double>();
  for (int a = 0; a < 14; ++a) EXPECT_EQ(p[a * 14 + 0], 0.0) << "nothing into VPM";
  for (int k = 0; k < 13; ++k) EXPECT_EQ(p[0 * 14 + 1 + k], th[k]);
  for (int a = 0; a < 13; ++a)
    for (int b = 0; b < 13; ++b) EXPECT_EQ(p[(1 + a) * 14 + 1 + b], all[a * 13 + b]);
}

TEST(BarrelAnatomy, CsvRoundTripKeepsEveryDigit) {
  rsnn::test::TempDir dir("rsnn_anatomy");
  const ConnectionTables t = load_tables(kShipped);
  write_table_csv(dir.path("Exc_AlltoAll_prob.csv"), t.exc, TableKind::exc, "round trip\nsecond line");
  write_table_csv(dir.path("Inh_AlltoAll_prob.csv"), t.inh, TableKind::inh);
  write_table_csv(dir.path("Exc_ThtoAll_prob.csv"), t.thalamic, TableKind::thalamic);
  const ConnectionTables u = load_tables(dir.dir());
  EXPECT_EQ(u.exc.to_vector<double>(), t.exc.to_vector<double>());
  EXPECT_EQ(u.inh.to_vector<double>(), t.inh.to_vector<double>());
  EXPECT_EQ(u.thalamic.to_vector<double>(), t.thalamic.to_vector<double>());
  EXPECT_EQ(read_file(dir.path("Exc_AlltoAll_prob.csv")).rfind("# round trip\n# second line\n", 0), 0u);
}

TEST(BarrelAnatomy, NpyTablesInEitherOrderAndThalamicShapes) {
  rsnn::test::TempDir dir("rsnn_anatomy");
  const ConnectionTables t = load_tables(kShipped);
  // C-order .npy files written by us load like the Fortran-order originals.
  npy_save(dir.path("Exc_AlltoAll_prob.npy"), t.exc);
  npy_save(dir.path("Inh_AlltoAll_prob.npy"), t.inh.to_dtype(DType::f32));
  npy_save(dir.path("Exc_ThtoAll_prob.npy"), t.thalamic.reshape({1, 13}));
  const ConnectionTables u = load_tables(dir.dir());
  EXPECT_EQ(u.exc.to_vector<double>(), t.exc.to_vector<double>());
  const auto a = u.inh.to_vector<double>(), b = t.inh.to_vector<double>();
  for (int k = 0; k < 169; ++k) EXPECT_NEAR(a[k], b[k], 1e-7);
  EXPECT_EQ(u.thalamic.to_vector<double>(), t.thalamic.to_vector<double>());
  // A 13x13 thalamic table must be zero outside row 0.
  Tensor bad = Tensor::zeros({13, 13}, DType::f64);
  bad.data<double>()[5 * 13 + 2] = 0.1;
  npy_save(dir.path("th.npy"), bad);
  EXPECT_NE(error_of([&] { read_table_npy(dir.path("th.npy"), TableKind::thalamic); })
                .find("zero outside row 0"),
            std::string::npos);
  npy_save(dir.path("shape.npy"), Tensor::zeros({12, 13}, DType::f64));
  const std::string msg = error_of([&] { read_table_npy(dir.path("shape.npy"), TableKind::exc); });
  EXPECT_NE(msg.find("shape.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected shape [13, 13], got [12, 13]"), std::string::npos) << msg;
  npy_save(dir.path("int.npy"), Tensor::zeros({13, 13}, DType::i32));
  EXPECT_NE(error_of([&] { read_table_npy(dir.path("int.npy"), TableKind::exc); }).find("int32"),
            std::string::npos);
  Tensor nan = t.exc.clone();
  nan.data<double>()[4] = std::nan("");
  npy_save(dir.path("nan.npy"), nan);
  EXPECT_NE(error_of([&] { read_table_npy(dir.path("nan.npy"), TableKind::exc); }).find("NaN"),
            std::string::npos);
}

TEST(BarrelAnatomy, CsvLoaderErrorsNameTheFileAndTheProblem) {
  rsnn::test::TempDir dir("rsnn_anatomy");
  const std::string csv = read_file(kShipped + "/Exc_AlltoAll_prob.csv");
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    const std::string path = dir.path("t.csv");
    write_file(path, text);
    const std::string msg = error_of([&] { read_table_csv(path, TableKind::exc); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << "expected '" << needle << "' in: " << msg;
  };
  expect_error(csv_with_cell(csv, 2, 5, "nan"), "NaN");
  expect_error(csv_with_cell(csv, 2, 5, "1.5"), "outside [0, 1]");
  expect_error(csv_with_cell(csv, 2, 5, "-0.1"), "outside [0, 1]");
  expect_error(csv_with_cell(csv, 2, 5, "0.1x"), "cannot read '0.1x'");
  expect_error(csv_with_cell(csv, 2, 0, "Pyr_XX"), "named 'Pyr_XX', expected presynaptic population 'Pyr_SS'");
  expect_error(csv_with_cell(csv, 0, 3, "Inh_XX"), "header column 3 is 'Inh_XX'");
  expect_error(csv_with_cell(csv, 2, 13, "0.1,0.2"), "expected 14 comma-separated cells");
  // Missing and extra rows.
  const size_t last = csv.rfind("Inh_NG");
  expect_error(csv.substr(0, last), "found 12 data row(s), expected 13");
  expect_error(csv + "Inh_NG" + csv.substr(last + 6), "more than 13 data row(s)");
  expect_error("# only a comment\n", "no header row");
  EXPECT_NE(error_of([&] { read_table_csv(dir.path("missing.csv"), TableKind::exc); }).find("cannot open"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_table(dir.path("t.txt"), TableKind::exc); }).find(".csv or .npy"),
            std::string::npos);
}

TEST(BarrelAnatomy, ExcitatoryInhibitoryConsistencyIsEnforced) {
  const ConnectionTables good = load_tables(kShipped);
  // Excitatory entry in an inhibitory row.
  ConnectionTables t{good.thalamic.clone(), good.exc.clone(), good.inh.clone()};
  t.exc.data<double>()[2 * 13 + 0] = 0.1;  // Inh_FS -> Pyr_SP in the Exc table
  std::string msg = error_of([&] { validate_tables(t, "tables"); });
  EXPECT_NE(msg.find("both the excitatory and the inhibitory"), std::string::npos) << msg;
  t.inh.data<double>()[2 * 13 + 0] = 0.0;
  msg = error_of([&] { validate_tables(t, "tables"); });
  EXPECT_NE(msg.find("Inh_FS is inhibitory"), std::string::npos) << msg;
  // Inhibitory entry in an excitatory row.
  ConnectionTables u{good.thalamic.clone(), good.exc.clone(), good.inh.clone()};
  u.inh.data<double>()[4 * 13 + 8] = 0.2;  // Pyr -> Inh_Mar: Pyr is excitatory
  u.exc.data<double>()[4 * 13 + 8] = 0.0;
  msg = error_of([&] { validate_tables(u, "tables"); });
  EXPECT_NE(msg.find("Pyr is excitatory"), std::string::npos) << msg;
  // Through files: the loader runs the same checks and names the folder.
  rsnn::test::TempDir dir("rsnn_anatomy");
  write_table_csv(dir.path("Exc_AlltoAll_prob.csv"), t.exc, TableKind::exc);
  write_table_csv(dir.path("Inh_AlltoAll_prob.csv"), t.inh, TableKind::inh);
  write_table_csv(dir.path("Exc_ThtoAll_prob.csv"), t.thalamic, TableKind::thalamic);
  msg = error_of([&] { load_tables(dir.dir()); });
  EXPECT_NE(msg.find(dir.dir()), std::string::npos) << msg;
  EXPECT_NE(msg.find("inhibitory"), std::string::npos) << msg;
  // Missing table in a folder.
  ::unlink(dir.path("Inh_AlltoAll_prob.csv").c_str());
  msg = error_of([&] { load_tables(dir.dir()); });
  EXPECT_NE(msg.find("neither Inh_AlltoAll_prob.csv nor Inh_AlltoAll_prob.npy"), std::string::npos) << msg;
  EXPECT_NE(error_of([] { load_tables("/nonexistent/tables"); }).find("does not exist"), std::string::npos);
}

TEST(BarrelAnatomy, DataDirFromEnvironment) {
  const char* old = std::getenv("RSNN_DATA_DIR");
  const std::string saved = old ? old : "";
  ::setenv("RSNN_DATA_DIR", (std::string(RSNN_SOURCE_DIR) + "/data").c_str(), 1);
  EXPECT_EQ(barrel_data_dir(), kShipped);
  EXPECT_EQ(default_tables().exc.to_vector<double>(), load_tables(kShipped).exc.to_vector<double>());
  ::setenv("RSNN_DATA_DIR", "/nonexistent", 1);
  EXPECT_NE(error_of([] { barrel_data_dir(); }).find("RSNN_DATA_DIR"), std::string::npos);
  if (old) ::setenv("RSNN_DATA_DIR", saved.c_str(), 1); else ::unsetenv("RSNN_DATA_DIR");
}

TEST(BarrelAnatomy, SampledNetworkMatchesTheExpectedCounts) {
  const ConnectionTables t = load_tables(kShipped);
  const ProjectionSpec spec = network_projection_spec(t, 515, 0);
  const Projection net = build_projection(spec);
  EXPECT_EQ(net.n_pre, kNetworkNeurons);
  EXPECT_EQ(net.n_post, kNetworkNeurons);
  const ExpectedCounts c = expected_counts(t);
  const Tensor counts = block_counts(net, spec.pre, spec.post);
  const auto got = counts.to_vector<int64_t>();
  const auto expect = c.synapses.to_vector<double>();
  const auto prob = spec.prob.to_vector<double>();
  const auto sizes = spec.pre.sizes;
  double var_total = 0;
  for (int a = 0; a < 14; ++a)
    for (int b = 0; b < 14; ++b) {
      const double p = prob[a * 14 + b], n = double(sizes[a]) * double(sizes[b]);
      const double sd = std::sqrt(n * p * (1 - p));
      var_total += n * p * (1 - p);
      if (p == 0) {
        EXPECT_EQ(got[a * 14 + b], 0) << spec.pre.names[a] << " -> " << spec.post.names[b];
      } else {
        EXPECT_NEAR(double(got[a * 14 + b]), expect[a * 14 + b], 5 * sd + 1)
            << spec.pre.names[a] << " -> " << spec.post.names[b];
      }
    }
  EXPECT_NEAR(double(net.nnz()), c.recurrent_total + c.thalamic, 5 * std::sqrt(var_total));
  // Signs follow the source population (Dale): VPM and the E populations +1, I -1.
  const auto sign = net.source_sign.to_vector<float>();
  const auto offsets = spec.pre.offsets();
  for (int g = 0; g < 14; ++g)
    EXPECT_EQ(sign[offsets[g]], static_cast<float>(spec.pre.signs[g])) << spec.pre.names[g];
}
