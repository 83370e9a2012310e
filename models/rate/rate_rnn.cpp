#include "models/rate/rate_rnn.h"


#include <algorithm>
#include <cmath>
#include <memory>

#include "models/rate/rate_math.h"
#include "models/rate/rng.h"
#include "kernels/accumulate.h"
#include "kernels/linear.h"
#include "runtime/philox.h"
#include "runtime/threads.h"

namespace rsnn::rate {

// ---------------------------------------------------------------- names and config
Activation parse_activation(const std::string& s) {
  if (s == "sigmoid") return Activation::sigmoid;
  if (s == "clipped_relu" || s == "relu") return Activation::clipped_relu;
  if (s == "softplus") return Activation::softplus;
  RSNN_FAIL("unknown activation '", s, "' (expected sigmoid, clipped_relu or softplus)");
}
std::string activation_name(Activation a) {
  switch (a) {
    case Activation::sigmoid: return "sigmoid";
    case Activation::clipped_relu: return "clipped_relu";
    case Activation::softplus: return "softplus";
  }
  return "?";
}
LossKind parse_loss(const std::string& s) {
  if (s == "l2") return LossKind::l2;
  if (s == "l1") return LossKind::l1;
  RSNN_FAIL("unknown loss '", s, "' (expected l2 or l1)");
}
std::string loss_name(LossKind l) { return l == LossKind::l2 ? "l2" : "l1"; }

void RateConfig::validate() const {
  RSNN_CHECK(N >= 1, "rate config: N must be >= 1, got ", N);
  RSNN_CHECK(n_in >= 1, "rate config: n_in must be >= 1, got ", n_in);
  RSNN_CHECK(P_inh >= 0 && P_inh <= 1, "rate config: P_inh must be in [0, 1], got ", P_inh);
  RSNN_CHECK(P_rec > 0 && P_rec <= 1, "rate config: P_rec must be in (0, 1], got ", P_rec);
  RSNN_CHECK(som_N >= 0 && som_N <= N, "rate config: som_N must be in [0, N], got ", som_N);
  RSNN_CHECK(taus.size() == 1 || taus.size() == 2, "rate config: taus needs 1 or 2 values, got ",
             taus.size());
  for (double t : taus) RSNN_CHECK(t >= delta_t, "rate config: tau ", t, " steps < DeltaT ", delta_t);
  RSNN_CHECK(taus.size() == 1 || taus[0] <= taus[1], "rate config: taus min ", taus[0], " > max ",
             taus[1]);
  RSNN_CHECK(noise_std >= 0 && x0_std >= 0, "rate config: negative noise");
  RSNN_CHECK(n_areas >= 1 && N % n_areas == 0, "rate config: N = ", N,
             " must split into n_areas = ", n_areas, " equal areas");
  RSNN_CHECK(P_inter > 0 && P_inter <= 1, "rate config: P_inter must be in (0, 1], got ", P_inter);
  RSNN_CHECK(std::isfinite(gain) && gain > 0, "rate config: gain must be a finite number > 0, got ", gain);
}

// ---------------------------------------------------------------- network
std::vector<double> taus_from_gaus(const std::vector<double>& taus, const Tensor& taus_gaus) {
  const auto g = taus_gaus.to_vector<double>();
  std::vector<double> tau(g.size());
  for (size_t i = 0; i < g.size(); ++i)
    tau[i] = taus.size() == 2 ? (taus[1] - taus[0]) / (1.0 + std::exp(-g[i])) + taus[0] : taus[0];
  return tau;
}

std::vector<double> RateNet::tau_steps() const { return taus_from_gaus(cfg.taus, taus_gaus); }

Tensor RateNet::m_matrix() const {
  const int n = N();
  const auto s = sign.to_vector<double>();
  Tensor m = Tensor::zeros({n, n}, w.dtype());
  dispatch_float(w.dtype(), "m_matrix", [&](auto tag) {
    using R = decltype(tag);
    for (int i = 0; i < n; ++i) m.data<R>()[size_t(i) * n + i] = R(s[i]);
  });
  return m;
}

Tensor RateNet::w_eff() const {
  const int n = N();
  Tensor out = Tensor::empty({n, n}, w.dtype());
  dispatch_float(w.dtype(), "w_eff", [&](auto tag) {
    using R = decltype(tag);
    const R *pw = w.data<R>(), *ps = sign.data<R>(), *pm = som_m.data<R>();
    R* po = out.data<R>();
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const size_t k = size_t(i) * n + j;
        po[k] = (cfg.apply_dale ? std::max(pw[k], R(0)) : pw[k]) * ps[j] * pm[k];
      }
  });
  return out;
}

