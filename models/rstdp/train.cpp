// The R-STDP network's training schedule (see train.h).
#include "models/rstdp/train.h"

#include <omp.h>

#include <chrono>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "runtime/atomic_file.h"
#include "runtime/error.h"
#include "runtime/output_check.h"
#include "runtime/hdf5_io.h"
#include "runtime/npy.h"
#include "runtime/process.h"
#include "runtime/progress.h"
#include "runtime/threads.h"

namespace rsnn::rstdp {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// FNV-1a over the layer-1/2 weights: the C2 cache is valid only for the same weights.
int64_t fingerprint(const Layers12& L) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const std::vector<float>& v) {
    const auto* p = reinterpret_cast<const unsigned char*>(v.data());
    for (size_t i = 0; i < v.size() * sizeof(float); ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  mix(L.w1);
  mix(L.w2);
  return static_cast<int64_t>(h >> 1);
}

Tensor bits_tensor(const std::vector<uint64_t>& b) {
  const int64_t n = int64_t(b.size()) / kL3Words;
  Tensor t = Tensor::empty({n, kL3Words}, DType::i64);
  std::memcpy(t.data<int64_t>(), b.data(), b.size() * sizeof(uint64_t));
  return t;
}

std::vector<uint64_t> tensor_bits(const Tensor& t) {
  std::vector<uint64_t> b(size_t(t.numel()));
  std::memcpy(b.data(), t.data<int64_t>(), b.size() * sizeof(uint64_t));
  return b;
}

// The C2 bits of both splits, from the cache file when it matches the frozen layers.
void c2_maps(const TrainConfig& cfg, const Layers12& L, const Dataset& train, const Dataset& test,
             std::vector<uint64_t>& btrain, std::vector<uint64_t>& btest, std::ostream& log) {
  const std::string path = cfg.out_dir + "/c2_cache.h5";
  const int64_t fp = fingerprint(L);
  if (std::filesystem::exists(path)) {
    const H5File f = H5File::open_read(path);
    if (f.has_attr("/", "fingerprint") && f.get_attr_int("/", "fingerprint") == fp &&
        f.dataset_shape("train") == Shape{train.n, kL3Words} &&
        f.dataset_shape("test") == Shape{test.n, kL3Words}) {
      btrain = tensor_bits(f.read("train"));
      btest = tensor_bits(f.read("test"));
      log << "rstdp: C2 maps from " << path << "\n";
      return;
    }
    log << "rstdp: " << path << " is for other layers 1-2 or images; recomputing\n";
  }
  const auto t0 = Clock::now();
  btrain = c2_bits(L, train);
  btest = c2_bits(L, test);
  log << "rstdp: C2 maps of " << train.n + test.n << " images in " << format_duration(since(t0)) << "\n";
  H5File f = H5File::create(path);
  f.set_attr("/", "fingerprint", fp);
  f.write("train", bits_tensor(btrain));
  f.write("test", bits_tensor(btest));
  f.close();
}

// Layer 1 or 2: `epochs` epochs of STDP from epoch `done`, a checkpoint after each.
void stdp_stage(int layer, const TrainConfig& cfg, TrainState& s, const std::vector<Wave>& waves,
                std::ostream& log) {
  int& done = layer == 1 ? s.done1 : s.done2;
  const int epochs = layer == 1 ? cfg.epochs1 : cfg.epochs2;
  for (; done < epochs;) {
    const auto t0 = Clock::now();
    ProgressBar bar("layer " + std::to_string(layer) + " epoch " + std::to_string(done + 1) + "/" +
                        std::to_string(epochs),
                    int64_t(waves.size()), "img", cfg.progress ? &log : nullptr);
    for (size_t i = 0; i < waves.size(); ++i) {
      if (layer == 1)
        stdp_step_layer1(s.l12, waves[i]);
      else
        stdp_step_layer2(s.l12, waves[i]);
      if (cfg.progress && (i % 64 == 63)) bar.update(int64_t(i + 1));
    }
    if (cfg.progress) bar.finish();
    s.history.push_back({done, layer, -1, -1, -1, since(t0)});
    ++done;
    save_checkpoint(cfg.out_dir + "/checkpoint.h5", cfg, s);
    write_text_atomic(cfg.out_dir + "/history.csv", history_csv(s.history));
  }
}

// Redraws the run's plots in the background; between epochs (wait false) at most once a
// minute, so that a long layer-3 schedule does not start a Python beside the training's
// threads after every short epoch. wait: the final draw, always made and waited for.
void plot(const TrainConfig& cfg, std::ostream& log, bool wait) {
  static int pid = -1;
  static Clock::time_point last{};
  static bool drawn = false;
  if (!cfg.plots) return;
  if (!wait && drawn && since(last) < 60.0) return;
  static const PythonScript ps = find_python_script("plot_rstdp.py", "RSNN_RSTDP_PLOT_SCRIPT", "matplotlib, numpy");
  if (!ps.found()) {
    static bool told = false;
    if (!told) log << "rstdp: no plots: " << ps.why_not << "\n";
    told = true;
    return;
  }
  if (pid > 0 && process_running(pid)) {
    if (!wait) return;
    wait_process(pid);
  }
  pid = spawn_process({ps.python, ps.script, cfg.out_dir}, true);
  last = Clock::now(), drawn = true;
  if (wait && pid > 0) wait_process(pid), pid = -1;
}

}  // namespace

