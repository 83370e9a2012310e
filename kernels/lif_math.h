// Per-element math of spiking neurons: one step of a (adaptive) leaky integrate-and-fire
// neuron, its reverse-mode derivative, and the surrogate derivatives of the spike. These
// bodies are the only place the neuron equations are written; the CPU reference, the
// optimized CPU loops (kernels/recurrent_lif_cpu*.cpp) and the CUDA kernels all call them.
//
// Equations (spec barrel-cortex-rsnn.md §1.4; t = step, s[-1] = s0 may be real-valued):
//   alif: a[t]  = rho*a[t-1] + (1-rho)*s[t-1]            rho   = exp(-dt/tau_adp)
//         Th[t] = b_base + beta*a[t]
//         v[t]  = alpha*v[t-1] + (1-alpha)*r_m*I[t] - Th[t]*s[t-1]*dt
//                                                        alpha = exp(-dt/tau_m)
//   lif:  the same with beta = 0 and no adaptation state (Th = b_base)
//   if:   v[t]  = v[t-1] + r_m*I[t]*dt - Th*s[t-1]         (no leak, Th = b_base)
//   all:  u[t]  = v[t] - Th[t];   s[t] = H(u[t]) = 1 if u[t] > 0 else 0
// Units: dt and tau in the same time unit (steps of 1 by default); I in units of v / r_m.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "runtime/hd.h"