Tensor RateNet::readout_mask() const {
  std::vector<float> m(N());
  for (int i = 0; i < N(); ++i) m[i] = cfg.area_of(i) == cfg.n_areas - 1 ? 1.f : 0.f;
  return Tensor::from_vector(m, {1, N()}).to_dtype(w_out.defined() ? w_out.dtype() : DType::f32);
}

RateNet init_rate_net(const RateConfig& cfg, uint64_t seed) {
  cfg.validate();
  const int N = cfg.N, C = cfg.n_in;
  RateNet net;
  net.cfg = cfg;
  auto st = [](uint64_t k) { return stream_id(Draw::net_init, k); };
  net.inh.assign(N, 0);
  std::vector<float> sign(N, 1.f);
  if (cfg.apply_dale)
    for (int i = 0; i < N; ++i) {
      net.inh[i] = philox::uniform_f64(seed, st(0), i) < cfg.P_inh;
      sign[i] = net.inh[i] ? -1.f : 1.f;
    }
  for (int i = 0; i < N && int(net.som_units.size()) < cfg.som_N; ++i)
    if (net.inh[i]) net.som_units.push_back(i);
  // Block structure: 1 = recurrent (same area), 2 = projection (area k -> k+1, excitatory
  // presynaptic), 0 = absent. One area: every pair is recurrent.
  const int Na = cfg.area_size();
  auto block = [&](int i, int j) {
    const int ai = cfg.area_of(i), aj = cfg.area_of(j);
    if (ai == aj) return 1;
    return (ai == aj + 1 && !net.inh[j]) ? 2 : 0;
  };
  std::vector<float> som_m(size_t(N) * N, 1.f);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j)
      if (block(i, j) == 0) som_m[size_t(i) * N + j] = 0.f;
  for (int i : net.som_units)
    for (int j = 0; j < N; ++j)
      if (net.inh[j]) som_m[size_t(i) * N + j] = 0.f;

  std::vector<float> w(size_t(N) * N, 0.f);
  const double scale_rec = cfg.gain / std::sqrt(Na * cfg.P_rec);
  const double scale_inter = cfg.gain / std::sqrt(Na * cfg.P_inter);
  for (size_t k = 0; k < w.size(); ++k) {
    const int kind = block(int(k / N), int(k % N));
    if (kind == 0) continue;
    const double p = kind == 1 ? cfg.P_rec : cfg.P_inter;
    if (philox::uniform_f64(seed, st(1), k) < p) {
      double v = philox::normal(seed, st(2), k) * (kind == 1 ? scale_rec : scale_inter);
      w[k] = float(cfg.apply_dale || kind == 2 ? std::fabs(v) : v);
    }
  }
  std::vector<float> w_in(size_t(N) * C, 0.f), w_out(N, 0.f), tg(N);
  for (size_t k = 0; k < w_in.size(); ++k)
    if (cfg.area_of(int(k / C)) == 0) w_in[k] = float(philox::normal(seed, st(3), k));
  for (int i = 0; i < N; ++i)
    if (cfg.area_of(i) == cfg.n_areas - 1) w_out[i] = float(philox::normal(seed, st(4), i) / 100.0);
  for (int i = 0; i < N; ++i) tg[i] = float(philox::normal(seed, st(5), i));

  net.w = Tensor::from_vector(w, {N, N});
  net.sign = Tensor::from_vector(sign, {N});
  net.som_m = Tensor::from_vector(som_m, {N, N});
  net.w_in = Tensor::from_vector(w_in, {N, C});
  net.w_out = Tensor::from_vector(w_out, {1, N});
  net.b_out = Tensor::zeros({1});
  net.taus_gaus = Tensor::from_vector(tg, {N, 1});
  net.taus_gaus0 = net.taus_gaus.clone();
  std::vector<float> w0(w.size());
  for (size_t k = 0; k < w.size(); ++k) w0[k] = cfg.apply_dale ? std::max(w[k], 0.f) : w[k];
  net.w0 = Tensor::from_vector(w0, {N, N});
  return net;
}

