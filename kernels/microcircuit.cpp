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
#include <cstring>
#include <memory>
#include <thread>

#include "kernels/microcircuit.h"
#include "runtime/error.h"
#include "runtime/philox.h"
#include "runtime/philox_batch.h"
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

// Run boundaries of every row by delay, found once per call. With C = P columns per delay,
// thread j's synapses of delay d in row s (targets in [lo[j], lo[j+1])) are row[c[d C + j] ..
// c[d C + j + 1]) with c = cut + s (D C + 1), and c[D C] is the row's length: delivery does
// no search. With C = 1 (when that table would rival the synapses in size) only the delay
// groups are kept and each thread finds its part by binary search.
struct Cuts {
  std::vector<uint32_t> c;
  int64_t stride = 0;  // D * C + 1
  int C = 1;
};

// Row s's cuts; false when the row is not ordered by delay.
bool row_cuts(const DelayCsr& g, int64_t D, const std::vector<int64_t>& lo, int C, int64_t s, uint32_t* c) {
  const uint32_t* row = g.syn.data() + g.ptr[s];
  const uint32_t len = static_cast<uint32_t>(g.ptr[s + 1] - g.ptr[s]);
  uint32_t k = 0;
  for (int64_t d = 0; d < D; ++d) {
    const uint32_t g0 = k;
    while (k < len && synapse_delay(row[k]) == d) ++k;
    c[d * C] = g0;
    for (int j = 1; j < C; ++j)
      c[d * C + j] = static_cast<uint32_t>(
          std::lower_bound(row + g0, row + k, pack_synapse(static_cast<int32_t>(lo[j]), static_cast<int>(d))) - row);
  }
  c[D * C] = len;
  return k == len;
}

// Adds to `slot` (indexed by target), for every spike in `spikes` (ascending sources), its
// synapses of delay d onto thread j's targets [lo[j], lo[j+1]).
void deliver_group(const DelayCsr& g, const Cuts& cuts, const std::vector<int64_t>& lo,
                   const std::vector<int32_t>& spikes, int d, int j, float* slot) {
  const int P = static_cast<int>(lo.size()) - 1, C = cuts.C;
  for (int32_t s : spikes) {
    const uint32_t* c = cuts.c.data() + static_cast<int64_t>(s) * cuts.stride + d * C;
    const uint32_t* row = g.syn.data() + g.ptr[s];
    const float* wrow = g.weight.data() + g.ptr[s];
    uint32_t k0 = c[C == P ? j : 0], k1 = c[C == P ? j + 1 : 1];
    if (C != P && k0 < k1) {
      if (j > 0)
        k0 = static_cast<uint32_t>(std::lower_bound(row + k0, row + k1, pack_synapse(static_cast<int32_t>(lo[j]), d)) - row);
      if (j < P - 1)
        k1 = static_cast<uint32_t>(
            std::lower_bound(row + k0, row + k1, pack_synapse(static_cast<int32_t>(lo[j + 1]), d)) - row);
    }
    for (uint32_t k = k0; k < k1; ++k) slot[synapse_target(row[k])] += wrow[k];
  }
}

// One thread's neurons [a, b) in one step, in segments of at most kChunk neurons: Poisson
// counts from this group of 4 steps' Philox words (made 16 neurons at a time), then the update (lif_step over raw
// pointers that alias nothing, so it vectorizes), then the spikes, ascending. Where the drive
// is the same for a run of neurons (a population), a segment takes it as scalars.
constexpr int64_t kChunk = 512;

struct Segment {
  int64_t c0 = 0, len = 0;
  bool uniform = false;   // every neuron has table q, bg weight w and DC idc
  int32_t q = -1;
  float w = 0, idc = 0;
};

struct NeuronStep {
  const LifPropagators* p;
  const detail::PoissonTables* pt;
  const Drive* drive;
  State* state;
  int64_t a, b;
  std::vector<uint32_t> words;  // [4][b - a]: Philox words of the current group of 4 steps
  std::vector<Segment> segs;
};

// Uniform segments where the drive comes in runs (at most one per 32 neurons on average),
// plain chunks otherwise.
std::vector<Segment> segments(const detail::PoissonTables& pt, const Drive& d, int64_t a, int64_t b) {
  // Equal bits, not equal values: -0 and +0 would sum differently.
  const auto same = [](float x, float y) { return std::memcmp(&x, &y, sizeof x) == 0; };
  std::vector<Segment> out;
  for (int64_t i = a; i < b;) {
    Segment sg{i, 1, true, pt.table[i], d.bg_weight[i], d.i_dc[i]};
    while (i + sg.len < b && sg.len < kChunk && pt.table[i + sg.len] == sg.q && same(d.bg_weight[i + sg.len], sg.w) &&
           same(d.i_dc[i + sg.len], sg.idc))
      ++sg.len;
    i += sg.len;
    out.push_back(sg);
  }
  if (static_cast<int64_t>(out.size()) * 32 <= b - a) return out;
  out.clear();
  for (int64_t c0 = a; c0 < b; c0 += kChunk) out.push_back(Segment{c0, std::min(kChunk, b - c0)});
  return out;
}