void validate(const TrainConfig& c) {
  RSNN_CHECK(!c.out_dir.empty(), "--out: a run folder is required");
  RSNN_CHECK(c.train_subset >= 0, "--train-subset ", c.train_subset, ": must be >= 0 (0: all)");
  RSNN_CHECK(c.test_subset >= 0, "--test-subset ", c.test_subset, ": must be >= 0 (0: all)");
  RSNN_CHECK(c.epochs1 >= 0 && c.epochs1 <= 1000, "--epochs-l1 ", c.epochs1, ": outside 0..1000");
  RSNN_CHECK(c.epochs2 >= 0 && c.epochs2 <= 1000, "--epochs-l2 ", c.epochs2, ": outside 0..1000");
  RSNN_CHECK(c.epochs3 >= 0 && c.epochs3 <= 100000, "--epochs-l3 ", c.epochs3, ": outside 0..100000");
  RSNN_CHECK(c.batch3 >= 1 && c.batch3 <= 4096, "--batch ", c.batch3, ": outside 1..4096");
  RSNN_CHECK(c.adapt_every >= 1, "--adapt-every ", c.adapt_every, ": must be >= 1");
  RSNN_CHECK(c.threads >= 0, "--threads ", c.threads, ": must be >= 0");
}

void c2_wave_bits(const Wave& c2, uint64_t* bits) {
  RSNN_CHECK(c2.C == kL3In && c2.H == kL3Side + 2 * kL3Pad && c2.W == kL3Side + 2 * kL3Pad,
             "layer 3: C2 map of ", c2.C, "x", c2.H, "x", c2.W, ", expected 250x8x8");
  std::fill(bits, bits + kL3Words, uint64_t(0));
  for (int c = 0; c < c2.C; ++c)
    for (int y = 0; y < c2.H; ++y)
      for (int x = 0; x < c2.W; ++x) {
        if (c2.at(c, y, x) >= kSteps) continue;
        const int iy = y - kL3Pad, ix = x - kL3Pad;
        RSNN_CHECK(iy >= 0 && iy < kL3Side && ix >= 0 && ix < kL3Side, "layer 3: C2 padding at (",
                   c, ", ", y, ", ", x, ") spiked");
        const int i = (iy * kL3Side + ix) * kL3In + c;
        bits[i >> 6] |= uint64_t(1) << (i & 63);
      }
}

std::vector<uint64_t> c2_bits(const Layers12& L, const Dataset& d) {
  RSNN_CHECK(d.rows == 28 && d.cols == 28, d.name, ": the network needs 28x28 images, got ", d.rows,
             "x", d.cols);
  std::vector<uint64_t> bits(size_t(d.n) * kL3Words);
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < d.n; ++i) {
    const Wave in = encode_image(d.image(i), d.rows, d.cols);
    c2_wave_bits(c2_output(L, in), bits.data() + i * kL3Words);
  }
  return bits;
}

double layer3_epoch(Layer3Fast& fast, RStdpRates& rates, const uint64_t* bits, const int* labels,
                    int64_t n, int adapt_every, std::ostream* progress) {
  ProgressBar bar("layer 3", n, "img", progress);
  double sum = 0;
  int64_t batches = 0;
  L3Counts all;
  for (int64_t s0 = 0; s0 < n; s0 += adapt_every) {
    const int64_t m = std::min<int64_t>(adapt_every, n - s0);
    L3Counts c;
    for (L3Outcome o : fast.train(bits + s0 * kL3Words, labels + s0, m, rates)) c.add(o), all.add(o);
    sum += double(c.correct) / double(m);
    ++batches;
    rates = adapt_rates(double(c.correct) / double(m), double(c.wrong) / double(m));
    if (progress && s0 + m < n) bar.update(s0 + m, {{"acc", double(all.correct) / double(all.total())}});
  }
  if (progress) bar.finish({{"acc", batches ? sum / double(batches) : 0.0}});
  return batches ? sum / double(batches) : 0.0;
}