RateRunOptions RateRunOptions::from(const RateConfig& cfg, uint64_t seed,
                                    std::vector<uint64_t> trials) {
  RateRunOptions o;
  o.act = cfg.act;
  o.taus = cfg.taus;
  o.noise_std = cfg.noise_std;
  o.x0_std = cfg.x0_std;
  o.delta_t = cfg.delta_t;
  o.rectify = cfg.apply_dale;
  o.seed = seed;
  o.trials = std::move(trials);
  return o;
}

namespace {
// Noise of unit i at step t of trial stream `st`: Philox block t*ceil(N/4) + i/4, word i%4.
template <class R>
void add_noise(R* x, int N, uint64_t seed, uint64_t st, int t, R scale) {
  const uint64_t nb = (uint64_t(N) + 3) / 4;
  for (int i0 = 0; i0 < N; i0 += 4) {
    float z[4];
    normal4(seed, st, uint64_t(t) * nb + uint64_t(i0 / 4), z);
    for (int k = 0; k < 4 && i0 + k < N; ++k) x[i0 + k] += scale * R(z[k]);
  }
}

// Small problems (one trial: N x N matrix-vector products) lose to thread start-up and, on
// shared machines, to oversubscription: they run on one BLAS thread (BlasThreadsGuard).

struct Saved {
  int B, N, C, T;
  std::vector<double> taus;
  int act;
  double delta_t;
  bool rectify;
  Tensor w, sign, som_m, taus_gaus;
};

template <class R>
struct Work {
  std::vector<R> weff, alpha;  // (N, N), (N)
  std::vector<R> X, Rr, D;     // (T, B, N): state, rate, P - x[t-1]
};

template <class R>
void prepare(const Tensor& w, const Tensor& sign, const Tensor& som_m, const Tensor& taus_gaus,
             const RateRunOptions& opt, int N, std::vector<R>& weff, std::vector<R>& alpha) {
  weff.resize(size_t(N) * N);
  const R *pw = w.data<R>(), *ps = sign.data<R>(), *pm = som_m.data<R>();
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      const size_t k = size_t(i) * N + j;
      weff[k] = (!opt.rectify || pw[k] > R(0) ? pw[k] : R(0)) * ps[j] * pm[k];
    }
  alpha.resize(N);
  const R* pg = opt.taus.size() == 2 ? taus_gaus.data<R>() : nullptr;
  for (int i = 0; i < N; ++i) {
    const R tau = pg ? R(opt.taus[1] - opt.taus[0]) / (R(1) + std::exp(-pg[i])) + R(opt.taus[0])
                     : R(opt.taus[0]);
    alpha[i] = R(opt.delta_t) / tau;
  }
}

