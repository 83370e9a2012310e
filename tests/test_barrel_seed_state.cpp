// The seed's initial state in barrel checkpoints (issue 17 item 5), without torch: the seed's
// forward re-seeds torch (515) and draws v0 and real-valued s0 with torch.rand for its batch
// size B. tools/convert_torch_barrel.py stores those draws (/init_state/<B>), computed here by
// its numpy re-implementation of torch's CPU generator; we check that generator against
// values recorded from torch 1.13, that rsnn starts every forward from the stored state and
// refuses a batch size without one, and that rsnn's forward then equals an independent
// float64 numpy re-implementation of the seed's forward (tests/barrel_seed_reference.py) at
// T = 550 for both forms, while rsnn's own initial state gives different outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "autograd/var.h"
#include "models/barrel/analysis.h"
#include "models/barrel/train.h"
#include "runtime/hdf5_io.h"
#include "runtime/random.h"
#include "barrel_seed_check.h"
#include "test_util.h"

using namespace rsnn;
using namespace rsnn::barrel;

namespace {

using test::CmdResult;
CmdResult run(const std::string& cmd) { return test::run_command(cmd); }

std::string src(const std::string& rel) { return std::string(RSNN_SOURCE_DIR) + "/" + rel; }

// A python3 with numpy and h5py (Debian's /usr/bin/python3 has them), or "".
const std::string& python() {
  static const std::string py = [] {
    for (const char* p : {"python3", "/usr/bin/python3"}) {
      const std::string cmd = std::string(p) + " -c 'import numpy, h5py' >/dev/null 2>&1";
      if (std::system(cmd.c_str()) == 0) return std::string(p);
    }
    return std::string();
  }();
  return py;
}

#define NEED_PYTHON()                                                                              \
  do {                                                                                             \
    if (python().empty()) GTEST_SKIP() << "no python3 with numpy and h5py (Debian: python3-h5py)"; \
  } while (0)

CmdResult add_init_state(const std::string& in, const std::string& out, const std::string& batches) {
  return run(python() + " " + src("tools/convert_torch_barrel.py") + " " + in + " " + out + " --init-batch " +
             batches + " --init-generator numpy");
}

// torch.manual_seed(515); torch.rand(N) by the converter's numpy generator.
std::vector<float> torch_rand(const test::TempDir& dir, int64_t n) {
  const std::string out = dir.path("u.h5");
  const CmdResult r = run(python() + " " + src("tests/barrel_seed_reference.py") + " torch-rand 515 " +
                          std::to_string(n) + " " + out);
  EXPECT_EQ(r.rc, 0) << r.out;
  return r.rc == 0 ? H5File::open_read(out).read("u").to_vector<float>() : std::vector<float>();
}

// A small-T model saved by rsnn, then with the seed's initial state for `batches` added.
std::unique_ptr<BarrelModel> seeded_model(const test::TempDir& dir, InputForm form, int64_t T,
                                          const std::string& batches) {
  BarrelConfig cfg = form == InputForm::spiking ? BarrelConfig::spiking_default() : BarrelConfig::real_default();
  cfg.T = T;
  BarrelModel m(cfg);
  save_checkpoint(dir.path("plain.h5"), m, nullptr, 0, 0, 0.0);
  const CmdResult c = add_init_state(dir.path("plain.h5"), dir.path("seeded.h5"), batches);
  EXPECT_EQ(c.rc, 0) << c.out;
  EXPECT_NE(c.out.find("seed's initial state for B = "), std::string::npos) << c.out;
  return c.rc == 0 ? load_checkpoint(dir.path("seeded.h5")) : nullptr;
}

}  // namespace

// The converter's numpy generator against torch 1.13's `torch.manual_seed(515);
// torch.rand(...)` (values recorded from torch, as 24-bit integers u * 2^24), across the
// mt19937 state refill at 624 and as far as a batch of 128 draws.
TEST(BarrelSeedState, GeneratorMatchesTorch) {
  NEED_PYTHON();
  test::TempDir dir("rsnn_seed_state");
  const std::vector<std::pair<int64_t, int64_t>> want = {
      {0, 10197193}, {1, 15379842}, {2, 21899},    {3, 782188},     {623, 7942671},
      {624, 15783257}, {1000, 5829720}, {8835, 2207428}, {8836, 4805652}, {1131007, 2031845}};
  const std::vector<float> u = torch_rand(dir, 1131008);
  ASSERT_EQ(u.size(), 1131008u);
  for (const auto& [i, k] : want) EXPECT_EQ(u[i], float(k) * 0x1p-24f) << "value " << i;
  int64_t outside = 0;
  for (float v : u) outside += !(v >= 0.0f && v < 1.0f);
  EXPECT_EQ(outside, 0);
}

