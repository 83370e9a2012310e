// Internal to the optimized CPU recurrent LIF layer (contract in recurrent_lif.h): what its
// units share. recurrent_lif_cpu_plan.cpp splits a call over threads (and times team against
// one thread), recurrent_lif_cpu_tables.cpp builds the per-call tables, and
// recurrent_lif_cpu_forward.cpp / recurrent_lif_cpu_backward.cpp run the time loops; the
// per-row loops they call are in recurrent_lif_rows.h.
//
// Work split. The batch is cut into blocks of kBlock samples; consecutive blocks form slices,
// and each slice runs the whole time loop on its own private state [N, B_slice] (neuron-major,
// batch innermost) with no synchronization: samples are independent except in the parameter
// gradients, which are summed per block and reduced over blocks in block order at the end, so
// results do not depend on the number of threads. With fewer than two blocks (B <= kBlock) and
// a large network, one slice may be shared by all threads, split over neuron rows with barriers
// between phases (each row owned by one thread), when that measures faster than one thread
// (TeamChooser).
//
// Denormals. The time loops (every thread that runs one) flush denormal results to zero and
// read denormal operands as zero (runtime/fp_mode.h). The adaptation of a neuron that does not
// fire decays geometrically and passes 1.2e-38 after a few hundred steps, and decaying
// potentials and errors follow; on denormals every multiply-add takes a microcode assist
// (docs/perf-log.md). The reference does not flush; the two differ by at most such denormal
// amounts per value. All optimized paths flush alike, so thread counts and propagation
// strategies still give identical bits.
#pragma once
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <tuple>
#include <utility>
#include <vector>

#include "kernels/recurrent_lif.h"
#include "kernels/recurrent_lif_detail.h"
#include "kernels/recurrent_lif_rows.h"
#include "runtime/threads.h"

