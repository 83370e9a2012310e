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

// Row s's synapses of delay d are syn[ptr[s] + grp[s * (D + 1) + d] ..
// ptr[s] + grp[s * (D + 1) + d + 1]) (offsets within the row).
// False when the row is not ordered by delay (then the groups are not the row).
bool delay_groups(const DelayCsr& g, int64_t D, int64_t s, uint32_t* grp) {
  const uint32_t* row = g.syn.data() + g.ptr[s];
  const uint32_t len = static_cast<uint32_t>(g.ptr[s + 1] - g.ptr[s]);
  uint32_t k = 0;
  for (int64_t d = 0; d < D; ++d) {
    grp[d] = k;
    while (k < len && synapse_delay(row[k]) == d) ++k;
  }
  grp[D] = len;
  return k == len;
}

// Adds, for every spike in `spikes` (ascending sources), its delay-d synapses onto targets
// [a, b) to `slot` (indexed by target). first/last: this range is the first/last thread's.
void deliver_group(const DelayCsr& g, const std::vector<uint32_t>& grp, int64_t D, const std::vector<int32_t>& spikes,
                   int d, int64_t a, int64_t b, bool first, bool last, float* slot) {
  const uint32_t lo = pack_synapse(static_cast<int32_t>(a), d), hi = pack_synapse(static_cast<int32_t>(b), d);
  for (int32_t s : spikes) {
    const uint32_t* gs = &grp[static_cast<int64_t>(s) * (D + 1) + d];
    const uint32_t* row = g.syn.data() + g.ptr[s];
    const float* wrow = g.weight.data() + g.ptr[s];
    const uint32_t* k0 = row + gs[0];
    const uint32_t* k1 = row + gs[1];
    if (k0 == k1) continue;
    if (!first) k0 = std::lower_bound(k0, k1, lo);
    if (!last) k1 = std::lower_bound(k0, k1, hi);
    for (const uint32_t* k = k0; k < k1; ++k) slot[synapse_target(*k)] += wrow[k - row];
  }
}

// One thread's neurons [a, b) in one step, in chunks: Poisson counts from this group of
// 4 steps' Philox words, then the update (lif_step over raw pointers that alias nothing, so
// it vectorizes), then the spikes, ascending.
struct NeuronStep {
  const LifPropagators* p;
  const detail::PoissonTables* pt;
  const Drive* drive;
  State* state;
  int64_t a, b;
  std::vector<uint32_t> words;  // [4][b - a]: Philox words of the current group of 4 steps
};

constexpr int64_t kChunk = 512;

void update_chunk(const LifPropagators& p, int64_t c0, int64_t len, const int32_t* __restrict count,
                  float* __restrict slot, const float* __restrict bg_w, const float* __restrict i_dc,
                  float* __restrict v, float* __restrict i_syn, int32_t* __restrict ref, uint8_t* __restrict spiked) {
  const LifPropagators q = p;
  for (int64_t k = 0; k < len; ++k) {
    const int64_t i = c0 + k;
    const float input = step_input(slot[i], bg_w[i], count[k]);
    slot[i] = 0.f;
    spiked[k] = lif_step(q, v[i], i_syn[i], ref[i], i_dc[i], input) ? 1 : 0;
  }
}

void step_neurons(NeuronStep& ns, int64_t now, bool fresh, float* slot, std::vector<int32_t>& fired) {
  const int64_t a = ns.a, b = ns.b, m = b - a;
  const detail::PoissonTables& pt = *ns.pt;
  if (fresh || (now & 3) == 0)
    for (int64_t i = a; i < b; ++i)
      if (pt.table[i] >= 0) {
        const philox::Words w = background_block(ns.drive->seed, i, now);
        for (int k = 0; k < 4; ++k) ns.words[k * m + (i - a)] = w.v[k];
      }
  const uint32_t* word = &ns.words[(now & 3) * m];
  int32_t count[kChunk];
  uint8_t spiked[kChunk];
  State& st = *ns.state;
  for (int64_t c0 = a; c0 < b; c0 += kChunk) {
    const int64_t len = std::min(kChunk, b - c0);
    for (int64_t k = 0; k < len; ++k) {
      const int64_t i = c0 + k;
      count[k] = pt.table[i] >= 0 ? pt.count(i, word[i - a]) : 0;
    }
    update_chunk(*ns.p, c0, len, count, slot, ns.drive->bg_weight.data(), ns.drive->i_dc.data(), st.v.data(),
                 st.i_syn.data(), st.ref.data(), spiked);
    for (int64_t k = 0; k < len; ++k)
      if (spiked[k]) fired.push_back(static_cast<int32_t>(c0 + k));
  }
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
  const PoissonTables pt = poisson_tables(drive.bg_lambda);
  std::vector<uint32_t> grp(static_cast<size_t>(n) * (D + 1));
  int64_t bad_row = -1;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t s = 0; s < n; ++s)
    if (g.ptr[s + 1] - g.ptr[s] > int64_t(UINT32_MAX) || !delay_groups(g, D, s, &grp[s * (D + 1)])) {
#pragma omp atomic write
      bad_row = s;
    }
  RSNN_CHECK(bad_row < 0, "simulate_cpu: row ", bad_row, " of the network is not ordered by delay or too long");
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
    }

    const int64_t a = lo[j], b = lo[j + 1];
    const bool first = j == 0, last = j == P - 1;
    // Adds to `slot` every synapse that arrives at relative step t from the spikes of this
    // call (relative steps before min(t, steps)), earliest emission first.
    auto deliver = [&](int64_t t, float* slot) {
      for (int64_t e = std::max<int64_t>(0, t - D + 1); e < std::min(t, steps); ++e)
        for (int q = 0; q < P; ++q)
          deliver_group(g, grp, D, hist[(e % D) * P + q], static_cast<int>(t - e), a, b, first, last, slot);
    };
    NeuronStep ns{&p, &pt, &drive, &state, a, b, std::vector<uint32_t>(static_cast<size_t>(4 * (b - a)))};
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t now = step0 + t;
      float* slot = &state.ring[(now % D) * n];
      deliver(t, slot);
      std::vector<int32_t>& mine = hist[(t % D) * P + j];
      mine.clear();
      step_neurons(ns, now, t == 0, slot, mine);
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
    for (int64_t t = steps; t < steps + D - 1; ++t) deliver(t, &state.ring[((step0 + t) % D) * n]);
  }
  state.step = step0 + steps;
  return r;
}
}  // namespace detail

}  // namespace rsnn::mc
