// The optimized CPU recurrent LIF backward (recurrent_lif_cpu.h: the work split).
//
// Per step in reverse, groups in reverse: dL/ds of a neuron = what later steps and later
// groups sent it + the readout and spike-output gradients; the neuron's reverse step gives
// dL/dv; the error reaches the sources as a B-vector gather over the pre-major rows (gather_w
// = sign * w * dv/dI of the target), and the weight gradient sums dv_i over the samples where
// the source fired (q, per block).
#include <chrono>

#include "kernels/recurrent_lif_cpu_tables.h"
#include "runtime/fp_mode.h"

namespace rsnn::kernels::lif_cpu {
namespace {

// The readout error is computed for blocks of kRoSteps steps (W_ro streams once per block, not
// once per step), in shares of kRoCols columns.
constexpr int64_t kRoSteps = 8, kRoCols = 32;

// What every slice of one backward call reads and writes.
template <class T>
struct BwdCall {
  const Net<T>* net;
  const LifConfig* cfg;
  const T *saved_u, *saved_a;       // [T, N, B] (saved_a: alif only)
  const T *dspikes, *dreadout;      // [T, B, N], [T, B, R] or null
  const T* i_ext;                   // [T, B, N_in]
  T* di_ext = nullptr;              // [T, B, N_in] or null
  const BwdTables<T>* tables = nullptr;  // the error gather's tables
  bool want_q = false, want_w_ro = false;
  // per-block partial sums, block-major
  std::unique_ptr<T[]> q;            // [blocks, nnz] pre-major sums of dv_i[t] * s_j[t']
  std::vector<double> neuron_sums;   // [blocks, N, 3]: dv * v_prev, dv * I_ext, drho
  std::vector<T> dw_ro_t;            // [blocks, N_ro, R]
  std::unique_ptr<RowClaims> claims;  // a shared slice's row hand-out
};

// One slice's private state. dv, da: double-buffered by step ([cur] this step, [next] the
// step after, already done).
template <class T>
struct BwdSlice {
  int64_t b0 = 0, Bs = 0;
  AVec<T> dv[2], da[2];     // [N, Bs] dL/dv, dL/da
  AVec<T> ds_carry;         // [N, Bs] dL/ds sent to the previous step (and, at the end, dL/ds0)
  AVec<T> dv_by_sample;     // [Bs, dv_stride] dL/dv of the current step, sample-major
  int64_t dv_stride = 0;    // its row stride (acc_stride: written down a column)
  AVec<T> readout_ds;       // [kRoSteps, N_ro, Bs] readout error of a block of steps
  AVec<T> s0, a0, v0;       // [N, Bs]
};

// Samples of a row where it fired (u > 0; or, with nonzero, s0 != 0), ascending.
template <class T>
int32_t list_firing(const T* row, int64_t Bs, int32_t* list, bool nonzero) {
  int32_t cnt = 0;
  for (int64_t b = 0; b < Bs; ++b)
    if (nonzero ? row[b] != T(0) : row[b] > T(0)) list[cnt++] = static_cast<int32_t>(b);
  return cnt;
}

// The reverse time loop of one slice, run by one thread (shared = false) or by every thread of
// the team (shared = true), in named phases per step: the readout error of a block of steps,
// the groups' rows in reverse (dL/ds, the neuron's reverse step, same-step weight-gradient
// sums), then the previous-step part of every row's error and weight-gradient sums. post: the
// targets in backward order (BwdTables), 16-bit when N <= 65,536.
template <class T, class Ix>
class BackwardLoop {
 public:
  BackwardLoop(BwdCall<T>& c, BwdSlice<T>& sl, bool shared, const Ix* post)
      : c_(c), net_(*c.net), d_(net_.d), tb_(*c.tables), sl_(sl), shared_(shared), post_(post),
        alif_(c.cfg->model == NeuronModel::alif), Bs_(sl.Bs), blk0_(sl.b0 / kBlock),
        ds_(Bs_), evbuf_(Bs_), terms_(3 * Bs_), list_(Bs_), ones_(Bs_, T(1)),
        row_sums_(3 * ((Bs_ + kBlock - 1) / kBlock)) {
    dv_cur_ = sl.dv[0].data(), dv_next_ = sl.dv[1].data();
    da_cur_ = alif_ ? sl.da[0].data() : nullptr, da_next_ = alif_ ? sl.da[1].data() : nullptr;
    q_ = c.want_q ? c.q.get() + blk0_ * d_.nnz : nullptr;
    sums_ = c.neuron_sums.data() + blk0_ * d_.N * 3;
  }

