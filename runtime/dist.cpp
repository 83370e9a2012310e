#include "runtime/dist.h"

// The C interface only: Open MPI's and MPICH's deprecated C++ bindings need their own library.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "runtime/error.h"

namespace rsnn::dist {
namespace {

bool g_active = false;
int g_rank = 0, g_size = 1;

// mpirun (Open MPI, MPICH, PMIx launchers) marks the processes it starts; a plain run has
// none of these, and singleton MPI_Init would spawn a helper daemon for nothing.
bool launched_by_mpirun() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(std::string("MPI ") + what + " failed: " + std::string(text, len));
}

// Completes a nonblocking collective without pinning a core: polls for 50 us, then sleeps in
// growing steps up to 100 us between polls. MPI_Wait busy-polls, which takes the CPU from a
// rank still computing when ranks share cores with each other or with other work (measured:
// 2 ranks on 2 loaded cores lost half their time to it); on dedicated cores a collective
// finishes within the polling window and the sleeps never happen.
void wait(MPI_Request& req, const char* what) {
  const auto t0 = std::chrono::steady_clock::now();
  long sleep_ns = 2000;
  for (;;) {
    int done = 0;
    check_mpi(MPI_Test(&req, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    if (std::chrono::steady_clock::now() - t0 < std::chrono::microseconds(50)) continue;
    struct timespec ts{0, sleep_ns};
    nanosleep(&ts, nullptr);
    sleep_ns = std::min(sleep_ns * 2, 100000L);
  }
}

// memcpy that accepts empty ranges (an empty vector's data() may be null, which memcpy must
// not be given even for zero bytes).
void put(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}

template <class T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }

// Gathers every rank's partials of elements [lo, lo+len) into all[shard][len], shard order.
template <class T>
void gather_chunk(const T* local, int local_shards, size_t n, size_t lo, size_t len,
                  std::vector<int> const& shard_counts, std::vector<T>& all) {
  std::vector<T> mine(size_t(local_shards) * len);
  for (int s = 0; s < local_shards; ++s)
    std::memcpy(mine.data() + s * len, local + s * n + lo, len * sizeof(T));
  std::vector<int> counts(g_size), displs(g_size);
  int total = 0;
  for (int r = 0; r < g_size; ++r) {
    counts[r] = int(shard_counts[r] * len);
    displs[r] = total;
    total += counts[r];
  }
  all.resize(size_t(total));
  MPI_Request req;
  check_mpi(MPI_Iallgatherv(mine.data(), int(mine.size()), mpi_type<T>(), all.data(), counts.data(),
                            displs.data(), mpi_type<T>(), MPI_COMM_WORLD, &req),
            "Allgatherv of gradient shards");
  wait(req, "Allgatherv of gradient shards");
}

template <class T>
void sum_in_order(const T* parts, int shards, size_t n, T* out) {
  put(out, parts, n * sizeof(T));
  for (int s = 1; s < shards; ++s) {
    const T* p = parts + size_t(s) * n;
    for (size_t i = 0; i < n; ++i) out[i] += p[i];
  }
}

template <class T>
void sum_shards_impl(const T* local, int local_shards, size_t n, T* out) {
  RSNN_CHECK(local_shards >= 0, "sum_shards: negative shard count");
  if (!g_active) {
    RSNN_CHECK(local_shards >= 1, "sum_shards: no shard to sum");
    sum_in_order(local, local_shards, n, out);
    return;
  }
  int mine = local_shards;
  std::vector<int> shard_counts(g_size);
  MPI_Request req;
  check_mpi(MPI_Iallgather(&mine, 1, MPI_INT, shard_counts.data(), 1, MPI_INT, MPI_COMM_WORLD, &req),
            "Allgather of shard counts");
  wait(req, "Allgather of shard counts");
  int shards = 0;
  for (int c : shard_counts) shards += c;
  RSNN_CHECK(shards >= 1, "sum_shards: no rank holds a shard");
  // MPI counts are int: move the vector in chunks whose gathered size fits.
  size_t chunk = std::max<size_t>(1, size_t(INT_MAX / 2) / size_t(shards));
  std::vector<T> all;
  for (size_t lo = 0; lo < n; lo += chunk) {
    size_t len = std::min(chunk, n - lo);
    gather_chunk(local, local_shards, n, lo, len, shard_counts, all);
    std::vector<T> sum(len);
    sum_in_order(all.data(), shards, len, sum.data());
    std::memcpy(out + lo, sum.data(), len * sizeof(T));
  }
}

}  // namespace

void init(int* argc, char*** argv) {
  if (g_active || !launched_by_mpirun()) return;
  check_mpi(MPI_Init(argc, argv), "Init");
  g_active = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
}

void finalize() {
  if (!g_active) return;
  MPI_Finalize();
  g_active = false;
}

void abort(int code) {
  if (g_active && g_size > 1) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

bool active() { return g_active; }
int rank() { return g_rank; }
int size() { return g_size; }

Range block(int64_t count, int ranks, int r) {
  RSNN_CHECK(count >= 0 && ranks >= 1 && r >= 0 && r < ranks, "dist::block: bad arguments (count ",
             count, ", ranks ", ranks, ", rank ", r, ")");
  int64_t base = count / ranks, extra = count % ranks;
  Range out;
  out.begin = r * base + std::min<int64_t>(r, extra);
  out.end = out.begin + base + (r < extra ? 1 : 0);
  return out;
}

Range ShardPlan::samples(int shard) const { return block(batch, shards, shard); }

void check_shards(int64_t batch, int shards, int ranks, const std::string& flag) {
  RSNN_CHECK(shards >= 0, flag, " must be >= 0 (0: one shard per rank), got ", shards);
  int s = shards == 0 ? ranks : shards;
  RSNN_CHECK(s % ranks == 0, flag, " ", s, " is not a multiple of the ", ranks,
             " MPI ranks: every rank must take the same number of shards");
  RSNN_CHECK(s <= batch, flag, " ", s, " is more than the batch of ", batch,
             " samples: every shard needs one sample");
}

ShardPlan plan_shards(int64_t batch, int shards) {
  check_shards(batch, shards, g_size, "--shards");
  ShardPlan p;
  p.batch = batch;
  p.shards = shards == 0 ? g_size : shards;
  Range mine = block(p.shards, g_size, g_rank);
  p.first_shard = int(mine.begin);
  p.local_shards = int(mine.size());
  return p;
}

void sum_shards(const float* local, int local_shards, size_t n, float* out) {
  sum_shards_impl(local, local_shards, n, out);
}
void sum_shards(const double* local, int local_shards, size_t n, double* out) {
  sum_shards_impl(local, local_shards, n, out);
}

std::vector<uint8_t> allgather_bytes(const void* data, size_t bytes, std::vector<size_t>* offsets) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (!g_active) {
    if (offsets) *offsets = {0, bytes};
    return std::vector<uint8_t>(p, p + bytes);
  }
  RSNN_CHECK(bytes <= size_t(INT_MAX), "allgather_bytes: ", bytes, " bytes is more than MPI's int count");
  int mine = int(bytes);
  std::vector<int> counts(g_size), displs(g_size);
  MPI_Request req;
  check_mpi(MPI_Iallgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD, &req),
            "Allgather of byte counts");
  wait(req, "Allgather of byte counts");
  int64_t total = 0;
  for (int r = 0; r < g_size; ++r) {
    displs[r] = int(total);
    total += counts[r];
  }
  RSNN_CHECK(total <= INT_MAX, "allgather_bytes: ", total, " bytes in all is more than MPI's int count");
  std::vector<uint8_t> out(static_cast<size_t>(total));
  check_mpi(MPI_Iallgatherv(p, mine, MPI_BYTE, out.data(), counts.data(), displs.data(), MPI_BYTE,
                            MPI_COMM_WORLD, &req),
            "Allgatherv of bytes");
  wait(req, "Allgatherv of bytes");
  if (offsets) {
    offsets->assign(size_t(g_size) + 1, 0);
    for (int r = 0; r < g_size; ++r) (*offsets)[r + 1] = (*offsets)[r] + size_t(counts[r]);
  }
  return out;
}

