// W4 (shared/spec/performance.md): rate-to-spiking workloads.
//  * RateTrial: one rate-model training trial (N = 200, T = 200: forward, BPTT, TF Adam).
//  * RateTrainGoNogo: Go-NoGo training to the original termination criteria.
//  * LifGoNogoTrial: one LIF Go-NoGo trial (N = 200, 20,000 steps of 0.05 ms), trained net.
//  * LifGoNogoTrialReference: the same trial through the kernels' plain reference.
//  * LifGridSearch: the full default grid (1/lambda 20:5:75 x 100 trials = 1,200 LIF trials).
// The peer (the NuttidaLab PyTorch port) takes 2.49 s per LIF trial on this machine kind
// (bench/peers/spikernn_lif.py measures it side by side when the port and torch are present).
// Floor of the LIF trial: it is compute-bound, not memory-bound (the state is 200 x 7
// doubles, in L1): about 58 % goes to the voltage noise (one Gaussian per neuron-step, 4 M per
// trial: vectorized Philox + Box-Muller, kernels/rate_lif_noise.h), the rest to the
// vectorized membrane, filter and readout loops over the 200 neurons.
#include <benchmark/benchmark.h>

#include "kernels/rate_lif.h"
#include "models/rate/grid_search.h"
#include "models/rate/lif_convert.h"
#include "models/rate/rate_train.h"
#include "models/rate/rng.h"
#include "runtime/device.h"
#include "runtime/threads.h"

using namespace rsnn;
using namespace rsnn::rate;

namespace {
TrainConfig gonogo_config() {
  TrainConfig cfg;
  cfg.net.N = 200;
  cfg.net.taus = {4, 10};
  cfg.max_trials = 6000;
  cfg.seed = 2;
  return cfg;
}

// A trained Go-NoGo network and its best scaling factor, made once.
const RateNet& trained_net() {
  static RateNet net = train_rate(gonogo_config()).net;
  return net;
}
}  // namespace

static void RateTrial(benchmark::State& state) {
  RateConfig cfg;
  cfg.N = 200;
  RateNet net = init_rate_net(cfg, 1);
  ag::Var w(net.w, true), wo(net.w_out, true), bo(net.b_out, true), tg(net.taus_gaus, true);
  TfAdam adam({w, wo, bo, tg}, 0.01);
  TaskSpec task = task_defaults(TaskKind::go_nogo);
  uint64_t k = 0;
  for (auto _ : state) {
    Tensor u, z;
    std::vector<int> labels;
    make_batch(task, 1, {k}, u, z, labels);
    adam.zero_grad();
    ag::Var loss = rate_loss(rate_rnn(w, wo, bo, tg, net.sign, net.som_m, net.w_in, u,
                                      RateRunOptions::from(cfg, 1, {k})),
                             z, LossKind::l2);
    ag::backward(loss);
    adam.step();
    ++k;
  }
  // forward N^2 per step, backward 2 N^2 per step (error GEMV + weight-gradient GEMM)
  state.counters["GFLOP/s"] = benchmark::Counter(6.0 * 200 * 200 * 199 * double(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(RateTrial)->Unit(benchmark::kMillisecond);

static void RateTrainGoNogo(benchmark::State& state) {
  for (auto _ : state) {
    TrainResult r = train_rate(gonogo_config());
    state.counters["trials_to_criteria"] = double(r.tr);
    state.counters["converged"] = r.converged;
    state.counters["final_perf"] = r.last_eval.perf;
  }
}
BENCHMARK(RateTrainGoNogo)->Unit(benchmark::kSecond)->Iterations(1);

static void LifGoNogoTrial(benchmark::State& state) {
  LifNetwork lif = convert_to_lif(trained_net(), 25.0);
  TaskSpec task = task_defaults(TaskKind::go_nogo);
  uint64_t k = 0;
  int64_t spikes = 0;
  for (auto _ : state) {
    Trial t = make_trial(task, 1, k, 1);
    auto r = simulate_lif(lif, t.u.data(), t.Tc, 1, k++);
    spikes += r.n_spikes;
    benchmark::DoNotOptimize(r.out.data());
  }
  state.counters["neuron_steps/s"] =
      benchmark::Counter(200.0 * 20000 * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["spikes/trial"] = double(spikes) / double(state.iterations());
  state.counters["speedup_vs_port_2.49s"] =
      benchmark::Counter(2.49 * double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(LifGoNogoTrial)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The optimized kernel's baseline: the plain reference on the same trials (input already at
// the LIF resolution: downsample 1).
static void LifGoNogoTrialReference(benchmark::State& state) {
  LifNetwork lif = convert_to_lif(trained_net(), 25.0);
  TaskSpec task = task_defaults(TaskKind::go_nogo);
  uint64_t k = 0;
  for (auto _ : state) {
    Trial t = make_trial(task, 1, k, 1);
    const kernels::rate_lif::TrialKeys keys{1, stream_id(Draw::lif_init, k), stream_id(Draw::lif_noise, k),
                                            stream_id(Draw::lif_stim, k)};
    ++k;
    auto r = kernels::rate_lif::simulate_ref(lif.view(), t.u.data(), t.Tc, lif.steps_for(t.Tc), keys);
    benchmark::DoNotOptimize(r.out.data());
  }
  state.counters["neuron_steps/s"] =
      benchmark::Counter(200.0 * 20000 * double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(LifGoNogoTrialReference)->Unit(benchmark::kMillisecond)->Iterations(2);

static void LifGridSearch(benchmark::State& state) {
  const RateNet& net = trained_net();
  GridSearchConfig cfg;  // 20:5:75 x 100 trials
  cfg.use_cuda = state.range(0) != 0;
  if (cfg.use_cuda && !cuda_usable()) {
    state.SkipWithError("no usable CUDA device");
    return;
  }
  for (auto _ : state) {
    GridSearchResult r = grid_search(net, task_defaults(TaskKind::go_nogo), cfg);
    state.counters["best_1/lambda"] = r.opt_scaling_factor;
    state.counters["best_perf"] = r.all_perfs[r.opt_index];
    state.counters["trials"] = double(r.trials_run);
  }
  state.counters["threads"] = num_threads();
}
BENCHMARK(LifGridSearch)->Arg(0)->Arg(1)->ArgName("cuda")->Unit(benchmark::kSecond)->Iterations(1);
