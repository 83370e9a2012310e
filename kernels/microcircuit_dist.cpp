// Neuron-partitioned microcircuit simulation (contract in kernels/microcircuit_dist.h).
// One thread per rank: the ranks are the parallelism, and a step between two exchanges is
// too short for a thread team to pay off (the exchange comes every step at a 0.1 ms delay).
#include "kernels/microcircuit_dist.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "kernels/microcircuit_cpu.h"
#include "runtime/dist.h"
#include "runtime/error.h"
#include "runtime/philox.h"
#include "runtime/resources.h"

namespace rsnn::mc {

int Partition::owner(int64_t i) const {
  if (mode == Mode::kRoundRobin) return static_cast<int>(i % ranks);
  return static_cast<int>(std::upper_bound(cut.begin(), cut.end(), i) - cut.begin()) - 1;
}
int64_t Partition::local_index(int64_t i) const { return mode == Mode::kRoundRobin ? i / ranks : i - cut[rank]; }
int64_t Partition::global_id(int64_t l) const { return mode == Mode::kRoundRobin ? l * ranks + rank : l + cut[rank]; }
int64_t Partition::local_count() const {
  if (mode == Mode::kRoundRobin) return n > rank ? (n - rank + ranks - 1) / ranks : 0;
  return cut[rank + 1] - cut[rank];
}
bool Partition::owns_any(int64_t lo, int64_t hi) const {
  if (hi <= lo) return false;
  if (mode == Mode::kRoundRobin) {
    for (int64_t i = lo; i < hi && i < lo + ranks; ++i)
      if (i % ranks == rank) return true;
    return false;
  }
  return cut[rank] < hi && cut[rank + 1] > lo && cut[rank + 1] > cut[rank];
}

Partition round_robin_partition(int64_t n, int ranks, int rank) {
  RSNN_CHECK(n >= 0 && ranks >= 1 && rank >= 0 && rank < ranks, "round_robin_partition: rank ", rank, " of ",
             ranks, " for ", n, " neurons");
  Partition p;
  p.n = n;
  p.ranks = ranks;
  p.rank = rank;
  return p;
}

Partition block_partition(std::vector<int64_t> cut, int rank) {
  RSNN_CHECK(cut.size() >= 2 && cut.front() == 0, "block_partition: cut must start at 0 and hold ranks + 1 entries");
  for (size_t r = 0; r + 1 < cut.size(); ++r)
    RSNN_CHECK(cut[r] <= cut[r + 1], "block_partition: cut decreases at rank ", r);
  Partition p;
  p.mode = Partition::Mode::kBlocks;
  p.ranks = static_cast<int>(cut.size()) - 1;
  RSNN_CHECK(rank >= 0 && rank < p.ranks, "block_partition: rank ", rank, " of ", p.ranks);
  p.rank = rank;
  p.n = cut.back();
  p.cut = std::move(cut);
  return p;
}

int64_t LocalCsr::bytes() const {
  return static_cast<int64_t>(ptr.size() * sizeof(int64_t) + syn.size() * sizeof(uint32_t) +
                              weight.size() * sizeof(float));
}
int LocalCsr::min_delay() const {
  int d = 255;
  for (uint32_t w : syn) d = std::min(d, synapse_delay(w));
  return d;
}
int LocalCsr::max_delay() const {
  int d = 1;
  for (uint32_t w : syn) d = std::max(d, synapse_delay(w));
  return d;
}

void LocalCsr::validate(const std::string& what) const {
  RSNN_CHECK(n_global >= 0 && n_global <= DelayCsr::kMaxNeurons && n_local >= 0 && n_local <= n_global, what,
             ": neuron counts ", n_local, " of ", n_global, " out of range");
  RSNN_CHECK(static_cast<int64_t>(ptr.size()) == n_global + 1 && ptr[0] == 0 && ptr[n_global] == nnz(), what,
             ": ptr must hold n_global + 1 entries from 0 to nnz");
  RSNN_CHECK(weight.size() == syn.size(), what, ": syn and weight lengths differ");
  for (int64_t s = 0; s < n_global; ++s) {
    RSNN_CHECK(ptr[s] <= ptr[s + 1], what, ": ptr decreases at source ", s);
    for (int64_t k = ptr[s]; k < ptr[s + 1]; ++k) {
      RSNN_CHECK(synapse_target(syn[k]) < n_local, what, ": local target of synapse ", k, " out of range");
      RSNN_CHECK(synapse_delay(syn[k]) >= 1, what, ": synapse ", k, " has delay 0");
      RSNN_CHECK(k == ptr[s] || syn[k - 1] <= syn[k], what, ": row ", s, " not sorted by (delay, target)");
    }
  }
}

LocalCsr local_csr(const DelayCsr& g, const Partition& part) {
  RSNN_CHECK(part.n == g.n, "local_csr: partition of ", part.n, " neurons for a network of ", g.n);
  LocalCsr out;
  out.n_global = g.n;
  out.n_local = part.local_count();
  out.ptr.assign(g.n + 1, 0);
  for (int64_t s = 0; s < g.n; ++s) {
    for (int64_t k = g.ptr[s]; k < g.ptr[s + 1]; ++k)
      if (part.owner(g.target(k)) == part.rank) {
        out.syn.push_back(pack_synapse(static_cast<int32_t>(part.local_index(g.target(k))), g.delay(k)));
        out.weight.push_back(g.weight[k]);
      }
    out.ptr[s + 1] = out.nnz();
  }
  return out;
}

Drive local_drive(const Drive& d, const Partition& part) {
  d.validate(part.n, "local_drive");
  Drive out;
  out.i_dc = local_slice(d.i_dc, part);
  out.bg_lambda = local_slice(d.bg_lambda, part);
  out.bg_weight = local_slice(d.bg_weight, part);
  out.seed = d.seed;
  return out;
}

State make_local_state(const LocalCsr& g, const std::vector<float>& v0_local) {
  return make_state(g.n_local, g.max_delay(), v0_local);
}

namespace {

// A spike on the wire: its step within the interval (high 8 bits) and global neuron id (low
// 24), so sorting the words orders the spikes by (step, neuron).
uint32_t spike_word(int64_t u, int64_t id) { return (static_cast<uint32_t>(u) << 24) | static_cast<uint32_t>(id); }

// Every rank's spike words of the interval, sorted; counts the traffic into `xs`. One
// fixed-size gather per interval (dist::allgather_bytes with an inline block) carries up to
// `inline_words` spikes per rank, a second round any more. The next interval's block is twice
// the largest rank's count now (4 at least): every rank sees the same counts, so all agree.
std::vector<uint32_t> exchange(const std::vector<uint32_t>& mine, size_t& inline_words, ExchangeStats& xs) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<size_t> off;
  const size_t inline_bytes = inline_words * sizeof(uint32_t);
  const std::vector<uint8_t> all =
      dist::allgather_bytes(mine.data(), mine.size() * sizeof(uint32_t), &off, inline_bytes);
  std::vector<uint32_t> words(all.size() / sizeof(uint32_t));
  if (!words.empty()) std::memcpy(words.data(), all.data(), words.size() * sizeof(uint32_t));
  std::sort(words.begin(), words.end());
  const int ranks = static_cast<int>(off.size()) - 1;
  xs.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  xs.intervals += 1;
  xs.spikes_sent += static_cast<int64_t>(mine.size());
  size_t largest = 0;
  for (int r = 0; r < ranks; ++r) largest = std::max(largest, (off[r + 1] - off[r]) / sizeof(uint32_t));
  const size_t next_words = std::max<size_t>(4, 2 * largest);
  // On the wire: one block (8-byte size + inline_bytes) per rank, plus any overflow.
  const auto over = [&](size_t b) { return static_cast<int64_t>(b > inline_bytes ? b - inline_bytes : 0); };
  const size_t my_bytes = mine.size() * sizeof(uint32_t);
  int64_t others_over = 0;
  for (int r = 0; r < ranks; ++r) others_over += over(off[r + 1] - off[r]);
  others_over -= over(my_bytes);
  const int64_t block = static_cast<int64_t>(sizeof(uint64_t) + inline_bytes);
  xs.bytes_sent += block + over(my_bytes);
  xs.bytes_received += block * (ranks - 1) + others_over;
  inline_words = next_words;
  return words;
}

}  // namespace