  void run() {
    const FlushDenormals ftz;  // this thread's time loop (recurrent_lif_cpu.h)
    ro_lo_ = d_.T;
    for (int64_t t = d_.T - 1; t >= 0; --t) {
      begin_step(t);
      for (int64_t g = d_.G - 1; g >= 0; --g)
        for_rows_by_work(shared_, d_.offsets[g], d_.offsets[g + 1], tb_.work_same_step.data(), c_.claims.get(),
                         [&](int64_t j) { same_step_row(j); });
      for_rows_by_work(shared_, 0, d_.N, tb_.work_prev_step.data(), c_.claims.get(),
                       [&](int64_t j) { prev_step_row(j); });
      std::swap(dv_cur_, dv_next_);
      std::swap(da_cur_, da_next_);
    }
  }

 private:
  // Step t's saved rows, and the readout error of the steps [ro_lo, t], kRoSteps at a time
  // (W_ro read once per block).
  void begin_step(int64_t t) {
    const int64_t BN = d_.B * d_.N, b0 = sl_.b0;
    t_ = t;
    u_t_ = c_.saved_u + t * BN + b0;  // row j at u_t + j * B
    u_p_ = t > 0 ? c_.saved_u + (t - 1) * BN + b0 : nullptr;
    a_t_ = c_.saved_a ? c_.saved_a + t * BN + b0 : nullptr;
    a_p_ = c_.saved_a && t > 0 ? c_.saved_a + (t - 1) * BN + b0 : nullptr;
    if (c_.dreadout && (t == d_.T - 1 || t < ro_lo_)) {
      ro_lo_ = t - t % kRoSteps;
      const int64_t tiles = (d_.N_ro + kRoCols - 1) / kRoCols, R = d_.R;
      for_rows(shared_, 0, tiles, c_.claims.get(), [&](int64_t q) {
        readout_error<T>(R, d_.N_ro, q * kRoCols, std::min(d_.N_ro, (q + 1) * kRoCols), net_.w_ro, t - ro_lo_ + 1,
                         c_.dreadout + (ro_lo_ * d_.B + b0) * R, d_.B * R, Bs_, d_.N_ro, sl_.readout_ds.data());
      });
    }
    ro_t_ = c_.dreadout ? sl_.readout_ds.data() + (t - ro_lo_) * d_.N_ro * Bs_ : nullptr;
  }

  // dL/ds of row j before its reverse step: the own part and the output gradients.
  void ds_start(int64_t j, T* dsj) const {
    const int64_t B = d_.B, N = d_.N, b0 = sl_.b0, t = t_;
    std::copy(sl_.ds_carry.begin() + j * Bs_, sl_.ds_carry.begin() + (j + 1) * Bs_, dsj);
    if (c_.dspikes)
      for (int64_t b = 0; b < Bs_; ++b) dsj[b] += c_.dspikes[(t * B + b0 + b) * N + j];
    const int64_t col = d_.ro_col[j];
    if (c_.dreadout && col >= 0)
      for (int64_t b = 0; b < Bs_; ++b) dsj[b] += ro_t_[col * Bs_ + b];
  }

  // Row j in the group loop: its dL/ds (with the same-step targets' errors, later groups
  // already done this step), then its reverse step.
  void same_step_row(int64_t j) {
    T* dsj = ds_.data();
    ds_start(j, dsj);
    const int64_t k0 = tb_.same_step_at[j];
    gather_rows_bwd<T>(Bs_, k0, k0 + (net_.pre_end[j] - net_.pre_split[j]), post_, tb_.gather_w.data(), dv_cur_,
                       dsj);
    step_row(j, dsj);
  }

  // The reverse step of samples [bb, bb + n) of row j through row_fn (backward_row<T, 8> or
  // backward_row<T, 0>).
  template <class RowFn>
  void reverse_step(RowFn row_fn, int64_t j, const T* dsj, bool driven, int64_t e_off, int64_t bb, int64_t n) {
    const int64_t B = d_.B, N_in = d_.N_in, jB = j * B + bb, jS = j * Bs_ + bb;
    row_fn(net_.m, net_.nc[j], net_.sg, n, kBlock, dsj + bb, dv_next_ + jS, alif_ ? da_next_ + jS : nullptr,
           u_t_ + jB, a_t_ ? a_t_ + jB : nullptr, u_p_ ? u_p_ + jB : nullptr, a_p_ ? a_p_ + jB : nullptr,
           sl_.s0.data() + jS, sl_.a0.data() + jS, sl_.v0.data() + jS, driven ? c_.i_ext + e_off + bb * N_in : nullptr,
           N_in, evbuf_.data(), terms_.data(), dv_cur_ + jS, sl_.dv_by_sample.data() + j + bb * sl_.dv_stride,
           sl_.dv_stride, alif_ ? da_cur_ + jS : nullptr, sl_.ds_carry.data() + jS,
           driven && c_.di_ext ? c_.di_ext + e_off + bb * N_in : nullptr, N_in, row_sums_.data() + 3 * (bb / kBlock));
  }