// The stored draws are the seed's (thalamus v [B, 200], thalamus s, each population's v
// [B, n], then each population's s, in network order), survive save/load, are used by
// initial_state, and a batch size without one is refused before any work.
TEST(BarrelSeedState, StoredStateAndBatchRule) {
  NEED_PYTHON();
  test::TempDir dir("rsnn_seed_state");
  std::unique_ptr<BarrelModel> m = seeded_model(dir, InputForm::spiking, 4, "3,2");
  ASSERT_TRUE(m);
  EXPECT_EQ(H5File::open_read(dir.path("seeded.h5")).list("/init_state"), (std::vector<std::string>{"2", "3"}));
  ASSERT_EQ(m->stored_initial_states().size(), 2u);
  const int64_t N = 4418, B = 2;
  const std::vector<float> u = torch_rand(dir, 2 * B * N);
  Tensor v0, a0, s0;
  m->initial_state(B, v0, a0, s0);
  const std::vector<float> v = v0.to_vector<float>(), s = s0.to_vector<float>();
  const int64_t sizes[] = {200, 440, 934, 94, 93, 2232, 106, 4, 55, 64, 64, 34, 60, 38};
  int64_t at = 0, col = 0, bad = 0;
  // Thalamus: v rows, then s rows.
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < 200; ++j) bad += v[b * N + j] != u[at + b * 200 + j];
  at += B * 200;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < 200; ++j) bad += s[b * N + j] != u[at + b * 200 + j];
  at += B * 200;
  for (const std::vector<float>* x : {&v, &s}) {  // populations' v, then their s
    col = 200;
    for (int g = 1; g < 14; ++g) {
      for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < sizes[g]; ++j) bad += (*x)[b * N + col + j] != u[at + b * sizes[g] + j];
      at += B * sizes[g];
      col += sizes[g];
    }
  }
  EXPECT_EQ(at, 2 * B * N);
  EXPECT_EQ(bad, 0) << "stored draws differ from the seed's order";
  for (float x : a0.to_vector<float>()) ASSERT_EQ(x, 0.04f);

  test::expect_error([&] { m->initial_state(4, v0, a0, s0); }, {"batch size(s) 2, 3", "B = 4", "--init-batch"});
  EXPECT_NO_THROW(check_batch_sizes(*m, 4, 2));  // 2 + 2
  EXPECT_NO_THROW(check_batch_sizes(*m, 5, 3));  // 3 + 2
  EXPECT_NO_THROW(check_batch_sizes(*m, 2, 128)); // one batch of 2
  test::expect_error([&] { check_batch_sizes(*m, 7, 3); }, {"B = 1"});
  test::expect_error([&] { check_batch_sizes(*m, 4, 4); }, {"B = 4"});

  // save_checkpoint keeps the stored states.
  save_checkpoint(dir.path("again.h5"), *m, nullptr, 1, 1, 0.5);
  std::unique_ptr<BarrelModel> again = load_checkpoint(dir.path("again.h5"));
  ASSERT_EQ(again->stored_initial_states().size(), 2u);
  for (const auto& [b, vs] : m->stored_initial_states()) {
    const auto& w = again->stored_initial_states().at(b);
    EXPECT_EQ(vs.first.to_vector<float>(), w.first.to_vector<float>());
    EXPECT_EQ(vs.second.to_vector<float>(), w.second.to_vector<float>());
  }
  // `rsnn barrel eval`: 5 samples in batches of 3 (3 + 2) run; in batches of 2 (2 + 2 + 1) fail first.
  if (std::filesystem::exists(RSNN_RSNN_EXE)) {
    const std::string eval = std::string(RSNN_RSNN_EXE) + " barrel eval --checkpoint " + dir.path("seeded.h5") +
                             " --synth-test 5 --threads 1 --batch ";
    const CmdResult ok = run(eval + "3");
    EXPECT_EQ(ok.rc, 0) << ok.out;
    EXPECT_NE(ok.out.find("test samples 5"), std::string::npos) << ok.out;
    const CmdResult bad = run(eval + "2");
    EXPECT_NE(bad.rc, 0) << bad.out;
    EXPECT_NE(bad.out.find("this forward has B = 1"), std::string::npos) << bad.out;
    EXPECT_EQ(bad.out.find("test samples 5"), std::string::npos) << bad.out;  // no result line
  } else {
    std::cout << "[  NOTE    ] the rsnn program is not built (" << RSNN_RSNN_EXE << "): eval not run\n";
  }
  // analyze's copy with fewer steps keeps them.
  std::unique_ptr<BarrelModel> shorter = copy_with_steps(*m, 3);
  ASSERT_EQ(shorter->stored_initial_states().size(), 2u);
  EXPECT_EQ(shorter->stored_initial_states().at(2).second.to_vector<float>(), s);
  // A model without stored states draws its own for any B.
  std::unique_ptr<BarrelModel> plain = load_checkpoint(dir.path("plain.h5"));
  EXPECT_TRUE(plain->stored_initial_states().empty());
  EXPECT_NO_THROW(plain->initial_state(4, v0, a0, s0));
}

