// The barrel model end to end: construction, forward semantics, checkpoints, resume and a
// short training run that must learn.
#include <gtest/gtest.h>

#include <cmath>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "autograd/var.h"
#include "models/barrel/anatomy.h"
#include "models/barrel/model.h"
#include "models/barrel/train.h"
#include "models/barrel/whisker_synth.h"
#include "runtime/hdf5_io.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::barrel;

namespace {

BarrelConfig small_config(InputForm form, int64_t T) {
  BarrelConfig c = form == InputForm::spiking ? BarrelConfig::spiking_default() : BarrelConfig::real_default();
  c.T = T;
  return c;
}

const WhiskerData& synth_data() {
  static const WhiskerData d = synthesize_whisker_data(24, 7, kTrainStream);
  return d;
}

}  // namespace

TEST(BarrelModel, NetworkMatchesTheAnatomy) {
  BarrelModel m(small_config(InputForm::spiking, 10));
  EXPECT_EQ(m.neurons(), 4418);
  const ExpectedCounts e = expected_counts(default_tables());
  const double expected = e.recurrent_total + e.thalamic;
  EXPECT_NEAR(double(m.projection().nnz()), expected, 5 * std::sqrt(expected));
  int64_t ro = 0;
  for (const NeuronRange& r : m.lif_config().readout) ro += r.length;
  EXPECT_EQ(ro, kReadoutNeurons);
  // Readout ranges are Pyr_SP + Pyr_SS (network 200..1573) and L2/3 Pyr (1761..3992).
  ASSERT_EQ(m.lif_config().readout.size(), 2u);
  EXPECT_EQ(m.lif_config().readout[0].start, 200);
  EXPECT_EQ(m.lif_config().readout[0].length, 440 + 934);
  EXPECT_EQ(m.lif_config().readout[1].start, 200 + 1561);
  EXPECT_EQ(m.lif_config().readout[1].length, 2232);
  // Weights start in [0, init_w]; taus at their init values.
  const std::vector<float> w = m.parameter("w").value().to_vector<float>();
  EXPECT_GE(*std::min_element(w.begin(), w.end()), 0.0f);
  EXPECT_LE(*std::max_element(w.begin(), w.end()), 0.06f);
  EXPECT_EQ(m.parameter("tau_m").value().to_vector<float>()[17], 10.0f);
  EXPECT_EQ(m.parameter("tau_adp").value().to_vector<float>()[4000], 5.0f);
  EXPECT_THROW(m.parameter("nope"), Error);
}

TEST(BarrelModel, OutputsAreAveragedSoftmaxAndLossIsFinite) {
  for (InputForm form : {InputForm::spiking, InputForm::real}) {
    BarrelModel m(small_config(form, 12));
    const EncodedSet set = encode_for(m.config(), synth_data(), 3);
    const std::vector<int64_t> idx = {0, 1, 2};
    ForwardResult f = m.forward(make_batch(m.config(), set, idx), batch_labels(set, idx), true);
    ASSERT_EQ(f.outputs.value().shape(), (Shape{3, 3}));
    const std::vector<float> o = f.outputs.value().to_vector<float>();
    for (int b = 0; b < 3; ++b)  // softmax rows sum to 1 over T-1 steps, divided by T
      EXPECT_NEAR(o[b * 3] + o[b * 3 + 1] + o[b * 3 + 2], 11.0 / 12.0, 1e-5);
    EXPECT_TRUE(std::isfinite(f.loss.value().item<double>()));
    EXPECT_EQ(f.spike_record.shape(), (Shape{12, 3, 4418}));
    EXPECT_LE(f.saved_bytes_per_neuron_step, 8.0);
  }
}

TEST(BarrelModel, UpdateOrderMatters) {
  BarrelConfig a = small_config(InputForm::spiking, 15), b = a;
  b.order = UpdateOrder::previous_step;
  BarrelModel ma(a), mb(b);
  const EncodedSet set = encode_for(a, synth_data(), 3);
  const std::vector<int64_t> idx = {3, 4};
  ag::NoGradGuard ng;
  const Tensor x = make_batch(a, set, idx);
  ForwardResult fa = ma.forward(x, Tensor(), true), fb = mb.forward(x, Tensor(), true);
  EXPECT_NE(fa.spike_record.to_vector<uint8_t>(), fb.spike_record.to_vector<uint8_t>());
}

