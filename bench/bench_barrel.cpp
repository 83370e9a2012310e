// W1 (shared/spec/performance.md): the barrel-cortex RSNN (BarrelModel, spiking form) on the
// workloads the original PyTorch code is timed on. bench/run_barrel_peers.sh runs these and
// bench/peers/barrel_torch.py (the original code) side by side and prints the ratios.
//   Barrel/rsnn/fwd/B:128/T:550         forward under NoGradGuard
//   Barrel/rsnn/train_step/B:b/T:t      forward + backward + Adam (the original's 3 groups),
//                                       b in {1, 8}, t in {100, 200}, and the seed configuration
//                                       B:128/T:550, which the original cannot run in 24 GB;
//                                       each step from the initial model, after an untimed
//                                       warm-up at B <= 8 (see run_train_step)
//   Barrel/rsnn_cuda/...                the same workloads with the model on the GPU, registered
//                                       only when a CUDA device is usable
// Input: the whisker sweeps of $RSNN_BARREL_BENCH_DATA (an HDF5 file in the original layout,
// e.g. from `rsnn whisker synth`; the peer reads the same file), else 128 sweeps synthesized
// here; spike-encoded as the original (sweep 0, 5 steps per frame). Samples 0..B-1.
// Counters: peak_pool_MB (high-water mark of rsnn's memory pool during the run), maxrss_MB
// (the process's peak resident memory so far), spikes/neuron-step (the regime: event-driven
// propagation pays per spike), synaptic_events/s, saved_B/neuron-step (kept for backward).
// Run one benchmark per process when the peak memory of each workload matters.
// Floor (performance.md; floor_ratio = time / floor, bandwidth and sgemm rate measured in the
// same process): forward = the neuron state (v, a read and written: 16 B per neuron-step) plus
// 8 B (index, weight) per synaptic event (per spike and target); a training step adds the
// 8 B/neuron-step kept for backward, written and read, and the backward state (dv, da read and
// written: 16 B), so 48 B per neuron-step, and 2 FLOP per synapse, step and sample for the
// error sent back through every synapse (the Gaussian surrogate derivative is never exactly 0).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "autograd/optim.h"
#include "bench/floor.h"
#include "models/barrel/train.h"
#include "models/barrel/whisker_synth.h"
#include "runtime/device.h"

using namespace rsnn;
using namespace rsnn::barrel;