// Forward over all T steps for B trials; state layout (T, B, N) so that one GEMM forms the
// weight gradient over all steps and trials (K = (T-1) B).
template <class R>
void forward_batched(const Tensor& w_out, const Tensor& b_out, const Tensor& w_in, const R* pu,
                     const uint64_t* trials, const RateRunOptions& opt, int B, int N, int C, int T,
                     Work<R>& wk, R* o) {
  const int act = int(opt.act);
  wk.X.assign(size_t(T) * B * N, R(0));
  wk.Rr.assign(size_t(T) * B * N, R(0));
  wk.D.assign(size_t(T) * B * N, R(0));
  const R *pwo = w_out.data<R>(), *pwi = w_in.data<R>();
  const R bo = b_out.data<R>()[0];
  for (int b = 0; b < B; ++b) {
    const uint64_t st = stream_id(Draw::rate_x0, trials[b]);
    R* x = &wk.X[size_t(b) * N];
    for (int i = 0; i < N; ++i) x[i] = R(opt.x0_std) * R(normal_at(opt.seed, st, i));
    for (int i = 0; i < N; ++i) wk.Rr[size_t(b) * N + i] = rate_act<R>(act, x[i]);
  }
  for (int t = 1; t < T; ++t) {
    const R* rp = &wk.Rr[size_t(t - 1) * B * N];
    const R* xp = &wk.X[size_t(t - 1) * B * N];
    R* P = &wk.D[size_t(t) * B * N];
    if (B == 1)
      kernels::matvec_cpu(P, wk.weff.data(), rp, N, N, false, false);
    else  // P (B, N) = R[t-1] (B, N) Weff^T
      kernels::matmul_cpu(P, rp, wk.weff.data(), B, N, N, false, true, false);
    R* X = &wk.X[size_t(t) * B * N];
    R* Rt = &wk.Rr[size_t(t) * B * N];
    for (int b = 0; b < B; ++b) {
      R* Pb = P + size_t(b) * N;
      const R* ub = pu + size_t(b) * C * T;
      for (int c = 0; c < C; ++c) {
        const R uc = ub[size_t(c) * T + (t - 1)];
        if (uc != R(0))
          for (int i = 0; i < N; ++i) Pb[i] += pwi[size_t(i) * C + c] * uc;
      }
      const R* xb = xp + size_t(b) * N;
      R* Xb = X + size_t(b) * N;
      for (int i = 0; i < N; ++i) {
        Pb[i] -= xb[i];  // D = P - x[t-1]
        Xb[i] = xb[i] + wk.alpha[i] * Pb[i];
      }
      if (opt.noise_std > 0)
        add_noise(Xb, N, opt.seed, stream_id(Draw::rate_noise, trials[b]), t, R(opt.noise_std));
      R* Rb = Rt + size_t(b) * N;
      R acc = bo;
      for (int i = 0; i < N; ++i) {
        Rb[i] = rate_act<R>(act, Xb[i]);
        acc += pwo[i] * Rb[i];
      }
      o[size_t(b) * (T - 1) + (t - 1)] = acc;
    }
  }
}