TEST(BarrelModel, BadInputIsRejected) {
  BarrelModel m(small_config(InputForm::spiking, 10));
  EXPECT_THROW(m.forward(Tensor::zeros({9, 2, 186}), Tensor()), Error);
  EXPECT_THROW(m.forward(Tensor::zeros({10, 2, 93}), Tensor()), Error);
  Tensor x = Tensor::zeros({10, 2, 186});
  x.data<float>()[5] = std::nanf("");
  EXPECT_THROW(m.forward(x, Tensor()), Error);
  EXPECT_THROW(m.forward(Tensor::zeros({10, 2, 186}), Tensor::zeros({3}, DType::i64)), Error);
  BarrelConfig bad = small_config(InputForm::spiking, 10);
  bad.init_w = 0;
  EXPECT_THROW(BarrelModel{bad}, Error);
}

TEST(BarrelModel, CheckpointRoundTripGivesTheSameModel) {
  BarrelModel m(small_config(InputForm::real, 10));
  const test::TempDir tmp("rsnn_barrel_ckpt");
  const std::string& dir = tmp.dir();
  const std::string path = dir + "/c.h5";
  save_checkpoint(path, m, nullptr, 3, 3, 0.5);
  std::unique_ptr<BarrelModel> r = load_checkpoint(path);
  EXPECT_EQ(r->projection().pre_idx.to_vector<int32_t>(), m.projection().pre_idx.to_vector<int32_t>());
  for (const auto& [name, v] : m.named_parameters())
    EXPECT_EQ(r->parameter(name).value().to_vector<float>(), v.value().to_vector<float>()) << name;
  const EncodedSet set = encode_for(m.config(), synth_data(), 3);
  ag::NoGradGuard ng;
  const Tensor x = make_batch(m.config(), set, {5, 6});
  EXPECT_EQ(m.forward(x, Tensor()).outputs.value().to_vector<float>(),
            r->forward(x, Tensor()).outputs.value().to_vector<float>());
  // Not a checkpoint / a damaged one: one clear error.
  { H5File f = H5File::create(dir + "/other.h5"); f.write("/x", Tensor::zeros({2})); }
  EXPECT_THROW(load_checkpoint(dir + "/other.h5"), Error);
  EXPECT_THROW(load_checkpoint(dir + "/missing.h5"), Error);
}

TEST(BarrelModel, ShortTrainingLearns) {
  // The real-valued form at its full T = 110 learns fastest (shorter windows miss most contacts).
  const BarrelConfig cfg = small_config(InputForm::real, 110);
  const EncodedSet set = encode_for(cfg, synth_data(), 3);
  TrainOptions opt;
  opt.batch = 12;
  opt.epochs = 6;  // 12 Adam steps
  opt.progress = false;
  BarrelModel m(cfg);
  const EvalResult before = evaluate(m, set, 24);
  const TrainSummary s = train(m, set, EncodedSet{}, opt);
  EXPECT_EQ(s.epochs_run, 6);
  const EvalResult after = evaluate(m, set, 24);
  EXPECT_LT(after.loss, before.loss - 0.01) << "training loss did not fall";
  EXPECT_GT(after.accuracy, 1.0 / 3.0 + 0.1) << "training accuracy " << after.accuracy << " (before "
                                             << before.accuracy << ")";
}

TEST(BarrelModel, ResumeContinuesExactly) {
  const BarrelConfig cfg = small_config(InputForm::spiking, 20);
  const EncodedSet set = encode_for(cfg, synth_data(), 3);
  TrainOptions opt;
  opt.batch = 10;
  opt.progress = false;
  const test::TempDir tmp_a("rsnn_barrel_resume_a"), tmp_b("rsnn_barrel_resume_b"),
      tmp_none("rsnn_barrel_resume_none");
  const std::string &dir_a = tmp_a.dir(), &dir_b = tmp_b.dir();
  BarrelModel a(cfg);
  opt.epochs = 2;
  opt.run_dir = dir_a;
  train(a, set, EncodedSet{}, opt);
  {
    BarrelModel b(cfg);
    opt.epochs = 1;
    opt.run_dir = dir_b;
    train(b, set, EncodedSet{}, opt);
  }
  std::unique_ptr<BarrelModel> b = load_checkpoint(dir_b + "/checkpoint.h5");
  opt.epochs = 2;
  opt.resume = true;
  train(*b, set, EncodedSet{}, opt);
  for (const auto& [name, v] : a.named_parameters())
    EXPECT_EQ(b->parameter(name).value().to_vector<float>(), v.value().to_vector<float>()) << name;
  // The log has one row per epoch, the resumed run appending to it.
  std::ifstream log(dir_b + "/log.csv");
  std::string line;
  int rows = 0;
  while (std::getline(log, line)) ++rows;
  EXPECT_EQ(rows, 3);
  opt.run_dir = tmp_none.dir();
  EXPECT_THROW(train(*b, set, EncodedSet{}, opt), Error);  // nothing to resume from
}