  // The reverse step of row j given its complete dL/ds, and its same-step weight-gradient sums.
  void step_row(int64_t j, const T* dsj) {
    const int64_t N = d_.N, R = d_.R, B = d_.B, b0 = sl_.b0, t = t_;
    const int64_t col = d_.ro_col[j];
    const int32_t cnt = list_firing(u_t_ + j * B, Bs_, list_.data(), false);
    if (q_)
      q_push<T>(net_.pre_split[j], net_.pre_ptr[j + 1], net_.post_idx, sl_.dv_by_sample.data(), sl_.dv_stride,
                list_.data(), cnt, ones_.data(), kBlock, q_, d_.nnz);
    const bool driven = j >= d_.in_off && j < d_.in_off + d_.N_in;
    const int64_t e_off = (t * B + b0) * d_.N_in + (j - d_.in_off);
    std::fill(row_sums_.begin(), row_sums_.end(), 0.0);
    // block by block: every whole block of 8 samples through backward_row<T, 8>, the batch's
    // last B mod 8 samples through backward_row<T, 0>, whatever the slicing, so that every
    // sample's results come from the same compiled code for any thread count (two compilations
    // of the same expressions need not round alike)
    static_assert(kBlock == 8, "backward_row<T, 8> is compiled for blocks of 8");
    int64_t bb = 0;
    for (; bb + kBlock <= Bs_; bb += kBlock) reverse_step(backward_row<T, 8>, j, dsj, driven, e_off, bb, kBlock);
    if (bb < Bs_) reverse_step(backward_row<T, 0>, j, dsj, driven, e_off, bb, Bs_ - bb);
    for (size_t k = 0; k < row_sums_.size(); ++k) {
      const size_t blk = k / 3, m = k % 3;
      sums_[(blk * N + j) * 3 + m] += row_sums_[k];
    }
    if (c_.want_w_ro && c_.dreadout && col >= 0) {
      for (int32_t l = 0; l < cnt; ++l) {
        const int64_t b = list_[l];
        T* dwc = c_.dw_ro_t.data() + ((blk0_ + b / kBlock) * d_.N_ro + col) * R;
        const T* gy = c_.dreadout + (t * B + b0 + b) * R;
        for (int64_t r = 0; r < R; ++r) dwc[r] += gy[r];
      }
    }
  }

  // Previous-step targets of row j: complete dL/ds[t-1] (ds_carry holds the own part) and q.
  void prev_step_row(int64_t j) {
    const int64_t k0 = tb_.prev_step_at[j];
    gather_rows_bwd<T>(Bs_, k0, k0 + (net_.pre_split[j] - net_.pre_ptr[j]), post_, tb_.gather_w.data(), dv_cur_,
                       sl_.ds_carry.data() + j * Bs_);
    if (!q_) return;
    int32_t cnt;
    const T* svals;
    if (t_ > 0) {
      cnt = list_firing(u_p_ + j * d_.B, Bs_, list_.data(), false);
      svals = ones_.data();
    } else {
      cnt = list_firing(sl_.s0.data() + j * Bs_, Bs_, list_.data(), true);
      svals = sl_.s0.data() + j * Bs_;
    }
    q_push<T>(net_.pre_ptr[j], net_.pre_split[j], net_.post_idx, sl_.dv_by_sample.data(), sl_.dv_stride,
              list_.data(), cnt, svals, kBlock, q_, d_.nnz);
  }