template <class R>
std::vector<Tensor> backward_batched(const Saved& s, const Work<R>& wk, const Tensor& w_out,
                                     const R* dO, int B, bool want_taus) {
  const int N = s.N, T = s.T;
  const R* pwo = w_out.data<R>();
  std::vector<R> a_next(size_t(B) * N, R(0)), a(size_t(B) * N);
  std::vector<R> aA(size_t(T) * B * N, R(0));  // alpha .* a[t], rows t = 1..T-1 used
  std::vector<R> G(size_t(B) * N);
  std::vector<double> dalpha(N, 0.0), dwo(N, 0.0);
  double dbo = 0;
  for (int t = T - 1; t >= 1; --t) {
    if (t < T - 1) {  // G = (alpha .* a[t+1]) Weff
      const R* an = &aA[size_t(t + 1) * B * N];
      if (B == 1)
        kernels::matvec_cpu(G.data(), wk.weff.data(), an, N, N, true, false);
      else
        kernels::matmul_cpu(G.data(), an, wk.weff.data(), B, N, N, false, false, false);
    } else {
      std::fill(G.begin(), G.end(), R(0));
    }
    const R* X = &wk.X[size_t(t) * B * N];
    const R* Rt = &wk.Rr[size_t(t) * B * N];
    const R* D = &wk.D[size_t(t) * B * N];
    R* aAt = &aA[size_t(t) * B * N];
    for (int b = 0; b < B; ++b) {
      const R g_o = dO[size_t(b) * (T - 1) + (t - 1)];
      dbo += g_o;
      for (int i = 0; i < N; ++i) {
        const size_t k = size_t(b) * N + i;
        dwo[i] += double(g_o) * Rt[k];
        const R gr = g_o * pwo[i] + G[k];
        a[k] = rate_act_grad<R>(s.act, X[k], Rt[k]) * gr + (R(1) - wk.alpha[i]) * a_next[k];
        aAt[k] = wk.alpha[i] * a[k];
        dalpha[i] += double(a[k]) * D[k];
      }
    }
    std::swap(a, a_next);
  }
  // dWeff (N, N) = sum_{t>=1, b} aA[t,b,:]^T R[t-1,b,:]
  std::vector<R> dWeff(size_t(N) * N, R(0));
  if (T > 1)
    kernels::matmul_cpu(dWeff.data(), &aA[size_t(B) * N], wk.Rr.data(), N, int64_t(T - 1) * B, N, true, false,
                        false);
  Tensor dw = Tensor::empty({N, N}, dtype_of<R>());
  {
    const R *pw = s.w.data<R>(), *ps = s.sign.data<R>(), *pm = s.som_m.data<R>();
    R* pd = dw.data<R>();
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j) {
        const size_t k = size_t(i) * N + j;
        pd[k] = !s.rectify || pw[k] > R(0) ? dWeff[k] * ps[j] * pm[k] : R(0);  // relu'(0) = 0
      }
  }
  Tensor dwo_t = Tensor::empty({1, N}, dtype_of<R>());
  for (int i = 0; i < N; ++i) dwo_t.data<R>()[i] = R(dwo[i]);
  Tensor dbo_t = Tensor::full({1}, dbo, dtype_of<R>());
  Tensor dg;
  if (want_taus) {
    dg = Tensor::empty(s.taus_gaus.shape(), dtype_of<R>());
    const R* pg = s.taus_gaus.data<R>();
    const double span = s.taus[1] - s.taus[0];
    for (int i = 0; i < N; ++i) {
      const double sg = 1.0 / (1.0 + std::exp(-double(pg[i])));
      const double tau = span * sg + s.taus[0];
      dg.data<R>()[i] = R(dalpha[i] * (-s.delta_t / (tau * tau)) * span * sg * (1.0 - sg));
    }
  }
  return {dw, dwo_t, dbo_t, dg};
}

void check_inputs(const Tensor& w, const Tensor& w_out, const Tensor& b_out, const Tensor& tg,
                  const Tensor& sign, const Tensor& som_m, const Tensor& w_in, const Tensor& u,
                  const RateRunOptions& opt) {
  const int64_t N = w.size(0);
  check_shape(w, {N, N}, "rate_rnn: w");
  check_shape(w_out, {1, N}, "rate_rnn: w_out");
  check_shape(b_out, {1}, "rate_rnn: b_out");
  check_shape(sign, {N}, "rate_rnn: sign");
  check_shape(som_m, {N, N}, "rate_rnn: som_m");
  RSNN_CHECK(w_in.ndim() == 2 && w_in.size(0) == N, "rate_rnn: w_in: expected shape [", N,
             ", C], got ", w_in.shape_str());
  RSNN_CHECK(u.ndim() == 3 && u.size(1) == w_in.size(1) && u.size(2) >= 2,
             "rate_rnn: u: expected shape [B, ", w_in.size(1), ", T >= 2], got ", u.shape_str());
  RSNN_CHECK(int64_t(opt.trials.size()) == u.size(0), "rate_rnn: ", opt.trials.size(),
             " trial ids for a batch of ", u.size(0));
  RSNN_CHECK(opt.taus.size() == 1 || opt.taus.size() == 2, "rate_rnn: taus needs 1 or 2 values");
  if (opt.taus.size() == 2) check_shape(tg, {N, 1}, "rate_rnn: taus_gaus");
  for (const Tensor* t : {&w_out, &b_out, &sign, &som_m, &w_in, &u}) {
    check_dtype(*t, w.dtype(), "rate_rnn: every tensor must have w's dtype");
    RSNN_CHECK(t->device().is_cpu(), "rate_rnn: CPU tensors expected, got ", t->describe());
  }
  if (opt.taus.size() == 2) check_dtype(tg, w.dtype(), "rate_rnn: taus_gaus");
}
}  // namespace

