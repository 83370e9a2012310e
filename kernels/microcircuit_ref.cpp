// Microcircuit op: parameters, structure and argument checks, and the plain reference
// simulation (the specification the optimized CPU and CUDA versions are tested against).
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "kernels/microcircuit.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace rsnn::mc {

void NeuronParams::validate(const std::string& what) const {
  for (double x : {tau_m, tau_syn, c_m})
    RSNN_CHECK(std::isfinite(x) && x > 0, what, ": tau_m, tau_syn and c_m must be positive and finite");
  RSNN_CHECK(std::isfinite(t_ref) && t_ref >= 0, what, ": t_ref must be >= 0, got ", t_ref);
  RSNN_CHECK(std::isfinite(e_l) && std::isfinite(v_th) && std::isfinite(v_reset), what,
             ": e_l, v_th and v_reset must be finite");
  RSNN_CHECK(v_reset < v_th, what, ": v_reset (", v_reset, ") must be below v_th (", v_th, ")");
}

LifPropagators make_propagators(const NeuronParams& p, double dt) {
  p.validate("microcircuit neuron parameters");
  RSNN_CHECK(std::isfinite(dt) && dt > 0, "microcircuit: dt must be positive, got ", dt);
  const double steps = p.t_ref / dt, ref = std::round(steps);
  RSNN_CHECK(std::fabs(steps - ref) <= 1e-9 * std::max(1.0, steps), "microcircuit: t_ref (", p.t_ref,
             " ms) is not a whole number of steps of ", dt, " ms");
  LifPropagators q;
  q.p22 = static_cast<float>(std::exp(-dt / p.tau_m));
  q.p11 = static_cast<float>(std::exp(-dt / p.tau_syn));
  q.p20 = static_cast<float>(-p.tau_m / p.c_m * std::expm1(-dt / p.tau_m));
  // Response of V to a unit I_syn decaying with tau_syn: tau_m tau_s / (C (tau_s - tau_m)) *
  // (e^{-h/tau_s} - e^{-h/tau_m}), written with expm1 to stay accurate when the taus are close.
  const double a = dt / p.tau_m - dt / p.tau_syn;
  if (std::fabs(a) < 1e-12)
    q.p21 = static_cast<float>(dt / p.c_m * std::exp(-dt / p.tau_m));
  else
    q.p21 = static_cast<float>(std::exp(-dt / p.tau_m) * std::expm1(a) * p.tau_m * p.tau_syn /
                               (p.c_m * (p.tau_syn - p.tau_m)));
  q.v_th = static_cast<float>(p.v_th - p.e_l);
  q.v_reset = static_cast<float>(p.v_reset - p.e_l);
  q.ref_steps = static_cast<int32_t>(ref);
  return q;
}

int DelayCsr::min_delay() const {
  int d = 255;
  for (uint32_t w : syn) d = std::min(d, synapse_delay(w));
  return syn.empty() ? 1 : d;
}
int DelayCsr::max_delay() const {
  int d = 1;
  for (uint32_t w : syn) d = std::max(d, synapse_delay(w));
  return d;
}

void DelayCsr::validate(const std::string& what) const {
  RSNN_CHECK(n >= 0 && n <= kMaxNeurons, what, ": neuron count ", n, " outside [0, 2^24]");
  RSNN_CHECK(static_cast<int64_t>(ptr.size()) == n + 1, what, ": ptr has ", ptr.size(),
             " entries, expected ", n + 1);
  RSNN_CHECK(ptr[0] == 0 && ptr[n] == nnz(), what, ": ptr must run from 0 to nnz (", nnz(), ")");
  RSNN_CHECK(weight.size() == syn.size(), what, ": syn and weight lengths differ");
  for (int64_t s = 0; s < n; ++s) {
    RSNN_CHECK(ptr[s] <= ptr[s + 1], what, ": ptr decreases at source ", s);
    for (int64_t k = ptr[s]; k < ptr[s + 1]; ++k) {
      RSNN_CHECK(target(k) < n, what, ": target ", target(k), " of synapse ", k, " outside [0, ", n, ")");
      RSNN_CHECK(k == ptr[s] || syn[k - 1] <= syn[k], what, ": row ", s, " not sorted by (delay, target)");
      RSNN_CHECK(delay(k) >= 1, what, ": synapse ", k, " has delay 0 (delays are >= 1 step)");
      RSNN_CHECK(std::isfinite(weight[k]), what, ": weight of synapse ", k, " is not finite");
    }
  }
}

