// Running on several processes through MPI (`mpirun -np N rsnn ...`). Without mpirun the
// program is one rank and no MPI call is made, so plain runs (and tests) never start MPI.
//
// Reductions are deterministic whatever the rank count: a global batch is cut into a fixed
// number of shards, each rank computes its shards' partial sums, and every rank adds all
// partials in shard order (`sum_shards`). One rank computing the same shards gets the same
// bits as four ranks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rsnn::dist {

// Every collective waits by polling briefly, then sleeping between polls (never spinning on a
// core that a rank still computing may need).
//
// Starts MPI when the process was launched by mpirun (its environment says so); a no-op
// otherwise. Call once from main, before any other function here. Thread-safe MPI is not
// requested: only the calling thread talks to MPI.
void init(int* argc, char*** argv);
// Ends MPI after a clean run (every rank must call it).
void finalize();
// Ends every rank at once after an error on one (the others may be waiting in a collective).
[[noreturn]] void abort(int code);

bool active();  // MPI was started (launched by mpirun)
int rank();     // 0 without MPI
int size();     // 1 without MPI
inline bool is_root() { return rank() == 0; }

// The slice [begin, end) of `count` items that rank `r` of `ranks` takes: contiguous blocks,
// the first `count % ranks` ranks one item larger.
struct Range {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};
Range block(int64_t count, int ranks, int r);

// A global batch of `batch` samples cut into `shards` contiguous shards (sizes differ by at
// most one), the shards dealt to ranks in contiguous blocks. `shards` must be a multiple of
// the rank count and at most `batch`; 0 means one shard per rank.
struct ShardPlan {
  int64_t batch = 0;
  int shards = 0;
  int first_shard = 0;  // this rank's shards: [first_shard, first_shard + local_shards)
  int local_shards = 0;
  Range samples(int shard) const;  // the samples of global shard `shard`
};
ShardPlan plan_shards(int64_t batch, int shards);
// The same plan's check without MPI state: throws a one-line error naming `flag`.
void check_shards(int64_t batch, int shards, int ranks, const std::string& flag);

// out[i] = sum over global shards s (in order 0, 1, ...) of partial_s[i], on every rank.
// `local` holds this rank's `local_shards` partials back to back, `n` values each. The sum
// starts from the first shard's values (no leading zero), so a single shard passes through.
void sum_shards(const float* local, int local_shards, size_t n, float* out);
void sum_shards(const double* local, int local_shards, size_t n, double* out);

// Every rank's bytes, concatenated in rank order; `offsets` (size()+1 entries) says where
// each rank's part starts.
std::vector<uint8_t> allgather_bytes(const void* data, size_t bytes, std::vector<size_t>* offsets);
// The same result in one collective when every rank's part fits in `inline_bytes`: each rank
// sends a fixed block (its size, then up to inline_bytes of data); parts that do not fit
// follow in a second, variable-size gather. For frequent small exchanges (spikes every
// minimum delay), where the latency of the size exchange would double the cost.
std::vector<uint8_t> allgather_bytes(const void* data, size_t bytes, std::vector<size_t>* offsets,
                                     size_t inline_bytes);
// Exact integer sum over ranks: of one value, or element-wise of n values in place (one
// collective for all).
int64_t sum_int(int64_t v);
void sum_int(int64_t* v, size_t n);
// Rank 0's bytes on every rank (the buffer's size must match on every rank).
void broadcast(void* data, size_t bytes);
void barrier();

// For messages: "" without MPI, "rank 2 of 4: " with it.
std::string rank_prefix();

}  // namespace rsnn::dist
