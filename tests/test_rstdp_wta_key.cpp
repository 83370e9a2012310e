// The k-WTA ranking option of layers 1-2 (--wta-key): SpykeTorch's float32 key against the
// exact order on a hand-made near-tie, the fast path against the tensor-by-tensor reference
// under both keys, the key through STDP steps, save/load, resume and the CLI flag.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "kernels/spikewave.h"
#include "kernels/spikewave_math.h"
#include "models/rstdp/train.h"
#include "runtime/hdf5_io.h"
#include "runtime/philox.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::rstdp;
using sw::WtaKey;

namespace {

constexpr int T = 15;

bool same_winners(const std::vector<sw::Winner>& a, const std::vector<sw::Winner>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].f != b[i].f || a[i].y != b[i].y || a[i].x != b[i].x) return false;
  return true;
}

}  // namespace

// SpykeTorch's key by hand: offset fl32(max * T), the term fl32(p + offset) at each step from
// the first spike on, summed as torch sums 15 rows: in sequence, or (the last N % 32 flat
// indices) in four interleaved partial sums.
TEST(WtaKey, KeyFollowsTorchsSummationOrder) {
  const float mx = 200.0f;
  const float off = mx * 15.0f;
  EXPECT_EQ(sw::wta_key_offset(mx, T), 3000.0f);
  EXPECT_EQ(sw::wta_key(49.3f, T, T, off, false), 0.0f);  // never spiked
  EXPECT_EQ(sw::wta_key(49.3f, T, T, off, true), 0.0f);
  int orders_differ = 0;
  for (int j = 0; j < 200; ++j) {
    const float p = 20.0f + 0.01371f * float(j);
    const float x = p + off;
    EXPECT_EQ(sw::wta_key(p, T - 1, T, off, false), x);
    float seq = 0.0f;  // t_first = 1: steps 1..14 in sequence
    for (int i = 0; i < 14; ++i) seq += x;
    EXPECT_EQ(sw::wta_key(p, 1, T, off, false), seq);
    // Interleaved: p0 = x4 + x8 (x0 = 0), then steps 12, 13, 14; p1..p3 = 3 terms each.
    float p0 = x;
    p0 += x;
    p0 += x, p0 += x, p0 += x;
    float p3 = x;
    p3 += x;
    p3 += x;
    float il = p0 + p3;
    il += p3;
    il += p3;
    EXPECT_EQ(sw::wta_key(p, 1, T, off, true), il);
    orders_differ += il != seq;
  }
  EXPECT_GT(orders_differ, 0);  // the order matters in the last ulp
  // An earlier spike outranks any potential of a later one (15 (max + 15 max) vs 14 * 16 max).
  EXPECT_GT(sw::wta_key(0.001f, 0, T, off, false), sw::wta_key(mx, 1, T, off, true));
  EXPECT_TRUE(sw::wta_key_interleaved(48992, 49000));
  EXPECT_FALSE(sw::wta_key_interleaved(48991, 49000));
  EXPECT_FALSE(sw::wta_key_interleaved(23519, 23520));  // layer 1: 735 full blocks
}

// Two candidates of the same spike time whose potentials differ by less than the key's
// resolution (2 ulps apart; the key's ulp is 2^-8 here): the exact order takes the larger
// potential, SpykeTorch's key merges them and takes the lower index.
TEST(WtaKey, NearTieGoesToTheLowerIndexOnlyUnderSpyketorch) {
  const int C = 3, H = 1, W = 3;
  std::vector<uint8_t> t(C * H * W, uint8_t(T));
  std::vector<float> pot(t.size(), 0.0f);
  t[0 * 3 + 0] = 3, pot[0 * 3 + 0] = 49.275307f;  // (0, 0, 0): lower index, smaller potential
  t[1 * 3 + 1] = 3, pot[1 * 3 + 1] = 49.275314f;  // (1, 0, 1): larger potential
  t[2 * 3 + 2] = 9, pot[2 * 3 + 2] = 200.0f;      // later spike, sets the layer's maximum
  const float off = sw::wta_key_offset(200.0f, T);
  ASSERT_LT(pot[0], pot[4]);
  const bool il = sw::wta_key_interleaved(0, 9);  // 9 neurons: all past the last full block
  ASSERT_EQ(sw::wta_key(pot[0], 3, T, off, il), sw::wta_key(pot[4], 3, T, off, il));  // merged
  for (int path = 0; path < 2; ++path) {
    auto run = [&](WtaKey key) {
      return path == 0 ? sw::k_winners(t.data(), pot.data(), C, H, W, T, 1, 0, key)
                       : sw::k_winners_ref(t.data(), pot.data(), C, H, W, T, 1, 0, key);
    };
    const auto ex = run(WtaKey::exact), st = run(WtaKey::spyketorch);
    ASSERT_EQ(ex.size(), 1u);
    ASSERT_EQ(st.size(), 1u);
    EXPECT_EQ(ex[0].f, 1) << "path " << path;
    EXPECT_EQ(st[0].f, 0) << "path " << path;
    EXPECT_EQ(st[0].pot, pot[0]);
    // k = 3, r = 0: all three win, in each key's order; the later spike comes last.
    const auto st3 = path == 0 ? sw::k_winners(t.data(), pot.data(), C, H, W, T, 3, 0, WtaKey::spyketorch)
                               : sw::k_winners_ref(t.data(), pot.data(), C, H, W, T, 3, 0, WtaKey::spyketorch);
    ASSERT_EQ(st3.size(), 3u);
    EXPECT_EQ(st3[1].f, 1);
    EXPECT_EQ(st3[2].f, 2);
  }
}

