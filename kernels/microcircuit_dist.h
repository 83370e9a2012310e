// The microcircuit op (kernels/microcircuit.h) with its neurons partitioned across MPI ranks
// (issue 19). Each rank holds the state and the incoming synapses of its own neurons only;
// every `interval` steps (at most the network's minimum delay) the ranks exchange the spikes
// of the interval with dist::allgather_bytes. A spike of step t reaches no neuron before step
// t + min_delay, so each step takes its arriving synapses from spikes already exchanged, as
// simulate_cpu does (emission step, then sources ascending, then row order), and each input
// entry gets its additions in the one-rank order: the spike trains are those of
// simulate_reference / simulate_cpu bit for bit, on any rank count.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/microcircuit.h"

namespace rsnn::mc {

// Which rank holds which of n neurons: round-robin (neuron i on rank i % ranks) or contiguous
// ranges (rank r holds cut[r] .. cut[r+1]). Local indices keep the global order.
struct Partition {
  enum class Mode { kRoundRobin, kBlocks };
  Mode mode = Mode::kRoundRobin;
  int64_t n = 0;
  int ranks = 1, rank = 0;
  std::vector<int64_t> cut;  // kBlocks: [ranks + 1], cut[0] = 0, cut[ranks] = n, non-decreasing

  int owner(int64_t i) const;
  int64_t local_index(int64_t i) const;  // i must be owned by this rank
  int64_t global_id(int64_t l) const;
  int64_t local_count() const;
  // Whether this rank owns any neuron in [lo, hi).
  bool owns_any(int64_t lo, int64_t hi) const;
};
Partition round_robin_partition(int64_t n, int ranks, int rank);
Partition block_partition(std::vector<int64_t> cut, int rank);  // validates cut

// Synapses onto one rank's neurons, in rows over all global sources (spikes arrive by
// global id). syn packs the LOCAL target index and the delay; each row keeps the order of the
// full network's row restricted to the local targets. 8 bytes per synapse + 8 per source.
struct LocalCsr {
  int64_t n_global = 0, n_local = 0;
  std::vector<int64_t> ptr;   // [n_global + 1]
  std::vector<uint32_t> syn;  // pack_synapse(local target, delay)
  std::vector<float> weight;  // pA
  int64_t nnz() const { return static_cast<int64_t>(syn.size()); }
  int64_t bytes() const;      // the arrays' sizes in bytes
  int min_delay() const;      // 255 without synapses (no constraint on the interval)
  int max_delay() const;      // 1 without synapses
  void validate(const std::string& what) const;
};

// The rows of the full network restricted to `part`'s neurons (tests and small networks).
LocalCsr local_csr(const DelayCsr& g, const Partition& part);
// The entries of a per-neuron array that `part` holds, in local order.
template <class T>
std::vector<T> local_slice(const std::vector<T>& all, const Partition& part) {
  std::vector<T> out(static_cast<size_t>(part.local_count()));
  for (int64_t l = 0; l < part.local_count(); ++l) out[l] = all[part.global_id(l)];
  return out;
}
// A drive's local part (the Poisson draws stay keyed by global neuron id).
Drive local_drive(const Drive& d, const Partition& part);
// Rest state of the local neurons (v0_local in local order) with a ring for g's delays.
State make_local_state(const LocalCsr& g, const std::vector<float>& v0_local);

// Exchange counters of one rank. "Sent" is this rank's contribution per interval (a 4-byte
// count and 4 bytes per spike), "received" the other ranks' contributions.
struct ExchangeStats {
  int64_t intervals = 0, spikes_sent = 0, bytes_sent = 0, bytes_received = 0;
  double seconds = 0;  // wall time inside the exchange (includes waiting for slower ranks)
};

// Runs `steps` steps of this rank's neurons (drive and state local, as from local_drive /
// make_local_state); `interval` (1 .. min(g.min_delay() over all ranks, 255)) steps between
// exchanges. Every rank must call it with the same steps and interval. With `record` the
// result holds the spikes of ALL neurons (global ids, ascending within a step), which every
// rank receives anyway; without, it is empty. Without MPI it runs as the only rank.
SimResult simulate_dist(const LocalCsr& g, const Partition& part, const LifPropagators& p, const Drive& drive,
                        State& state, int64_t steps, int interval, bool record, ExchangeStats* stats = nullptr);

}  // namespace rsnn::mc