std::vector<uint8_t> allgather_bytes(const void* data, size_t bytes, std::vector<size_t>* offsets,
                                     size_t inline_bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (!g_active) return allgather_bytes(data, bytes, offsets);
  const size_t block = sizeof(uint64_t) + inline_bytes;
  RSNN_CHECK(block * size_t(g_size) <= size_t(INT_MAX), "allgather_bytes: inline blocks of ",
             inline_bytes, " bytes on ", g_size, " ranks exceed MPI's int count");
  std::vector<uint8_t> mine(block, 0), blocks(block * size_t(g_size));
  const uint64_t n = bytes;
  std::memcpy(mine.data(), &n, sizeof n);
  put(mine.data() + sizeof n, p, std::min(bytes, inline_bytes));
  MPI_Request req;
  check_mpi(MPI_Iallgather(mine.data(), int(block), MPI_BYTE, blocks.data(), int(block), MPI_BYTE,
                           MPI_COMM_WORLD, &req),
            "Allgather of inline blocks");
  wait(req, "Allgather of inline blocks");
  std::vector<size_t> sizes(g_size), off(size_t(g_size) + 1, 0);
  bool overflow = false;
  for (int r = 0; r < g_size; ++r) {
    uint64_t v = 0;
    std::memcpy(&v, blocks.data() + size_t(r) * block, sizeof v);
    sizes[r] = size_t(v);
    overflow |= sizes[r] > inline_bytes;
    off[r + 1] = off[r] + sizes[r];
  }
  std::vector<uint8_t> out(off[g_size]);
  for (int r = 0; r < g_size; ++r)
    put(out.data() + off[r], blocks.data() + size_t(r) * block + sizeof(uint64_t),
                std::min(sizes[r], inline_bytes));
  if (overflow) {  // every rank knows who overflowed: gather only the rest of those parts
    const size_t rest = bytes > inline_bytes ? bytes - inline_bytes : 0;
    std::vector<size_t> rest_off;
    const std::vector<uint8_t> tails = allgather_bytes(p + std::min(bytes, inline_bytes), rest, &rest_off);
    for (int r = 0; r < g_size; ++r)
      if (sizes[r] > inline_bytes)
        put(out.data() + off[r] + inline_bytes, tails.data() + rest_off[r], sizes[r] - inline_bytes);
  }
  if (offsets) *offsets = off;
  return out;
}

