// examples/cpp/train_lif.cpp, the C++ library guide's program (docs/cpp-library.md): it runs,
// its loss falls over the Adam steps, and its checkpoint holds the trained parameters.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <vector>

#include "runtime/hdf5_io.h"
#include "tests/test_util.h"

using namespace rsnn;

namespace {

#ifdef RSNN_EXAMPLE_TRAIN_LIF_EXE
const char* kExe = RSNN_EXAMPLE_TRAIN_LIF_EXE;
#else
const char* kExe = nullptr;  // examples/cpp not configured (RSNN_FUZZ builds)
#endif

}  // namespace

TEST(ExampleTrainLif, LossFallsAndTheCheckpointReloads) {
  if (kExe == nullptr) GTEST_SKIP() << "example_train_lif is not part of this build";
  const test::TempDir tmp("rsnn_example");
  const std::string ckpt = tmp.path("ckpt.h5");
  const test::CmdResult r = test::run_command(std::string(kExe) + " " + ckpt + " 25");
  ASSERT_EQ(r.rc, 0) << r.out;
  std::vector<double> losses;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    long step = 0, spikes = 0;
    double loss = 0;
    if (std::sscanf(line.c_str(), "step %ld loss %lf spikes %ld", &step, &loss, &spikes) == 3) {
      EXPECT_EQ(step, static_cast<long>(losses.size()));
      EXPECT_GT(spikes, 0) << line;  // the network is active
      losses.push_back(loss);
    }
  }
  ASSERT_EQ(losses.size(), 25u) << r.out;
  for (double l : losses) ASSERT_TRUE(std::isfinite(l)) << r.out;
  EXPECT_NEAR(losses.front(), std::log(2.0), 0.2) << r.out;  // two classes, small readout
  EXPECT_LT(losses.back(), 0.6 * losses.front()) << r.out;  // measured: 0.696 -> 0.335
  ASSERT_TRUE(std::filesystem::exists(ckpt));
  const H5File f = H5File::open_read(ckpt);
  EXPECT_EQ(f.get_attr_int("/", "steps"), 25);
  EXPECT_EQ(f.dataset_shape("w_ro"), (Shape{2, 80}));
  EXPECT_EQ(f.dataset_shape("tau_m"), (Shape{120}));
  const std::vector<float> w = f.read("w").to_vector<float>();
  ASSERT_FALSE(w.empty());
  for (float x : w) ASSERT_TRUE(x >= 0.f && x <= 1.f) << x;  // the clamp hook held
}

TEST(ExampleTrainLif, BadStepsIsAOneLineError) {
  if (kExe == nullptr) GTEST_SKIP() << "example_train_lif is not part of this build";
  const test::TempDir tmp("rsnn_example");
  const std::string out = tmp.path("x.h5");
  const test::CmdResult r = test::run_command(std::string(kExe) + " " + out + " 0");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("STEPS: expected an integer >= 1, got '0'"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(out));
}
