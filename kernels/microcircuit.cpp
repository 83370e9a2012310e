// Microcircuit op, optimized CPU version (the contract is in kernels/microcircuit.h).
//
// Threads own contiguous neuron ranges. In a step each thread updates its neurons (collecting
// its spikes, in ascending order, into a list for this step's parity), then after one barrier
// walks every thread's list and adds the synapses that land in its own range. Each row of the
// DelayCsr is sorted by target, so a row's part for a thread is a precomputed segment, and a
// ring entry gets its additions in the reference's order (sources ascending, row order).
// Spike lists alternate by step parity: a thread may start step t+1 while others still read
// the lists of step t, and nobody writes lists of step t again before the next barrier.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <thread>

#include "kernels/microcircuit.h"
#include "runtime/error.h"
#include "runtime/philox.h"
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

struct Team {
  int P = 1;
  std::vector<int64_t> lo;   // [P + 1]: thread j owns neurons lo[j] .. lo[j+1]
  std::vector<int64_t> seg;  // [n * (P + 1)]: synapses of row s into thread j's range start at seg[s*(P+1)+j]
};

// Row s's segment boundaries: the first synapse with target >= lo[j], for every j (words
// order by target first).
void build_segments(const DelayCsr& g, Team& team, int64_t s) {
  const int P = team.P;
  const uint32_t* row = g.syn.data();
  int64_t* out = &team.seg[s * (P + 1)];
  for (int j = 0; j <= P; ++j)
    out[j] = j == P ? g.ptr[s + 1]
                    : std::lower_bound(row + g.ptr[s], row + g.ptr[s + 1],
                                       pack_synapse(static_cast<int32_t>(team.lo[j]), 0)) - row;
}

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
                               int64_t steps, const std::vector<int32_t>& record_v, int threads) {
  check_sim_args(g, drive, state, steps, record_v, "simulate_cpu");
  RSNN_CHECK(threads >= 1, "simulate_cpu: threads must be >= 1, got ", threads);
  const int64_t n = g.n, D = g.max_delay() + 1, R = static_cast<int64_t>(record_v.size());
  const int64_t step0 = state.step;
  std::vector<double> exp_neg(n);
  for (int64_t i = 0; i < n; ++i) exp_neg[i] = std::exp(-drive.bg_lambda[i]);
  SimResult r;
  r.v_trace.assign(static_cast<size_t>(steps * R), 0.f);
  r.spikes.step_ptr.reserve(steps + 1);
  Team team;
  std::vector<std::vector<int32_t>> fired[2];
  std::unique_ptr<YieldingBarrier> barrier;

#pragma omp parallel num_threads(threads)
  {
    const int j = omp_get_thread_num();
#pragma omp single
    {
      team.P = omp_get_num_threads();
      team.lo.resize(team.P + 1);
      for (int k = 0; k <= team.P; ++k) team.lo[k] = n * k / team.P;
      team.seg.resize(static_cast<size_t>(n) * (team.P + 1));
      fired[0].resize(team.P);
      fired[1].resize(team.P);
      barrier = std::make_unique<YieldingBarrier>(team.P);
    }
#pragma omp for schedule(static)
    for (int64_t s = 0; s < n; ++s) build_segments(g, team, s);

    const int P = team.P;
    const int64_t a = team.lo[j], b = team.lo[j + 1];
    std::vector<philox::Words> block(static_cast<size_t>(b - a));  // this group of 4 steps' words
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t now = step0 + t, slot0 = now % D;
      float* slot = &state.ring[slot0 * n];
      std::vector<int32_t>& mine = fired[t & 1][j];
      mine.clear();
      for (int64_t i = a; i < b; ++i) {
        int count = 0;
        if (drive.bg_lambda[i] > 0) {
          if (t == 0 || (now & 3) == 0) block[i - a] = background_block(drive.seed, i, now);
          count = poisson_count(background_uniform(block[i - a], now), drive.bg_lambda[i], exp_neg[i]);
        }
        const float input = step_input(slot[i], drive.bg_weight[i], count);
        slot[i] = 0.f;
        if (lif_step(p, state.v[i], state.i_syn[i], state.ref[i], drive.i_dc[i], input))
          mine.push_back(static_cast<int32_t>(i));
      }
      for (int64_t k = 0; k < R; ++k)
        if (record_v[k] >= a && record_v[k] < b) r.v_trace[t * R + k] = state.v[record_v[k]];
      barrier->wait();
      for (int q = 0; q < P; ++q)
        for (int32_t s : fired[t & 1][q]) {
          const int64_t* seg = &team.seg[static_cast<int64_t>(s) * (P + 1)];
          for (int64_t k = seg[j]; k < seg[j + 1]; ++k) {
            const uint32_t w = g.syn[k];
            int64_t d = slot0 + synapse_delay(w);
            if (d >= D) d -= D;
            state.ring[d * n + synapse_target(w)] += g.weight[k];
          }
        }
      if (j == 0) {
        for (int q = 0; q < P; ++q)
          r.spikes.neuron.insert(r.spikes.neuron.end(), fired[t & 1][q].begin(), fired[t & 1][q].end());
        r.spikes.step_ptr.push_back(static_cast<int64_t>(r.spikes.neuron.size()));
      }
    }
  }
  state.step = step0 + steps;
  return r;
}
}  // namespace detail

}  // namespace rsnn::mc