namespace rsnn::kernels::lif_cpu {

using namespace lif_detail;
using namespace lif_rows;

constexpr int64_t kBlock = 8;  // samples per gradient block

// The optimized CPU op for a CPU projection (recurrent_lif.cpp dispatches here).
LifForward cpu_forward(const Projection& p, const LifConfig& cfg, const LifInputs& x, bool keep_for_backward);
LifGrads cpu_backward(const Projection& p, const LifConfig& cfg, const LifInputs& x, const LifSaved& saved,
                      const Tensor& dspikes, const Tensor& dreadout, const LifNeeds& needs);

// 64-byte aligned storage for the slices' [N, B_slice] rows (a row of 16 floats = one line).
template <class T>
struct AlignedAlloc {
  using value_type = T;
  AlignedAlloc() = default;
  template <class U>
  AlignedAlloc(const AlignedAlloc<U>&) {}
  T* allocate(size_t n) {
    void* p = ::operator new(n * sizeof(T), std::align_val_t(64));
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  template <class U>
  bool operator==(const AlignedAlloc<U>&) const { return true; }
  template <class U>
  bool operator!=(const AlignedAlloc<U>&) const { return false; }
};
template <class T>
using AVec = std::vector<T, AlignedAlloc<T>>;

// A vector whose resize leaves new elements of trivial types uninitialized: for the per-call
// tables of nnz entries that a parallel loop fills right after (zeroing them first cost a
// single-threaded pass over 5 MB each, several per barrel training step).
template <class T>
struct UninitAlloc : std::allocator<T> {
  using value_type = T;
  UninitAlloc() = default;
  template <class U>
  UninitAlloc(const UninitAlloc<U>&) {}
  template <class U>
  struct rebind {
    using other = UninitAlloc<U>;
  };
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... A>
  void construct(U* p, A&&... a) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
  }
};
template <class T>
using RawVec = std::vector<T, UninitAlloc<T>>;

// Row stride of the per-sample push accumulators: N rounded up to an odd number of 64-byte
// lines. A neuron's update reads one element of every sample's row; with a stride of an even
// number of lines (4,418 floats is about 276) those elements fall into a few L1 sets and evict
// each other before the next 15 neurons reuse the lines.
template <class T>
int64_t acc_stride(int64_t N) {
  constexpr int64_t per_line = 64 / sizeof(T);
  return ((N + per_line - 1) / per_line | 1) * per_line;
}

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// ---- thread plan (recurrent_lif_cpu_plan.cpp) ------------------------------------------------
// (direction 0 forward / 1 backward, N, nnz, B, threads): a workload of TeamChooser
using TeamKey = std::tuple<int, int64_t, int64_t, int64_t, int>;

// How a call is split over threads: slices [b0[s], b0[s+1]) and whether the one slice is
// shared by a team (row-parallel with barriers). A slice is a whole number of blocks, at most
// 64 samples, and narrow enough to give every thread a slice.
struct Plan {
  std::vector<int64_t> b0;
  bool shared = false;
  bool measured = false;  // the team-or-one choice was made by TeamChooser
  TeamKey key{};
  int threads = 1;
  int64_t slices() const { return static_cast<int64_t>(b0.size()) - 1; }
};

// Whether a batch of one block runs on a team or on one thread (RowTeam::measured): both give
// identical results, so the op times each choice per workload (direction, network, batch,
// threads) and runs the faster. The first calls alternate (team, one, team, one) until each
// choice has two timings; then the faster by the better of its last two times per step runs.
// The better of two, so that one slow call (the first one pays for fresh memory; a moment of
// load) does not decide. The running choice's times stay current: when load slows it below
// the other's last times, the choice flips within two calls. The other's times age, so it is
// re-timed now and then (a team timed under load would otherwise stay off for good), every
// retry_period(ratio) calls. A team can also cost time outside its own loop: a forward on one
// thread builds the backward's tables on the other meanwhile (cpu_forward), after a forward on
// a team the backward builds them itself; that time per step (record_team_extra) is added to
// the team's. One process-wide instance: team_chooser().
class TeamChooser {
 public:
  bool pick(const TeamKey& k);  // true: run the team
  // One re-timing costs about (ratio - 1) of a call, ratio = the other's time / the running
  // one's; this period keeps that under 1/80 of a call on average, between every 16th and
  // every 128th call (a fixed period cost more when the two are far apart).
  static int64_t retry_period(double ratio);
  void record(const TeamKey& k, bool team, double seconds_per_step);
  void record_team_extra(const TeamKey& k, double seconds_per_step);

