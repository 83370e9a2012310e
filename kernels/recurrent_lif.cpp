// Optimized CPU recurrent LIF layer (contract in recurrent_lif.h).
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
// Input current of neuron i at step t: I = I_ext + (P + C), with
//   P = sum over the synapses carrying the previous step's spikes (sources in group(i) or
//       later, or all sources with previous_step), in ascending source order;
//   C = sum over the synapses carrying this step's spikes (sources in earlier groups,
//       gauss_seidel only), in ascending source order.
// pull: per target row, P and C are gathered as B-vectors from the firing sources' spike
//       vectors (cost ~ nnz * B, vectorized; wins when many samples fire).
// push: per sample, every spike (j, b) scatters its pre-major row into a per-sample
//       accumulator acc[b * As + i] (cost ~ spikes * out-degree; a sample's accumulator stays
//       in cache). In a shared slice, threads own samples and target ranges.
// Both add the same non-zero terms in the same order, so they give the same values and are
// mixed step by step (Propagation::automatic, decided from the slice's previous step).
//
// Denormals. The time loops (forward_slice, backward_slice: every thread that runs one) flush
// denormal results to zero and read denormal operands as zero (runtime/fp_mode.h). The
// adaptation of a neuron that does not fire decays geometrically (by e^(-1/5) = 0.82 per step
// at the barrel network's initial tau_adp of 5 steps) and passes 1.2e-38 after ~420 steps, and
// decaying potentials and errors follow; on the denormals below that every multiply-add takes
// a microcode assist that made long forwards much slower (docs/perf-log.md). The
// reference does not flush; the two differ by at most such denormal amounts per value. All
// optimized paths flush alike, so thread counts and propagation strategies still give
// identical bits.
//
// Backward, per step in reverse, groups in reverse: dL/ds of a neuron = what later steps and
// later groups sent it + the readout and spike-output gradients; the neuron's reverse step
// gives dL/dv; the error reaches the sources as a B-vector gather over the pre-major rows
// (wg = sign * w * dv/dI of the target), and the weight gradient sums dv_i over the samples
// where the source fired (q, per block).
#include "kernels/recurrent_lif.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "kernels/recurrent_lif_cuda.h"
#include "kernels/recurrent_lif_detail.h"
#include "kernels/recurrent_lif_rows.h"
#include "runtime/fp_mode.h"
#include "runtime/threads.h"