SimResult simulate_dist(const LocalCsr& g, const Partition& part, const LifPropagators& p, const Drive& drive,
                        State& state, int64_t steps, int interval, bool record, ExchangeStats* stats) {
  const int64_t n = g.n_local, D = g.max_delay() + 1;
  RSNN_CHECK(steps >= 0, "simulate_dist: steps must be >= 0, got ", steps);
  RSNN_CHECK(part.n == g.n_global && part.local_count() == n, "simulate_dist: partition does not match the network");
  RSNN_CHECK(interval >= 1 && interval <= g.min_delay(), "simulate_dist: interval ", interval,
             " steps outside 1 .. the minimum delay (", g.min_delay(), ")");
  drive.validate(n, "simulate_dist: drive");
  RSNN_CHECK(state.v.size() == size_t(n) && state.i_syn.size() == size_t(n) && state.ref.size() == size_t(n) &&
                 state.ring.size() == size_t(D * n) && state.step >= 0,
             "simulate_dist: state does not match the local network (make it with make_local_state)");
  const detail::PoissonTables pt = detail::poisson_tables(drive.bg_lambda);
  // Delivery as in simulate_cpu: a step pulls its arriving synapses (one run per spike and
  // delay of the (delay, target)-ordered local rows) from the spike lists of earlier steps.
  const detail::CsrView view{g.ptr.data(), g.syn.data(), g.weight.data()};
  const std::vector<int64_t> lo{0, n};
  detail::Cuts cuts;
  cuts.stride = D + 1;
  check_memory_fits(4.0 * double(g.n_global) * double(cuts.stride), "simulate_dist: the delay-group table");
  cuts.c.resize(static_cast<size_t>(g.n_global * cuts.stride));
  for (int64_t s = 0; s < g.n_global; ++s)
    RSNN_CHECK(g.ptr[s + 1] - g.ptr[s] <= int64_t(UINT32_MAX) && detail::row_cuts(view, D, lo, 1, s, &cuts.c[s * cuts.stride]),
               "simulate_dist: row ", s, " of the local network is not ordered by delay or too long");
  // The background is keyed by global id, an affine map of the local index.
  const int64_t gid0 = part.global_id(0), gstep = part.global_id(1) - gid0;
  detail::NeuronStepper neurons(p, pt, drive, state, 0, n, gid0, gstep);
  std::vector<std::vector<int32_t>> hist(static_cast<size_t>(D));  // global ids spiking at step e: hist[e % D]
  // Adds to `slot` the synapses arriving at relative step t from the spikes of steps before
  // e_end (those already exchanged), earliest first.
  auto deliver = [&](int64_t t, int64_t e_end, float* slot) {
    for (int64_t e = std::max<int64_t>(0, t - D + 1); e < std::min(t, e_end); ++e)
      detail::deliver_group(view, cuts, lo, hist[e % D], static_cast<int>(t - e), 0, slot);
  };
  ExchangeStats xs;
  SimResult r;
  std::vector<uint32_t> mine;
  std::vector<int32_t> fired;
  size_t inline_words = 4;  // spikes per rank in the interval's one fixed-size gather
  const int64_t step0 = state.step;
  for (int64_t t0 = 0; t0 < steps; t0 += interval) {
    const int64_t len = std::min<int64_t>(interval, steps - t0);
    mine.clear();
    for (int64_t u = 0; u < len; ++u) {
      const int64_t t = t0 + u, now = step0 + t;
      float* slot = &state.ring[(now % D) * n];
      // Spikes of this interval (not yet exchanged) have no synapse arriving within it.
      deliver(t, t0, slot);
      fired.clear();
      neurons.step(now, t == 0, slot, fired);
      for (int32_t i : fired) mine.push_back(spike_word(u, part.global_id(i)));
    }
    const std::vector<uint32_t> words = exchange(mine, inline_words, xs);
    size_t w = 0;
    for (int64_t u = 0; u < len; ++u) {
      std::vector<int32_t>& h = hist[(t0 + u) % D];
      h.clear();
      for (; w < words.size() && int64_t(words[w] >> 24) == u; ++w) h.push_back(static_cast<int32_t>(words[w] & 0xFFFFFFu));
      if (record) {
        r.spikes.neuron.insert(r.spikes.neuron.end(), h.begin(), h.end());
        r.spikes.step_ptr.push_back(static_cast<int64_t>(r.spikes.neuron.size()));
      }
    }
  }
  // Synapses still in flight arrive after this call: into the ring, as one rank has them.
  for (int64_t t = steps; t < steps + D - 1; ++t) deliver(t, steps, &state.ring[((step0 + t) % D) * n]);
  state.step = step0 + steps;
  if (stats) {
    stats->intervals += xs.intervals;
    stats->spikes_sent += xs.spikes_sent;
    stats->bytes_sent += xs.bytes_sent;
    stats->bytes_received += xs.bytes_received;
    stats->seconds += xs.seconds;
  }
  return r;
}

}  // namespace rsnn::mc
