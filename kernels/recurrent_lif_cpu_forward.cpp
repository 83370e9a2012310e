// The optimized CPU recurrent LIF forward (recurrent_lif_cpu.h: the work split).
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
#include <atomic>
#include <cmath>
#include <thread>

#include "kernels/recurrent_lif_cpu_tables.h"
#include "runtime/fp_mode.h"

namespace rsnn::kernels::lif_cpu {
namespace {

// The readout of a one-thread loop computed on the free thread (cpu_forward): the loop
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

// What every slice of one forward call reads and writes (outputs null where not asked for).
template <class T>
struct FwdCall {
  const Net<T>* net;
  const LifConfig* cfg;
  const T* i_ext;                  // [T, B, N_in]
  T* saved_u = nullptr;            // [T, N, B]
  T* saved_a = nullptr;            // [T, N, B]
  T* readout = nullptr;            // [T, B, R]
  T* spikes = nullptr;             // [T, B, N]
  uint8_t* spike_record = nullptr;  // [T, B, N]
  T* v_record = nullptr;           // [T, B, N]
  T* a_record = nullptr;           // [T, B, N]
  RawVec<T> w_pre;                 // pre-major sign * w (push)
  // while false, w_pre is being filled on another thread (cpu_forward): the loop pulls
  const std::atomic<bool>* w_pre_ready = nullptr;
  // the readout computed beside the loop (cpu_forward): the loop publishes its steps here
  ReadoutAside* readout_aside = nullptr;
  bool gauss_seidel = true;  // with more than one group
  bool may_push = true;
};

// One slice's private state. Double-buffered by step: index 0 holds s[-1] at the start.
template <class T>
struct FwdSlice {
  int64_t b0 = 0, Bs = 0, W = 0;             // first sample, samples, mask words per neuron
  AVec<T> v, a;                              // [N, Bs]
  AVec<T> s[2];                              // [N, Bs] spikes of the previous / this step
  std::vector<uint64_t> mask[2];             // [N, W] the same as bit masks
  std::vector<int32_t> count[2];             // [N] samples that fired
  AVec<T> acc_prev_step, acc_this_step;      // [Bs, acc_stride] (push), zero between uses
  int64_t acc_stride = 0;
  int64_t initial_spikes = 0;                // non-zero entries of s0
  std::vector<int64_t> spikes_per_thread;    // per team thread, double-buffered by step parity
  std::unique_ptr<RowClaims> claims;         // a shared slice's row hand-out
  // results
  int64_t spikes = 0, events = 0, push_steps = 0;
};

template <class T>
void init_slice(FwdSlice<T>& s, const FwdCall<T>& c, const LifInputs& x, int64_t b0, int64_t b1, int team) {
  const int64_t N = c.net->d.N;
  s.b0 = b0;
  s.Bs = b1 - b0;
  s.W = (s.Bs + 63) / 64;
  s.v = slice_neuron_major(ptr_or_null<T>(x.v0), N, b0, s.Bs);
  s.a = slice_neuron_major(ptr_or_null<T>(x.a0), N, b0, s.Bs);
  s.s[0] = slice_neuron_major(ptr_or_null<T>(x.s0), N, b0, s.Bs);
  s.s[1].assign(s.s[0].size(), T(0));
  for (int k = 0; k < 2; ++k) {
    s.mask[k].assign(static_cast<size_t>(N * s.W), 0);
    s.count[k].assign(static_cast<size_t>(N), 0);
  }
  for (int64_t n = 0; n < N; ++n)
    for (int64_t b = 0; b < s.Bs; ++b)
      if (s.s[0][n * s.Bs + b] != T(0)) {
        s.mask[0][n * s.W + b / 64] |= uint64_t(1) << (b % 64);
        ++s.count[0][n];
        ++s.initial_spikes;
      }
  if (c.may_push) {
    s.acc_stride = lif_cpu::acc_stride<T>(N);
    s.acc_prev_step.assign(static_cast<size_t>(s.Bs * s.acc_stride), T(0));
    if (c.gauss_seidel) s.acc_this_step.assign(static_cast<size_t>(s.Bs * s.acc_stride), T(0));
  }
  s.spikes_per_thread.assign(2 * static_cast<size_t>(team), 0);
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
  T* yt = c.readout + t * B * R;
  for (int64_t col = 0; col < d.N_ro; ++col) {
    const T* u = c.saved_u + (t * d.N + net.ro_neuron[col]) * B;
    const T* wc = net.w_ro_t.data() + col * R;
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
  ReadoutAside& ro = *c.readout_aside;
  for (;;) {
    const int64_t t = ro.next.fetch_add(1, std::memory_order_relaxed);
    if (t >= c.net->d.T) return;
    if (trailing)
      while (ro.done.load(std::memory_order_acquire) <= t) cpu_relax();
    readout_from_saved(c, t);
  }
}

// The time loop of one slice, run by one thread (shared = false) or by every thread of the
// team (shared = true), in named phases per step: the previous step's push, the groups'
// currents and neuron updates (pull or push), the spike-driven readout, the outputs.
template <class T>
class ForwardLoop {
 public:
  ForwardLoop(const FwdCall<T>& c, FwdSlice<T>& sl, bool shared)
      : c_(c), net_(*c.net), d_(net_.d), sl_(sl), shared_(shared),
        tid_(shared ? omp_get_thread_num() : 0), nth_(shared ? omp_get_num_threads() : 1),
        part_(part_of(tid_, nth_, sl.Bs, d_.N)), Bs_(sl.Bs), W_(sl.W),
        pbuf_(Bs_), cbuf_(Bs_), curbuf_(Bs_), tile_(kAccTile * Bs_), pbuf4_(4 * Bs_), cbuf4_(4 * Bs_) {
    s_prev_ = sl.s[0].data(), s_cur_ = sl.s[1].data();
    mask_prev_ = sl.mask[0].data(), mask_cur_ = sl.mask[1].data();
    cnt_prev_ = sl.count[0].data(), cnt_cur_ = sl.count[1].data();
    spikes_prev_ = sl.initial_spikes;
    // automatic: push below push_below spikes per neuron-sample for a 64-sample slice, a higher
    // threshold for narrower slices (pull's per-synapse overhead is shared by fewer samples),
    // and always for slices narrower than one 8-wide vector (docs/perf-log.md, "pull vs push")
    push_rate_ = Bs_ < 8 ? 2.0 : c.cfg->push_below * std::sqrt(64.0 / static_cast<double>(Bs_));
  }

  void run() {
    const FlushDenormals ftz;  // this thread's time loop (recurrent_lif_cpu.h)
    for (int64_t t = 0; t < d_.T; ++t) {
      begin_step(t);
      for (int64_t g = 0; g < d_.G; ++g) run_group(g);
      if (c_.readout && !c_.readout_aside && !part_.idle && part_.i0 == 0) readout_step(t);
      write_outputs(t);
      end_step(t);
    }
    if (c_.readout_aside) claim_readout(c_, false);
#pragma omp atomic
    sl_.spikes += my_spikes_;
#pragma omp atomic
    sl_.events += my_events_;
    if (tid_ == 0) sl_.push_steps = pushes_;
  }

 private:
  // Push or pull this step (decided from the previous step's spikes); a push scatters the
  // previous step's spikes into the accumulators first.
  void begin_step(int64_t t) {
    const LifConfig& cfg = *c_.cfg;
    const int64_t N = d_.N;
    push_ = cfg.propagation == Propagation::push ||
            (cfg.propagation == Propagation::automatic &&
             static_cast<double>(spikes_prev_) < push_rate_ * static_cast<double>(N * Bs_) &&
             (!c_.w_pre_ready || c_.w_pre_ready->load(std::memory_order_acquire)));
    if (push_) {
      ++pushes_;
      push_phase<T>(part_, N, sl_.acc_stride, Bs_, W_, 0, N, net_.pre_ptr, net_.pre_split.data(), net_.post_idx,
                    c_.w_pre.data(), mask_prev_, cnt_prev_, s_prev_, sl_.acc_prev_step.data());
      sync(shared_);
    }
    // pull: add silent sources' zero rows rather than branch around them (gather_rows, Dense)
    // when at least 1 in 8 sources fires in some sample (taken as independent: 1 - (1 - r)^Bs
    // at r spikes per neuron-sample)
    const double r_prev = static_cast<double>(spikes_prev_) / static_cast<double>(N * Bs_);
    dense_ = !push_ && 1.0 - std::pow(1.0 - std::min(1.0, r_prev), static_cast<double>(Bs_)) >= 0.125;
    ext_t_ = c_.i_ext + (t * d_.B + sl_.b0) * d_.N_in;
    spikes_now_ = &sl_.spikes_per_thread[(t & 1) * nth_ + tid_];
    *spikes_now_ = 0;
    t_ = t;
  }

  // The neuron update of row i from its currents' parts P (and C).
  void update(int64_t i, T* P, T* C) {
    const int64_t N = d_.N, B = d_.B, b0 = sl_.b0, t = t_;
    const bool driven = i >= d_.in_off && i < d_.in_off + d_.N_in;
    const int32_t cnt = update_row<T>(
        net_.m, net_.nc[i], Bs_, P, 1, C, 1, false, driven ? ext_t_ + (i - d_.in_off) : nullptr, d_.N_in,
        curbuf_.data(), sl_.v.data() + i * Bs_, sl_.a.data() + i * Bs_, s_prev_ + i * Bs_, s_cur_ + i * Bs_,
        mask_cur_ + i * W_, c_.saved_u ? c_.saved_u + (t * N + i) * B + b0 : nullptr,
        c_.saved_a ? c_.saved_a + (t * N + i) * B + b0 : nullptr);
    cnt_cur_[i] = cnt;
    *spikes_now_ += cnt;
    my_spikes_ += cnt;
    my_events_ += cnt * (net_.pre_ptr[i + 1] - net_.pre_ptr[i]);
  }

  void pull_row(int64_t i) {
    std::fill(pbuf_.begin(), pbuf_.end(), T(0));
    gather_rows<T>(Bs_, net_.post_split[i], net_.post_ptr[i + 1], net_.pre_idx, net_.w_signed.data(), s_prev_,
                   cnt_prev_, pbuf_.data(), dense_);
    if (c_.gauss_seidel) {
      std::fill(cbuf_.begin(), cbuf_.end(), T(0));
      gather_rows<T>(Bs_, net_.post_ptr[i], net_.post_split[i], net_.pre_idx, net_.w_signed.data(), s_cur_,
                     cnt_cur_, cbuf_.data(), dense_);
    }
    update(i, pbuf_.data(), c_.gauss_seidel ? cbuf_.data() : nullptr);
  }

  // One thread, one vector per row: four rows' gathers at once (gather_rows_x4; the rows of a
  // group read only earlier groups' spikes of this step).
  void pull_group_x4(int64_t g0, int64_t g1) {
    int64_t i = g0;
    for (; i + 4 <= g1; i += 4) {
      int64_t k0[4], k1[4];
      T* acc[4];
      std::fill(pbuf4_.begin(), pbuf4_.end(), T(0));
      for (int r = 0; r < 4; ++r) {
        k0[r] = net_.post_split[i + r];
        k1[r] = net_.post_ptr[i + r + 1];
        acc[r] = pbuf4_.data() + r * Bs_;
      }
      gather_rows_x4<T>(k0, k1, net_.pre_idx, net_.w_signed.data(), s_prev_, acc);
      if (c_.gauss_seidel) {
        std::fill(cbuf4_.begin(), cbuf4_.end(), T(0));
        for (int r = 0; r < 4; ++r) {
          k0[r] = net_.post_ptr[i + r];
          k1[r] = net_.post_split[i + r];
          acc[r] = cbuf4_.data() + r * Bs_;
        }
        gather_rows_x4<T>(k0, k1, net_.pre_idx, net_.w_signed.data(), s_cur_, acc);
      }
      for (int r = 0; r < 4; ++r)
        update(i + r, pbuf4_.data() + r * Bs_, c_.gauss_seidel ? cbuf4_.data() + r * Bs_ : nullptr);
    }
    for (; i < g1; ++i) pull_row(i);
  }

  // Group g's currents and updates, then (push, gauss_seidel) its spikes scattered into this
  // step's accumulators for the later groups.
  void run_group(int64_t g) {
    const int64_t g0 = d_.offsets[g], g1 = d_.offsets[g + 1];
    if (dense_ && !shared_ && Bs_ == Vec<T>::lanes) {
      pull_group_x4(g0, g1);
    } else {
      for_rows(shared_, g0, g1, sl_.claims.get(), [&](int64_t i) {
        if (!push_) return pull_row(i);
        // tiles of kAccTile rows from the group's start (in a shared slice, the omp chunks
        // are these tiles, so a thread only takes the accumulators of its own rows)
        const int64_t r = (i - g0) % kAccTile;
        if (r == 0)
          take_acc_tile<T>(Bs_, sl_.acc_stride, std::min(kAccTile, g1 - i), sl_.acc_prev_step.data() + i,
                           c_.gauss_seidel ? sl_.acc_this_step.data() + i : nullptr, tile_.data());
        update(i, tile_.data() + r * Bs_, nullptr);
      });
    }
    // (a shared loop ends with a barrier: group g is complete)
    if (c_.gauss_seidel && push_ && g + 1 < d_.G) {
      push_phase<T>(part_, d_.N, sl_.acc_stride, Bs_, W_, g0, g1, net_.pre_split.data(), net_.pre_end.data(),
                    net_.post_idx, c_.w_pre.data(), mask_cur_, cnt_cur_, s_cur_, sl_.acc_this_step.data());
      sync(shared_);
    }
  }

  // y[t, b, :] += W_ro[:, col] for every spike of a readout neuron, in column order
  // (readout_from_saved, the same sums, when computed beside the loop).
  void readout_step(int64_t t) {
    const int64_t R = d_.R;
    T* yt = c_.readout + (t * d_.B + sl_.b0) * R;
    const int64_t w0 = part_.b0 / 64, w1 = (part_.b1 - 1) / 64;
    for (int64_t col = 0; col < d_.N_ro; ++col) {
      const int64_t n = net_.ro_neuron[col];
      if (cnt_cur_[n] == 0) continue;
      const T* wc = net_.w_ro_t.data() + col * R;
      for (int64_t w = w0; w <= w1; ++w) {
        uint64_t mm = mask_cur_[n * W_ + w] & word_mask(w, part_.b0, part_.b1);
        while (mm) {
          T* yb = yt + (w * 64 + __builtin_ctzll(mm)) * R;
          mm &= mm - 1;
          for (int64_t r = 0; r < R; ++r) yb[r] += wc[r];
        }
      }
    }
  }

  void write_outputs(int64_t t) {
    const int64_t N = d_.N, out_at = (t * d_.B + sl_.b0) * N;
    RowClaims* claims = sl_.claims.get();
    if (c_.spikes) slice_out(shared_, claims, s_cur_, c_.spikes + out_at, Bs_, N, [](T s) { return s; });
    if (c_.spike_record)
      slice_out(shared_, claims, s_cur_, c_.spike_record + out_at, Bs_, N,
                [](T s) { return static_cast<uint8_t>(s != T(0)); });
    if (c_.v_record) slice_out(shared_, claims, sl_.v.data(), c_.v_record + out_at, Bs_, N, [](T s) { return s; });
    if (c_.a_record) slice_out(shared_, claims, sl_.a.data(), c_.a_record + out_at, Bs_, N, [](T s) { return s; });
    sync(shared_);
  }

  // This step's spikes become the previous step's.
  void end_step(int64_t t) {
    spikes_prev_ = 0;
    for (int k = 0; k < nth_; ++k) spikes_prev_ += sl_.spikes_per_thread[(t & 1) * nth_ + k];
    std::swap(s_prev_, s_cur_);
    std::swap(mask_prev_, mask_cur_);
    std::swap(cnt_prev_, cnt_cur_);
    if (c_.readout_aside) c_.readout_aside->done.store(t + 1, std::memory_order_release);
  }

  const FwdCall<T>& c_;
  const Net<T>& net_;
  const Dims& d_;
  FwdSlice<T>& sl_;
  const bool shared_;
  const int tid_, nth_;
  const Part part_;
  const int64_t Bs_, W_;
  AVec<T> pbuf_, cbuf_, curbuf_, tile_, pbuf4_, cbuf4_;  // scratch B-vectors (4: four rows)
  T *s_prev_, *s_cur_;
  uint64_t *mask_prev_, *mask_cur_;
  int32_t *cnt_prev_, *cnt_cur_;
  int64_t spikes_prev_ = 0, my_spikes_ = 0, my_events_ = 0, pushes_ = 0;
  double push_rate_ = 0;
  // the current step
  int64_t t_ = 0;
  bool push_ = false, dense_ = false;
  const T* ext_t_ = nullptr;
  int64_t* spikes_now_ = nullptr;
};

template <class T>
void forward_slice(const FwdCall<T>& c, FwdSlice<T>& sl, bool shared) {
  ForwardLoop<T>(c, sl, shared).run();
}

// The outputs asked for, allocated, and the call's pointers into them.
template <class T>
LifForward make_outputs(const Dims& d, const LifConfig& cfg, DType dt, bool keep, FwdCall<T>& c) {
  const int64_t T_ = d.T, B = d.B, N = d.N;
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
  c.saved_u = keep ? out.saved.u.data<T>() : nullptr;
  c.saved_a = keep && alif ? out.saved.a.data<T>() : nullptr;
  c.readout = d.has_readout ? out.readout.data<T>() : nullptr;
  c.spikes = cfg.output_spikes ? out.spikes.data<T>() : nullptr;
  c.spike_record = cfg.record_spikes ? out.spike_record.data<uint8_t>() : nullptr;
  c.v_record = cfg.record_state ? out.v_record.data<T>() : nullptr;
  c.a_record = cfg.record_state ? out.a_record.data<T>() : nullptr;
  return out;
}

// Work done beside a one-thread time loop by the second thread (cpu_forward).
template <class T>
struct AsideWork {
  bool tables = false;  // build the backward's tables
  bool w_pre = false;   // fill the push's pre-major weights (the loop pulls until they are ready)
  std::atomic<bool> w_pre_ready{false};
  ReadoutAside readout;
  std::shared_ptr<BwdTables<T>> built;  // the tables, once built
};

// The time loop over the plan's slices, with the aside work on a second thread.
template <class T>
void run_slices(const Plan& plan, FwdCall<T>& c, std::vector<FwdSlice<T>>& slices, AsideWork<T>& aside,
                const std::shared_ptr<const Net<T>>& netp, const Projection& p, const LifConfig& cfg,
                const LifInputs& x) {
  double loop_s = -1;
  run_timed(plan, netp->d.T, [&] {
    if (plan.shared) {
#pragma omp parallel num_threads(plan.threads)
      forward_slice(c, slices[0], true);
    } else if (aside.tables) {
#pragma omp parallel num_threads(2)
      {
        if (omp_get_thread_num() == 0) {
          const auto t0 = std::chrono::steady_clock::now();
          forward_slice(c, slices[0], false);
          loop_s = seconds_since(t0);
        } else {
          if (aside.w_pre) {
            c.w_pre = netp->w_signed_pre_major(false);
            aside.w_pre_ready.store(true, std::memory_order_release);
          }
          aside.built = make_bwd_tables<T>(netp, p, cfg, x, false);
          if (c.readout_aside) claim_readout(c, true);
        }
      }
    } else {
#pragma omp parallel for num_threads(plan.threads) schedule(dynamic, 1)
      for (int64_t s = 0; s < plan.slices(); ++s) forward_slice(c, slices[s], false);
    }
  }, &loop_s);
}

template <class T>
LifForward forward_impl(const Projection& p, const LifConfig& cfg, const LifInputs& x, bool keep) {
  auto netp = std::make_shared<const Net<T>>(p, cfg, x);
  const Net<T>& net = *netp;
  const Dims& d = net.d;
  FwdCall<T> c;
  c.net = &net;
  c.cfg = &cfg;
  c.i_ext = x.i_ext.data<T>();
  c.gauss_seidel = d.gauss_seidel && d.G > 1;
  c.may_push = cfg.propagation != Propagation::pull;
  LifForward out = make_outputs(d, cfg, x.w.dtype(), keep, c);

  const Plan plan = make_plan(d, 0, fwd_work_per_step(d), cfg);
  std::vector<FwdSlice<T>> slices(static_cast<size_t>(plan.slices()));
  for (int64_t s = 0; s < plan.slices(); ++s)
    init_slice(slices[s], c, x, plan.b0[s], plan.b0[s + 1], plan.shared ? plan.threads : 1);
  // One slice on one thread and another thread free (tables_aside_fits): that thread builds
  // the backward's tables meanwhile (LifSaved::tables); the time recorded for the one-thread
  // choice is the loop's own. If the loop may pull, it also fills the push's pre-major weights
  // (a random read of all nnz weights, otherwise done before the loop) while the loop's first
  // steps pull (the same bits either way), and computes the readout from the saved u, trailing
  // the loop.
  AsideWork<T> aside;
  aside.tables = keep && !plan.shared && plan.slices() == 1 && tables_aside_fits(d);
  aside.w_pre = aside.tables && cfg.propagation == Propagation::automatic;
  if (aside.w_pre)
    c.w_pre_ready = &aside.w_pre_ready;
  else if (c.may_push)
    c.w_pre = net.w_signed_pre_major(true);
  if (aside.tables && d.has_readout) c.readout_aside = &aside.readout;
  run_slices(plan, c, slices, aside, netp, p, cfg, x);

  for (const FwdSlice<T>& s : slices) {
    out.stats.spikes += s.spikes;
    out.stats.synaptic_events += s.events;
    out.stats.push_steps += s.push_steps;
  }
  out.stats.slices = plan.slices();
  out.stats.pull_steps = d.T * plan.slices() - out.stats.push_steps;
  out.stats.threads = plan.threads;
  out.saved.tables = std::move(aside.built);
  return out;
}

}  // namespace

LifForward cpu_forward(const Projection& p, const LifConfig& cfg, const LifInputs& x, bool keep_for_backward) {
  return dispatch_float(x.w.dtype(), "recurrent_lif_forward", [&](auto tag) {
    return forward_impl<decltype(tag)>(p, cfg, x, keep_for_backward);
  });
}

}  // namespace rsnn::kernels::lif_cpu