namespace rsnn::kernels {
namespace {

using namespace lif_detail;
using namespace lif_rows;

constexpr int64_t kBlock = 8;  // samples per gradient block
// The backward's readout error is computed for blocks of kRoSteps steps (W_ro streams once per
// block, not once per step), in shares of kRoCols columns.
constexpr int64_t kRoSteps = 8, kRoCols = 32;
// A forward whose time loop runs on one thread builds the backward's tables on another when
// the loop's work, T * (4 N + nnz / 16) * B, is at least this many times nnz (forward_impl).
constexpr int64_t kTablesAsideWork = 4;

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
// re-timed now and then (a team timed under load would otherwise stay off for good). One
// re-timing costs about (ratio - 1) of a call, ratio = the other's time / the running one's,
// so they come every retry_period(ratio) calls, which keeps their cost under 1/80 of a call
// on average: every 16th call when the two are within 1.2x, every 64th at 1.8x, at most
// every 128th (a fixed period cost more when the two are far apart: docs/perf-log.md). A
// team can also cost time outside its own loop: a forward
// on one thread builds the backward's tables on the other meanwhile (forward_impl), after a
// forward on a team the backward builds them itself; that time per step (record_team_extra)
// is added to the team's.
class TeamChooser {
 public:
  bool pick(const TeamKey& k) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = table_[k];
    if (e.team.n < 2 || e.one.n < 2) return e.team.n <= e.one.n;
    const double team = e.team.best() + e.team_extra, one = e.one.best();
    const bool team_faster = team <= one;
    const double ratio = team_faster ? one / team : team / one;
    if (++e.since_retry >= retry_period(ratio)) {
      e.since_retry = 0;
      return !team_faster;
    }
    return team_faster;
  }
  static int64_t retry_period(double ratio) {
    const double p = 80.0 * (ratio - 1.0);
    return p <= 16.0 ? 16 : p >= 128.0 ? 128 : static_cast<int64_t>(p);
  }
  void record(const TeamKey& k, bool team, double seconds_per_step) {
    std::lock_guard<std::mutex> lock(mu_);
    Times& t = team ? table_[k].team : table_[k].one;
    t.last[1] = t.last[0];
    t.last[0] = seconds_per_step;
    ++t.n;
  }
  void record_team_extra(const TeamKey& k, double seconds_per_step) {
    std::lock_guard<std::mutex> lock(mu_);
    table_[k].team_extra = seconds_per_step;
  }

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

TeamChooser& team_chooser() {
  static TeamChooser c;
  return c;
}

// The plan's slices; for a measured batch of one block, its key, the team-or-one choice left
// to make_plan.
Plan plan_shape(const Dims& d, int dir, int64_t work_per_step, const LifConfig& cfg) {
  Plan p;
  const int nth = omp_get_max_threads();
  const int64_t blocks = (d.B + kBlock - 1) / kBlock;
  if (blocks >= 2) {
    // 64 samples per slice at most: wide enough for the vector loops, and a wider slice only
    // spreads the state over more cache
    const int64_t cache_blocks = 64 / kBlock;
    const int64_t per = std::max<int64_t>(1, std::min(cache_blocks, (blocks + nth - 1) / nth));
    const int64_t s = (blocks + per - 1) / per;
    for (int64_t k = 0; k <= s; ++k) p.b0.push_back(std::min(d.B, kBlock * std::min(blocks, per * k)));
    p.threads = static_cast<int>(std::min<int64_t>(nth, s));
    return p;
  }
  p.b0 = {0, d.B};
  // a shared slice synchronizes after every phase: about G + 2 per step (LifConfig)
  if (nth > 1 && cfg.row_team != RowTeam::never && work_per_step / (d.G + 2) >= cfg.row_parallel_min_work) {
    p.key = TeamKey{dir, d.N, d.nnz, d.B, nth};
    p.measured = cfg.row_team == RowTeam::measured;
    p.shared = !p.measured;
    if (p.shared) p.threads = nth;
  }
  return p;
}

Plan make_plan(const Dims& d, int dir, int64_t work_per_step, const LifConfig& cfg) {
  Plan p = plan_shape(d, dir, work_per_step, cfg);
  if (p.measured && team_chooser().pick(p.key)) {
    p.shared = true;
    p.threads = omp_get_max_threads();
  }
  return p;
}

// The forward's work per step (make_plan): neuron updates and (roughly) the event-driven
// propagation.
int64_t fwd_work_per_step(const Dims& d) { return (4 * d.N + d.nnz / 16) * d.B; }

// Whether a forward keeping its state for backward builds the backward's tables on a second
// thread when its time loop runs on one (forward_impl): a thread is free and the loop is long
// enough to cover most of them (kTablesAsideWork: when the loop ends first, the forward waits
// for the rest, which still costs less than the backward building them; docs/perf-log.md).
bool tables_aside_fits(const Dims& d) {
  return omp_get_max_threads() >= 2 && d.T * fwd_work_per_step(d) >= kTablesAsideWork * d.nnz;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
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

// ---- per-call tables -----------------------------------------------------------------------
template <class T>
struct Net {
  Dims d;
  lif::ModelParams<T> m;
  lif::SurrogateParams<T> sg;
  std::vector<lif::NeuronConst<T>> nc;
  std::vector<int64_t> post_split, pre_split, pre_end;
  const int64_t *post_ptr = nullptr, *pre_ptr = nullptr, *syn_of_pre = nullptr;
  const int32_t *pre_idx = nullptr, *post_idx = nullptr;
  const float* sign = nullptr;
  RawVec<T> ws;                    // [nnz] sign * w, post-major
  std::vector<int64_t> ro_neuron;  // [N_ro] neuron of each readout column
  RawVec<T> wro_t;                 // [N_ro, R] W_ro transposed (the forward's spike-driven sums)
  const T* wro = nullptr;          // W_ro [R, N_ro] (the backward's readout error)

  Net(const Projection& p, const LifConfig& cfg, const LifInputs& x) : d(make_dims(p, cfg, x)) {
    m = lif::make_model<T>(cfg.model, cfg.dt, cfg.r_m, cfg.beta);
    sg = lif::make_surrogate<T>(cfg.surrogate, cfg.sg_width, cfg.sg_scale);
    nc = neuron_consts<T>(m, x, d.N);
    row_splits(p, d, post_split, pre_split);
    post_ptr = p.post_ptr.data<int64_t>();
    pre_ptr = p.pre_ptr.data<int64_t>();
    syn_of_pre = p.syn_of_pre.data<int64_t>();
    pre_idx = p.pre_idx.data<int32_t>();
    post_idx = p.post_idx.data<int32_t>();
    sign = p.source_sign.data<float>();
    pre_end.assign(pre_ptr + 1, pre_ptr + d.N + 1);
    const T* w = x.w.data<T>();
    ws.resize(static_cast<size_t>(d.nnz));
    par_for(d.nnz, [&](int64_t k) { ws[k] = static_cast<T>(sign[pre_idx[k]]) * w[k]; });
    if (d.has_readout) {
      ro_neuron.resize(static_cast<size_t>(d.N_ro));
      for (int64_t n = 0; n < d.N; ++n)
        if (d.ro_col[n] >= 0) ro_neuron[d.ro_col[n]] = n;
      wro = x.w_ro.data<T>();
      wro_t.resize(static_cast<size_t>(d.N_ro * d.R));
      par_for(d.N_ro, [&](int64_t c) {
        for (int64_t r = 0; r < d.R; ++r) wro_t[c * d.R + r] = wro[r * d.N_ro + c];
      }, d.N_ro * d.R);
    }
  }

  // Pre-major values: f(k, sign * w) for each pre-major entry k (on all threads, or on the
  // calling one).
  template <class F>
  RawVec<T> pre_major(F f, bool parallel = true) const {
    RawVec<T> out(static_cast<size_t>(d.nnz));
    par_for_if(parallel, d.nnz, [&](int64_t k) { out[k] = f(k, ws[syn_of_pre[k]]); });
    return out;
  }
};

// The backward's gather tables, sign * w * in_gain(target) and the targets in backward order:
// the same-step part of row j (pre-major entries [pre_split[j], pre_end[j])) at same_at[j], its
// previous-step part ([pre_ptr[j], pre_split[j])) at prev_at[j]. The same-step parts come in
// the order the group loop visits the rows (groups descending, rows ascending), then the
// previous-step parts (rows ascending), so that every step reads the tables as one sequential
// stream (rows split into two runs that are read at different times were slower than
// contiguous rows). 16-bit targets when N <= 65,536 (the gather streams the index and
// weight tables every step). Built from the weights and the projection alone, so a forward
// whose time loop runs on one thread builds them on another meanwhile (LifSaved::tables);
// `from` and `cfg` say what from, so that a backward given other inputs builds its own. The
// tables hold on to those tensors: no other tensor can take their place at the same address
// while the tables exist (the Net also reads them).
template <class T>
struct BwdTables final : LifBackwardTables {
  std::shared_ptr<const Net<T>> net;
  std::vector<Tensor> held;       // tensors_of(p, x)
  std::vector<const void*> from;  // their storage
  LifConfig cfg;
  RawVec<T> wg_b;
  std::vector<int64_t> same_at, prev_at;
  // prefix sums of the rows' work (for_rows_by_work) in the group loop and in the
  // previous-step loop: the row's gather entries + the entries its other per-row work is worth
  std::vector<int64_t> work_same, work_prev;
  RawVec<uint16_t> post16;  // targets, N <= 65,536
  RawVec<int32_t> post32;   // targets, larger N
  // [nnz] the pre-major entry of each post-major synapse (syn_of_pre inverted): 32-bit when nnz
  // fits, else 64-bit
  RawVec<uint32_t> pre_of_syn32;
  RawVec<int64_t> pre_of_syn64;
  int64_t bytes() const override {
    const Net<T>& n = *net;
    auto b = [](const auto& v) { return static_cast<int64_t>(v.size() * sizeof(v[0])); };
    return b(wg_b) + b(same_at) + b(prev_at) + b(work_same) + b(work_prev) + b(post16) + b(post32) +
           b(pre_of_syn32) + b(pre_of_syn64) + b(n.nc) +
           b(n.post_split) + b(n.pre_split) + b(n.pre_end) + b(n.ws) + b(n.ro_neuron) + b(n.wro_t);
  }
};

// Every tensor a Net and the backward tables are derived from, and their storage.
inline std::vector<Tensor> tensors_of(const Projection& p, const LifInputs& x) {
  return {p.post_ptr, p.pre_ptr, p.pre_idx, p.post_idx, p.syn_of_pre, p.source_sign,
          x.w,        x.tau_m,   x.tau_adp, x.b_base,   x.w_ro};
}
inline std::vector<const void*> storage_of(const Projection& p, const LifInputs& x) {
  std::vector<const void*> at;
  for (const Tensor& t : tensors_of(p, x)) at.push_back(t.defined() ? t.raw() : nullptr);
  return at;
}

// Whether two configs give the same Net (the fields make_dims, the model and the surrogate read).
inline bool same_net_config(const LifConfig& a, const LifConfig& b) {
  auto ranges = [](const LifConfig& c) {
    std::vector<int64_t> r;
    for (const NeuronRange& n : c.readout) r.insert(r.end(), {n.start, n.length});
    return r;
  };
  return a.model == b.model && a.dt == b.dt && a.r_m == b.r_m && a.beta == b.beta && a.surrogate == b.surrogate &&
         a.sg_width == b.sg_width && a.sg_scale == b.sg_scale && a.order == b.order &&
         a.group_offsets == b.group_offsets && a.input_offset == b.input_offset && ranges(a) == ranges(b);
}

template <class T>
std::shared_ptr<BwdTables<T>> make_bwd_tables(std::shared_ptr<const Net<T>> netp, const Projection& p,
                                              const LifConfig& cfg, const LifInputs& x, bool parallel) {
  auto tb = std::make_shared<BwdTables<T>>();
  const Net<T>& net = *netp;
  const Dims& d = net.d;
  const int64_t N = d.N, nnz = d.nnz;
  tb->net = std::move(netp);
  tb->held = tensors_of(p, x);
  tb->from = storage_of(p, x);
  tb->cfg = cfg;
  tb->same_at.resize(static_cast<size_t>(N));
  tb->prev_at.resize(static_cast<size_t>(N));
  int64_t at = 0;
  for (int64_t g = d.G - 1; g >= 0; --g)
    for (int64_t j = d.offsets[g]; j < d.offsets[g + 1]; ++j) {
      tb->same_at[j] = at;
      at += net.pre_end[j] - net.pre_split[j];
    }
  for (int64_t j = 0; j < N; ++j) {
    tb->prev_at[j] = at;
    at += net.pre_split[j] - net.pre_ptr[j];
  }
  tb->work_same.assign(static_cast<size_t>(N + 1), 0);
  tb->work_prev.assign(static_cast<size_t>(N + 1), 0);
  for (int64_t j = 0; j < N; ++j) {
    // measured per row (B = 8): the reverse step ~ 128 gather entries, q_prev ~ 32
    tb->work_same[j + 1] = tb->work_same[j] + (net.pre_end[j] - net.pre_split[j]) + 128;
    tb->work_prev[j + 1] = tb->work_prev[j] + (net.pre_split[j] - net.pre_ptr[j]) + 32;
  }
  tb->wg_b.resize(static_cast<size_t>(nnz));
  const bool narrow = N <= 65536;
  (narrow ? tb->post16.resize(static_cast<size_t>(nnz)) : tb->post32.resize(static_cast<size_t>(nnz)));
  BwdTables<T>& t = *tb;
  par_for_if(parallel, N, [&](int64_t j) {
    for (int64_t k = net.pre_ptr[j]; k < net.pre_end[j]; ++k) {
      const int64_t at = k < net.pre_split[j] ? t.prev_at[j] + (k - net.pre_ptr[j]) : t.same_at[j] + (k - net.pre_split[j]);
      const int32_t i = net.post_idx[k];
      t.wg_b[at] = net.ws[net.syn_of_pre[k]] * net.nc[i].in_gain;
      if (narrow)
        t.post16[at] = static_cast<uint16_t>(i);
      else
        t.post32[at] = i;
    }
  }, nnz);
  if (nnz <= int64_t(UINT32_MAX)) {
    tb->pre_of_syn32.resize(static_cast<size_t>(nnz));
    par_for_if(parallel, nnz, [&](int64_t k) { t.pre_of_syn32[net.syn_of_pre[k]] = static_cast<uint32_t>(k); });
  } else {
    tb->pre_of_syn64.resize(static_cast<size_t>(nnz));
    par_for_if(parallel, nnz, [&](int64_t k) { t.pre_of_syn64[net.syn_of_pre[k]] = k; });
  }
  return tb;
}

// The saved tables when they were built from these inputs (BwdTables), else null. d: the
// backward's own dims of the call.
template <class T>
std::shared_ptr<const BwdTables<T>> saved_tables(const LifSaved& saved, const Projection& p, const LifConfig& cfg,
                                                 const LifInputs& x, const Dims& d) {
  auto tb = std::dynamic_pointer_cast<const BwdTables<T>>(saved.tables);
  if (!tb || tb->from != storage_of(p, x) || !same_net_config(tb->cfg, cfg)) return nullptr;
  const Dims& e = tb->net->d;
  if (e.T != d.T || e.B != d.B || e.N != d.N || e.nnz != d.nnz || e.N_in != d.N_in || e.R != d.R) return nullptr;
  return tb;
}

// Rows [N] of samples [b0, b0 + Bs) of a [B, N] tensor, neuron-major [N, Bs] (zeros if null).
template <class T>
AVec<T> slice_neuron_major(const T* src, int64_t B, int64_t N, int64_t b0, int64_t Bs) {
  AVec<T> out(static_cast<size_t>(Bs * N), T(0));
  if (src)
    for (int64_t b = 0; b < Bs; ++b)
      for (int64_t n = 0; n < N; ++n) out[n * Bs + b] = src[(b0 + b) * N + n];
  (void)B;
  return out;
}

// ================================ forward =====================================================

// The readout of a one-thread loop computed on the free thread (forward_impl): the loop
// publishes each finished step in `done`; each step's readout is claimed once from `next`, by
// that thread while it trails the loop, by the loop's thread for what is left when it ends.
struct ReadoutAside {
  std::atomic<int64_t> done{0}, next{0};
};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

template <class T>
struct FwdCall {
  const Net<T>* net;
  const LifConfig* cfg;
  const T* ext;              // [T, B, N_in]
  T* su = nullptr;           // saved u [T, N, B]
  T* sa = nullptr;           // saved a [T, N, B]
  T* y = nullptr;            // readout [T, B, R]
  T* spikes = nullptr;       // [T, B, N]
  uint8_t* record = nullptr;  // [T, B, N]
  T* v_rec = nullptr;        // [T, B, N]
  T* a_rec = nullptr;        // [T, B, N]
  RawVec<T> ws_t;            // pre-major sign * w (push)
  // while false, ws_t is being filled on another thread (forward_impl): the loop pulls
  const std::atomic<bool>* ws_ready = nullptr;
  // the readout computed beside the loop (forward_impl): the loop publishes its steps here
  ReadoutAside* ro_aside = nullptr;
  bool gs = true;
  bool may_push = true;
};

// One slice's private state.
template <class T>
struct FwdSlice {
  int64_t b0 = 0, Bs = 0, W = 0;
  AVec<T> v, a, s_a, s_b;                  // [N, Bs]
  std::vector<uint64_t> mask_a, mask_b;    // [N, W]
  std::vector<int32_t> cnt_a, cnt_b;       // [N]
  AVec<T> acc_prev, acc_cur;               // [Bs, As] (push), zero between uses
  int64_t As = 0;                          // accumulator row stride (acc_stride)
  int64_t spikes0 = 0;
  // results
  std::vector<int64_t> spikes_now;         // per team thread, double-buffered by step parity
  std::unique_ptr<RowClaims> claims;       // a shared slice's row hand-out
  int64_t spikes = 0, events = 0, push_steps = 0;
};

template <class T>
void init_slice(FwdSlice<T>& s, const FwdCall<T>& c, const LifInputs& x, int64_t b0, int64_t b1, int team) {
  const Dims& d = c.net->d;
  const int64_t N = d.N;
  s.b0 = b0;
  s.Bs = b1 - b0;
  s.W = (s.Bs + 63) / 64;
  s.v = slice_neuron_major(ptr_or_null<T>(x.v0), d.B, N, b0, s.Bs);
  s.a = slice_neuron_major(ptr_or_null<T>(x.a0), d.B, N, b0, s.Bs);
  s.s_a = slice_neuron_major(ptr_or_null<T>(x.s0), d.B, N, b0, s.Bs);
  s.s_b.assign(s.s_a.size(), T(0));
  s.mask_a.assign(static_cast<size_t>(N * s.W), 0);
  s.mask_b.assign(static_cast<size_t>(N * s.W), 0);
  s.cnt_a.assign(static_cast<size_t>(N), 0);
  s.cnt_b.assign(static_cast<size_t>(N), 0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t b = 0; b < s.Bs; ++b)
      if (s.s_a[n * s.Bs + b] != T(0)) {
        s.mask_a[n * s.W + b / 64] |= uint64_t(1) << (b % 64);
        ++s.cnt_a[n];
        ++s.spikes0;
      }
  if (c.may_push) {
    s.As = acc_stride<T>(N);
    s.acc_prev.assign(static_cast<size_t>(s.Bs * s.As), T(0));
    if (c.gs) s.acc_cur.assign(static_cast<size_t>(s.Bs * s.As), T(0));
  }
  s.spikes_now.assign(2 * static_cast<size_t>(team), 0);
  if (team > 1) s.claims = std::make_unique<RowClaims>(team);
}

// [N, Bs] slice rows -> samples [b0, b0 + Bs) of one step of a [T, B, N] output.
template <class S, class D, class F>
void slice_out(bool shared, RowClaims* claims, const S* src, D* dst, int64_t Bs, int64_t N, F conv) {
  constexpr int64_t tile = 32;
  const int64_t tiles = (N + tile - 1) / tile;
  for_rows(shared, 0, tiles, claims, [&](int64_t q) {
    const int64_t n0 = q * tile, n1 = std::min(N, n0 + tile);
    for (int64_t b = 0; b < Bs; ++b)
      for (int64_t n = n0; n < n1; ++n) dst[b * N + n] = conv(src[n * Bs + b]);
  });
}

// The readout of step t of a one-slice call from the saved u (a spike is u > 0, as in the
// loop's masks): y[t, b, :] += W_ro[:, col] for every spike of a readout neuron, columns in
// order, samples ascending: the loop's own sums.
template <class T>
void readout_from_saved(const FwdCall<T>& c, int64_t t) {
  const Net<T>& net = *c.net;
  const Dims& d = net.d;
  const int64_t R = d.R, B = d.B;
  T* yt = c.y + t * B * R;
  for (int64_t col = 0; col < d.N_ro; ++col) {
    const T* u = c.su + (t * d.N + net.ro_neuron[col]) * B;
    const T* wc = net.wro_t.data() + col * R;
    for (int64_t b = 0; b < B; ++b) {
      if (!(u[b] > T(0))) continue;
      T* yb = yt + b * R;
      for (int64_t r = 0; r < R; ++r) yb[r] += wc[r];
    }
  }
}

// Claims and computes the readout steps not yet taken (ReadoutAside); trailing: wait for the
// loop to finish each claimed step (the free thread), else the loop has ended. Denormals
// flushed as in the loop, whichever thread runs a step.
template <class T>
void claim_readout(const FwdCall<T>& c, bool trailing) {
  const FlushDenormals ftz;
  ReadoutAside& ro = *c.ro_aside;
  for (;;) {
    const int64_t t = ro.next.fetch_add(1, std::memory_order_relaxed);
    if (t >= c.net->d.T) return;
    if (trailing)
      while (ro.done.load(std::memory_order_acquire) <= t) cpu_relax();
    readout_from_saved(c, t);
  }
}

// The time loop of one slice, run by one thread (shared = false) or by every thread of the
// team (shared = true).
template <class T>
void forward_slice(const FwdCall<T>& c, FwdSlice<T>& sl, bool shared) {
  const FlushDenormals ftz;  // this thread's time loop (see the top of this file)
  const Net<T>& net = *c.net;
  const Dims& d = net.d;
  const LifConfig& cfg = *c.cfg;
  const int64_t N = d.N, B = d.B, Bs = sl.Bs, W = sl.W, b0 = sl.b0;
  const int tid = shared ? omp_get_thread_num() : 0, nth = shared ? omp_get_num_threads() : 1;
  const Part part = part_of(tid, nth, Bs, N);
  AVec<T> pbuf(Bs), cbuf(Bs), curbuf(Bs), tile(kAccTile * Bs), pbuf4(4 * Bs), cbuf4(4 * Bs);
  T *s_prev = sl.s_a.data(), *s_cur = sl.s_b.data();
  uint64_t *mask_prev = sl.mask_a.data(), *mask_cur = sl.mask_b.data();
  int32_t *cnt_prev = sl.cnt_a.data(), *cnt_cur = sl.cnt_b.data();
  int64_t spikes_prev = sl.spikes0, my_spikes = 0, my_events = 0, pushes = 0;

  // automatic: push below push_below spikes per neuron-sample for a 64-sample slice, a higher
  // threshold for narrower slices (pull's per-synapse overhead is shared by fewer samples), and
  // always for slices narrower than one 8-wide vector (docs/perf-log.md, "pull vs push")
  const double push_rate = Bs < 8 ? 2.0 : cfg.push_below * std::sqrt(64.0 / static_cast<double>(Bs));
  for (int64_t t = 0; t < d.T; ++t) {
    const bool push = cfg.propagation == Propagation::push ||
                      (cfg.propagation == Propagation::automatic &&
                       static_cast<double>(spikes_prev) < push_rate * static_cast<double>(N * Bs) &&
                       (!c.ws_ready || c.ws_ready->load(std::memory_order_acquire)));
    if (push) {
      ++pushes;
      push_phase<T>(part, N, sl.As, Bs, W, 0, N, net.pre_ptr, net.pre_split.data(), net.post_idx, c.ws_t.data(),
                    mask_prev, cnt_prev, s_prev, sl.acc_prev.data());
      sync(shared);
    }
    // pull: add silent sources' zero rows rather than branch around them (gather_rows, Dense)
    // when at least 1 in 8 sources fires in some sample (taken as independent: 1 - (1 - r)^Bs
    // at r spikes per neuron-sample)
    const double r_prev = static_cast<double>(spikes_prev) / static_cast<double>(N * Bs);
    const bool dense = !push && 1.0 - std::pow(1.0 - std::min(1.0, r_prev), static_cast<double>(Bs)) >= 0.125;
    const T* ext_t = c.ext + (t * B + b0) * d.N_in;
    int64_t& spikes_now = sl.spikes_now[(t & 1) * nth + tid];
    spikes_now = 0;
    for (int64_t g = 0; g < d.G; ++g) {
      const int64_t g0 = d.offsets[g], g1 = d.offsets[g + 1];
      // the neuron update of row i from its currents' parts P (and C)
      auto update = [&](int64_t i, T* P, T* C) {
        const bool driven = i >= d.in_off && i < d.in_off + d.N_in;
        const int32_t cnt = update_row<T>(
            net.m, net.nc[i], Bs, P, 1, C, 1, false, driven ? ext_t + (i - d.in_off) : nullptr, d.N_in,
            curbuf.data(), sl.v.data() + i * Bs, sl.a.data() + i * Bs, s_prev + i * Bs, s_cur + i * Bs, mask_cur + i * W,
            c.su ? c.su + (t * N + i) * B + b0 : nullptr, c.sa ? c.sa + (t * N + i) * B + b0 : nullptr);
        cnt_cur[i] = cnt;
        spikes_now += cnt;
        my_spikes += cnt;
        my_events += cnt * (net.pre_ptr[i + 1] - net.pre_ptr[i]);
      };
      // pull of row i
      auto pull_row = [&](int64_t i) {
        std::fill(pbuf.begin(), pbuf.end(), T(0));
        gather_rows<T>(Bs, net.post_split[i], net.post_ptr[i + 1], net.pre_idx, net.ws.data(), s_prev, cnt_prev,
                       pbuf.data(), dense);
        if (c.gs) {
          std::fill(cbuf.begin(), cbuf.end(), T(0));
          gather_rows<T>(Bs, net.post_ptr[i], net.post_split[i], net.pre_idx, net.ws.data(), s_cur, cnt_cur,
                         cbuf.data(), dense);
        }
        update(i, pbuf.data(), c.gs ? cbuf.data() : nullptr);
      };
      if (dense && !shared && Bs == Vec<T>::lanes) {
        // one thread, one vector per row: four rows' gathers at once (gather_rows_x4; the rows
        // of a group read only earlier groups' spikes of this step)
        int64_t i = g0;
        for (; i + 4 <= g1; i += 4) {
          int64_t k0[4], k1[4];
          T* acc[4];
          std::fill(pbuf4.begin(), pbuf4.end(), T(0));
          for (int r = 0; r < 4; ++r) {
            k0[r] = net.post_split[i + r];
            k1[r] = net.post_ptr[i + r + 1];
            acc[r] = pbuf4.data() + r * Bs;
          }
          gather_rows_x4<T>(k0, k1, net.pre_idx, net.ws.data(), s_prev, acc);
          if (c.gs) {
            std::fill(cbuf4.begin(), cbuf4.end(), T(0));
            for (int r = 0; r < 4; ++r) {
              k0[r] = net.post_ptr[i + r];
              k1[r] = net.post_split[i + r];
              acc[r] = cbuf4.data() + r * Bs;
            }
            gather_rows_x4<T>(k0, k1, net.pre_idx, net.ws.data(), s_cur, acc);
          }
          for (int r = 0; r < 4; ++r) update(i + r, pbuf4.data() + r * Bs, c.gs ? cbuf4.data() + r * Bs : nullptr);
        }
        for (; i < g1; ++i) pull_row(i);
      } else {
        for_rows(shared, g0, g1, sl.claims.get(), [&](int64_t i) {
          if (!push) return pull_row(i);
          // tiles of kAccTile rows from the group's start (in a shared slice, the omp chunks
          // are these tiles, so a thread only takes the accumulators of its own rows)
          const int64_t r = (i - g0) % kAccTile;
          if (r == 0)
            take_acc_tile<T>(Bs, sl.As, std::min(kAccTile, g1 - i), sl.acc_prev.data() + i,
                             c.gs ? sl.acc_cur.data() + i : nullptr, tile.data());
          update(i, tile.data() + r * Bs, nullptr);
        });
      }
      // (a shared loop ends with a barrier: group g is complete)
      if (c.gs && push && g + 1 < d.G) {
        push_phase<T>(part, N, sl.As, Bs, W, d.offsets[g], d.offsets[g + 1], net.pre_split.data(), net.pre_end.data(),
                      net.post_idx, c.ws_t.data(), mask_cur, cnt_cur, s_cur, sl.acc_cur.data());
        sync(shared);
      }
    }
    // readout: y[t, b, :] += W_ro[:, col] for every spike of a readout neuron, in column order
    // (readout_from_saved, the same sums, when computed beside the loop)
    if (c.y && !c.ro_aside && !part.idle && part.i0 == 0) {
      const int64_t R = d.R;
      T* yt = c.y + (t * B + b0) * R;
      const int64_t w0 = part.b0 / 64, w1 = (part.b1 - 1) / 64;
      for (int64_t col = 0; col < d.N_ro; ++col) {
        const int64_t n = net.ro_neuron[col];
        if (cnt_cur[n] == 0) continue;
        const T* wc = net.wro_t.data() + col * R;
        for (int64_t w = w0; w <= w1; ++w) {
          uint64_t mm = mask_cur[n * W + w] & word_mask(w, part.b0, part.b1);
          while (mm) {
            T* yb = yt + (w * 64 + __builtin_ctzll(mm)) * R;
            mm &= mm - 1;
            for (int64_t r = 0; r < R; ++r) yb[r] += wc[r];
          }
        }
      }
    }
    const int64_t out_at = (t * B + b0) * N;
    if (c.spikes) slice_out(shared, sl.claims.get(), s_cur, c.spikes + out_at, Bs, N, [](T s) { return s; });
    if (c.record)
      slice_out(shared, sl.claims.get(), s_cur, c.record + out_at, Bs, N, [](T s) { return static_cast<uint8_t>(s != T(0)); });
    if (c.v_rec) slice_out(shared, sl.claims.get(), sl.v.data(), c.v_rec + out_at, Bs, N, [](T s) { return s; });
    if (c.a_rec) slice_out(shared, sl.claims.get(), sl.a.data(), c.a_rec + out_at, Bs, N, [](T s) { return s; });
    sync(shared);
    spikes_prev = 0;
    for (int k = 0; k < nth; ++k) spikes_prev += sl.spikes_now[(t & 1) * nth + k];
    std::swap(s_prev, s_cur);
    std::swap(mask_prev, mask_cur);
    std::swap(cnt_prev, cnt_cur);
    if (c.ro_aside) c.ro_aside->done.store(t + 1, std::memory_order_release);
  }
  if (c.ro_aside) claim_readout(c, false);
#pragma omp atomic
  sl.spikes += my_spikes;
#pragma omp atomic
  sl.events += my_events;
  if (tid == 0) sl.push_steps = pushes;
}

template <class T>
LifForward forward_impl(const Projection& p, const LifConfig& cfg, const LifInputs& x, bool keep) {
  auto netp = std::make_shared<const Net<T>>(p, cfg, x);
  const Net<T>& net = *netp;
  const Dims& d = net.d;
  const int64_t T_ = d.T, B = d.B, N = d.N;
  const DType dt = x.w.dtype();
  const bool alif = cfg.model == NeuronModel::alif;

  LifForward out;
  if (cfg.output_spikes) out.spikes = Tensor::empty({T_, B, N}, dt);
  if (cfg.record_spikes) out.spike_record = Tensor::empty({T_, B, N}, DType::u8);
  if (cfg.record_state) {
    out.v_record = Tensor::empty({T_, B, N}, dt);
    out.a_record = Tensor::empty({T_, B, N}, dt);
  }
  if (d.has_readout) out.readout = Tensor::zeros({T_, B, d.R}, dt);
  if (keep) {
    out.saved.u = Tensor::empty({T_, N, B}, dt);
    if (alif) out.saved.a = Tensor::empty({T_, N, B}, dt);
  }
  FwdCall<T> c;
  c.net = &net;
  c.cfg = &cfg;
  c.ext = x.i_ext.data<T>();
  c.su = keep ? out.saved.u.data<T>() : nullptr;
  c.sa = keep && alif ? out.saved.a.data<T>() : nullptr;
  c.y = d.has_readout ? out.readout.data<T>() : nullptr;
  c.spikes = cfg.output_spikes ? out.spikes.data<T>() : nullptr;
  c.record = cfg.record_spikes ? out.spike_record.data<uint8_t>() : nullptr;
  c.v_rec = cfg.record_state ? out.v_record.data<T>() : nullptr;
  c.a_rec = cfg.record_state ? out.a_record.data<T>() : nullptr;
  c.gs = d.gauss_seidel && d.G > 1;
  c.may_push = cfg.propagation != Propagation::pull;

  const Plan plan = make_plan(d, 0, fwd_work_per_step(d), cfg);
  std::vector<FwdSlice<T>> slices(static_cast<size_t>(plan.slices()));
  for (int64_t s = 0; s < plan.slices(); ++s)
    init_slice(slices[s], c, x, plan.b0[s], plan.b0[s + 1], plan.shared ? plan.threads : 1);
  // One slice on one thread and another thread free (tables_aside_fits): that thread builds
  // the backward's tables meanwhile (LifSaved::tables). The time recorded for the one-thread
  // choice is the loop's own.
  const bool tables_aside = keep && !plan.shared && plan.slices() == 1 && tables_aside_fits(d);
  // With a thread free beside a one-thread loop that may pull, that thread also fills the
  // push's pre-major weights (a random read of all nnz weights, otherwise done before the
  // loop), while the loop's first steps pull (the same bits either way). The
  // barrel network fires densely in its first steps (see gather_rows), so the loop pulls
  // there anyway.
  // (The loop reads c.ws_t only once ws_ready says so.)
  const bool ws_aside = tables_aside && cfg.propagation == Propagation::automatic;
  std::atomic<bool> ws_ready{false};
  auto signed_w = [](int64_t, T v) { return v; };
  if (ws_aside)
    c.ws_ready = &ws_ready;
  else if (c.may_push)
    c.ws_t = net.pre_major(signed_w);
  // and computes the readout from the saved u, trailing the loop (work taken off the loop)
  ReadoutAside ro_aside;
  if (tables_aside && d.has_readout) c.ro_aside = &ro_aside;
  std::shared_ptr<BwdTables<T>> tables;
  double loop_s = -1;
  run_timed(plan, T_, [&] {
    if (plan.shared) {
#pragma omp parallel num_threads(plan.threads)
      forward_slice(c, slices[0], true);
    } else if (tables_aside) {
#pragma omp parallel num_threads(2)
      {
        if (omp_get_thread_num() == 0) {
          const auto t0 = std::chrono::steady_clock::now();
          forward_slice(c, slices[0], false);
          loop_s = seconds_since(t0);
        } else {
          if (ws_aside) {
            c.ws_t = net.pre_major(signed_w, false);
            ws_ready.store(true, std::memory_order_release);
          }
          tables = make_bwd_tables<T>(netp, p, cfg, x, false);
          if (c.ro_aside) claim_readout(c, true);
        }
      }
    } else {
#pragma omp parallel for num_threads(plan.threads) schedule(dynamic, 1)
      for (int64_t s = 0; s < plan.slices(); ++s) forward_slice(c, slices[s], false);
    }
  }, &loop_s);
  for (const FwdSlice<T>& s : slices) {
    out.stats.spikes += s.spikes;
    out.stats.synaptic_events += s.events;
    out.stats.push_steps += s.push_steps;
  }
  out.stats.slices = plan.slices();
  out.stats.pull_steps = T_ * plan.slices() - out.stats.push_steps;
  out.stats.threads = plan.threads;
  out.saved.tables = std::move(tables);
  return out;
}

// ================================ backward ====================================================

template <class T>
struct BwdCall {
  const Net<T>* net;
  const LifConfig* cfg;
  const T *su, *sa, *dsp, *dy, *ext;
  T* di = nullptr;
  const BwdTables<T>* tb = nullptr;  // the error gather's tables
  bool want_q = false, want_wro = false;
  // per-block partial sums, block-major
  std::unique_ptr<T[]> q;        // [blocks, nnz] pre-major sums of dv_i[t] * s_j[t']
  std::vector<double> sums;      // [blocks, N, 3]: dv * v_prev, dv * I_ext, drho
  std::vector<T> dwro_t;         // [blocks, N_ro, R]
  std::unique_ptr<RowClaims> claims;  // a shared slice's row hand-out
};

template <class T>
struct BwdSlice {
  int64_t b0 = 0, Bs = 0;
  AVec<T> dv_a, dv_b, da_a, da_b, ds_c;  // [N, Bs]
  AVec<T> dvt;                           // [Bs, As] dL/dv of the current step, sample-major
  int64_t As = 0;                        // its row stride (acc_stride: written down a column)
  AVec<T> ro_ds;                         // [kRoSteps, N_ro, Bs] readout error of a block of steps
  AVec<T> s0, a0, v0;                    // [N, Bs]
};

// Samples of a row where it fired (u > 0; or, with nonzero, s0 != 0), ascending.
template <class T>
int32_t list_firing(const T* row, int64_t Bs, int32_t* list, bool nonzero) {
  int32_t cnt = 0;
  for (int64_t b = 0; b < Bs; ++b)
    if (nonzero ? row[b] != T(0) : row[b] > T(0)) list[cnt++] = static_cast<int32_t>(b);
  return cnt;
}

// post: the targets in backward order (BwdCall::wg_b), 16-bit when N <= 65,536
template <class T, class Ix>
void backward_slice(BwdCall<T>& c, BwdSlice<T>& sl, bool shared, const Ix* post) {
  const FlushDenormals ftz;  // this thread's time loop (see the top of this file)
  const Net<T>& net = *c.net;
  const Dims& d = net.d;
  const int64_t N = d.N, B = d.B, R = d.R, Bs = sl.Bs, b0 = sl.b0, nnz = d.nnz;
  const bool alif = c.cfg->model == NeuronModel::alif;
  const int64_t blk0 = b0 / kBlock;
  AVec<T> ds(Bs), evbuf(Bs);
  std::vector<double> terms(3 * Bs);
  std::vector<int32_t> list(Bs);
  const std::vector<T> ones(Bs, T(1));
  T *dv_cur = sl.dv_a.data(), *dv_next = sl.dv_b.data();
  T *da_cur = alif ? sl.da_a.data() : nullptr, *da_next = alif ? sl.da_b.data() : nullptr;
  T* q = c.want_q ? c.q.get() + blk0 * nnz : nullptr;
  double* sums = c.sums.data() + blk0 * N * 3;
  std::vector<double> row_sums(3 * ((Bs + kBlock - 1) / kBlock));
  int64_t ro_lo = d.T;  // first step of the readout error block in sl.ro_ds
  for (int64_t t = d.T - 1; t >= 0; --t) {
    const int64_t BN = B * N;
    const T* u_t = c.su + t * BN + b0;  // row j at u_t + j * B
    const T* u_p = t > 0 ? c.su + (t - 1) * BN + b0 : nullptr;
    const T* a_t = c.sa ? c.sa + t * BN + b0 : nullptr;
    const T* a_p = c.sa && t > 0 ? c.sa + (t - 1) * BN + b0 : nullptr;
    // the readout error of the steps [ro_lo, t], kRoSteps at a time (W_ro read once per block)
    if (c.dy && (t == d.T - 1 || t < ro_lo)) {
      ro_lo = t - t % kRoSteps;
      const int64_t tiles = (d.N_ro + kRoCols - 1) / kRoCols;
      for_rows(shared, 0, tiles, c.claims.get(), [&](int64_t q) {
        readout_error<T>(R, d.N_ro, q * kRoCols, std::min(d.N_ro, (q + 1) * kRoCols), net.wro, t - ro_lo + 1,
                         c.dy + (ro_lo * B + b0) * R, B * R, Bs, d.N_ro, sl.ro_ds.data());
      });
    }
    const T* ro_t = c.dy ? sl.ro_ds.data() + (t - ro_lo) * d.N_ro * Bs : nullptr;
    // dL/ds of row j before its reverse step: the own part and the output gradients
    auto ds_start = [&](int64_t j, T* dsj) {
      std::copy(sl.ds_c.begin() + j * Bs, sl.ds_c.begin() + (j + 1) * Bs, dsj);
      if (c.dsp)
        for (int64_t b = 0; b < Bs; ++b) dsj[b] += c.dsp[(t * B + b0 + b) * N + j];
      const int64_t col = d.ro_col[j];
      if (c.dy && col >= 0)
        for (int64_t b = 0; b < Bs; ++b) dsj[b] += ro_t[col * Bs + b];
    };
    // the reverse step of row j given its complete dL/ds, and its same-step weight-gradient sums
    auto step_row = [&](int64_t j, const T* dsj) {
      const int64_t col = d.ro_col[j];
      const int32_t cnt = list_firing(u_t + j * B, Bs, list.data(), false);
      if (q) q_push<T>(net.pre_split[j], net.pre_ptr[j + 1], net.post_idx, sl.dvt.data(), sl.As, list.data(), cnt,
                       ones.data(), kBlock, q, nnz);
      const bool driven = j >= d.in_off && j < d.in_off + d.N_in;
      const int64_t e_off = (t * B + b0) * d.N_in + (j - d.in_off);
      std::fill(row_sums.begin(), row_sums.end(), 0.0);
      // block by block: every whole block of 8 samples through backward_row<T, 8>, the batch's
      // last B mod 8 samples through backward_row<T, 0>, whatever the slicing, so that every
      // sample's results come from the same compiled code for any thread count (two
      // compilations of the same expressions need not round alike: the compiler contracts and
      // shares products differently)
      static_assert(kBlock == 8, "backward_row<T, 8> is compiled for blocks of 8");
      auto reverse_step = [&](auto row_fn, int64_t bb, int64_t n) {
        row_fn(net.m, net.nc[j], net.sg, n, kBlock, dsj + bb, dv_next + j * Bs + bb,
               alif ? da_next + j * Bs + bb : nullptr, u_t + j * B + bb, a_t ? a_t + j * B + bb : nullptr,
               u_p ? u_p + j * B + bb : nullptr, a_p ? a_p + j * B + bb : nullptr, sl.s0.data() + j * Bs + bb,
               sl.a0.data() + j * Bs + bb, sl.v0.data() + j * Bs + bb,
               driven ? c.ext + e_off + bb * d.N_in : nullptr, d.N_in, evbuf.data(), terms.data(),
               dv_cur + j * Bs + bb, sl.dvt.data() + j + bb * sl.As, sl.As, alif ? da_cur + j * Bs + bb : nullptr,
               sl.ds_c.data() + j * Bs + bb, driven && c.di ? c.di + e_off + bb * d.N_in : nullptr, d.N_in,
               row_sums.data() + 3 * (bb / kBlock));
      };
      int64_t bb = 0;
      for (; bb + kBlock <= Bs; bb += kBlock) reverse_step(backward_row<T, 8>, bb, kBlock);
      if (bb < Bs) reverse_step(backward_row<T, 0>, bb, Bs - bb);
      for (size_t k = 0; k < row_sums.size(); ++k) {
        const size_t blk = k / 3, m = k % 3;
        sums[(blk * N + j) * 3 + m] += row_sums[k];
      }
      if (c.want_wro && c.dy && col >= 0) {
        for (int32_t l = 0; l < cnt; ++l) {
          const int64_t b = list[l];
          T* dwc = c.dwro_t.data() + ((blk0 + b / kBlock) * d.N_ro + col) * R;
          const T* gy = c.dy + (t * B + b0 + b) * R;
          for (int64_t r = 0; r < R; ++r) dwc[r] += gy[r];
        }
      }
    };
    for (int64_t g = d.G - 1; g >= 0; --g) {
      const int64_t j0 = d.offsets[g], j1 = d.offsets[g + 1];
      for_rows_by_work(shared, j0, j1, c.tb->work_same.data(), c.claims.get(), [&](int64_t j) {
        T* dsj = ds.data();
        ds_start(j, dsj);
        // same-step targets (later groups, already done this step)
        const int64_t k0 = c.tb->same_at[j];
        gather_rows_bwd<T>(Bs, k0, k0 + (net.pre_end[j] - net.pre_split[j]), post, c.tb->wg_b.data(), dv_cur, dsj);
        step_row(j, dsj);
      });
    }
    // previous-step targets: complete dL/ds[t-1] (ds_c holds the own part) and q
    auto q_prev = [&](int64_t j) {
      int32_t cnt;
      const T* svals;
      if (t > 0) {
        cnt = list_firing(u_p + j * B, Bs, list.data(), false);
        svals = ones.data();
      } else {
        cnt = list_firing(sl.s0.data() + j * Bs, Bs, list.data(), true);
        svals = sl.s0.data() + j * Bs;
      }
      q_push<T>(net.pre_ptr[j], net.pre_split[j], net.post_idx, sl.dvt.data(), sl.As, list.data(), cnt, svals,
                kBlock, q, nnz);
    };
    for_rows_by_work(shared, 0, N, c.tb->work_prev.data(), c.claims.get(), [&](int64_t j) {
      const int64_t k0 = c.tb->prev_at[j];
      gather_rows_bwd<T>(Bs, k0, k0 + (net.pre_split[j] - net.pre_ptr[j]), post, c.tb->wg_b.data(), dv_cur,
                         sl.ds_c.data() + j * Bs);
      if (q) q_prev(j);
    });
    std::swap(dv_cur, dv_next);
    std::swap(da_cur, da_next);
  }
}

template <class T>
LifGrads backward_impl(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                       const LifSaved& saved, const Tensor& dspikes, const Tensor& dreadout,
                       const LifNeeds& needs) {
  // the error gather's tables: those the forward built (LifSaved::tables) if they fit, else new
  // (make_dims validates the inputs; a Net built here does so itself)
  std::shared_ptr<const BwdTables<T>> tables =
      saved.tables ? saved_tables<T>(saved, p, cfg, x, make_dims(p, cfg, x)) : nullptr;
  if (!tables) {
    const auto t0 = std::chrono::steady_clock::now();
    tables = make_bwd_tables<T>(std::make_shared<const Net<T>>(p, cfg, x), p, cfg, x, true);
    // a forward that could have built them beside a one-thread loop ran on a team instead:
    // that cost the team this much more (TeamChooser::record_team_extra)
    const Dims& fd = tables->net->d;
    if (tables_aside_fits(fd) && fd.T > 0) {
      const Plan fp = plan_shape(fd, 0, fwd_work_per_step(fd), cfg);
      if (fp.measured) team_chooser().record_team_extra(fp.key, seconds_since(t0) / double(fd.T));
    }
  }
  const Net<T>& net = *tables->net;
  const Dims& d = net.d;
  const int64_t T_ = d.T, B = d.B, N = d.N, R = d.R, nnz = d.nnz;
  const DType dt = x.w.dtype();
  const bool alif = cfg.model == NeuronModel::alif;
  RSNN_CHECK(saved.u.defined(), "recurrent_lif_backward: nothing was saved (run the forward with keep_for_backward)");
  check_shape(saved.u, {T_, N, B}, "recurrent_lif_backward: saved u");
  check_dtype(saved.u, dt, "recurrent_lif_backward: saved u");
  if (alif) {
    RSNN_CHECK(saved.a.defined(), "recurrent_lif_backward: the adaptation trace was not saved");
    check_shape(saved.a, {T_, N, B}, "recurrent_lif_backward: saved a");
    check_dtype(saved.a, dt, "recurrent_lif_backward: saved a");
  }
  if (dspikes.defined()) {
    check_shape(dspikes, {T_, B, N}, "recurrent_lif_backward: dspikes");
    check_dtype(dspikes, dt, "recurrent_lif_backward: dspikes");
  }
  if (dreadout.defined()) {
    RSNN_CHECK(d.has_readout, "recurrent_lif_backward: a readout gradient was given but there is no readout");
    check_shape(dreadout, {T_, B, R}, "recurrent_lif_backward: dreadout");
    check_dtype(dreadout, dt, "recurrent_lif_backward: dreadout");
  }
  const bool want_tau_m = needs.tau_m && cfg.model != NeuronModel::if_;
  const int64_t blocks = (B + kBlock - 1) / kBlock;

  BwdCall<T> c;
  c.net = &net;
  c.cfg = &cfg;
  c.su = saved.u.data<T>();
  c.sa = alif ? saved.a.data<T>() : nullptr;
  c.dsp = ptr_or_null<T>(dspikes);
  c.dy = ptr_or_null<T>(dreadout);
  c.ext = x.i_ext.data<T>();
  LifGrads gr;
  if (needs.i_ext) gr.di_ext = Tensor::zeros(x.i_ext.shape(), dt);
  c.di = needs.i_ext ? gr.di_ext.data<T>() : nullptr;
  c.want_q = needs.w || want_tau_m;
  c.want_wro = d.has_readout && needs.w_ro;
  if (c.want_q) {
    c.q.reset(new T[static_cast<size_t>(blocks * nnz)]);
    par_for(blocks * nnz, [&](int64_t k) { c.q[k] = T(0); });
  }
  c.sums.assign(static_cast<size_t>(blocks * N * 3), 0.0);
  if (c.want_wro) c.dwro_t.assign(static_cast<size_t>(blocks * d.N_ro * R), T(0));

  const Plan plan = make_plan(d, 1, (d.nnz + 4 * N) * B, cfg);
  std::vector<BwdSlice<T>> slices(static_cast<size_t>(plan.slices()));
  for (int64_t s = 0; s < plan.slices(); ++s) {
    BwdSlice<T>& sl = slices[s];
    sl.b0 = plan.b0[s];
    sl.Bs = plan.b0[s + 1] - plan.b0[s];
    const size_t n = static_cast<size_t>(N * sl.Bs);
    sl.dv_a.assign(n, T(0));
    sl.dv_b.assign(n, T(0));
    if (alif) {
      sl.da_a.assign(n, T(0));
      sl.da_b.assign(n, T(0));
    }
    sl.ds_c.assign(n, T(0));
    sl.As = acc_stride<T>(N);
    sl.dvt.assign(static_cast<size_t>(sl.As * sl.Bs), T(0));
    if (dreadout.defined()) sl.ro_ds.assign(static_cast<size_t>(kRoSteps * d.N_ro * sl.Bs), T(0));
    sl.s0 = slice_neuron_major(ptr_or_null<T>(x.s0), B, N, sl.b0, sl.Bs);
    sl.a0 = slice_neuron_major(ptr_or_null<T>(x.a0), B, N, sl.b0, sl.Bs);
    sl.v0 = slice_neuron_major(ptr_or_null<T>(x.v0), B, N, sl.b0, sl.Bs);
  }
  c.tb = tables.get();
  if (plan.shared) c.claims = std::make_unique<RowClaims>(plan.threads);
  auto run = [&](auto* post) {
    if (plan.shared) {
#pragma omp parallel num_threads(plan.threads)
      backward_slice(c, slices[0], true, post);
    } else {
#pragma omp parallel for num_threads(plan.threads) schedule(dynamic, 1)
      for (int64_t s = 0; s < plan.slices(); ++s) backward_slice(c, slices[s], false, post);
    }
  };
  run_timed(plan, T_, [&] {
    if (N <= 65536)
      run(tables->post16.data());
    else
      run(tables->post32.data());
  });

  // initial-state gradients: after the loop the "next" buffers hold dL/dv[0], dL/da[0]
  if (needs.v0) gr.dv0 = Tensor::empty({B, N}, dt);
  if (needs.a0) gr.da0 = Tensor::zeros({B, N}, dt);
  if (needs.s0) gr.ds0 = Tensor::empty({B, N}, dt);
  for (const BwdSlice<T>& sl : slices) {
    const T* dv0n = (T_ % 2 == 1) ? sl.dv_a.data() : sl.dv_b.data();
    const T* da0n = alif ? ((T_ % 2 == 1) ? sl.da_a.data() : sl.da_b.data()) : nullptr;
    for (int64_t b = 0; b < sl.Bs; ++b)
      for (int64_t n = 0; n < N; ++n) {
        const int64_t at = n * sl.Bs + b, o = (sl.b0 + b) * N + n;
        if (needs.v0) gr.dv0.data<T>()[o] = net.nc[n].decay * dv0n[at];
        if (needs.a0 && da0n) gr.da0.data<T>()[o] = net.nc[n].rho * da0n[at];
        if (needs.s0) gr.ds0.data<T>()[o] = sl.ds_c[at];
      }
  }
  auto block_sum = [&](int m, int64_t i) {  // m: 0 dv * v_prev, 1 dv * I_ext, 2 drho
    double s = 0;
    for (int64_t blk = 0; blk < blocks; ++blk) s += c.sums[(blk * N + i) * 3 + m];
    return s;
  };
  // One pass over the synapses in post-major order: each one's per-block sums q, reduced in
  // block order (read through pre_of_syn), give its weight gradient and its term of the
  // recurrent current's sum for dL/dtau_m (one pass instead of a scatter into post-major
  // order and two more passes over it).
  if (needs.w) gr.dw = Tensor::empty({nnz}, dt);
  if (needs.tau_m) gr.dtau_m = Tensor::zeros({N}, dt);
  if (c.want_q) {
    T* dw = needs.w ? gr.dw.data<T>() : nullptr;
    T* dtau = want_tau_m ? gr.dtau_m.data<T>() : nullptr;
    const T* tau = x.tau_m.data<T>();
    const double r_m = static_cast<double>(net.m.r_m);
    auto sums_of_synapses = [&](const auto* pre_of) {
      par_for(N, [&](int64_t i) {
        double rec = 0.0;  // sum_t,b dv_i * (recurrent current)_i = sum_k sign*w * q
        for (int64_t k = net.post_ptr[i]; k < net.post_ptr[i + 1]; ++k) {
          const int64_t e = pre_of[k];
          T q_k = c.q[e];
          for (int64_t blk = 1; blk < blocks; ++blk) q_k += c.q[blk * nnz + e];
          if (dw) dw[k] = static_cast<T>(net.sign[net.pre_idx[k]]) * net.nc[i].in_gain * q_k;
          rec += static_cast<double>(net.ws[k]) * static_cast<double>(q_k);
        }
        if (dtau) {
          // v[t] = decay*v[t-1] + (1-decay)*r_m*I - ...: dL/ddecay = sum dv * (v[t-1] - r_m*I)
          const T dalpha = static_cast<T>(block_sum(0, i) - r_m * block_sum(1, i) - r_m * rec);
          dtau[i] = lif::dtau_from_dfactor(dalpha, net.nc[i].decay, tau[i], net.m.dt);
        }
      }, nnz);
    };
    if (!tables->pre_of_syn32.empty() || nnz == 0)
      sums_of_synapses(tables->pre_of_syn32.data());
    else
      sums_of_synapses(tables->pre_of_syn64.data());
  }
  if (needs.tau_adp) {
    gr.dtau_adp = Tensor::zeros({N}, dt);
    if (alif)
      for (int64_t i = 0; i < N; ++i)
        gr.dtau_adp.data<T>()[i] = lif::dtau_from_dfactor(static_cast<T>(block_sum(2, i)), net.nc[i].rho,
                                                          x.tau_adp.data<T>()[i], net.m.dt);
  }
  if (c.want_wro) {
    gr.dw_ro = Tensor::empty({R, d.N_ro}, dt);
    T* dw = gr.dw_ro.data<T>();
    par_for(d.N_ro, [&](int64_t col) {
      for (int64_t r = 0; r < R; ++r) {
        T s = c.dwro_t[col * R + r];
        for (int64_t blk = 1; blk < blocks; ++blk) s += c.dwro_t[(blk * d.N_ro + col) * R + r];
        dw[r * d.N_ro + col] = s;
      }
    }, d.N_ro * R * blocks);
  } else if (needs.w_ro && d.has_readout) {
    gr.dw_ro = Tensor::zeros({R, d.N_ro}, dt);
  }
  return gr;
}

}  // namespace

LifForward recurrent_lif_forward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                 bool keep_for_backward) {
  if (p.device().is_cuda())
    return cuda::recurrent_lif_forward(p, cfg, x, keep_for_backward, default_stream(p.device()));
  RSNN_CHECK(cfg.propagation != Propagation::cusparse,
             "recurrent_lif_forward: Propagation::cusparse needs the projection on a CUDA device "
             "(on the CPU use pull, push or automatic)");
  RSNN_CHECK(x.w.defined(), "recurrent_lif_forward: the synaptic weights w are required");
  return dispatch_float(x.w.dtype(), "recurrent_lif_forward", [&](auto tag) {
    return forward_impl<decltype(tag)>(p, cfg, x, keep_for_backward);
  });
}

LifGrads recurrent_lif_backward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                const LifSaved& saved, const Tensor& dspikes,
                                const Tensor& dreadout, const LifNeeds& needs) {
  if (p.device().is_cuda())
    return cuda::recurrent_lif_backward(p, cfg, x, saved, dspikes, dreadout, needs,
                                        default_stream(p.device()));
  RSNN_CHECK(x.w.defined(), "recurrent_lif_backward: the synaptic weights w are required");
  return dispatch_float(x.w.dtype(), "recurrent_lif_backward", [&](auto tag) {
    return backward_impl<decltype(tag)>(p, cfg, x, saved, dspikes, dreadout, needs);
  });
}

}  // namespace rsnn::kernels
