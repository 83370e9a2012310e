// Per-neuron math of the LIF network converted from a rate RNN (spec rate-to-spiking.md §3,
// `LIF_network_fnc.m`), shared by the CPU simulation and the CUDA kernel (one trial per
// block). Units: seconds, mV; currents in mV (the membrane equation is tm dv/dt = -v + I).
#pragma once
#include <cstdint>

#include "runtime/hd.h"

namespace rsnn::kernels::rate_lif {

struct LifConsts {
  double dt;        // s, 0.05 ms x downsample
  double tref;      // s, absolute refractory period
  double tm;        // s, membrane time constant
  double inv_tm;    // 1 / tm
  double vreset;    // mV
  double vpeak;     // mV, threshold
  double bias;      // mV, constant bias current (= vpeak)
  double tr;        // s, synaptic rise (0 = single exponential)
  double exp_tr;    // exp(-dt / tr), or 0 when tr == 0
  double noise_std; // mV per step
  double spike_peak;  // mV drawn at a spike in the voltage record (30)
};

// 0-based input column of LIF step s (1-based, as MATLAB's i): round(s / 100), MATLAB
// round (half away from zero) of a positive number. With downsample d the input columns
// are subsampled first (u(:, 1:d:end)), so there are always 100 steps per column.
RSNN_HD int64_t lif_input_column(int64_t s) { return (s + 50) / 100; }

// Membrane update of one neuron at step s (time t = dt s). No integration while refractory
// (t <= tlast + tref, which includes the first tref seconds since tlast starts at 0); the
// noise (already scaled) is always added. Returns whether the neuron spikes (v >= vpeak).
// The refractory gate multiplies, as the original's (dt*i > tlast + tref) .* (-v + I) / tm:
// no branch, so CPU loops over neurons vectorize (GCC will not speculate a guarded FP op).
RSNN_HD bool lif_voltage_step(const LifConsts& c, double t, double& v, double tlast, double ipsc,
                              double ext, double noise) {
  const double I = ipsc + c.bias + ext;
  const double dv = double(t > tlast + c.tref) * ((-v + I) * c.inv_tm);
  v = v + c.dt * dv + noise;
  return v >= c.vpeak;
}

// Synaptic and readout filters of one neuron after the step's spikes are known. jd: summed
// weights of this step's presynaptic spikes into the neuron; exp_td = exp(-dt / td) and
// jump = 1 / (tr td) (or 1 / td when tr = 0) of this neuron: lif_filter_jump(). Double
// exponential (tr > 0) uses the OLD h and hr, as the original.
RSNN_HD double lif_filter_jump(const LifConsts& c, double td) {
  return c.tr == 0.0 ? 1.0 / td : 1.0 / (c.tr * td);
}
// The two synapse shapes on their own (branch-free, so CPU loops over neurons vectorize).
RSNN_HD void lif_filter_step_single(bool spike, double jd, double exp_td, double jump, double& ipsc,
                                    double& r) {
  ipsc = ipsc * exp_td + jd * jump;
  r = r * exp_td + (spike ? jump : 0.0);
}
RSNN_HD void lif_filter_step_double(const LifConsts& c, bool spike, double jd, double exp_td,
                                    double jump, double& ipsc, double& h, double& r, double& hr) {
  ipsc = ipsc * exp_td + h * c.dt;
  h = h * c.exp_tr + jd * jump;
  r = r * exp_td + hr * c.dt;
  hr = hr * c.exp_tr + (spike ? jump : 0.0);
}
RSNN_HD void lif_filter_step(const LifConsts& c, bool spike, double jd, double exp_td, double jump,
                             double& ipsc, double& h, double& r, double& hr) {
  if (c.tr == 0.0)
    lif_filter_step_single(spike, jd, exp_td, jump, ipsc, r);
  else
    lif_filter_step_double(c, spike, jd, exp_td, jump, ipsc, h, r, hr);
}

// Spike bookkeeping: last spike time, then the value drawn in the voltage record, then reset.
RSNN_HD float lif_after_spike(const LifConsts& c, bool spike, double t, double& v, double& tlast) {
  const float drawn = spike ? float(c.spike_peak) : float(v);
  tlast = spike ? t : tlast;
  v = spike ? c.vreset : v;
  return drawn;
}

}  // namespace rsnn::kernels::rate_lif
