// Issue 15 regressions at the command line: parallel runs into one folder, invalid values named
// by their flag, NaN rejected, outputs checked before the work, one-line errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "models/rate/model_file.h"
#include "runtime/hdf5_io.h"
#include "tests/test_util.h"

using namespace rsnn;
namespace fs = std::filesystem;

namespace {

using test::CmdResult;
CmdResult run(const std::string& args) { return test::run_rsnn(args); }

// Runs every command at once (shell background jobs) and returns each one's exit status and
// output, in order.
std::vector<CmdResult> run_parallel(const std::vector<std::string>& args, const std::string& dir) {
  std::string script;
  for (size_t k = 0; k < args.size(); ++k)
    script += test::rsnn_exe() + " " + args[k] + " > " + dir + "/out" + std::to_string(k) +
              " 2>&1; echo $? > " + dir + "/rc" + std::to_string(k) + " &\n";
  script += "wait\n";
  std::system(("sh -c '" + script + "'").c_str());
  std::vector<CmdResult> res;
  for (size_t k = 0; k < args.size(); ++k) {
    std::ifstream rc(dir + "/rc" + std::to_string(k)), out(dir + "/out" + std::to_string(k));
    CmdResult r{-1, std::string((std::istreambuf_iterator<char>(out)), {})};
    rc >> r.rc;
    res.push_back(r);
  }
  return res;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

const std::string kTinyRateAnyTask = "rate train --N 16 --max-trials 30 --eval-freq 10 --eval-trials 4 --plot off --threads 1";
const std::string kTinyRate = kTinyRateAnyTask + " --task go-nogo";

}  // namespace

TEST(HardeningCli, ParallelRateTrainingIntoOneFolderKeepsEveryModel) {
  test::TempDir dir("rsnn_hard_par");
  const std::string out = dir.path("runs");
  // Same seed, same second: the default names must still differ.
  const std::vector<CmdResult> res = run_parallel(
      {kTinyRate + " --seed 3 --out " + out, kTinyRate + " --seed 3 --out " + out,
       kTinyRate + " --seed 4 --out " + out},
      dir.dir());
  for (const CmdResult& r : res) EXPECT_EQ(r.rc, 0) << r.out;
  const std::string models = out + "/models/go-nogo/P_rec_0.2_Taus_4.0_10.0";
  int h5 = 0, logs = 0, temps = 0;
  for (const std::string& f : files_in(models)) {
    h5 += ends_with(f, ".h5");
    logs += ends_with(f, "_log.csv");
    temps += f.find(".tmp") != std::string::npos;
  }
  EXPECT_EQ(h5, 3);
  EXPECT_EQ(logs, 3);
  EXPECT_EQ(temps, 0);
}

TEST(HardeningCli, ParallelGridSearchesOverOneFolderBothFinish) {
  test::TempDir dir("rsnn_hard_grid");
  const CmdResult tr = run(kTinyRate + " --seed 2 --name m --out " + dir.path("r"));
  ASSERT_EQ(tr.rc, 0) << tr.out;
  const std::string folder = dir.path("r") + "/models/go-nogo/P_rec_0.2_Taus_4.0_10.0";
  const std::string gs = "spiking grid-search --model " + folder +
                         " --scaling-factors 20,40 --trials 2 --downsample 4 --force --threads 1";
  // A collision needs two renames at the same moment: on the old fixed-.tmp writer one round
  // of 8 caught it in two of five tries, so six rounds.
  for (int round = 0; round < 6; ++round) {
    const std::vector<CmdResult> res = run_parallel(std::vector<std::string>(8, gs), dir.dir());
    for (const CmdResult& r : res) ASSERT_EQ(r.rc, 0) << "round " << round << ": " << r.out;
  }
  for (const std::string& f : files_in(folder)) EXPECT_EQ(f.find(".tmp"), std::string::npos) << f;
  EXPECT_FALSE(std::isnan(rate::load_rate_model(folder + "/m.h5").opt_scaling_factor));
}

TEST(HardeningCli, DefaultModelNameHoldsSeedAndAUniqueSuffix) {
  rate::RateModel m;
  m.net.cfg.taus = {4, 10};
  m.seed = 77;
  const std::string a = rate::default_model_name(m), b = rate::default_model_name(m);
  EXPECT_NE(a, b);
  EXPECT_NE(a.find("_seed77_"), std::string::npos) << a;
}

// ---- defects 6 and 7: every invalid value is an error naming its flag ----

namespace {
void expect_flag_error(const std::string& args, const std::string& flag) {
  const CmdResult r = run(args);
  EXPECT_NE(r.rc, 0) << args << "\n" << r.out;
  EXPECT_NE(r.out.find(flag), std::string::npos) << args << "\n" << r.out;
  // One line, no 300-digit range bounds.
  EXPECT_LE(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << "\n" << r.out;
  EXPECT_LT(r.out.size(), 400u) << args << "\n" << r.out;
}

const std::string kBarrelData = "barrel train --synth-train 4 --synth-test 2 --batch 4 --threads 1";
const std::string kTinyBarrel = kBarrelData + " --form real --steps 3 --epochs 1";
}  // namespace

TEST(HardeningCli, InvalidNumbersNameTheirFlag) {
  test::TempDir dir("rsnn_hard_flags");
  const std::string out = " --out " + dir.path("run");
  expect_flag_error(kTinyBarrel + out + " --init-b -0.5", "--init-b");
  expect_flag_error(kTinyBarrel + out + " --init-b nan", "--init-b");
  expect_flag_error(kTinyBarrel + out + " --init-w 1.5", "--init-w");
  expect_flag_error(kTinyBarrel + out + " --lr inf", "--lr");
  expect_flag_error(kTinyBarrel + out + " --gamma -1", "--gamma");
  expect_flag_error(kTinyBarrel + out + " --batch -3", "--batch");
  expect_flag_error(kTinyRateAnyTask + " --task xor --delay -5 --out " + dir.path("r"), "--delay");
  expect_flag_error(kTinyRate + " --gain nan --out " + dir.path("r"), "--gain");
  expect_flag_error(kTinyRate + " --N -4 --out " + dir.path("r"), "--N");
  expect_flag_error("spiking eval --model " + dir.path("m.h5") + " --scaling-factor -5", "--scaling-factor");
  expect_flag_error("spiking eval --model " + dir.path("m.h5") + " --scaling-factor nan", "--scaling-factor");
  // Nothing was written by the refused runs.
  EXPECT_FALSE(fs::exists(dir.path("run") + "/checkpoint.h5"));
  EXPECT_FALSE(fs::exists(dir.path("r")));
}

TEST(HardeningCli, ResumeRefusesDifferentModelFlags) {
  test::TempDir dir("rsnn_hard_resume");
  const std::string out = " --out " + dir.path("run");
  const CmdResult first = run(kTinyBarrel + out);
  ASSERT_EQ(first.rc, 0) << first.out;
  for (const char* flag_c : {"--form spiking", "--steps 5", "--seed 9", "--init-b 0.1", "--loss plain"}) {
    const std::string flag = flag_c;
    const CmdResult r = run(kBarrelData + out + " --epochs 2 --resume " + flag);
    EXPECT_NE(r.rc, 0) << flag << "\n" << r.out;
    EXPECT_NE(r.out.find(flag.substr(0, flag.find(' '))), std::string::npos) << r.out;
  }
  // The same values as stored are fine.
  const CmdResult same = run(kBarrelData + out + " --epochs 2 --resume --form real --steps 3 --seed 515");
  EXPECT_EQ(same.rc, 0) << same.out;
}

TEST(HardeningCli, NanInARateModelIsRefusedByGridSearchAndEval) {
  test::TempDir dir("rsnn_hard_nan");
  const CmdResult tr = run(kTinyRate + " --seed 2 --name m --out " + dir.path("r"));
  ASSERT_EQ(tr.rc, 0) << tr.out;
  const std::string model = dir.path("r") + "/models/go-nogo/P_rec_0.2_Taus_4.0_10.0/m.h5";
  {
    H5File f = H5File::open_rw(model);
    Tensor w = f.read_as("w", DType::f64);
    w.data<double>()[5] = std::nan("");
    f.write("w", w);
    f.close();
  }
  for (const std::string& cmd :
       {"spiking grid-search --model " + model + " --scaling-factors 20,40 --trials 2 --downsample 4",
        "rate eval --model " + model + " --trials 2"}) {
    const CmdResult r = run(cmd);
    EXPECT_NE(r.rc, 0) << cmd << "\n" << r.out;
    EXPECT_NE(r.out.find(model), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("'w'"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("best scaling factor"), std::string::npos) << r.out;
  }
}

// ---- defect 5: outputs checked before the work ----

TEST(HardeningCli, UnwritableOutputsFailBeforeTheWork) {
  test::TempDir dir("rsnn_hard_out");
  const CmdResult tr = run(kTinyBarrel + " --out " + dir.path("run"));
  ASSERT_EQ(tr.rc, 0) << tr.out;
  const std::string ckpt = dir.path("run") + "/checkpoint.h5";
  const CmdResult dep = run("barrel deprive --checkpoint " + ckpt + " --synth-test 2 --max-k 2 --trials 2 --out " +
                            dir.path("missing/x.csv"));
  EXPECT_NE(dep.rc, 0) << dep.out;
  EXPECT_NE(dep.out.find("--out"), std::string::npos) << dep.out;
  EXPECT_NE(dep.out.find("does not exist"), std::string::npos) << dep.out;
  EXPECT_EQ(dep.out.find("k = 1"), std::string::npos) << "trials ran first:\n" << dep.out;
  // A run folder below a regular file cannot be created: refused before the model is built.
  std::ofstream(dir.path("file")) << "x";
  const CmdResult bad = run(kTinyBarrel + " --out " + dir.path("file/run"));
  EXPECT_NE(bad.rc, 0) << bad.out;
  EXPECT_NE(bad.out.find("--out"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("Not a directory"), std::string::npos) << "mkdir failure without its reason:\n" << bad.out;
  EXPECT_EQ(bad.out.find("generating"), std::string::npos) << "data made first:\n" << bad.out;
  const CmdResult ev = run(kTinyRate + " --name m --out " + dir.path("file/r"));
  EXPECT_NE(ev.rc, 0) << ev.out;
  EXPECT_EQ(ev.out.find("tr "), std::string::npos) << ev.out;
  const CmdResult sp = run("spiking eval --model " + dir.path("none.h5") + " --record " + dir.path("no/rec.h5"));
  EXPECT_NE(sp.rc, 0);
  EXPECT_NE(sp.out.find("--record"), std::string::npos) << sp.out;
}

// ---- defect 3: runs outside the source tree, and from an installed copy ----

TEST(HardeningCli, BarrelRunsFromAnyDirectory) {
  test::TempDir dir("rsnn_hard_cwd");
  const std::string cmd = "cd " + dir.dir() + " && env -u RSNN_DATA_DIR " + test::rsnn_exe() +
                          " " + kTinyBarrel + " --out run";
  const int rc = std::system((cmd + " > log.txt 2>&1").c_str());
  std::ifstream log(dir.path("log.txt"));
  const std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_EQ(rc, 0) << text;
  EXPECT_TRUE(fs::exists(dir.path("run/checkpoint.h5"))) << text;
}

TEST(HardeningCli, InstalledProgramRunsFromAnyDirectory) {
  // The build folder holds tools/rsnn; cmake --install copies the program and its data.
  const fs::path build = fs::path(RSNN_RSNN_EXE).parent_path().parent_path();
  if (!fs::exists(build / "cmake_install.cmake")) GTEST_SKIP() << "no cmake_install.cmake in " << build;
  test::TempDir dir("rsnn_hard_install");
  const std::string prefix = dir.path("prefix");
  const int rc = std::system(("cmake --install " + build.string() + " --prefix " + prefix +
                              " > " + dir.path("install.txt") + " 2>&1").c_str());
  std::ifstream ilog(dir.path("install.txt"));
  ASSERT_EQ(rc, 0) << std::string((std::istreambuf_iterator<char>(ilog)), {});
  EXPECT_TRUE(fs::exists(prefix + "/bin/rsnn"));
  EXPECT_TRUE(fs::exists(prefix + "/share/rsnn/barrel/Exc_AlltoAll_prob.csv"));
  for (const char* script : {"plot_rate.py", "plot_barrel.py", "plot_microns.py", "plot_rstdp.py"})
    EXPECT_TRUE(fs::exists(prefix + "/share/rsnn/" + script)) << script;
  fs::create_directories(dir.path("work"));
  const std::string cmd = "cd " + dir.path("work") + " && env -u RSNN_DATA_DIR " + prefix + "/bin/rsnn " +
                          kTinyBarrel + " --out run > log.txt 2>&1";
  const int run_rc = std::system(cmd.c_str());
  std::ifstream log(dir.path("work/log.txt"));
  EXPECT_EQ(run_rc, 0) << std::string((std::istreambuf_iterator<char>(log)), {});
  EXPECT_TRUE(fs::exists(dir.path("work/run/checkpoint.h5")));
}

// ---- defect 10: a data file with zero samples is an error, not accuracy 0 ----

TEST(HardeningCli, EmptyDataFileIsAnError) {
  test::TempDir dir("rsnn_hard_empty");
  const std::string empty = dir.path("empty.h5");
  {
    H5File f = H5File::create(empty);
    f.write("force", Tensor::zeros({0, 12, 110, 31, 3, 3}));
    f.write("torque", Tensor::zeros({0, 12, 110, 31, 3, 3}));
    f.write("label", Tensor::zeros({0}, DType::f64));
    f.close();
  }
  const CmdResult tr = run(kTinyBarrel + " --out " + dir.path("run"));
  ASSERT_EQ(tr.rc, 0) << tr.out;
  for (const std::string& cmd :
       {"barrel eval --checkpoint " + dir.path("run/checkpoint.h5") + " --test-file " + empty,
        kTinyBarrel + " --out " + dir.path("run2") + " --train-file " + empty,
        kTinyBarrel + " --out " + dir.path("run3") + " --test-file " + empty,
        "whisker baseline --train-file " + empty + " --test-file " + empty}) {
    const CmdResult r = run(cmd);
    EXPECT_NE(r.rc, 0) << cmd << "\n" << r.out;
    EXPECT_NE(r.out.find("no samples"), std::string::npos) << cmd << "\n" << r.out;
    EXPECT_EQ(r.out.find("accuracy 0.0000"), std::string::npos) << r.out;
  }
}

// ---- defect 8: resource guards ----

TEST(HardeningCli, RunsThatCannotFitAreRefusedUpFront) {
  test::TempDir dir("rsnn_hard_res");
  // 1e8 steps per trial: refused with the estimate instead of growing to many GB.
  const CmdResult delay = run(kTinyRateAnyTask + " --task xor --delay 100000000 --out " + dir.path("r"));
  EXPECT_NE(delay.rc, 0) << delay.out;
  EXPECT_NE(delay.out.find("needs about"), std::string::npos) << delay.out;
  EXPECT_NE(delay.out.find("available"), std::string::npos) << delay.out;
  EXPECT_EQ(delay.out.find("tr "), std::string::npos) << delay.out;
  // 55 M scaling factors from a typo in the step.
  const CmdResult grid = run("spiking grid-search --model " + dir.path("m.h5") + " --scaling-factors 20:0.000001:75");
  EXPECT_NE(grid.rc, 0) << grid.out;
  EXPECT_NE(grid.out.find("more than the 10000"), std::string::npos) << grid.out;
  // A barrel batch larger than the memory allowed (RSNN_MEMORY_LIMIT caps it).
  const std::string cmd = "RSNN_MEMORY_LIMIT=100M " + test::rsnn_exe() + " " + kBarrelData +
                          " --form spiking --epochs 1 --out " + dir.path("run") + " > " + dir.path("big.txt") + " 2>&1";
  EXPECT_NE(std::system(cmd.c_str()), 0);
  std::ifstream in(dir.path("big.txt"));
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("barrel train (batch 4"), std::string::npos) << text;
  EXPECT_NE(text.find("needs about"), std::string::npos) << text;
  EXPECT_EQ(text.find("train ["), std::string::npos) << text;
}

TEST(HardeningCli, ThreadCountIsCappedWithANote) {
  test::TempDir dir("rsnn_hard_thr");
  const CmdResult r = run("rate train --task go-nogo --N 16 --max-trials 20 --eval-freq 10 --eval-trials 4 "
                          "--plot off --name m --out " + dir.path("r") + " --threads 1000");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("--threads 1000 capped at"), std::string::npos) << r.out;
}

// ---- defect 11: progress in every evaluation, an ETA in rate training ----

TEST(HardeningCli, EvaluationsShowProgressAndRateTrainingAnEta) {
  test::TempDir dir("rsnn_hard_prog");
  const CmdResult tr = run(kTinyRate + " --name m --out " + dir.path("r"));
  ASSERT_EQ(tr.rc, 0) << tr.out;
  EXPECT_NE(tr.out.find("left"), std::string::npos) << tr.out;
  const std::string model = dir.path("r") + "/models/go-nogo/P_rec_0.2_Taus_4.0_10.0/m.h5";
  const CmdResult rev = run("rate eval --model " + model + " --trials 4");
  EXPECT_EQ(rev.rc, 0) << rev.out;
  EXPECT_NE(rev.out.find("eval ["), std::string::npos) << rev.out;
  const CmdResult sev = run("spiking eval --model " + model + " --scaling-factor 30 --trials 2 --downsample 4");
  EXPECT_EQ(sev.rc, 0) << sev.out;
  EXPECT_NE(sev.out.find("eval ["), std::string::npos) << sev.out;
  const CmdResult btr = run(kTinyBarrel + " --out " + dir.path("run"));
  ASSERT_EQ(btr.rc, 0) << btr.out;
  const CmdResult bev = run("barrel eval --synth-test 2 --checkpoint " + dir.path("run/checkpoint.h5"));
  EXPECT_EQ(bev.rc, 0) << bev.out;
  EXPECT_NE(bev.out.find("eval ["), std::string::npos) << bev.out;
}

TEST(HardeningCli, WhiskerAndAnalyzeCheckTheirOutputsAndFlags) {
  test::TempDir dir("rsnn_hard_whisker");
  std::ofstream(dir.path("file")) << "x";
  const CmdResult synth = run("whisker synth --train 1 --test 1 --out " + dir.path("file/w"));
  EXPECT_NE(synth.rc, 0) << synth.out;
  EXPECT_NE(synth.out.find("--out"), std::string::npos) << synth.out;
  expect_flag_error("barrel analyze --checkpoint " + dir.path("c.h5") + " --fresh-init-b -1", "--fresh-init-b");
  expect_flag_error("barrel analyze --checkpoint " + dir.path("c.h5") + " --fresh-init-w nan", "--fresh-init-w");
}