template <bool kUniform>
void update_chunk(const LifPropagators& p, const Segment& sg, const int32_t* __restrict count,
                  float* __restrict slot, const float* __restrict bg_w, const float* __restrict i_dc,
                  float* __restrict v, float* __restrict i_syn, int32_t* __restrict ref, uint8_t* __restrict spiked) {
  const LifPropagators q = p;
  const float w_u = sg.w, idc_u = sg.idc;
  for (int64_t k = 0; k < sg.len; ++k) {
    const int64_t i = sg.c0 + k;
    const float input = step_input(slot[i], kUniform ? w_u : bg_w[i], count[k]);
    slot[i] = 0.f;
    spiked[k] = lif_step(q, v[i], i_syn[i], ref[i], kUniform ? idc_u : i_dc[i], input) ? 1 : 0;
  }
}

void poisson_counts(const detail::PoissonTables& pt, const Segment& sg, const uint32_t* word, int32_t* count) {
  if (!sg.uniform) {
    for (int64_t k = 0; k < sg.len; ++k) {
      const int64_t i = sg.c0 + k;
      count[k] = pt.table[i] >= 0 ? pt.count(i, word[k]) : 0;
    }
  } else if (sg.q < 0) {
    std::fill(count, count + sg.len, 0);
  } else {
    const uint8_t* lut = &pt.lut[static_cast<size_t>(sg.q) * 256];
    const uint32_t* th = &pt.th[pt.start[sg.q]];
    const int len = pt.len[sg.q];
    for (int64_t k = 0; k < sg.len; ++k) count[k] = poisson_count_lut(word[k], lut, th, len);
  }
}

void step_neurons(NeuronStep& ns, int64_t now, bool fresh, float* slot, std::vector<int32_t>& fired) {
  const int64_t a = ns.a, b = ns.b, m = b - a;
  const detail::PoissonTables& pt = *ns.pt;
  // background_block of every neuron: block now / 4 of the consecutive streams of a .. b
  // (neurons without Poisson input get words they never read).
  if (fresh || (now & 3) == 0)
    philox::blocks(ns.drive->seed, poisson_stream(a), 1, static_cast<uint64_t>(now) >> 2, 0, m, ns.words.data(), m);
  const uint32_t* word = &ns.words[(now & 3) * m];
  int32_t count[kChunk];
  uint8_t spiked[kChunk];
  State& st = *ns.state;
  const float *bg_w = ns.drive->bg_weight.data(), *i_dc = ns.drive->i_dc.data();
  for (const Segment& sg : ns.segs) {
    poisson_counts(pt, sg, word + (sg.c0 - a), count);
    if (sg.uniform)
      update_chunk<true>(*ns.p, sg, count, slot, bg_w, i_dc, st.v.data(), st.i_syn.data(), st.ref.data(), spiked);
    else
      update_chunk<false>(*ns.p, sg, count, slot, bg_w, i_dc, st.v.data(), st.i_syn.data(), st.ref.data(), spiked);
    for (int64_t k = 0; k < sg.len; ++k)
      if (spiked[k]) fired.push_back(static_cast<int32_t>(sg.c0 + k));
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
                               int64_t steps, const std::vector<int32_t>& record_v, int threads, CutMode mode) {
  check_sim_args(g, drive, state, steps, record_v, "simulate_cpu");
  RSNN_CHECK(threads >= 1, "simulate_cpu: threads must be >= 1, got ", threads);
  const int64_t n = g.n, D = g.max_delay() + 1, R = static_cast<int64_t>(record_v.size());
  check_memory_fits(4.0 * double(n) * double(D + 1), "simulate_cpu: the delay-group table");
  const int64_t step0 = state.step;
  const PoissonTables pt = poisson_tables(drive.bg_lambda);
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
      if (g.ptr[s + 1] - g.ptr[s] > int64_t(UINT32_MAX) || !row_cuts(g, D, lo, cuts.C, s, &cuts.c[s * cuts.stride])) {
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
          deliver_group(g, cuts, lo, hist[(e % D) * P + q], static_cast<int>(t - e), j, slot);
    };
    NeuronStep ns{&p, &pt, &drive, &state, a, b, std::vector<uint32_t>(static_cast<size_t>(4 * (b - a))),
                  segments(pt, drive, a, b)};
    for (int64_t t = 0; t < run_steps; ++t) {
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
    for (int64_t t = run_steps; t < run_steps + D - 1; ++t) deliver(t, &state.ring[((step0 + t) % D) * n]);
  }
  RSNN_CHECK(bad_row < 0, "simulate_cpu: row ", bad_row, " of the network is not ordered by delay or too long");
  state.step = step0 + steps;
  return r;
}
}  // namespace detail

}  // namespace rsnn::mc