  BwdCall<T>& c_;
  const Net<T>& net_;
  const Dims& d_;
  const BwdTables<T>& tb_;
  BwdSlice<T>& sl_;
  const bool shared_;
  const Ix* post_;
  const bool alif_;
  const int64_t Bs_, blk0_;
  AVec<T> ds_, evbuf_;
  std::vector<double> terms_;
  std::vector<int32_t> list_;
  const std::vector<T> ones_;
  std::vector<double> row_sums_;
  T *dv_cur_, *dv_next_, *da_cur_, *da_next_;
  T* q_;
  double* sums_;
  int64_t ro_lo_ = 0;  // first step of the readout error block in readout_ds
  // the current step
  int64_t t_ = 0;
  const T *u_t_ = nullptr, *u_p_ = nullptr, *a_t_ = nullptr, *a_p_ = nullptr, *ro_t_ = nullptr;
};

template <class T, class Ix>
void backward_slice(BwdCall<T>& c, BwdSlice<T>& sl, bool shared, const Ix* post) {
  BackwardLoop<T, Ix>(c, sl, shared, post).run();
}

// The error gather's tables: those the forward built (LifSaved::tables) if they fit, else new
// (make_dims validates the inputs; a Net built here does so itself).
template <class T>
std::shared_ptr<const BwdTables<T>> tables_for(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                               const LifSaved& saved) {
  std::shared_ptr<const BwdTables<T>> tables =
      saved.tables ? saved_tables<T>(saved, p, cfg, x, make_dims(p, cfg, x)) : nullptr;
  if (tables) return tables;
  const auto t0 = std::chrono::steady_clock::now();
  tables = make_bwd_tables<T>(std::make_shared<const Net<T>>(p, cfg, x), p, cfg, x, true);
  // a forward that could have built them beside a one-thread loop ran on a team instead:
  // that cost the team this much more (TeamChooser::record_team_extra)
  const Dims& fd = tables->net->d;
  if (tables_aside_fits(fd) && fd.T > 0) {
    const Plan fp = plan_shape(fd, 0, fwd_work_per_step(fd), cfg);
    if (fp.measured) team_chooser().record_team_extra(fp.key, seconds_since(t0) / double(fd.T));
  }
  return tables;
}

template <class T>
void init_bwd_slice(BwdSlice<T>& sl, const Dims& d, const LifInputs& x, bool alif, bool with_readout, int64_t b0,
                    int64_t b1) {
  const int64_t N = d.N;
  sl.b0 = b0;
  sl.Bs = b1 - b0;
  const size_t n = static_cast<size_t>(N * sl.Bs);
  for (int k = 0; k < 2; ++k) {
    sl.dv[k].assign(n, T(0));
    if (alif) sl.da[k].assign(n, T(0));
  }
  sl.ds_carry.assign(n, T(0));
  sl.dv_stride = acc_stride<T>(N);
  sl.dv_by_sample.assign(static_cast<size_t>(sl.dv_stride * sl.Bs), T(0));
  if (with_readout) sl.readout_ds.assign(static_cast<size_t>(kRoSteps * d.N_ro * sl.Bs), T(0));
  sl.s0 = slice_neuron_major(ptr_or_null<T>(x.s0), N, sl.b0, sl.Bs);
  sl.a0 = slice_neuron_major(ptr_or_null<T>(x.a0), N, sl.b0, sl.Bs);
  sl.v0 = slice_neuron_major(ptr_or_null<T>(x.v0), N, sl.b0, sl.Bs);
}

// The reverse loop over the plan's slices.
template <class T>
void run_bwd_slices(const Plan& plan, BwdCall<T>& c, std::vector<BwdSlice<T>>& slices) {
  auto run = [&](auto* post) {
    if (plan.shared) {
#pragma omp parallel num_threads(plan.threads)
      backward_slice(c, slices[0], true, post);
    } else {
#pragma omp parallel for num_threads(plan.threads) schedule(dynamic, 1)
      for (int64_t s = 0; s < plan.slices(); ++s) backward_slice(c, slices[s], false, post);
    }
  };
  run_timed(plan, c.net->d.T, [&] {
    if (c.net->d.N <= 65536)
      run(c.tables->post16.data());
    else
      run(c.tables->post32.data());
  });
}

// Initial-state gradients: after the loop the "next" buffers hold dL/dv[0], dL/da[0].
template <class T>
void initial_state_grads(const Net<T>& net, const std::vector<BwdSlice<T>>& slices, const LifNeeds& needs,
                         bool alif, DType dt, LifGrads& gr) {
  const int64_t T_ = net.d.T, B = net.d.B, N = net.d.N;
  if (needs.v0) gr.dv0 = Tensor::empty({B, N}, dt);
  if (needs.a0) gr.da0 = Tensor::zeros({B, N}, dt);
  if (needs.s0) gr.ds0 = Tensor::empty({B, N}, dt);
  const int next = T_ % 2 == 1 ? 0 : 1;
  for (const BwdSlice<T>& sl : slices) {
    const T* dv0n = sl.dv[next].data();
    const T* da0n = alif ? sl.da[next].data() : nullptr;
    for (int64_t b = 0; b < sl.Bs; ++b)
      for (int64_t n = 0; n < N; ++n) {
        const int64_t at = n * sl.Bs + b, o = (sl.b0 + b) * N + n;
        if (needs.v0) gr.dv0.data<T>()[o] = net.nc[n].decay * dv0n[at];
        if (needs.a0 && da0n) gr.da0.data<T>()[o] = net.nc[n].rho * da0n[at];
        if (needs.s0) gr.ds0.data<T>()[o] = sl.ds_carry[at];
      }
  }
}

// Sum over blocks of neuron i's per-block sums m (0 dv * v_prev, 1 dv * I_ext, 2 drho).
template <class T>
double block_sum(const BwdCall<T>& c, int64_t blocks, int m, int64_t i) {
  const int64_t N = c.net->d.N;
  double s = 0;
  for (int64_t blk = 0; blk < blocks; ++blk) s += c.neuron_sums[(blk * N + i) * 3 + m];
  return s;
}

// One pass over the synapses in post-major order: each one's per-block sums q, reduced in
// block order (read through pre_of_syn), give its weight gradient and its term of the
// recurrent current's sum for dL/dtau_m (one pass instead of a scatter into post-major order
// and two more passes over it). dw, dtau: null where not needed.
template <class T, class PreOf>
void synapse_grads(const BwdCall<T>& c, int64_t blocks, const PreOf* pre_of, const T* tau, T* dw, T* dtau) {
  const Net<T>& net = *c.net;
  const int64_t N = net.d.N, nnz = net.d.nnz;
  const double r_m = static_cast<double>(net.m.r_m);
  par_for(N, [&](int64_t i) {
    double rec = 0.0;  // sum_t,b dv_i * (recurrent current)_i = sum_k sign*w * q
    for (int64_t k = net.post_ptr[i]; k < net.post_ptr[i + 1]; ++k) {
      const int64_t e = pre_of[k];
      T q_k = c.q[e];
      for (int64_t blk = 1; blk < blocks; ++blk) q_k += c.q[blk * nnz + e];
      if (dw) dw[k] = static_cast<T>(net.sign[net.pre_idx[k]]) * net.nc[i].in_gain * q_k;
      rec += static_cast<double>(net.w_signed[k]) * static_cast<double>(q_k);
    }
    if (dtau) {
      // v[t] = decay*v[t-1] + (1-decay)*r_m*I - ...: dL/ddecay = sum dv * (v[t-1] - r_m*I)
      const T dalpha = static_cast<T>(block_sum(c, blocks, 0, i) - r_m * block_sum(c, blocks, 1, i) - r_m * rec);
      dtau[i] = lif::dtau_from_dfactor(dalpha, net.nc[i].decay, tau[i], net.m.dt);
    }
  }, nnz);
}

// dW_ro: the per-block sums reduced in block order.
template <class T>
Tensor readout_weight_grad(const BwdCall<T>& c, int64_t blocks, DType dt) {
  const Dims& d = c.net->d;
  const int64_t R = d.R;
  Tensor out = Tensor::empty({R, d.N_ro}, dt);
  T* dw = out.data<T>();
  par_for(d.N_ro, [&](int64_t col) {
    for (int64_t r = 0; r < R; ++r) {
      T s = c.dw_ro_t[col * R + r];
      for (int64_t blk = 1; blk < blocks; ++blk) s += c.dw_ro_t[(blk * d.N_ro + col) * R + r];
      dw[r * d.N_ro + col] = s;
    }
  }, d.N_ro * R * blocks);
  return out;
}

// The parameter gradients from the per-block sums (after the loop).
template <class T>
void parameter_grads(const BwdCall<T>& c, const BwdTables<T>& tables, const LifConfig& cfg, const LifInputs& x,
                     const LifNeeds& needs, int64_t blocks, DType dt, LifGrads& gr) {
  const Net<T>& net = *c.net;
  const Dims& d = net.d;
  const int64_t N = d.N, nnz = d.nnz;
  const bool want_tau_m = needs.tau_m && cfg.model != NeuronModel::if_;
  if (needs.w) gr.dw = Tensor::empty({nnz}, dt);
  if (needs.tau_m) gr.dtau_m = Tensor::zeros({N}, dt);
  if (c.want_q) {
    T* dw = needs.w ? gr.dw.data<T>() : nullptr;
    T* dtau = want_tau_m ? gr.dtau_m.data<T>() : nullptr;
    const T* tau = x.tau_m.data<T>();
    if (!tables.pre_of_syn32.empty() || nnz == 0)
      synapse_grads(c, blocks, tables.pre_of_syn32.data(), tau, dw, dtau);
    else
      synapse_grads(c, blocks, tables.pre_of_syn64.data(), tau, dw, dtau);
  }
  if (needs.tau_adp) {
    gr.dtau_adp = Tensor::zeros({N}, dt);
    if (cfg.model == NeuronModel::alif)
      for (int64_t i = 0; i < N; ++i)
        gr.dtau_adp.data<T>()[i] = lif::dtau_from_dfactor(static_cast<T>(block_sum(c, blocks, 2, i)), net.nc[i].rho,
                                                          x.tau_adp.data<T>()[i], net.m.dt);
  }
  if (c.want_w_ro)
    gr.dw_ro = readout_weight_grad(c, blocks, dt);
  else if (needs.w_ro && d.has_readout)
    gr.dw_ro = Tensor::zeros({d.R, d.N_ro}, dt);
}

template <class T>
LifGrads backward_impl(const Projection& p, const LifConfig& cfg, const LifInputs& x, const LifSaved& saved,
                       const Tensor& dspikes, const Tensor& dreadout, const LifNeeds& needs) {
  const std::shared_ptr<const BwdTables<T>> tables = tables_for<T>(p, cfg, x, saved);
  const Net<T>& net = *tables->net;
  const Dims& d = net.d;
  const int64_t B = d.B, N = d.N, nnz = d.nnz;
  const DType dt = x.w.dtype();
  const bool alif = cfg.model == NeuronModel::alif;
  check_backward_inputs(d, cfg, dt, Device::cpu(), saved, dspikes, dreadout);
  const int64_t blocks = (B + kBlock - 1) / kBlock;

  BwdCall<T> c;
  c.net = &net;
  c.cfg = &cfg;
  c.saved_u = saved.u.data<T>();
  c.saved_a = alif ? saved.a.data<T>() : nullptr;
  c.dspikes = ptr_or_null<T>(dspikes);
  c.dreadout = ptr_or_null<T>(dreadout);
  c.i_ext = x.i_ext.data<T>();
  LifGrads gr;
  if (needs.i_ext) gr.di_ext = Tensor::zeros(x.i_ext.shape(), dt);
  c.di_ext = needs.i_ext ? gr.di_ext.data<T>() : nullptr;
  c.want_q = needs.w || (needs.tau_m && cfg.model != NeuronModel::if_);
  c.want_w_ro = d.has_readout && needs.w_ro;
  if (c.want_q) {
    c.q.reset(new T[static_cast<size_t>(blocks * nnz)]);
    par_for(blocks * nnz, [&](int64_t k) { c.q[k] = T(0); });
  }
  c.neuron_sums.assign(static_cast<size_t>(blocks * N * 3), 0.0);
  if (c.want_w_ro) c.dw_ro_t.assign(static_cast<size_t>(blocks * d.N_ro * d.R), T(0));
  c.tables = tables.get();

  const Plan plan = make_plan(d, 1, (d.nnz + 4 * N) * B, cfg);
  std::vector<BwdSlice<T>> slices(static_cast<size_t>(plan.slices()));
  for (int64_t s = 0; s < plan.slices(); ++s)
    init_bwd_slice(slices[s], d, x, alif, dreadout.defined(), plan.b0[s], plan.b0[s + 1]);
  if (plan.shared) c.claims = std::make_unique<RowClaims>(plan.threads);
  run_bwd_slices(plan, c, slices);

  initial_state_grads(net, slices, needs, alif, dt, gr);
  parameter_grads(c, *tables, cfg, x, needs, blocks, dt, gr);
  return gr;
}

}  // namespace

LifGrads cpu_backward(const Projection& p, const LifConfig& cfg, const LifInputs& x, const LifSaved& saved,
                      const Tensor& dspikes, const Tensor& dreadout, const LifNeeds& needs) {
  return dispatch_float(x.w.dtype(), "recurrent_lif_backward", [&](auto tag) {
    return backward_impl<decltype(tag)>(p, cfg, x, saved, dspikes, dreadout, needs);
  });
}

}  // namespace rsnn::kernels::lif_cpu
