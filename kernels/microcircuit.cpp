// Microcircuit op, optimized CPU version (the contract is in kernels/microcircuit.h).
//
// Threads own contiguous neuron ranges. Step t of a thread: add into step t's ring slice (its
// own range) the synapses of delay d of every spike of step t - d, for d from the largest
// down to 1, i.e. in emission order; then update its neurons, collecting its spikes in
// ascending order; then one barrier. Rows are ordered by (delay, target), so a spike's
// synapses of one delay onto one thread's range are one contiguous run, and all additions of
// a step land in one slice of n floats that stays in cache (scattering every spike into D
// ring slices at once missed the cache at full scale). A ring entry thus gets its additions
// in the reference's order (emission step, source, row). Spike lists are kept for D steps;
// at the end, the pending synapses of the last D - 1 steps go into the ring, in the same order.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <thread>

#include "kernels/microcircuit.h"
#include "kernels/microcircuit_cpu.h"
#include "runtime/error.h"
#include "runtime/philox.h"
#include "runtime/resources.h"
#include "runtime/threads.h"

namespace rsnn::mc {

namespace {

// A barrier that spins briefly, then yields the core. OpenMP's barrier (GOMP's default wait
// policy) spins for a long time: with more runnable threads than cores, a step then costs a
// scheduler time slice (scale 0.1 at 200 ms: 16 s wall on 2 threads against 1 s on one).
// The arriving thread's acq_rel add and the last one's release of `gen_` order every write
// made before the barrier before every read after it.
class YieldingBarrier {
 public:
  explicit YieldingBarrier(int n) : n_(n) {}
  void wait() {
    const unsigned gen = gen_.load(std::memory_order_acquire);
    if (count_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
      count_.store(0, std::memory_order_relaxed);
      gen_.store(gen + 1, std::memory_order_release);
      return;
    }
    for (int spins = 0; gen_.load(std::memory_order_acquire) == gen; ++spins)
      if (spins >= 200) std::this_thread::yield();
  }

 private:
  const int n_;
  std::atomic<int> count_{0};
  std::atomic<unsigned> gen_{0};
};

}  // namespace

SimResult simulate_cpu(const DelayCsr& g, const LifPropagators& p, const Drive& drive, State& state,
                       int64_t steps, const std::vector<int32_t>& record_v) {
  // A step of a few thousand neurons costs about as much as a barrier (much more when a
  // thread is descheduled on a busy machine), so small networks use fewer threads.
  const int64_t by_size = std::max<int64_t>(1, g.n / kNeuronsPerThread);
  return detail::simulate_cpu_threads(g, p, drive, state, steps, record_v,
                                      static_cast<int>(std::min<int64_t>(num_threads(), by_size)));
}

namespace detail {
SimResult simulate_cpu_threads(const DelayCsr& g, const LifPropagators& p, const Drive& drive, State& state,
                               int64_t steps, const std::vector<int32_t>& record_v, int threads, CutMode mode) {
  check_sim_args(g, drive, state, steps, record_v, "simulate_cpu");
  RSNN_CHECK(threads >= 1, "simulate_cpu: threads must be >= 1, got ", threads);
  const int64_t n = g.n, D = g.max_delay() + 1, R = static_cast<int64_t>(record_v.size());
  check_memory_fits(4.0 * double(n) * double(D + 1), "simulate_cpu: the delay-group table");
  const int64_t step0 = state.step;
  const PoissonTables pt = poisson_tables(drive.bg_lambda);
  const CsrView view{g.ptr.data(), g.syn.data(), g.weight.data()};
  Cuts cuts;
  int64_t bad_row = -1;
  SimResult r;
  r.v_trace.assign(static_cast<size_t>(steps * R), 0.f);
  r.spikes.step_ptr.reserve(steps + 1);
  int P = 1;
  std::vector<int64_t> lo;
  std::vector<std::vector<int32_t>> hist;  // [D * P]: spikes of step t by thread q at (t % D) * P + q
  std::unique_ptr<YieldingBarrier> barrier;

#pragma omp parallel num_threads(threads)
  {
    const int j = omp_get_thread_num();
#pragma omp single
    {
      P = omp_get_num_threads();
      lo.resize(P + 1);
      for (int k = 0; k <= P; ++k) lo[k] = n * k / P;
      hist.resize(static_cast<size_t>(D * P));
      barrier = std::make_unique<YieldingBarrier>(P);
      const double per_thread = 4.0 * double(n) * double(D * P + 1);
      const bool wide = mode == CutMode::per_thread ||
                        (mode == CutMode::automatic && per_thread <= std::max(64.0 * (1 << 20), 2.0 * double(g.nnz())));
      cuts.C = wide ? P : 1;
      cuts.stride = D * cuts.C + 1;
      cuts.c.resize(static_cast<size_t>(n * cuts.stride));
    }
#pragma omp for schedule(static)
    for (int64_t s = 0; s < n; ++s)
      if (g.ptr[s + 1] - g.ptr[s] > int64_t(UINT32_MAX) || !row_cuts(view, D, lo, cuts.C, s, &cuts.c[s * cuts.stride])) {
#pragma omp atomic write
        bad_row = s;
      }
    // The loop's barrier makes bad_row final: every thread skips the run alike.
    int64_t bad = 0;
#pragma omp atomic read
    bad = bad_row;
    const int64_t run_steps = bad >= 0 ? 0 : steps;

    const int64_t a = lo[j], b = lo[j + 1];
    // Adds to `slot` every synapse that arrives at relative step t from the spikes of this
    // call (relative steps before min(t, steps)), earliest emission first.
    auto deliver = [&](int64_t t, float* slot) {
      for (int64_t e = std::max<int64_t>(0, t - D + 1); e < std::min(t, run_steps); ++e)
        for (int q = 0; q < P; ++q)
          deliver_group(view, cuts, lo, hist[(e % D) * P + q], static_cast<int>(t - e), j, slot);
    };
    NeuronStepper neurons(p, pt, drive, state, a, b, 0, 1);
    for (int64_t t = 0; t < run_steps; ++t) {
      const int64_t now = step0 + t;
      float* slot = &state.ring[(now % D) * n];
      deliver(t, slot);
      std::vector<int32_t>& mine = hist[(t % D) * P + j];
      mine.clear();
      neurons.step(now, t == 0, slot, mine);
      for (int64_t k = 0; k < R; ++k)
        if (record_v[k] >= a && record_v[k] < b) r.v_trace[t * R + k] = state.v[record_v[k]];
      barrier->wait();
      if (j == 0) {
        for (int q = 0; q < P; ++q) {
          const std::vector<int32_t>& f = hist[(t % D) * P + q];
          r.spikes.neuron.insert(r.spikes.neuron.end(), f.begin(), f.end());
        }
        r.spikes.step_ptr.push_back(static_cast<int64_t>(r.spikes.neuron.size()));
      }
    }
    // Synapses still in flight arrive after this call: into the ring, as the reference has them.
    for (int64_t t = run_steps; t < run_steps + D - 1; ++t) deliver(t, &state.ring[((step0 + t) % D) * n]);
  }
  RSNN_CHECK(bad_row < 0, "simulate_cpu: row ", bad_row, " of the network is not ordered by delay or too long");
  state.step = step0 + steps;
  return r;
}
}  // namespace detail

}  // namespace rsnn::mc