// Broken /init_state groups and converter flags fail with one clear line.
TEST(BarrelSeedState, BadInput) {
  NEED_PYTHON();
  test::TempDir dir("rsnn_seed_state");
  ASSERT_TRUE(seeded_model(dir, InputForm::real, 3, "2"));
  std::filesystem::copy_file(dir.path("seeded.h5"), dir.path("named.h5"));
  {
    H5File f = H5File::open_rw(dir.path("seeded.h5"));
    f.remove("/init_state/2/s0");
    f.write("/init_state/2/s0", Tensor::zeros({3, 4418}, DType::f32));
  }
  test::expect_error([&] { load_checkpoint(dir.path("seeded.h5")); }, {"seeded.h5", "/init_state/2/s0", "[2, 4418]"});
  {
    H5File f = H5File::open_rw(dir.path("named.h5"));
    f.create_group("/init_state/x7");
  }
  test::expect_error([&] { load_checkpoint(dir.path("named.h5")); }, {"/init_state/x7", "positive integer"});

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--init-batch 0", "batch sizes must be >= 1"},
      {"--init-batch 2,a", "expected positive integers"},
      {"", "give --init-batch"},
      {"--init-batch 2 --steps 6", "--steps: only for a MODEL.pth"},
  };
  for (const auto& [flags, message] : cases) {
    const CmdResult c = run(python() + " " + src("tools/convert_torch_barrel.py") + " " + dir.path("plain.h5") +
                            " " + dir.path("out.h5") + " " + flags);
    EXPECT_EQ(c.rc, 1) << flags << ": " << c.out;
    EXPECT_NE(c.out.find("convert_torch_barrel: error: " ), std::string::npos) << c.out;
    EXPECT_NE(c.out.find(message), std::string::npos) << flags << ": " << c.out;
    EXPECT_FALSE(std::filesystem::exists(dir.path("out.h5"))) << flags;
  }
}

namespace {

// rsnn's forward (T = 550, B = 2) from the stored seed state equals the numpy reference of
// the seed's forward (barrel_seed_check.h: the same spikes and summed softmax outputs within
// float32 tolerance); rsnn's own (Philox) initial state gives outputs that differ.
void check_seed_forward(InputForm form) {
  test::TempDir dir("rsnn_seed_state");
  const int64_t T = 550, B = 2;
  std::unique_ptr<BarrelModel> m = seeded_model(dir, form, T, "2");
  ASSERT_TRUE(m);
  const bool spiking = form == InputForm::spiking;
  Tensor x = Tensor::empty({T, B, spiking ? 186 : 558}, DType::f32);
  if (spiking) fill_bernoulli(x, 21, 0, 0.3);
  else fill_uniform(x, 22, 0, -1.0, 1.0);
  {
    H5File io = H5File::create(dir.path("io.h5"));
    io.write("x", x);
    io.close();
  }
  const CmdResult ref = run(python() + " " + src("tests/barrel_seed_reference.py") + " forward " +
                            dir.path("seeded.h5") + " " + dir.path("io.h5") + " " + dir.path("ref.h5"));
  ASSERT_EQ(ref.rc, 0) << ref.out;
  const std::vector<double> want = H5File::open_read(dir.path("ref.h5")).read("summed").to_vector<double>();
  const Tensor got = test::expect_seed_match(dir.path("seeded.h5"), x, dir.path("ref.h5"), dir.path("cut.h5"),
                                             spiking ? "spiking" : "real");
  EXPECT_LT(test::seed_output_diff(got, T, want), 1e-5 * double(T - 1));  // summed == cum[T - 1]
  std::unique_ptr<BarrelModel> own = load_checkpoint(dir.path("plain.h5"));
  ag::NoGradGuard no_grad;
  const double diff = test::seed_output_diff(own->forward(x, Tensor()).outputs.value(), T, want);
  std::cout << "[  SEED    ] without the stored state: max diff " << diff << "\n";
  EXPECT_GT(diff, 0.1) << "rsnn's own initial state gave the seed's outputs: the check cannot fail";
}

}  // namespace

TEST(BarrelSeedState, SpikingForwardMatchesSeed) {
  NEED_PYTHON();
  check_seed_forward(InputForm::spiking);
}

TEST(BarrelSeedState, RealForwardMatchesSeed) {
  NEED_PYTHON();
  check_seed_forward(InputForm::real);
}