void sum_int(int64_t* v, size_t n) {
  if (!g_active || n == 0) return;
  RSNN_CHECK(n <= size_t(INT_MAX), "sum_int: ", n, " values is more than MPI's int count");
  std::vector<long long> in(v, v + n), out(n);
  MPI_Request req;
  check_mpi(MPI_Iallreduce(in.data(), out.data(), int(n), MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD, &req),
            "Allreduce");
  wait(req, "Allreduce");
  for (size_t i = 0; i < n; ++i) v[i] = out[i];
}

int64_t sum_int(int64_t v) {
  if (!g_active) return v;
  sum_int(&v, 1);
  return v;
}

void broadcast(void* data, size_t bytes) {
  if (!g_active) return;
  auto* p = static_cast<uint8_t*>(data);
  for (size_t lo = 0; lo < bytes; lo += size_t(INT_MAX)) {
    int len = int(std::min(bytes - lo, size_t(INT_MAX)));
    MPI_Request req;
    check_mpi(MPI_Ibcast(p + lo, len, MPI_BYTE, 0, MPI_COMM_WORLD, &req), "Bcast");
    wait(req, "Bcast");
  }
}

void barrier() {
  if (!g_active) return;
  MPI_Request req;
  check_mpi(MPI_Ibarrier(MPI_COMM_WORLD, &req), "Barrier");
  wait(req, "Barrier");
}

std::string rank_prefix() {
  if (!g_active) return "";
  return "rank " + std::to_string(g_rank) + " of " + std::to_string(g_size) + ": ";
}

}  // namespace rsnn::dist