// ---- device placement ------------------------------------------------------------------

TEST(BarrelModel, MovingToTheCpuKeepsTheModel) {
  BarrelModel m(small_config(InputForm::real, 8));
  const ag::Var w = m.parameter("w");
  m.to(Device::cpu());  // already there: the same parameters, nothing copied
  EXPECT_EQ(m.parameter("w").impl(), w.impl());
  EXPECT_TRUE(m.device().is_cpu());
}

// The whole model on the GPU against the CPU: outputs, loss and the gradient of every
// parameter after one backward, and one Adam step. The CUDA op sums spikes in another order,
// so a membrane potential within rounding of the threshold can flip a spike; the comparison
// is on the real form at small T with loose tolerances (relative error of each gradient
// tensor as a whole).
TEST(BarrelModelCuda, ForwardBackwardAndAdamMatchTheCpu) {
  RSNN_SKIP_WITHOUT_CUDA();
  const BarrelConfig cfg = small_config(InputForm::real, 12);
  BarrelModel cpu(cfg), gpu(cfg);
  gpu.to(Device::cuda(0));
  ASSERT_TRUE(gpu.device().is_cuda());
  EXPECT_TRUE(gpu.parameter("w").value().device().is_cuda());
  const EncodedSet set = encode_for(cfg, synth_data(), 3);
  const std::vector<int64_t> idx = {0, 1, 2, 3};
  const Tensor x = make_batch(cfg, set, idx), labels = batch_labels(set, idx);
  ForwardResult fc = cpu.forward(x, labels), fg = gpu.forward(x, labels);
  const std::vector<float> oc = fc.outputs.value().to_vector<float>(), og = fg.outputs.value().to_vector<float>();
  ASSERT_EQ(oc.size(), og.size());
  for (size_t i = 0; i < oc.size(); ++i) EXPECT_NEAR(oc[i], og[i], 1e-4) << i;
  EXPECT_NEAR(fc.loss.value().item<double>(), fg.loss.value().item<double>(), 1e-4);
  ag::backward(fc.loss);
  ag::backward(fg.loss);
  for (const auto& [name, v] : cpu.named_parameters()) {
    const ag::Var vg = gpu.parameter(name);
    ASSERT_TRUE(v.grad().defined() && vg.grad().defined()) << name;
    const std::vector<float> a = v.grad().to_vector<float>(), b = vg.grad().to_vector<float>();
    double diff = 0, norm = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_TRUE(std::isfinite(b[i])) << name << "[" << i << "]";
      diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
      norm += double(a[i]) * a[i];
    }
    EXPECT_LE(std::sqrt(diff), 1e-3 * std::sqrt(norm) + 1e-7) << name;
  }
  ag::Adam ac(cpu.param_groups(0.008)), agpu(gpu.param_groups(0.008));
  ac.step();
  agpu.step();
  const std::vector<float> wc = cpu.parameter("w").value().to_vector<float>(),
                           wg = gpu.parameter("w").value().to_vector<float>();
  // Adam's first step moves each weight by about lr * sign(gradient): a weight whose gradient
  // is near 0 may move differently, so allow a few such entries.
  ASSERT_EQ(wc.size(), wg.size());
  size_t differ = 0;
  for (size_t i = 0; i < wc.size(); ++i) differ += std::fabs(wc[i] - wg[i]) > 1e-5f;
  EXPECT_LE(differ, wc.size() / 100) << differ << " of " << wc.size() << " weights differ";
}