DelayCsr delay_csr_from_lists(int64_t n, const std::vector<int32_t>& src,
                              const std::vector<int32_t>& tgt, const std::vector<float>& weight,
                              const std::vector<int>& delay) {
  RSNN_CHECK(n >= 0 && n <= DelayCsr::kMaxNeurons, "delay_csr_from_lists: n = ", n, " outside [0, 2^24]");
  const size_t m = src.size();
  RSNN_CHECK(tgt.size() == m && weight.size() == m && delay.size() == m,
             "delay_csr_from_lists: src, tgt, weight and delay lengths differ");
  DelayCsr g;
  g.n = n;
  g.ptr.assign(n + 1, 0);
  for (size_t k = 0; k < m; ++k) {
    RSNN_CHECK(src[k] >= 0 && src[k] < n && tgt[k] >= 0 && tgt[k] < n, "delay_csr_from_lists: synapse ",
               k, " (", src[k], " -> ", tgt[k], ") outside [0, ", n, ")");
    RSNN_CHECK(delay[k] >= 1 && delay[k] <= 255, "delay_csr_from_lists: delay ", delay[k],
               " of synapse ", k, " outside 1..255 steps");
    ++g.ptr[src[k] + 1];
  }
  for (int64_t s = 0; s < n; ++s) g.ptr[s + 1] += g.ptr[s];
  std::vector<int64_t> order(m);
  std::iota(order.begin(), order.end(), int64_t(0));
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    if (src[a] != src[b]) return src[a] < src[b];
    if (delay[a] != delay[b]) return delay[a] < delay[b];
    if (tgt[a] != tgt[b]) return tgt[a] < tgt[b];
    return weight[a] < weight[b];
  });
  g.syn.resize(m);
  g.weight.resize(m);
  for (size_t k = 0; k < m; ++k) {
    g.syn[k] = pack_synapse(tgt[order[k]], delay[order[k]]);
    g.weight[k] = weight[order[k]];
  }
  g.validate("delay_csr_from_lists");
  return g;
}

void Drive::validate(int64_t n, const std::string& what) const {
  RSNN_CHECK(static_cast<int64_t>(i_dc.size()) == n && static_cast<int64_t>(bg_lambda.size()) == n &&
                 static_cast<int64_t>(bg_weight.size()) == n,
             what, ": i_dc, bg_lambda and bg_weight need ", n, " entries");
  for (int64_t i = 0; i < n; ++i) {
    RSNN_CHECK(std::isfinite(i_dc[i]) && std::isfinite(bg_weight[i]), what, ": drive of neuron ", i,
               " is not finite");
    // Inversion sums ~lam terms per draw; beyond this use a DC approximation instead.
    RSNN_CHECK(bg_lambda[i] >= 0 && bg_lambda[i] <= 100, what, ": bg_lambda of neuron ", i, " = ",
               bg_lambda[i], " outside [0, 100] events per step");
  }
}

std::vector<uint32_t> poisson_thresholds(double lam) {
  RSNN_CHECK(lam >= 0 && lam <= 100, "poisson_thresholds: lam ", lam, " outside [0, 100]");
  // poisson_count returns the first k with u <= cdf_k or pk_k == 0; u = (w + 0.5) / 2^32 is
  // exact, so u > cdf_k <=> w > cdf_k * 2^32 - 0.5 (exact too), i.e. w >= th_k.
  std::vector<uint32_t> th;
  double pk = std::exp(-lam), cdf = pk;
  for (int k = 0; pk > 0; ++k) {
    const double t = std::floor(std::ldexp(cdf, 32) - 0.5) + 1;
    if (t > 4294967295.0) break;  // no 32-bit word passes this term
    th.push_back(static_cast<uint32_t>(t));
    pk *= lam / (k + 1);
    cdf += pk;
  }
  return th;
}

