// `rsnn demo`: a small end-to-end training run on the engine (IDX reader, dense ops on the
// tape, Adam): a two-layer perceptron on Fashion-MNIST (Debian's dataset-fashion-mnist).
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "autograd/ops.h"
#include "autograd/optim.h"
#include "runtime/idx.h"
#include "runtime/philox.h"
#include "runtime/progress.h"
#include "runtime/random.h"
#include "tools/rsnn/command.h"

namespace rsnn::cli {
namespace {

struct DemoArgs {
  std::string dir = "/usr/share/datasets/fashion-mnist";
  int64_t train = 10000, test = 2000, epochs = 3, batch = 100, hidden = 128;
  double lr = 1e-3;
  uint64_t seed = 1;
};

// Images [n, 28, 28] uint8 -> float [n, 784] in [0, 1]; labels -> int64.
std::pair<Tensor, Tensor> load(const std::string& dir, const std::string& split, int64_t n) {
  Tensor images = idx_load(dir + "/" + split + "-images-idx3-ubyte.gz");
  Tensor labels = idx_load(dir + "/" + split + "-labels-idx1-ubyte.gz");
  RSNN_CHECK(images.ndim() == 3 && images.size(1) == 28 && images.size(2) == 28, dir, "/", split,
             ": expected 28x28 images, got ", images.shape_str());
  RSNN_CHECK(labels.numel() == images.size(0), dir, "/", split, ": ", labels.numel(),
             " labels for ", images.size(0), " images");
  n = std::min(n, images.size(0));
  Tensor x = images.narrow0(0, n).reshape({n, 784}).to_dtype(DType::f32);
  float* p = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) p[i] /= 255.0f;
  return {x, labels.narrow0(0, n).to_dtype(DType::i64)};
}

double accuracy(const ag::Var& logits, const Tensor& labels) {
  const std::vector<float> v = logits.value().to_vector<float>();
  const int64_t n = labels.numel(), C = logits.value().size(1);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    for (int64_t c = 1; c < C; ++c)
      if (v[i * C + c] > v[i * C + best]) best = c;
    correct += best == labels.data<int64_t>()[i];
  }
  return double(correct) / double(n);
}

Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "Train a small two-layer network on Fashion-MNIST (engine demo)");
  auto a = std::make_shared<DemoArgs>();
  auto run = std::make_shared<RunOptions>();
  cmd->add_option("--data", a->dir, "folder with the Fashion-MNIST IDX files")->capture_default_str();
  cmd->add_option("--train", a->train, "training images")->check(positive_number())->capture_default_str();
  cmd->add_option("--test", a->test, "test images")->check(positive_number())->capture_default_str();
  cmd->add_option("--epochs", a->epochs, "epochs")->check(positive_number())->capture_default_str();
  cmd->add_option("--batch", a->batch, "batch size")->check(positive_number())->capture_default_str();
  cmd->add_option("--hidden", a->hidden, "hidden units")->check(positive_number())->capture_default_str();
  cmd->add_option("--lr", a->lr, "Adam learning rate")->check(positive_number())->capture_default_str();
  cmd->add_option("--seed", a->seed, "seed")->capture_default_str();
  add_run_options(cmd, *run);
  cmd->callback([a, run] {
    apply_threads(*run);
    const Device dev = select_device(run->device, &std::cerr);
    auto [xtr, ytr] = load(a->dir, "train", a->train);
    auto [xte, yte] = load(a->dir, "t10k", a->test);
    auto param = [&](Shape s, double bound, uint64_t stream) {
      Tensor t = Tensor::empty(s, DType::f32);
      fill_uniform(t, a->seed, stream, -bound, bound);
      return ag::Var(t.to(dev), true);
    };
    const double b1 = 1 / std::sqrt(784.0), b2 = 1 / std::sqrt(double(a->hidden));
    ag::Var w1 = param({a->hidden, 784}, b1, 1), c1 = param({a->hidden}, b1, 2);
    ag::Var w2 = param({10, a->hidden}, b2, 3), c2 = param({10}, b2, 4);
    ag::Adam adam({ag::ParamGroup({w1, c1, w2, c2}, a->lr)});
    auto net = [&](const Tensor& x) {
      return ag::linear(ag::relu(ag::linear(ag::Var(x.to(dev)), w1, c1)), w2, c2);
    };
    const int64_t n = xtr.size(0), batches = (n + a->batch - 1) / a->batch;
    ProgressBar bar("demo", a->epochs * batches, "batch");
    int64_t step = 0;
    for (int64_t e = 0; e < a->epochs; ++e) {
      for (int64_t b = 0; b < batches; ++b) {
        // Batches in file order (Fashion-MNIST is already shuffled).
        const int64_t start = b * a->batch, len = std::min(a->batch, n - start);
        ag::Var loss = ag::cross_entropy(net(xtr.narrow0(start, len)), ytr.narrow0(start, len).to(dev));
        ag::backward(loss);
        adam.step();
        adam.zero_grad();
        bar.update(++step, {{"epoch", double(e + 1)}, {"loss", loss.value().item<double>()}});
      }
    }
    bar.finish();
    ag::NoGradGuard no_grad;
    const double acc = accuracy(net(xte), yte);
    std::cout << "test accuracy " << std::fixed << std::setprecision(4) << acc << " on " << yte.numel()
              << " Fashion-MNIST images (" << a->epochs << " epochs on " << n << ")\n";
  });
});

}  // namespace
}  // namespace rsnn::cli