ag::Var rate_rnn(const ag::Var& w, const ag::Var& w_out, const ag::Var& b_out,
                 const ag::Var& taus_gaus, const Tensor& sign, const Tensor& som_m,
                 const Tensor& w_in, const Tensor& u, const RateRunOptions& opt, RateTrace* trace) {
  const bool train_taus = opt.taus.size() == 2;
  const Tensor tg = taus_gaus.defined() ? taus_gaus.value() : Tensor();
  check_inputs(w.value(), w_out.value(), b_out.value(), tg, sign, som_m, w_in, u, opt);
  const int B = int(u.size(0)), C = int(u.size(1)), T = int(u.size(2)), N = int(w.value().size(0));
  std::vector<ag::Var> inputs = {w, w_out, b_out};
  if (train_taus && taus_gaus.defined()) inputs.push_back(taus_gaus);
  const bool rec = ag::will_record(inputs);
  Tensor o = Tensor::empty({B, T - 1}, w.dtype());
  auto saved = std::make_shared<Saved>();
  saved->B = B; saved->N = N; saved->C = C; saved->T = T;
  saved->taus = opt.taus; saved->act = int(opt.act); saved->delta_t = opt.delta_t;
  saved->rectify = opt.rectify;
  saved->w = w.value(); saved->sign = sign; saved->som_m = som_m; saved->taus_gaus = tg;

  // The batch is split into chunks, one per thread, each running all T steps on its own
  // (single-threaded BLAS): one fork-join per pass instead of one per step.
  const int nchunks = std::max(1, std::min(num_threads(), B / 8));
  std::vector<int> b0(nchunks + 1);
  for (int c = 0; c <= nchunks; ++c) b0[c] = int(int64_t(B) * c / nchunks);

  return dispatch_float(w.dtype(), "rate_rnn", [&](auto tag) {
    using R = decltype(tag);
    std::vector<std::shared_ptr<Work<R>>> wk(nchunks);
    BlasThreadsGuard single(nchunks > 1 || int64_t(B) * N < 8192);
    std::string err;
#pragma omp parallel for schedule(static, 1) if (nchunks > 1)
    for (int c = 0; c < nchunks; ++c) {
      try {
        wk[c] = std::make_shared<Work<R>>();
        prepare<R>(w.value(), sign, som_m, tg, opt, N, wk[c]->weff, wk[c]->alpha);
        forward_batched<R>(w_out.value(), b_out.value(), w_in, u.data<R>() + size_t(b0[c]) * C * T,
                           opt.trials.data() + b0[c], opt, b0[c + 1] - b0[c], N, C, T, *wk[c],
                           o.data<R>() + size_t(b0[c]) * (T - 1));
      } catch (const std::exception& e) {
#pragma omp critical(rsnn_rate_rnn_err)
        err = e.what();
      }
    }
    RSNN_CHECK(err.empty(), err);
    if (trace) {  // (T, Bc, N) per chunk -> (B, T, N)
      trace->x = Tensor::empty({B, T, N}, dtype_of<R>());
      trace->r = Tensor::empty({B, T, N}, dtype_of<R>());
      for (int c = 0; c < nchunks; ++c) {
        const int Bc = b0[c + 1] - b0[c];
        for (int t = 0; t < T; ++t)
          for (int b = 0; b < Bc; ++b) {
            const size_t src = (size_t(t) * Bc + b) * N, dst = (size_t(b0[c] + b) * T + t) * N;
            std::copy_n(wk[c]->X.data() + src, N, trace->x.template data<R>() + dst);
            std::copy_n(wk[c]->Rr.data() + src, N, trace->r.template data<R>() + dst);
          }
      }
    }
    const Tensor wo = w_out.value();
    const bool want_taus = train_taus && taus_gaus.defined();
    if (!rec) return ag::record1("rate_rnn", inputs, o, nullptr);
    return ag::record1(
        "rate_rnn", inputs, o, [saved, wk, wo, want_taus, b0, nchunks](const std::vector<Tensor>& g) {
          const int T = saved->T;
          std::vector<std::vector<Tensor>> parts(nchunks);
          BlasThreadsGuard single(nchunks > 1 || int64_t(saved->B) * saved->N < 8192);
#pragma omp parallel for schedule(static, 1) if (nchunks > 1)
          for (int c = 0; c < nchunks; ++c)
            parts[c] = backward_batched<R>(*saved, *wk[c], wo,
                                           g[0].data<R>() + size_t(b0[c]) * (T - 1),
                                           b0[c + 1] - b0[c], want_taus);
          std::vector<Tensor> grads = parts[0];
          for (int c = 1; c < nchunks; ++c)
            for (size_t k = 0; k < grads.size(); ++k)
              if (grads[k].defined()) kernels::accumulate_(grads[k], parts[c][k]);
          if (!want_taus) grads.pop_back();
          return grads;
        });
  });
}

