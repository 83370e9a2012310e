// `rsnn rstdp train|eval`: the deep convolutional R-STDP network of Mozafari et al. (2019)
// on MNIST-format data (Fashion-MNIST by default). See docs/rstdp.md.
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "models/rstdp/train.h"
#include "runtime/device.h"
#include "runtime/hdf5_io.h"
#include "runtime/threads.h"
#include "tools/rsnn/command.h"

namespace rsnn::cli {
namespace {

using namespace rsnn::rstdp;

void add_train(CLI::App& parent) {
  auto* cmd = parent.add_subcommand("train", "Train layers 1-2 (STDP) and 3 (R-STDP); resumes from RUN/checkpoint.h5");
  auto c = std::make_shared<TrainConfig>();
  auto no_progress = std::make_shared<bool>(false), no_plots = std::make_shared<bool>(false);
  cmd->add_option("--data", c->data_dir, "folder with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]")
      ->capture_default_str();
  cmd->add_option("--out", c->out_dir, "run folder (checkpoints, CSV, plots)")->required();
  cmd->add_option("--train-subset", c->train_subset, "use the first N training images (0 = all)")
      ->check(non_negative_number())->capture_default_str();
  cmd->add_option("--test-subset", c->test_subset, "use the first N test images (0 = all)")
      ->check(non_negative_number())->capture_default_str();
  cmd->add_option("--epochs-l1", c->epochs1, "STDP epochs of layer 1")->check(CLI::Range(0, 1000))->capture_default_str();
  cmd->add_option("--epochs-l2", c->epochs2, "STDP epochs of layer 2")->check(CLI::Range(0, 1000))->capture_default_str();
  cmd->add_option("--epochs-l3", c->epochs3, "R-STDP epochs of layer 3 (a test after each)")
      ->check(CLI::Range(0, 100000))->capture_default_str();
  cmd->add_option("--seed", c->seed, "seed of the initial weights")->capture_default_str();
  cmd->add_option("--batch", c->batch3, "samples per dense product in layer 3 (same results for any value)")
      ->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--adapt-every", c->adapt_every, "samples per adaptive-rate batch")
      ->check(positive_number())->capture_default_str();
  auto wta_key = std::make_shared<std::string>("exact");
  cmd->add_option("--wta-key", *wta_key,
                  "k-WTA ranking of layers 1-2: exact (earlier spike, larger potential) or "
                  "spyketorch (SpykeTorch's float32 key; near-equal potentials tie to the lower index)")
      ->capture_default_str();
  cmd->add_option("--threads", c->threads, "CPU threads (0 = all cores)")->check(non_negative_number())->capture_default_str();
  cmd->add_flag("--no-progress", *no_progress, "no progress bars");
  cmd->add_flag("--no-plots", *no_plots, "do not run tools/plot_rstdp.py");
  cmd->callback([c, no_progress, no_plots, wta_key] {
    c->wta_key = sw::parse_wta_key(*wta_key, "--wta-key");
    c->progress = !*no_progress;
    c->plots = !*no_plots;
    set_num_threads(c->threads);
    const TrainState s = train_rstdp(*c);
    std::cout << "best test accuracy " << std::fixed << std::setprecision(4) << s.best_test
              << " at layer-3 epoch " << s.best_epoch + 1 << "; run folder " << c->out_dir << "\n";
  });
}

void add_eval(CLI::App& parent) {
  auto* cmd = parent.add_subcommand("eval", "Test a checkpoint on the test set");
  struct Args {
    std::string checkpoint, data = kDefaultDataDir, which = "best", device = "cpu";
    int64_t test_subset = 0;
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--checkpoint", a->checkpoint, "RUN/checkpoint.h5 of `rsnn rstdp train`")->required();
  cmd->add_option("--data", a->data, "folder with the t10k IDX files")->capture_default_str();
  cmd->add_option("--which", a->which, "layer-3 weights: best (best test epoch) or last")
      ->check(CLI::IsMember({"best", "last"}))->capture_default_str();
  cmd->add_option("--test-subset", a->test_subset, "the first N test images (0 = all)")
      ->check(non_negative_number())->capture_default_str();
  cmd->add_option("--device", a->device, "cpu | cuda (layer 3's test pass)")
      ->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  cmd->add_option("--threads", a->threads, "CPU threads (0 = all cores)")->check(non_negative_number())->capture_default_str();
  cmd->callback([a] {
    set_num_threads(a->threads);
    RSNN_CHECK(std::filesystem::is_regular_file(a->checkpoint), "--checkpoint ", a->checkpoint, ": no such file");
    const TrainState s = load_checkpoint(a->checkpoint);
    RSNN_CHECK(s.done3 > 0, "--checkpoint ", a->checkpoint, ": layer 3 has not been trained yet");
    const Layer3& l3 = a->which == "best" ? s.best_l3 : s.l3;
    const Dataset test = load_split(a->data, "t10k", 0, a->test_subset ? a->test_subset : -1);
    const std::vector<uint64_t> bits = c2_bits(s.l12, test);
    TestResult r;
    if (a->device == "cuda") {
      RSNN_CHECK(cuda_usable(), "--device cuda: ", cuda_status());
      const std::vector<L3Decision> d = l3_infer_cuda(l3, bits.data(), test.n);
      int64_t c = 0, s0 = 0;
      for (int64_t i = 0; i < test.n; ++i) {
        const int k = d[i].cls();
        c += k == test.labels[i], s0 += k < 0;
        ++r.confusion[size_t(test.labels[i]) * 11 + size_t(k + 1)];
      }
      r.n = test.n, r.correct = double(c) / test.n, r.silence = double(s0) / test.n;
      r.wrong = 1 - r.correct - r.silence;
    } else {
      r = test_layer3(Layer3Fast(l3), bits.data(), test.labels.data(), test.n, a->threads);
    }
    std::cout << std::fixed << std::setprecision(4) << "test images " << r.n << ": accuracy "
              << r.correct << ", wrong " << r.wrong << ", silence " << r.silence << " ("
              << a->which << " layer 3" << (a->which == "best" ? ", epoch " + std::to_string(s.best_epoch + 1) : "")
              << ")\nconfusion (rows: label; columns: silence, class 0..9)\n";
    for (int l = 0; l < 10; ++l) {
      for (int k = 0; k < 11; ++k) std::cout << std::setw(6) << r.confusion[size_t(l) * 11 + k];
      std::cout << "\n";
    }
  });
}

Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("rstdp", "Deep convolutional SNN with STDP and R-STDP (Mozafari et al. 2019)");
  cmd->require_subcommand(1);
  add_train(*cmd);
  add_eval(*cmd);
});

}  // namespace
}  // namespace rsnn::cli