namespace rsnn {

enum class NeuronModel : int {
  lif = 0,   // leaky integrate-and-fire, fixed threshold
  alif = 1,  // adaptive LIF (spec §1.4): threshold b_base + beta * a
  if_ = 2,   // integrate-and-fire, no leak
};

// Surrogate derivative dH/du used by the backward pass in place of the Dirac delta.
enum class Surrogate : int {
  gaussian = 0,      // scale * exp(-u^2 / (2 width^2)) / (sqrt(2 pi) width)   (spec default 0.5, 0.5)
  fast_sigmoid = 1,  // scale / (1 + |u| / width)^2
  triangle = 2,      // scale / width * max(0, 1 - |u| / width)
};

namespace kernels::lif {

RSNN_HD float math_exp(float x) { return expf(x); }
RSNN_HD double math_exp(double x) { return exp(x); }

// exp(x) for x <= 0 in float32 without a library call, so loops over it vectorize on the CPU
// (and it runs unchanged on the GPU). Cody-Waite reduction x = k ln2 + f, |f| <= ln2/2, and
// the Cephes degree-6 polynomial: within 2 ulp of expf. Below -87 it returns exp(-87) ~ 1.6e-38.
RSNN_HD float exp_nonpositive(float x) {
  // x = max(x, -87) on the bit pattern: for x <= 0 a larger unsigned pattern is a larger
  // magnitude (NaN and -inf clamp too); an integer select keeps the loop branch-free under
  // the default trapping-math rules (a float select here stops GCC's vectorizer).
  uint32_t xu;
  memcpy(&xu, &x, sizeof(xu));
  xu = xu > 0xC2AE0000u ? 0xC2AE0000u : xu;  // 0xC2AE0000 = -87.0f
  memcpy(&x, &xu, sizeof(x));
  const float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(x / ln2)
  const float f = (x - k * 0.693359375f) + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * f + 1.3981999507e-3f;
  p = p * f + 8.3334519073e-3f;
  p = p * f + 4.1665795894e-2f;
  p = p * f + 1.6666665459e-1f;
  p = p * f + 5.0000001201e-1f;
  p = p * (f * f) + f + 1.0f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;  // 2^k, k in [-126, 0]
  float scale;
  memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}
RSNN_HD double exp_nonpositive(double x) { return exp(x); }
template <class T>
RSNN_HD T math_abs(T x) {
  return x < T(0) ? -x : x;
}

// Surrogate with its constants folded: computed once per call.
template <class T>
struct SurrogateParams {
  Surrogate kind = Surrogate::gaussian;
  T width = T(0.5);
  T scale = T(0.5);
  T c0 = T(0);  // gaussian: scale / (sqrt(2 pi) width); triangle: scale / width
  T c1 = T(0);  // gaussian: -1 / (2 width^2); others: 1 / width
};

template <class T>
inline SurrogateParams<T> make_surrogate(Surrogate kind, double width, double scale) {
  SurrogateParams<T> p;
  p.kind = kind;
  p.width = static_cast<T>(width);
  p.scale = static_cast<T>(scale);
  const double sqrt_2pi = 2.5066282746310002;
  if (kind == Surrogate::gaussian) {
    p.c0 = static_cast<T>(scale / (sqrt_2pi * width));
    p.c1 = static_cast<T>(-1.0 / (2.0 * width * width));
  } else if (kind == Surrogate::triangle) {
    p.c0 = static_cast<T>(scale / width);
    p.c1 = static_cast<T>(1.0 / width);
  } else {
    p.c0 = static_cast<T>(scale);
    p.c1 = static_cast<T>(1.0 / width);
  }
  return p;
}

// dH/du at u (the pseudo-derivative of the spike). The _k form takes the kind as a template
// argument (branch-free loops); the plain form dispatches to it.
template <Surrogate K, class T>
RSNN_HD T surrogate_grad_k(const SurrogateParams<T>& p, T u) {
  if (K == Surrogate::gaussian) return p.c0 * exp_nonpositive(p.c1 * u * u);
  if (K == Surrogate::fast_sigmoid) {
    const T d = T(1) + math_abs(u) * p.c1;
    return p.c0 / (d * d);
  }
  const T r = T(1) - math_abs(u) * p.c1;  // triangle
  const T r_pos = r > T(0) ? r : T(0);     // select values, then multiply (stays vectorizable)
  return r_pos * p.c0;
}

template <class T>
RSNN_HD T surrogate_grad(const SurrogateParams<T>& p, T u) {
  if (p.kind == Surrogate::gaussian) return surrogate_grad_k<Surrogate::gaussian>(p, u);
  if (p.kind == Surrogate::fast_sigmoid) return surrogate_grad_k<Surrogate::fast_sigmoid>(p, u);
  return surrogate_grad_k<Surrogate::triangle>(p, u);
}

template <class T>
RSNN_HD T spike_of(T u) {
  return u > T(0) ? T(1) : T(0);
}

// Constants shared by every neuron of a call.
template <class T>
struct ModelParams {
  NeuronModel model = NeuronModel::alif;
  T beta = T(1.8);       // threshold adaptation strength (alif only)
  T reset_gain = T(1);   // dt (lif, alif) or 1 (if): the reset subtracts Th * s[t-1] * reset_gain
  T r_m = T(1);
  T dt = T(1);
  RSNN_HD bool adaptive() const { return model == NeuronModel::alif; }
};

template <class T>
inline ModelParams<T> make_model(NeuronModel model, double dt, double r_m, double beta) {
  ModelParams<T> p;
  p.model = model;
  p.beta = static_cast<T>(model == NeuronModel::alif ? beta : 0.0);
  p.reset_gain = static_cast<T>(model == NeuronModel::if_ ? 1.0 : dt);
  p.r_m = static_cast<T>(r_m);
  p.dt = static_cast<T>(dt);
  return p;
}

// Constants of one neuron, computed once per call (not per step).
template <class T>
struct NeuronConst {
  T decay = T(1);      // alpha = exp(-dt/tau_m) (lif, alif); 1 (if)
  T in_gain = T(1);    // (1 - alpha) * r_m (lif, alif); r_m * dt (if): dv/dI
  T rho = T(0);        // exp(-dt/tau_adp) (alif)
  T one_m_rho = T(1);  // 1 - rho
  T b_base = T(0);     // baseline threshold
};

template <class T>
RSNN_HD NeuronConst<T> neuron_const(const ModelParams<T>& m, T tau_m, T tau_adp, T b_base) {
  NeuronConst<T> c;
  if (m.model == NeuronModel::if_) {
    c.decay = T(1);
    c.in_gain = m.r_m * m.dt;
  } else {
    c.decay = math_exp(-m.dt / tau_m);
    c.in_gain = (T(1) - c.decay) * m.r_m;
  }
  if (m.model == NeuronModel::alif) {
    c.rho = math_exp(-m.dt / tau_adp);
    c.one_m_rho = T(1) - c.rho;
  }
  c.b_base = b_base;
  return c;
}

// Threshold after the adaptation update (a = a[t]).
template <class T>
RSNN_HD T threshold(const ModelParams<T>& m, const NeuronConst<T>& c, T a) {
  return m.adaptive() ? c.b_base + m.beta * a : c.b_base;
}

// One step of one neuron. current = I[t]; s_prev = s[t-1]; v, a: state at t-1 in, t out
// (a untouched unless alif). Returns u[t] = v[t] - Th[t]; the spike is spike_of(u).
// The _m form takes the model as a template argument (branch-free loops); the plain form
// dispatches to it.
template <NeuronModel M, class T>
RSNN_HD T neuron_step_m(const ModelParams<T>& m, const NeuronConst<T>& c, T current, T s_prev,
                        T& v, T& a) {
  T th = c.b_base;
  if (M == NeuronModel::alif) {
    a = c.rho * a + c.one_m_rho * s_prev;
    th = c.b_base + m.beta * a;
  }
  v = c.decay * v + c.in_gain * current - th * s_prev * m.reset_gain;
  return v - th;
}

template <class T>
RSNN_HD T neuron_step(const ModelParams<T>& m, const NeuronConst<T>& c, T current, T s_prev,
                      T& v, T& a) {
  if (m.model == NeuronModel::alif) return neuron_step_m<NeuronModel::alif>(m, c, current, s_prev, v, a);
  return neuron_step_m<NeuronModel::lif>(m, c, current, s_prev, v, a);  // lif and if differ only in c
}

// Reverse of neuron_step for one neuron and step t.
//   ds:       dL/ds[t], complete (readout, later steps, synapses)
//   dv_carry: decay * dL/dv[t+1]   (0 at the last step)
//   da_carry: rho * dL/da[t+1]     (0 at the last step; alif)
//   u, a:     u[t] and a[t] as the forward computed them; s_prev = s[t-1]; a_prev = a[t-1]
template <class T>
struct StepGrad {
  T dv = T(0);       // dL/dv[t]; the input gets in_gain * dv, step t-1 gets decay * dv
  T da = T(0);       // dL/da[t] (alif); step t-1 gets rho * da
  T ds_prev = T(0);  // this neuron's own contribution to dL/ds[t-1] (reset and adaptation)
  T drho = T(0);     // d L / d rho from this step: da * (a_prev - s_prev)
};

template <NeuronModel M, Surrogate K, class T>
RSNN_HD StepGrad<T> neuron_step_backward_m(const ModelParams<T>& m, const NeuronConst<T>& c,
                                           const SurrogateParams<T>& sg, T ds, T dv_carry,
                                           T da_carry, T u, T a, T s_prev, T a_prev) {
  const T th = M == NeuronModel::alif ? c.b_base + m.beta * a : c.b_base;
  const T du = ds * surrogate_grad_k<K>(sg, u);
  const T dv = du + dv_carry;
  T ds_prev = -(th * m.reset_gain) * dv;
  T da = T(0), drho = T(0);
  if (M == NeuronModel::alif) {
    const T dth = -du - dv * s_prev * m.reset_gain;  // Th feeds u = v - Th and the reset
    da = m.beta * dth + da_carry;
    ds_prev += c.one_m_rho * da;
    drho = da * (a_prev - s_prev);
  }
  return StepGrad<T>{dv, da, ds_prev, drho};
}

template <NeuronModel M, class T>
RSNN_HD StepGrad<T> neuron_step_backward_m(const ModelParams<T>& m, const NeuronConst<T>& c,
                                           const SurrogateParams<T>& sg, T ds, T dv_carry,
                                           T da_carry, T u, T a, T s_prev, T a_prev) {
  if (sg.kind == Surrogate::gaussian)
    return neuron_step_backward_m<M, Surrogate::gaussian>(m, c, sg, ds, dv_carry, da_carry, u, a, s_prev, a_prev);
  if (sg.kind == Surrogate::fast_sigmoid)
    return neuron_step_backward_m<M, Surrogate::fast_sigmoid>(m, c, sg, ds, dv_carry, da_carry, u, a, s_prev,
                                                              a_prev);
  return neuron_step_backward_m<M, Surrogate::triangle>(m, c, sg, ds, dv_carry, da_carry, u, a, s_prev, a_prev);
}

template <class T>
RSNN_HD StepGrad<T> neuron_step_backward(const ModelParams<T>& m, const NeuronConst<T>& c,
                                         const SurrogateParams<T>& sg, T ds, T dv_carry,
                                         T da_carry, T u, T a, T s_prev, T a_prev) {
  if (m.model == NeuronModel::alif)
    return neuron_step_backward_m<NeuronModel::alif>(m, c, sg, ds, dv_carry, da_carry, u, a, s_prev, a_prev);
  return neuron_step_backward_m<NeuronModel::lif>(m, c, sg, ds, dv_carry, da_carry, u, a, s_prev, a_prev);
}

// dL/dtau from dL/d(decay factor): factor = exp(-dt/tau), d factor/d tau = factor*dt/tau^2.
template <class T>
RSNN_HD T dtau_from_dfactor(T dfactor, T factor, T tau, T dt) {
  return dfactor * factor * dt / (tau * tau);
}

}  // namespace kernels::lif
}  // namespace rsnn
