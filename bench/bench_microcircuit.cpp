// The cortical microcircuit op (issue 21): the optimized CPU simulation against the plain
// reference, in the same process, on the Potjans & Diesmann model at scale 0.1 (7,717
// neurons, 3.0 M synapses, Poisson background), after 300 ms of warm-up so the rates are
// stationary. Each iteration simulates 100 ms (1,000 steps of 0.1 ms).
// Counters: bio_s_per_s = biological seconds per wall second (> 1: faster than real time),
// updates/s = neuron-steps per second, events/s = delivered synaptic events per second.
// Work per biological second at this scale: 7.7e7 neuron updates (each with a Poisson draw)
// and about 9e6 synaptic events (2.9 Hz mean rate x 3.0 M synapses).
#include <benchmark/benchmark.h>

#include "models/microcircuit/potjans.h"
#include "runtime/threads.h"

using namespace rsnn;
using namespace rsnn::mc;

namespace {
constexpr int64_t kSteps = 1000;  // 100 ms per iteration

struct Warm {
  Microcircuit m;
  State state;
};

// The scale-0.1 network and its state after 300 ms, made once.
const Warm& warm() {
  static const Warm w = [] {
    PotjansConfig cfg;
    cfg.scale = cfg.k_scale = 0.1;
    Warm x{build_potjans(cfg), {}};
    x.state = make_state(x.m.graph, x.m.v0);
    simulate_cpu(x.m.graph, x.m.prop, x.m.drive, x.state, 3000);
    return x;
  }();
  return w;
}

template <class Sim>
void run(benchmark::State& bs, Sim sim) {
  const Warm& w = warm();
  int64_t updates = 0, events = 0;
  for (auto _ : bs) {
    State s = w.state;  // the same 100 ms every iteration
    const SimResult r = sim(w.m, s);
    benchmark::DoNotOptimize(r.spikes.neuron.data());
    updates += w.m.neurons() * kSteps;
    for (int32_t i : r.spikes.neuron) events += w.m.graph.ptr[i + 1] - w.m.graph.ptr[i];
  }
  bs.counters["bio_s_per_s"] = benchmark::Counter(double(bs.iterations()) * kSteps * 1e-4, benchmark::Counter::kIsRate);
  bs.counters["updates/s"] = benchmark::Counter(double(updates), benchmark::Counter::kIsRate);
  bs.counters["events/s"] = benchmark::Counter(double(events), benchmark::Counter::kIsRate);
}
}  // namespace

static void MicrocircuitReference(benchmark::State& bs) {
  run(bs, [](const Microcircuit& m, State& s) { return simulate_reference(m.graph, m.prop, m.drive, s, kSteps); });
}
BENCHMARK(MicrocircuitReference)->Unit(benchmark::kMillisecond)->UseRealTime();

static void MicrocircuitCpu(benchmark::State& bs) {
  const int threads = static_cast<int>(bs.range(0));
  run(bs, [threads](const Microcircuit& m, State& s) {
    return mc::detail::simulate_cpu_threads(m.graph, m.prop, m.drive, s, kSteps, {}, threads);
  });
}
BENCHMARK(MicrocircuitCpu)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