 private:
  struct Times {
    double last[2] = {0, 0};  // seconds per step of the last two timed calls
    int64_t n = 0;            // calls timed
    double best() const { return std::min(last[0], last[1]); }
  };
  struct Entry {
    Times team, one;
    double team_extra = 0;    // seconds per step the team costs elsewhere (the latest measured)
    int64_t since_retry = 0;  // calls since the other choice was last timed
  };
  std::mutex mu_;
  std::map<TeamKey, Entry> table_;
};

TeamChooser& team_chooser();

// The plan's slices; for a measured batch of one block, its key, the team-or-one choice left
// to make_plan.
Plan plan_shape(const Dims& d, int dir, int64_t work_per_step, const LifConfig& cfg);
// plan_shape with the team-or-one choice made (TeamChooser::pick for a measured one).
Plan make_plan(const Dims& d, int dir, int64_t work_per_step, const LifConfig& cfg);

// The forward's work per step (make_plan): neuron updates and (roughly) the event-driven
// propagation.
inline int64_t fwd_work_per_step(const Dims& d) { return (4 * d.N + d.nnz / 16) * d.B; }

// Whether a forward keeping its state for backward builds the backward's tables on a second
// thread when its time loop runs on one (cpu_forward): a thread is free and the loop is long
// enough to cover most of them (when the loop ends first, the forward waits for the rest,
// which still costs less than the backward building them).
bool tables_aside_fits(const Dims& d);

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Runs f() (the call's parallel time loop) and, for a measured choice, records its time: the
// seconds f() took, or the loop's own if f() sets loop_s (work done beside the loop excluded).
template <class F>
void run_timed(const Plan& p, int64_t T, F&& f, const double* loop_s = nullptr) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  const double s = loop_s && *loop_s >= 0 ? *loop_s : seconds_since(t0);
  if (p.measured && T > 0) team_chooser().record(p.key, p.shared, s / double(T));
}

// ---- row loops of a phase --------------------------------------------------------------------
// Row loop of a phase: in a shared slice each thread starts on a fixed contiguous share of
// the rows, whole tiles of kAccTile rows from i0 (forward_slice relies on it), the same share
// at every step, so a row's state stays in its thread's cache; `claims` (runtime/threads.h, one
// per shared slice) hands the shares out tile by tile, and a thread done early takes over the
// end of another's share. Then a barrier. A plain loop over a private slice. (With fixed
// shares a thread slowed by load on its core kept the other waiting at every barrier.)
template <class F>
inline void for_rows(bool shared, int64_t i0, int64_t i1, RowClaims* claims, F&& f) {
  if (!shared) {
    for (int64_t i = i0; i < i1; ++i) f(i);
    return;
  }
  const int64_t tid = omp_get_thread_num(), nth = omp_get_num_threads();
  const int64_t tiles = (i1 - i0 + kAccTile - 1) / kAccTile;
  const int64_t a = i0 + kAccTile * (tiles * tid / nth), b = std::min(i1, i0 + kAccTile * (tiles * (tid + 1) / nth));
  claims->run(static_cast<int>(tid), static_cast<int>(nth), i0, a, b, kAccTile, f);
#pragma omp barrier
}

// for_rows with shares of about equal work instead of equal row counts: work[i] is the summed
// work of rows [0, i); a thread's share starts at the first row whose prefix reaches it. (The
// backward's rows differ in work by population: a layer-4 source sends most of its error
// within the step, a layer-2/3 source to the previous step, so equal row counts leave the
// threads unequal shares of a phase.) The shares are handed out
// in chunks of 8 rows (RowClaims).
template <class F>
inline void for_rows_by_work(bool shared, int64_t i0, int64_t i1, const int64_t* work, RowClaims* claims, F&& f) {
  if (!shared) {
    for (int64_t i = i0; i < i1; ++i) f(i);
    return;
  }
  const int64_t tid = omp_get_thread_num(), nth = omp_get_num_threads();
  auto start = [&](int64_t k) {
    if (k == nth) return i1;
    const int64_t target = work[i0] + (work[i1] - work[i0]) * k / nth;
    return static_cast<int64_t>(std::lower_bound(work + i0, work + i1, target) - work);
  };
  const int64_t a = start(tid), b = start(tid + 1);
  claims->run(static_cast<int>(tid), static_cast<int>(nth), i0, a, b, 8, f);
#pragma omp barrier
}
inline void sync(bool shared) {
  if (shared) {
#pragma omp barrier
  }
}

// Elementwise loops over the synapses or neurons (per-call tables, gradient reductions) on
// all threads: each element is computed as on one thread. work: the loop's total work when
// more than n (a loop over rows of synapses).
template <class F>
void par_for_if(bool parallel, int64_t n, F&& f, int64_t work = 0) {
#pragma omp parallel for schedule(static) if (parallel && std::max(n, work) >= (int64_t(1) << 15))
  for (int64_t k = 0; k < n; ++k) f(k);
}
template <class F>
void par_for(int64_t n, F&& f, int64_t work = 0) {
  par_for_if(true, n, std::forward<F>(f), work);
}

// Rows [N] of samples [b0, b0 + Bs) of a [B, N] tensor, neuron-major [N, Bs] (zeros if null).
template <class T>
AVec<T> slice_neuron_major(const T* src, int64_t N, int64_t b0, int64_t Bs) {
  AVec<T> out(static_cast<size_t>(Bs * N), T(0));
  if (src)
    for (int64_t b = 0; b < Bs; ++b)
      for (int64_t n = 0; n < N; ++n) out[n * Bs + b] = src[(b0 + b) * N + n];
  return out;
}

}  // namespace rsnn::kernels::lif_cpu