TestResult test_layer3(const Layer3Fast& fast, const uint64_t* bits, const int* labels, int64_t n,
                       int threads) {
  TestResult r;
  r.n = n;
  int64_t c = 0, w = 0, s = 0;
  const std::vector<L3Decision> d = fast.infer(bits, n, threads);
  for (int64_t i = 0; i < n; ++i) {
    const int k = d[i].cls();
    (k < 0 ? s : k == labels[i] ? c : w)++;
    ++r.confusion[size_t(labels[i]) * 11 + size_t(k + 1)];
  }
  if (n > 0) r.correct = double(c) / n, r.wrong = double(w) / n, r.silence = double(s) / n;
  return r;
}

TrainState train_rstdp(const TrainConfig& cfg) {
  validate(cfg);
  std::ostream& log = cfg.log ? *cfg.log : std::cerr;
  if (cfg.threads > 0) set_num_threads(cfg.threads);
  prepare_output_dir(cfg.out_dir, "run folder");
  const std::string ckpt = cfg.out_dir + "/checkpoint.h5";
  TrainState s;
  if (std::filesystem::exists(ckpt)) {
    check_resume(ckpt, cfg);
    s = load_checkpoint(ckpt);
    log << "rstdp: resuming " << ckpt << " after " << s.done1 << "/" << s.done2 << "/" << s.done3
        << " epochs of layers 1/2/3\n";
  } else {
    s.l12 = make_layers12(cfg.seed);
    s.l12.wta_key = cfg.wta_key;
    s.l3 = make_layer3(cfg.seed);
    s.best_l3 = s.l3;
  }
  const Dataset train = load_split(cfg.data_dir, "train", 0, cfg.train_subset ? cfg.train_subset : -1);
  const Dataset test = load_split(cfg.data_dir, "t10k", 0, cfg.test_subset ? cfg.test_subset : -1);
  RSNN_CHECK(train.rows == 28 && train.cols == 28, train.name, ": the network needs 28x28 images");
  if (s.done1 < cfg.epochs1 || s.done2 < cfg.epochs2) {
    const auto t0 = Clock::now();
    const std::vector<Wave> waves = encode_images(train.images.data(), train.n, train.rows, train.cols);
    log << "rstdp: encoded " << train.n << " images in " << format_duration(since(t0)) << "\n";
    stdp_stage(1, cfg, s, waves, log);
    stdp_stage(2, cfg, s, waves, log);
  }
  npy_save(cfg.out_dir + "/layer1_features.npy",
           Tensor::from_vector(reconstruct_layer1(s.l12), {kLayer1.Cout, 17, 17}));
  if (s.done3 >= cfg.epochs3) {
    write_text_atomic(cfg.out_dir + "/history.csv", history_csv(s.history));
    plot(cfg, log, true);
    return s;
  }
  std::vector<uint64_t> btrain, btest;
  c2_maps(cfg, s.l12, train, test, btrain, btest, log);
  Layer3Fast fast(s.l3, cfg.batch3);
  fast.set_threads(cfg.threads > 0 ? cfg.threads : num_threads());
  for (; s.done3 < cfg.epochs3;) {
    const auto t0 = Clock::now();
    const double acc = layer3_epoch(fast, s.rates, btrain.data(), train.labels.data(), train.n,
                                    cfg.adapt_every, cfg.progress ? &log : nullptr);
    const double t_train = since(t0);
    const TestResult t = test_layer3(fast, btest.data(), test.labels.data(), test.n, cfg.threads);
    s.l3 = fast.layer();
    if (t.correct >= s.best_test) s.best_test = t.correct, s.best_epoch = s.done3, s.best_l3 = s.l3;
    s.history.push_back({s.done3, 3, acc, t.correct, t.silence, since(t0)});
    log << "rstdp: layer 3 epoch " << s.done3 + 1 << "/" << cfg.epochs3 << ": train " << acc
        << ", test " << t.correct << " (silence " << t.silence << "), best " << s.best_test
        << " at epoch " << s.best_epoch + 1 << " (train " << t_train << " s, test "
        << since(t0) - t_train << " s)\n";
    ++s.done3;
    save_checkpoint(ckpt, cfg, s);
    write_text_atomic(cfg.out_dir + "/history.csv", history_csv(s.history));
    plot(cfg, log, false);
  }
  plot(cfg, log, true);
  return s;
}

}  // namespace rsnn::rstdp
