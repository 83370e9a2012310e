// CPU thread count for rsnn's OpenMP loops and for OpenBLAS.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace rsnn {
// n <= 0 selects the number of cores. Also sets OpenBLAS's thread count.
void set_num_threads(int n);
int num_threads();
int hardware_threads();

// OpenBLAS's kernel set (its core name, e.g. "Haswell", "SkylakeX").
std::string blas_core();
// The OPENBLAS_CORETYPE that fits this CPU when OpenBLAS fell back to its generic "Prescott"
// kernels (SSE3) on an AVX2 or AVX-512 CPU it did not recognize, else empty. (Seen: Debian's
// OpenBLAS 0.3.21 on a Xeon VM reported as "Intel(R) Xeon(R) Processor": single-thread sgemm
// 19 GFLOP/s with Prescott, 105-118 with Cooperlake or SkylakeX.) OpenBLAS picks its kernels
// when it loads, so the variable must be set in the environment of the process;
// tools/run.sh and the benchmark scripts set it from `rsnn info --blas-coretype`.
std::string blas_coretype_hint();

// Runs OpenBLAS on one thread while in scope when `single` (and OpenBLAS has more), then
// restores its count; does nothing inside an OpenMP parallel region (the count is global).
// For products too small to gain from BLAS threads: thread start-up, and OpenBLAS's workers
// (pthreads build) keep spinning for a while after a multi-threaded call, competing with the
// next OpenMP loop for the cores.
class BlasThreadsGuard {
 public:
  explicit BlasThreadsGuard(bool single);
  ~BlasThreadsGuard();
  BlasThreadsGuard(const BlasThreadsGuard&) = delete;
  BlasThreadsGuard& operator=(const BlasThreadsGuard&) = delete;

 private:
  int prev_ = 1;
  bool on_ = false;
};
// Hands out the rows of one phase of a team loop (the threads of an OpenMP parallel region,
// a barrier after the phase) in chunks. Each thread starts on its own fixed share [a, b),
// claiming chunks from its front, so that most rows stay with the thread whose cache holds
// them from the last phase; a thread whose share is done takes chunks from the back of the
// others' shares. So a thread slowed by other work on its core, or a share that costs more
// than its estimate, does not leave the rest of the team waiting at the barrier. For loops
// whose rows are independent within the phase: which thread runs a row must not change what
// the row computes. Chunks are aligned to i0 (whole tiles of `chunk` rows from i0).
// Every share is empty when its phase ends (a thread leaves run() only when it finds no row
// left in any share), and a thread resets only its own share, at the start of its next run(),
// after the barrier: a thief that looks earlier finds it empty, never rows of another phase.
// Each call must be followed by a barrier of the whole team before the next.
class RowClaims {
 public:
  explicit RowClaims(int threads) : slots_(static_cast<size_t>(threads)) {}

  // Runs f(i) for every row of every share of this phase, this thread's share first.
  template <class F>
  void run(int tid, int nth, int64_t i0, int64_t a, int64_t b, int64_t chunk, F&& f) {
    slots_[tid].range.store(pack(a, b), std::memory_order_release);
    int64_t x0, x1;
    while (take(slots_[tid], i0, chunk, true, x0, x1))
      for (int64_t i = x0; i < x1; ++i) f(i);
    for (int v = 1; v < nth; ++v)
      while (take(slots_[(tid + v) % nth], i0, chunk, false, x0, x1))
        for (int64_t i = x0; i < x1; ++i) f(i);
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> range{0};  // [lo, hi) not yet claimed: lo << 32 | hi
  };
  static uint64_t pack(int64_t lo, int64_t hi) {
    return static_cast<uint64_t>(lo) << 32 | static_cast<uint64_t>(hi);
  }
  // One chunk from the front (the owner) or the back (a thief) of a share, if any is left.
  static bool take(Slot& s, int64_t i0, int64_t chunk, bool front, int64_t& x0, int64_t& x1) {
    uint64_t cur = s.range.load(std::memory_order_acquire);
    for (;;) {
      const int64_t lo = static_cast<int64_t>(cur >> 32), hi = static_cast<int64_t>(cur & 0xffffffffu);
      if (lo >= hi) return false;
      uint64_t next;
      if (front) {
        x0 = lo;
        x1 = std::min(hi, i0 + ((lo - i0) / chunk + 1) * chunk);
        next = pack(x1, hi);
      } else {
        x0 = std::max(lo, i0 + ((hi - 1 - i0) / chunk) * chunk);
        x1 = hi;
        next = pack(lo, x0);
      }
      if (s.range.compare_exchange_weak(cur, next, std::memory_order_acq_rel, std::memory_order_acquire))
        return true;
    }
  }
  std::vector<Slot> slots_;
};
}  // namespace rsnn