// ---------------------------------------------------------------- loss
std::vector<double> rate_loss_per_trial(const Tensor& o, const Tensor& z, LossKind kind) {
  RSNN_CHECK(o.ndim() == 2 && z.ndim() == 2 && z.size(0) == o.size(0) && z.size(1) == o.size(1) + 1,
             "rate_loss: o must be [B, T-1] and z [B, T], got ", o.shape_str(), " and ",
             z.shape_str());
  const auto ov = o.to_vector<double>(), zv = z.to_vector<double>();
  const int64_t B = o.size(0), K = o.size(1);
  std::vector<double> l(B, 0.0);
  for (int64_t b = 0; b < B; ++b) {
    double s = 0;
    for (int64_t k = 0; k < K; ++k) {
      const double d = ov[b * K + k] - zv[b * (K + 1) + k];
      s += kind == LossKind::l2 ? d * d : std::fabs(d);
    }
    l[b] = kind == LossKind::l2 ? std::sqrt(s) : s;
  }
  return l;
}

ag::Var rate_loss(const ag::Var& o, const Tensor& z, LossKind kind, int64_t batch) {
  const Tensor ov = o.value();
  const auto per = rate_loss_per_trial(ov, z, kind);
  RSNN_CHECK(batch >= 0, "rate_loss: batch must be >= 0, got ", batch);
  const int64_t B = batch > 0 ? batch : ov.size(0), K = ov.size(1);
  double mean = 0;
  for (double v : per) mean += v / double(B);
  Tensor out = Tensor::full({1}, mean, ov.dtype());
  return ag::record1("rate_loss", {o}, out, [ov, z, kind, per, B, K](const std::vector<Tensor>& g) {
    const double seed = g[0].to_vector<double>()[0];
    const auto o_ = ov.to_vector<double>(), z_ = z.to_vector<double>();
    const int64_t rows = ov.size(0);
    std::vector<double> d(rows * K);
    for (int64_t b = 0; b < rows; ++b)
      for (int64_t k = 0; k < K; ++k) {
        const double diff = o_[b * K + k] - z_[b * (K + 1) + k];
        double gk;
        if (kind == LossKind::l2)
          gk = per[b] > 0 ? diff / per[b] : 0.0;
        else
          gk = diff > 0 ? 1.0 : (diff < 0 ? -1.0 : 0.0);
        d[b * K + k] = seed * gk / double(B);
      }
    return std::vector<Tensor>{Tensor::from_vector(d, {rows, K}).to_dtype(ov.dtype())};
  });
}