namespace {

// The spike-encoded sweeps, made once per process.
const EncodedSet& bench_inputs() {
  static const EncodedSet set = [] {
    const char* file = std::getenv("RSNN_BARREL_BENCH_DATA");
    const WhiskerData d = file && *file ? read_whisker_h5(file) : synthesize_whisker_data(128, 515, kTrainStream);
    return encode_for(BarrelConfig::spiking_default(), d, 515);
  }();
  return set;
}

std::vector<int64_t> first_samples(int64_t B) {
  std::vector<int64_t> idx(B);
  for (int64_t b = 0; b < B; ++b) idx[b] = b % bench_inputs().size();
  return idx;
}

double maxrss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

void set_counters(benchmark::State& state, const BarrelModel& m, int64_t B, const kernels::LifStats& s,
                  double saved_per_step, int64_t iters, bool train) {
  const double neuron_steps = double(m.config().T) * double(B) * double(m.neurons());
  const double bytes = (train ? 48.0 : 16.0) * neuron_steps + 8.0 * double(s.synaptic_events);
  const double flops = train ? 2.0 * double(m.projection().nnz()) * double(m.config().T) * double(B) : 0.0;
  // The process peak after the first complete run of the workload, read before the floor
  // measurement's 512 MB of buffers raise it (one workload per process: its own peak).
  static const double rss_before_floor = maxrss_mb();
  state.counters["maxrss_MB"] = rss_before_floor;
  set_floor_counters(state, bytes, flops);
  state.counters["spikes/neuron-step"] = double(s.spikes) / neuron_steps;
  state.counters["synaptic_events/s"] =
      benchmark::Counter(double(s.synaptic_events) * double(iters), benchmark::Counter::kIsRate);
  state.counters["peak_pool_MB"] = double(pool_stats(m.device()).peak_bytes_in_use) / (1 << 20);
  state.counters["saved_B/neuron-step"] = saved_per_step;
  state.counters["nnz"] = double(m.projection().nnz());
}

void run_forward(benchmark::State& state, int64_t B, int64_t T, Device dev) {
  BarrelConfig cfg = BarrelConfig::spiking_default();
  cfg.T = T;
  BarrelModel model(cfg);
  model.to(dev);
  const std::vector<int64_t> idx = first_samples(B);
  const Tensor x = make_batch(cfg, bench_inputs(), idx).to(dev);
  pool_reset_peak(dev);
  kernels::LifStats stats;
  int64_t iters = 0;
  for (auto _ : state) {
    ag::NoGradGuard no_grad;
    ForwardResult r = model.forward(x, Tensor());
    benchmark::DoNotOptimize(r.outputs.value().data<float>());
    synchronize(dev);
    stats = r.stats;
    ++iters;
  }
  set_counters(state, model, B, stats, 0.0, iters, false);
}

// Every timed step starts from the same freshly initialised model and a fresh Adam (restored
// outside the timing): training changes the weights and with them the firing rate, and rsnn's
// event-driven cost follows the firing rate while the original's dense cost does not, so
// steps measured further into a run would not be comparable between iterations or runs.
void run_train_step(benchmark::State& state, int64_t B, int64_t T, Device dev) {
  BarrelConfig cfg = BarrelConfig::spiking_default();
  cfg.T = T;
  BarrelModel model(cfg);
  model.to(dev);
  std::vector<std::pair<Tensor, Tensor>> init;  // (parameter value, its initial copy)
  for (const auto& [name, v] : model.named_parameters()) init.emplace_back(v.value(), v.value().clone());
  const std::vector<int64_t> idx = first_samples(B);
  const Tensor x = make_batch(cfg, bench_inputs(), idx).to(dev);
  const Tensor labels = batch_labels(bench_inputs(), idx).to(dev);
  kernels::LifStats stats;
  double saved = 0;
  auto step = [&](std::unique_ptr<ag::Adam>& adam) {
    ForwardResult r = model.forward(x, labels);
    ag::backward(r.loss);
    adam->step();
    adam->zero_grad();
    synchronize(dev);
    stats = r.stats;
    saved = r.saved_bytes_per_neuron_step;
  };
  // Untimed warm-up, once per workload and process: a batch of one 8-sample block times its
  // recurrent layer on a team of threads and on one thread on its first four calls (forward
  // and backward each; LifConfig::row_team) and from then on runs the faster. Those trial
  // calls belong to the first steps of a training run, not to its typical step, which is what
  // this measures (before this warm-up, the mean over ~12 iterations included two one-thread
  // backward calls, 1.8x slower at B = 8). Re-timings later in a run (LifConfig) are kept.
  static std::set<std::pair<int64_t, int64_t>> warmed;
  if (B <= 8 && warmed.insert({B, T}).second)
    for (int k = 0; k < 6; ++k) {
      for (auto& [value, start] : init) value.copy_from(start);
      auto adam = std::make_unique<ag::Adam>(model.param_groups(0.008));
      step(adam);
    }
  pool_reset_peak(dev);
  int64_t iters = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& [value, start] : init) value.copy_from(start);
    auto adam = std::make_unique<ag::Adam>(model.param_groups(0.008));
    state.ResumeTiming();
    step(adam);
    ++iters;
  }
  set_counters(state, model, B, stats, saved, iters, true);
}

void register_all(const std::string& impl, Device dev) {
  auto name = [&](const char* what, int64_t B, int64_t T) {
    return "Barrel/" + impl + "/" + std::string(what) + "/B:" + std::to_string(B) + "/T:" + std::to_string(T);
  };
  benchmark::RegisterBenchmark(name("fwd", 128, 550).c_str(),
                               [dev](benchmark::State& s) { run_forward(s, 128, 550, dev); })
      ->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()->MinTime(2.0);
  for (int64_t B : {1, 8})
    for (int64_t T : {100, 200})
      benchmark::RegisterBenchmark(name("train_step", B, T).c_str(),
                                   [B, T, dev](benchmark::State& s) { run_train_step(s, B, T, dev); })
          ->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()->MinTime(2.0);
  benchmark::RegisterBenchmark(name("train_step", 128, 550).c_str(),
                               [dev](benchmark::State& s) { run_train_step(s, 128, 550, dev); })
      ->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()->MinTime(2.0);
}

const bool registered = [] {
  register_all("rsnn", Device::cpu());
  if (cuda_usable()) register_all("rsnn_cuda", Device::cuda(0));
  return true;
}();

}  // namespace
