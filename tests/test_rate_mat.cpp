// MAT-files through libmatio: original-format models (made by scipy.io.savemat in
// tests/rate_mat_fixture.py from the spec's field list) load, go through the grid search with
// the same result as the same model in rsnn's HDF5, and rsnn's --mat output has the original's
// shapes and types under scipy.io.loadmat. Malformed models are one-line errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "models/rate/grid_search.h"
#include "models/rate/model_file.h"
#include "models/rate/rate_train.h"
#include "runtime/npy.h"
#include "test_util.h"

using namespace rsnn;
using namespace rsnn::rate;
namespace fs = std::filesystem;

namespace {

// A python3 with scipy (and h5py), or "" (the tests that need it skip, saying why).
const std::string& python() {
  static const std::string py = [] {
    for (const char* p : {"python3", "/usr/bin/python3"})
      if (std::system((std::string(p) + " -c 'import scipy.io, h5py, numpy' > /dev/null 2>&1").c_str()) == 0)
        return std::string(p);
    return std::string();
  }();
  return py;
}
#define SKIP_WITHOUT_SCIPY()                                                          \
  do {                                                                                \
    if (python().empty()) GTEST_SKIP() << "python3 with scipy and h5py is missing"; \
  } while (0)

test::CmdResult fixture(const std::string& args) {
  const std::string cmd = python() + " " + RSNN_SOURCE_DIR + "/tests/rate_mat_fixture.py " + args + " 2>&1";
  test::CmdResult r{0, ""};
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

void expect_tensor_eq(const Tensor& t, const std::string& npy, const char* what) {
  const auto want = npy_load(npy).to_vector<float>(), got = t.to_vector<float>();
  EXPECT_EQ(got, want) << what;
}

RateModel small_trained(TaskKind task, uint64_t seed, std::vector<double> taus = {4, 10}) {
  TrainConfig cfg;
  cfg.stages = {task_defaults(task)};
  cfg.net.N = 12;
  cfg.net.som_N = 1;
  cfg.net.P_inh = 0.3;
  cfg.net.taus = taus;
  cfg.max_trials = 3;
  cfg.eval_trials = 5;
  cfg.seed = seed;
  RateModel m = model_from_training(train_rate(cfg), cfg);
  m.scaling_factors = {20, 25, 30};
  m.all_perfs = {0.5, 0.75, 0.25};
  m.opt_scaling_factor = 25;
  return m;
}

// Everything the MAT-file holds comes back (w relu'd, as saved).
void expect_same_model(const RateModel& a, const RateModel& b) {
  auto relu = [](const Tensor& t) {
    auto v = t.to_vector<float>();
    for (auto& x : v) x = std::max(x, 0.f);
    return v;
  };
  EXPECT_EQ(b.task.kind, a.task.kind);
  EXPECT_EQ(b.net.N(), a.net.N());
  EXPECT_EQ(b.net.cfg.taus, a.net.cfg.taus);
  EXPECT_EQ(b.net.cfg.act, a.net.cfg.act);
  EXPECT_EQ(b.net.cfg.som_N, a.net.cfg.som_N);
  EXPECT_EQ(b.net.som_units, a.net.som_units);
  EXPECT_EQ(b.net.inh, a.net.inh);
  EXPECT_EQ(b.net.w.to_vector<float>(), relu(a.net.w));
  EXPECT_EQ(b.net.w0.to_vector<float>(), relu(a.net.w0));
  EXPECT_EQ(b.net.sign.to_vector<float>(), a.net.sign.to_vector<float>());
  EXPECT_EQ(b.net.som_m.to_vector<float>(), a.net.som_m.to_vector<float>());
  EXPECT_EQ(b.net.w_in.to_vector<float>(), a.net.w_in.to_vector<float>());
  EXPECT_EQ(b.net.w_out.to_vector<float>(), a.net.w_out.to_vector<float>());
  EXPECT_EQ(b.net.b_out.to_vector<float>(), a.net.b_out.to_vector<float>());
  EXPECT_EQ(b.net.taus_gaus.to_vector<float>(), a.net.taus_gaus.to_vector<float>());
  EXPECT_EQ(b.net.taus_gaus0.to_vector<float>(), a.net.taus_gaus0.to_vector<float>());
  EXPECT_EQ(b.tr, a.tr);
  EXPECT_EQ(b.losses, a.losses);
  EXPECT_EQ(b.eval_labels, a.eval_labels);
  EXPECT_EQ(b.eval_os.to_vector<float>(), a.eval_os.to_vector<float>());
  EXPECT_EQ(b.o.to_vector<float>(), a.o.to_vector<float>());
  EXPECT_EQ(b.x0.to_vector<float>(), a.x0.to_vector<float>());
  EXPECT_EQ(b.u.to_vector<float>(), a.u.to_vector<float>());
  EXPECT_EQ(b.target.to_vector<float>(), a.target.to_vector<float>());
  EXPECT_EQ(b.scaling_factors, a.scaling_factors);
  EXPECT_EQ(b.all_perfs, a.all_perfs);
  EXPECT_EQ(b.opt_scaling_factor, a.opt_scaling_factor);
  EXPECT_DOUBLE_EQ(b.eval_perf_mean, a.eval_perf_mean);
}

}  // namespace

TEST(RateMat, RoundTripV5AndV73) {
  test::TempDir dir("rsnn_rate_mat_rt");
  for (MatVersion v : {MatVersion::v5, MatVersion::v73}) {
    for (TaskKind task : {TaskKind::go_nogo, TaskKind::xor_task, TaskKind::mante}) {
      const RateModel m = small_trained(task, 5, task == TaskKind::mante ? std::vector<double>{6} : std::vector<double>{4, 10});
      const std::string path = dir.path("m.mat");
      export_matlab(path, m, v);
      ASSERT_TRUE(is_mat_file(path));
      std::ifstream f(path, std::ios::binary);
      char head[20] = {0};
      f.read(head, 19);
      EXPECT_EQ(std::string(head), v == MatVersion::v5 ? "MATLAB 5.0 MAT-file" : "MATLAB 7.3 MAT-file");
      SCOPED_TRACE(task_name(task) + (v == MatVersion::v5 ? " v5" : " v7.3"));
      expect_same_model(m, load_rate_model(path));
    }
  }
}

TEST(RateMat, GridResultIsStoredInPlaceKeepingEveryField) {
  for (MatVersion v : {MatVersion::v5, MatVersion::v73}) {
    SCOPED_TRACE(v == MatVersion::v5 ? "v5" : "v7.3");
    test::TempDir dir("rsnn_rate_mat_grid");
    RateModel m = small_trained(TaskKind::go_nogo, 6);
  m.scaling_factors.clear();
  m.all_perfs.clear();
  m.opt_scaling_factor = NAN;
    const std::string path = dir.path("m.mat");
    export_matlab(path, m, v);
    EXPECT_TRUE(std::isnan(load_rate_model(path).opt_scaling_factor));
    m.scaling_factors = {20, 40};
    m.all_perfs = {0.25, 0.5};
    m.opt_scaling_factor = 40;
    mat_store_grid_result(path, m);
    m.scaling_factors = {20, 40};  // a second store replaces, never duplicates
    m.all_perfs = {0.75, 0.5};
    m.opt_scaling_factor = 20;
    mat_store_grid_result(path, m);
    std::ifstream f(path, std::ios::binary);  // the version is kept
    char head[20] = {0};
    f.read(head, 19);
    EXPECT_EQ(std::string(head), v == MatVersion::v5 ? "MATLAB 5.0 MAT-file" : "MATLAB 7.3 MAT-file");
    expect_same_model(m, load_rate_model(path));
  }
}

TEST(RateMat, OriginalFormatModelsLoad) {
  SKIP_WITHOUT_SCIPY();
  test::TempDir dir("rsnn_rate_mat_orig");
  const test::CmdResult r = fixture("originals " + dir.dir());
  ASSERT_EQ(r.rc, 0) << r.out;
  struct Want {
    const char* name;
    TaskKind task;
    Activation act;
    int C, som_N;
    std::vector<double> taus;
  };
  for (const Want& w : {Want{"gonogo_sigmoid", TaskKind::go_nogo, Activation::sigmoid, 1, 0, {4, 10}},
                        Want{"xor_softplus_som", TaskKind::xor_task, Activation::softplus, 2, 2, {4, 20}},
                        Want{"mante_relu_onetau", TaskKind::mante, Activation::clipped_relu, 4, 0, {5}}}) {
    SCOPED_TRACE(w.name);
    const std::string base = dir.path(w.name);
    const RateModel m = load_rate_model(base + ".mat");
    EXPECT_EQ(m.task.kind, w.task);
    EXPECT_EQ(m.net.N(), 12);
    EXPECT_EQ(m.net.w_in.size(1), w.C);
    EXPECT_EQ(m.net.cfg.act, w.act);
    EXPECT_EQ(m.net.cfg.som_N, w.som_N);
    EXPECT_EQ(int(m.net.som_units.size()), w.som_N);
    EXPECT_EQ(m.net.cfg.taus, w.taus);
    EXPECT_TRUE(m.net.cfg.apply_dale);
    EXPECT_FLOAT_EQ(m.net.b_out.item<float>(), 0.25f);
    EXPECT_EQ(m.tr, 42);
    EXPECT_EQ(m.losses.size(), 50u);
    EXPECT_EQ(m.o.numel(), m.task.T - 1);
    EXPECT_EQ(m.x0.size(0), m.task.T);
    expect_tensor_eq(m.net.w, base + "_w.npy", "w");
    expect_tensor_eq(m.net.w_in, base + "_w_in.npy", "w_in");
    expect_tensor_eq(m.net.w_out, base + "_w_out.npy", "w_out");
    expect_tensor_eq(m.net.taus_gaus, base + "_taus_gaus.npy", "taus_gaus");
    // the inhibitory units are exactly those with -1 in m, the SOM units the first of them
    const auto sign = m.net.sign.to_vector<float>();
    for (int i = 0; i < m.net.N(); ++i) EXPECT_EQ(sign[i] < 0, bool(m.net.inh[i]));
    if (w.task == TaskKind::xor_task) {
      EXPECT_EQ(m.eval_labels, (std::vector<int>{1, -1, 1, -1}));
    }
  }
  // They run: the rate model on fresh trials and the LIF network.
  const test::CmdResult ev = test::run_rsnn("rate eval --model " + dir.path("xor_softplus_som.mat") + " --trials 4");
  EXPECT_EQ(ev.rc, 0) << ev.out;
  EXPECT_NE(ev.out.find("xor: performance"), std::string::npos) << ev.out;
  const test::CmdResult se = test::run_rsnn("spiking eval --model " + dir.path("mante_relu_onetau.mat") +
                                            " --scaling-factor 30 --trials 2 --downsample 10 --threads 1");
  EXPECT_EQ(se.rc, 0) << se.out;
  EXPECT_NE(se.out.find("mante LIF network (N 12, 1/lambda 30)"), std::string::npos) << se.out;
}

// rsnn's own v7.3 exports from before libmatio (the issue: "cannot even re-load its own v7.3
// export") load, and give the network they were made from.
TEST(RateMat, OldRsnnV73ExportLoads) {
  SKIP_WITHOUT_SCIPY();
  test::TempDir dir("rsnn_rate_mat_old");
  RateModel m = small_trained(TaskKind::xor_task, 8);
  const std::string h5 = dir.path("m.h5"), mat = dir.path("old.mat");
  save_rate_model(h5, m);
  const test::CmdResult r = fixture("oldv73 " + h5 + " " + mat);
  ASSERT_EQ(r.rc, 0) << r.out;
  const RateModel a = load_rate_model(h5), b = load_rate_model(mat);
  EXPECT_EQ(b.task.kind, TaskKind::xor_task);
  EXPECT_EQ(b.net.w.to_vector<float>(), a.net.w.to_vector<float>());
  EXPECT_EQ(b.net.w_in.to_vector<float>(), a.net.w_in.to_vector<float>());
  EXPECT_EQ(b.net.som_m.to_vector<float>(), a.net.som_m.to_vector<float>());
  EXPECT_EQ(b.net.inh, a.net.inh);
  EXPECT_EQ(b.net.cfg.taus, a.net.cfg.taus);
  EXPECT_EQ(b.tr, a.tr);
  const EvalResult ea = evaluate_rate(a.net, a.task, a.loss, 3, 0, 4), eb = evaluate_rate(b.net, b.task, b.loss, 3, 0, 4);
  EXPECT_EQ(eb.o.to_vector<float>(), ea.o.to_vector<float>());
}

// The issue's "done when": an original-format Go-NoGo .mat gives the same grid-search factor
// and performances as the same model in rsnn's HDF5; the results go into the .mat as the
// original appends them, every other field kept.
TEST(RateMat, OriginalGoNogoGridSearchEqualsHdf5) {
  SKIP_WITHOUT_SCIPY();
  test::TempDir dir("rsnn_rate_mat_gs");
  const test::CmdResult tr = test::run_rsnn("rate train --task go-nogo --N 16 --max-trials 30 --eval-freq 10 "
                                            "--eval-trials 4 --plot off --threads 1 --seed 2 --name m --out " + dir.dir());
  ASSERT_EQ(tr.rc, 0) << tr.out;
  const std::string h5 = dir.dir() + "/models/go-nogo/P_rec_0.2_Taus_4.0_10.0/m.h5", mat = dir.path("orig.mat");
  const test::CmdResult conv = fixture("h5tomat " + h5 + " " + mat);
  ASSERT_EQ(conv.rc, 0) << conv.out;
  const std::string gs = " --scaling-factors 10,20,30,40,60 --trials 8 --downsample 4 --threads 2";
  const test::CmdResult a = test::run_rsnn("spiking grid-search --model " + h5 + gs);
  const test::CmdResult b = test::run_rsnn("spiking grid-search --model " + mat + gs);
  ASSERT_EQ(a.rc, 0) << a.out;
  ASSERT_EQ(b.rc, 0) << b.out;
  const RateModel ma = load_rate_model(h5), mb = load_rate_model(mat);
  ASSERT_EQ(ma.all_perfs.size(), 5u);
  EXPECT_EQ(mb.all_perfs, ma.all_perfs);
  EXPECT_EQ(mb.opt_scaling_factor, ma.opt_scaling_factor);
  EXPECT_EQ(mb.scaling_factors, ma.scaling_factors);
  double lo = 1, hi = 0;  // the factors score differently: the comparison means something
  for (double p : ma.all_perfs) lo = std::min(lo, p), hi = std::max(hi, p);
  EXPECT_LT(lo, hi);
  EXPECT_TRUE(fs::exists(dir.path("orig_grid.csv")));
  // The rate model too: the same outputs on the same fresh trials.
  const test::CmdResult ra = test::run_rsnn("rate eval --trials 20 --model " + h5 + " --csv " + dir.path("a.csv"));
  const test::CmdResult rb = test::run_rsnn("rate eval --trials 20 --model " + mat + " --csv " + dir.path("b.csv"));
  ASSERT_EQ(ra.rc, 0) << ra.out;
  ASSERT_EQ(rb.rc, 0) << rb.out;
  std::ifstream fa(dir.path("a.csv")), fb(dir.path("b.csv"));
  const std::string ca((std::istreambuf_iterator<char>(fa)), {}), cb((std::istreambuf_iterator<char>(fb)), {});
  EXPECT_EQ(ca, cb);
  // The field rsnn does not know survives the in-place update.
  const std::string probe = python() + " -c \"import scipy.io; d = scipy.io.loadmat('" + mat +
                            "'); assert list(d['stable_perfs'][0]) == [0.5, 0.75]; assert d['all_perfs'].shape == (5, 1)\"";
  EXPECT_EQ(std::system(probe.c_str()), 0);
  // A second run skips it (opt_scaling_factor present), as lambda_grid_search.m.
  const test::CmdResult again = test::run_rsnn("spiking grid-search --model " + mat + gs);
  EXPECT_NE(again.out.find("already has opt_scaling_factor"), std::string::npos) << again.out;
}

TEST(RateMat, MatOutputHasTheOriginalShapesAndTypes) {
  SKIP_WITHOUT_SCIPY();
  test::TempDir dir("rsnn_rate_mat_out");
  for (const std::string task : {"go-nogo", "xor"}) {
    SCOPED_TRACE(task);
    const test::CmdResult tr = test::run_rsnn("rate train --task " + task + " --N 10 --max-trials 12 --eval-freq 5 "
                                              "--eval-trials 6 --plot off --threads 1 --mat --name m --out " + dir.dir());
    ASSERT_EQ(tr.rc, 0) << tr.out;
    const std::string base = dir.dir() + "/models/" + task + "/P_rec_0.2_Taus_4.0_10.0/m";
    test::CmdResult c = fixture("check " + base + ".mat " + task + " 0");
    EXPECT_EQ(c.rc, 0) << c.out;
    const test::CmdResult gs = test::run_rsnn("spiking grid-search --model " + base + ".h5 --mat --scaling-factors 20,30,40 "
                                              "--trials 2 --downsample 10 --threads 1");
    ASSERT_EQ(gs.rc, 0) << gs.out;
    c = fixture("check " + base + ".mat " + task + " 3");
    EXPECT_EQ(c.rc, 0) << c.out;
  }
}

TEST(RateMat, MalformedModelsAreOneLineErrors) {
  SKIP_WITHOUT_SCIPY();
  test::TempDir dir("rsnn_rate_mat_bad");
  const test::CmdResult r = fixture("bad " + dir.dir());
  ASSERT_EQ(r.rc, 0) << r.out;
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"missing_w", {"missing field 'w'"}},
      {"shape_w", {"'w'", "shape 6x5", "expected 6x6"}},
      {"nan_w_out", {"'w_out'", "non-finite"}},
      {"inf_taus_gaus", {"'taus_gaus'", "non-finite"}},
      {"frac_N", {"'N'", "integer"}},
      {"bad_activation", {"'activation'", "tanh"}},
      {"offdiag_m", {"'m'", "diagonal"}},
      {"same_exc_inh", {"'exc' and 'inh'"}},
      {"text_taus", {"'taus'"}},
      {"cell_w_in", {"'w_in'", "cell"}},
      {"big_som_N", {"'som_N'"}},
      {"shape_o", {"'o'", "shape"}},
      {"big_w", {"'w'", "shape 600x600", "at most 36 elements"}},
  };
  for (const auto& [name, parts] : cases) {
    SCOPED_TRACE(name);
    const std::string path = dir.path(name + ".mat");
    std::vector<std::string> want = parts;
    want.push_back(path);
    test::expect_error([&] { load_rate_model(path); }, want);
  }
  // Through the CLI: one line naming file and field, nothing written.
  const test::CmdResult g = test::run_rsnn("spiking grid-search --model " + dir.path("nan_w_out.mat") + " --trials 1");
  EXPECT_NE(g.rc, 0);
  EXPECT_NE(g.out.find("nan_w_out.mat: field 'w_out' holds a non-finite value"), std::string::npos) << g.out;
  EXPECT_EQ(std::count(g.out.begin(), g.out.end(), '\n'), 1) << g.out;
  EXPECT_FALSE(fs::exists(dir.path("nan_w_out_grid.csv")));
  // A file named .mat that is not a MAT-file.
  std::ofstream(dir.path("text.mat")) << "not a model\n";
  test::expect_error([&] { load_rate_model(dir.path("text.mat")); }, "text.mat");
}