namespace detail {
PoissonTables poisson_tables(const std::vector<double>& bg_lambda) {
  PoissonTables pt;
  pt.table.assign(bg_lambda.size(), -1);
  std::map<double, int32_t> made;  // lam -> table
  for (size_t i = 0; i < bg_lambda.size(); ++i) {
    const double lam = bg_lambda[i];
    if (!(lam > 0)) continue;
    auto it = made.find(lam);
    if (it == made.end()) {
      const std::vector<uint32_t> th = poisson_thresholds(lam);
      RSNN_CHECK(th.size() <= 255, "poisson_tables: lam ", lam, " needs ", th.size(), " thresholds (255 at most)");
      const int32_t q = static_cast<int32_t>(pt.len.size());
      pt.start.push_back(static_cast<int64_t>(pt.th.size()));
      pt.len.push_back(static_cast<int32_t>(th.size()));
      pt.th.insert(pt.th.end(), th.begin(), th.end());
      size_t k = 0;
      for (uint32_t b = 0; b < 256; ++b) {
        while (k < th.size() && th[k] <= (b << 24)) ++k;
        pt.lut.push_back(static_cast<uint8_t>(k));
      }
      it = made.emplace(lam, q).first;
    }
    pt.table[i] = it->second;
  }
  return pt;
}
}  // namespace detail

State make_state(int64_t n, int64_t max_delay, const std::vector<float>& v0) {
  RSNN_CHECK(static_cast<int64_t>(v0.size()) == n, "microcircuit: v0 has ", v0.size(), " entries for ",
             n, " neurons");
  State s;
  s.v = v0;
  s.i_syn.assign(n, 0.f);
  s.ref.assign(n, 0);
  s.ring.assign(static_cast<size_t>(max_delay + 1) * n, 0.f);
  return s;
}

State make_state(const DelayCsr& g, const std::vector<float>& v0) { return make_state(g.n, g.max_delay(), v0); }

namespace detail {
void check_sim_args(const DelayCsr& g, const Drive& drive, const State& state, int64_t steps,
                    const std::vector<int32_t>& record_v, const char* who) {
  RSNN_CHECK(steps >= 0, who, ": steps must be >= 0, got ", steps);
  RSNN_CHECK(static_cast<int64_t>(g.ptr.size()) == g.n + 1, who, ": malformed DelayCsr");
  drive.validate(g.n, std::string(who) + ": drive");
  const size_t n = static_cast<size_t>(g.n);
  RSNN_CHECK(state.v.size() == n && state.i_syn.size() == n && state.ref.size() == n, who,
             ": state sized for ", state.v.size(), " neurons, network has ", n);
  RSNN_CHECK(state.ring.size() == static_cast<size_t>(g.max_delay() + 1) * n, who,
             ": ring buffer sized for another delay range (make the state with make_state)");
  RSNN_CHECK(state.step >= 0, who, ": negative step count");
  for (int32_t i : record_v)
    RSNN_CHECK(i >= 0 && i < g.n, who, ": record_v index ", i, " outside [0, ", g.n, ")");
}
}  // namespace detail

SimResult simulate_reference(const DelayCsr& g, const LifPropagators& p, const Drive& drive,
                             State& state, int64_t steps, const std::vector<int32_t>& record_v) {
  detail::check_sim_args(g, drive, state, steps, record_v, "simulate_reference");
  const int64_t n = g.n, D = g.max_delay() + 1;
  std::vector<double> exp_neg(n);
  for (int64_t i = 0; i < n; ++i) exp_neg[i] = std::exp(-drive.bg_lambda[i]);
  SimResult r;
  std::vector<int32_t> fired;
  for (int64_t t = 0; t < steps; ++t, ++state.step) {
    const int64_t now = state.step;
    float* slot = &state.ring[(now % D) * n];
    fired.clear();
    for (int64_t i = 0; i < n; ++i) {
      int count = 0;
      if (drive.bg_lambda[i] > 0) {
        const double u = background_uniform(background_block(drive.seed, i, now), now);
        count = poisson_count(u, drive.bg_lambda[i], exp_neg[i]);
      }
      const float input = step_input(slot[i], drive.bg_weight[i], count);
      slot[i] = 0.f;
      if (lif_step(p, state.v[i], state.i_syn[i], state.ref[i], drive.i_dc[i], input))
        fired.push_back(static_cast<int32_t>(i));
    }
    for (int32_t i : record_v) r.v_trace.push_back(state.v[i]);
    for (int32_t s : fired)
      for (int64_t k = g.ptr[s]; k < g.ptr[s + 1]; ++k)
        state.ring[((now + g.delay(k)) % D) * n + g.target(k)] += g.weight[k];
    r.spikes.neuron.insert(r.spikes.neuron.end(), fired.begin(), fired.end());
    r.spikes.step_ptr.push_back(static_cast<int64_t>(r.spikes.neuron.size()));
  }
  return r;
}

}  // namespace rsnn::mc