// Random waves with clustered potentials (near-ties of the same spike time) and exact ties:
// the fast path equals the reference under both keys, and the keys do pick differently.
TEST(WtaKey, FastEqualsReferenceUnderBothKeys) {
  const int C = 20, H = 6, W = 7;
  const size_t N = size_t(C) * H * W;
  int differ = 0;
  for (uint64_t trial = 0; trial < 60; ++trial) {
    std::vector<uint8_t> t(N);
    std::vector<float> pot(N);
    for (size_t i = 0; i < N; ++i) {
      const uint32_t u = philox::u32(trial, 1, i);
      t[i] = uint8_t(u % 4 == 0 ? T : 2 + (u >> 2) % 4);  // few spike times: many same-time pairs
      // A few base potentials, each with a jitter below or near the key's resolution.
      const float base = 20.0f + 10.0f * float((u >> 4) % 3);
      const float jitter = float((u >> 8) % 64) * 1e-5f * (trial % 3 == 0 ? 0.0f : 1.0f);
      pot[i] = t[i] < T ? base + jitter : 0.0f;
    }
    for (int r : {0, 1, 3}) {
      const auto fe = sw::k_winners(t.data(), pot.data(), C, H, W, T, 5, r, WtaKey::exact);
      const auto re = sw::k_winners_ref(t.data(), pot.data(), C, H, W, T, 5, r, WtaKey::exact);
      const auto fs = sw::k_winners(t.data(), pot.data(), C, H, W, T, 5, r, WtaKey::spyketorch);
      const auto rs = sw::k_winners_ref(t.data(), pot.data(), C, H, W, T, 5, r, WtaKey::spyketorch);
      EXPECT_EQ(fe, re);
      EXPECT_EQ(fs, rs);
      EXPECT_FALSE(fs.empty());
      differ += !same_winners(fe, fs);
    }
  }
  EXPECT_GT(differ, 0) << "no random case separates the two keys";
}

// Training steps under SpykeTorch's key: fast and reference stay bit-equal, and the key is
// saved with the layers and read back.
TEST(WtaKey, StdpStepsAndSaveLoadKeepTheKey) {
  Layers12 fast = make_layers12(5), ref = make_layers12(5);
  fast.wta_key = ref.wta_key = WtaKey::spyketorch;
  std::vector<Wave> waves;
  for (uint64_t s = 0; s < 3; ++s) {
    std::vector<uint8_t> img(28 * 28, 0);
    for (int i = 0; i < 28 * 28; ++i) img[i] = uint8_t(philox::u32(s + 40, 3, i) % 7 == 0 ? 200 : 0);
    waves.push_back(encode_image(img.data(), 28, 28));
  }
  for (const Wave& in : waves)
    EXPECT_EQ(stdp_step_layer1(fast, in), stdp_step_layer1(ref, in, Path::reference));
  for (const Wave& in : std::vector<Wave>(waves.begin(), waves.begin() + 2))
    EXPECT_EQ(stdp_step_layer2(fast, in), stdp_step_layer2(ref, in, Path::reference));
  EXPECT_EQ(fast.w1, ref.w1);
  EXPECT_EQ(fast.w2, ref.w2);

  test::TempDir dir;
  const std::string path = dir.path("l12.h5");
  {
    H5File f = H5File::create(path);
    save_layers12(f, "layers12", fast);
    f.close();
  }
  EXPECT_EQ(load_layers12(H5File::open_read(path), "layers12").wta_key, WtaKey::spyketorch);
  {
    H5File f = H5File::open_rw(path);
    f.set_attr("layers12", "wta_key", std::string("fuzzy"));
  }
  try {
    load_layers12(H5File::open_read(path), "layers12");
    ADD_FAILURE() << "bad wta_key accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("wta_key"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fuzzy"), std::string::npos) << e.what();
  }
}

// A checkpoint records the key; resuming with the other one is refused naming the flag.
TEST(WtaKey, ResumeKeepsTheKey) {
  test::TempDir dir;
  TrainConfig cfg;
  cfg.out_dir = dir.path("run");
  cfg.wta_key = WtaKey::spyketorch;
  TrainState s;
  s.l12 = make_layers12(1);
  s.l12.wta_key = cfg.wta_key;
  s.l3 = make_layer3(1);
  s.best_l3 = s.l3;
  const std::string ckpt = dir.path("checkpoint.h5");
  save_checkpoint(ckpt, cfg, s);
  EXPECT_NO_THROW(check_resume(ckpt, cfg));
  EXPECT_EQ(load_checkpoint(ckpt).l12.wta_key, WtaKey::spyketorch);
  TrainConfig other = cfg;
  other.wta_key = WtaKey::exact;
  try {
    check_resume(ckpt, other);
    ADD_FAILURE() << "resume with another key accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--wta-key spyketorch, now exact"), std::string::npos) << e.what();
  }
}

TEST(WtaKey, CliFlagIsValidated) {
  EXPECT_EQ(sw::parse_wta_key("exact", "x"), WtaKey::exact);
  EXPECT_EQ(sw::parse_wta_key("spyketorch", "x"), WtaKey::spyketorch);
  test::TempDir dir;
  const test::CmdResult r =
      test::run_rsnn("rstdp train --out " + dir.path("run") + " --wta-key spyke --no-plots");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("--wta-key: unknown k-WTA key 'spyke' (expected exact or spyketorch)"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.path("run") + "/checkpoint.h5"));
}