// ---- item 4: the original's folder and file names ----

TEST(RateMat, OriginalNames) {
  EXPECT_EQ(py_float(4), "4.0");
  EXPECT_EQ(py_float(20), "20.0");
  EXPECT_EQ(py_float(0.2), "0.2");
  EXPECT_EQ(py_float(4.5), "4.5");
  EXPECT_EQ(py_float(1e-5), "1e-05");
  EXPECT_EQ(py_float(0.0001), "0.0001");
  EXPECT_EQ(py_float(123456789), "123456789.0");
  EXPECT_EQ(py_float(1e16), "1e+16");
  EXPECT_EQ(py_float(1e15), "1000000000000000.0");
  EXPECT_EQ(py_float(-2.5e-7), "-2.5e-07");
  RateModel m;
  m.task = task_defaults(TaskKind::go_nogo);
  m.net.cfg.N = 200;
  m.net.cfg.taus = {4, 20};
  m.net.cfg.P_rec = 0.2;
  std::tm tm{};
  tm.tm_year = 2026 - 1900, tm.tm_mon = 11, tm.tm_mday = 7, tm.tm_hour = 1, tm.tm_min = 2, tm.tm_sec = 3;
  tm.tm_isdst = -1;
  const std::time_t when = std::mktime(&tm);  // local time, as datetime.now()
  EXPECT_EQ(original_model_dir("out", m), "out/models/go-nogo/P_rec_0.2_Taus_4.0_20.0");
  EXPECT_EQ(original_model_name(m, when), "Task_go-nogo_N_200_Taus_4.0_20.0_Act_sigmoid_2026_12_07_010203");
  m.net.cfg.taus = {4};
  m.task = task_defaults(TaskKind::mante);
  m.net.cfg.act = Activation::softplus;
  m.net.cfg.apply_dale = false;
  EXPECT_EQ(original_model_dir("o", m), "o/models/mante/NoDale/P_rec_0.2_Tau_4.0");
  EXPECT_EQ(original_model_name(m, when), "Task_mante_N_200_Tau_4.0_Act_softplus_2026_12_07_010203");
}