// ---------------------------------------------------------------- reference
std::vector<double> rate_rnn_reference(const RateNet& net, const std::vector<double>& u, int T,
                                       const RateRunOptions& opt, uint64_t trial,
                                       const std::vector<double>* dO, RateReferenceGrads* grads) {
  const int N = net.N(), C = int(net.w_in.size(1));
  RSNN_CHECK(int64_t(u.size()) == int64_t(C) * T, "rate_rnn_reference: u has ", u.size(),
             " values, expected C*T = ", C * T);
  const auto w = net.w.to_vector<double>(), s = net.sign.to_vector<double>(),
             m = net.som_m.to_vector<double>(), wi = net.w_in.to_vector<double>(),
             wo = net.w_out.to_vector<double>(), g = net.taus_gaus.to_vector<double>();
  const double bo = net.b_out.item<double>();
  const int act = int(opt.act);
  std::vector<double> weff(size_t(N) * N), alpha(N), tau = taus_from_gaus(opt.taus, net.taus_gaus);
  for (int i = 0; i < N; ++i) {
    alpha[i] = opt.delta_t / tau[i];
    for (int j = 0; j < N; ++j)
      weff[i * N + j] = (opt.rectify ? std::max(w[i * N + j], 0.0) : w[i * N + j]) * s[j] * m[i * N + j];
  }
  std::vector<std::vector<double>> x(T, std::vector<double>(N)), r = x, pre = x;
  const uint64_t sx = stream_id(Draw::rate_x0, trial), sn = stream_id(Draw::rate_noise, trial);
  const uint64_t nb = (uint64_t(N) + 3) / 4;
  for (int i = 0; i < N; ++i) {
    x[0][i] = opt.x0_std * double(normal_at(opt.seed, sx, i));
    r[0][i] = rate_act<double>(act, x[0][i]);
  }
  std::vector<double> o(T - 1);
  for (int t = 1; t < T; ++t) {
    for (int i = 0; i < N; ++i) {
      double p = 0;
      for (int j = 0; j < N; ++j) p += weff[i * N + j] * r[t - 1][j];
      for (int c = 0; c < C; ++c) p += wi[i * C + c] * u[size_t(c) * T + t - 1];
      pre[t][i] = p;
      const double noise =
          opt.noise_std > 0 ? opt.noise_std * double(normal_at(opt.seed, sn, uint64_t(t) * nb * 4 + i)) : 0;
      x[t][i] = (1 - alpha[i]) * x[t - 1][i] + alpha[i] * p + noise;
      r[t][i] = rate_act<double>(act, x[t][i]);
    }
    double acc = bo;
    for (int i = 0; i < N; ++i) acc += wo[i] * r[t][i];
    o[t - 1] = acc;
  }
  if (!dO || !grads) return o;
  // BPTT, spec §1.7.
  grads->dw.assign(size_t(N) * N, 0.0);
  grads->dw_out.assign(N, 0.0);
  grads->dtaus_gaus.assign(N, 0.0);
  grads->db_out = 0;
  std::vector<double> dweff(size_t(N) * N, 0.0), dalpha(N, 0.0), a_next(N, 0.0), a(N);
  for (int t = T - 1; t >= 1; --t) {
    const double go = (*dO)[t - 1];
    grads->db_out += go;
    for (int i = 0; i < N; ++i) {
      grads->dw_out[i] += go * r[t][i];
      double gr = go * wo[i];
      for (int k = 0; k < N; ++k) gr += weff[k * N + i] * alpha[k] * a_next[k];
      a[i] = rate_act_grad<double>(act, x[t][i], r[t][i]) * gr + (1 - alpha[i]) * a_next[i];
    }
    for (int i = 0; i < N; ++i) {
      dalpha[i] += a[i] * (pre[t][i] - x[t - 1][i]);
      for (int j = 0; j < N; ++j) dweff[i * N + j] += alpha[i] * a[i] * r[t - 1][j];
    }
    a_next = a;
  }
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j)
      grads->dw[i * N + j] =
          !opt.rectify || w[i * N + j] > 0 ? dweff[i * N + j] * s[j] * m[i * N + j] : 0.0;
  if (opt.taus.size() == 2)
    for (int i = 0; i < N; ++i) {
      const double sg = 1 / (1 + std::exp(-g[i])), span = opt.taus[1] - opt.taus[0];
      grads->dtaus_gaus[i] = dalpha[i] * (-opt.delta_t / (tau[i] * tau[i])) * span * sg * (1 - sg);
    }
  return o;
}

}  // namespace rsnn::rate