TEST(RateMat, TrainWritesTheOriginalNameAndAUniqueOneWhenTaken) {
  test::TempDir dir("rsnn_rate_mat_name");
  const std::string args = "rate train --task go-nogo --N 8 --max-trials 3 --eval-freq 2 --eval-trials 2 --plot off "
                           "--threads 1 --mat --seed 9 --out " + dir.dir();
  const test::CmdResult a = test::run_rsnn(args), b = test::run_rsnn(args);  // often the same second
  ASSERT_EQ(a.rc, 0) << a.out;
  ASSERT_EQ(b.rc, 0) << b.out;
  const std::string folder = dir.dir() + "/models/go-nogo/P_rec_0.2_Taus_4.0_10.0";
  const std::regex original(R"(Task_go-nogo_N_8_Taus_4\.0_10\.0_Act_sigmoid_\d{4}_\d\d_\d\d_\d{6}\.(mat|h5))");
  const std::regex unique(R"(Task_go-nogo_N_8_Taus_4\.0_10\.0_Act_sigmoid_\d{4}_\d\d_\d\d_\d{6}_seed9_[0-9a-f]{8}\.(mat|h5))");
  int n_original = 0, n_unique = 0, other = 0;
  for (const auto& e : fs::directory_iterator(folder)) {
    const std::string f = e.path().filename().string();
    if (std::regex_match(f, original)) ++n_original;
    else if (std::regex_match(f, unique)) ++n_unique;
    else if (f.find("_log.csv") == std::string::npos) ++other;
  }
  EXPECT_EQ(other, 0);  // no reservation left behind
  // Two runs, an .h5 and a .mat each; at least the first has the original's name.
  EXPECT_EQ(n_original + n_unique, 4);
  EXPECT_GE(n_original, 2);
}
