// Recurrent LIF layer: the fused op against a dense masked-GEMM path (and, see
// bench_recurrent_lif_unfused.cpp, the unfused primitive-op path), at barrel-cortex size and at
// scale, with the machine's floors measured in the same run.
//
// Names: RecurrentLIF/<impl>/<pass>/B:<B>/T:<T>[/N:<N>/p:<density %>]. <impl> is fused,
// dense or unfused; <pass> is fwd or fwd_bwd. Cases that would take minutes run at a smaller
// T (the name says which); compare them per step (counter ms_per_step).
// Counters: ms_per_step; neuron_steps/s; syn_events/s (forward spikes x out-degree);
// rate (spikes per neuron-step); push_frac (share of steps propagated by push);
// kept_B_per_ns (bytes kept for backward per neuron-step); floor_ms and x_floor (time over the
// floor, see floor_seconds below).
//
//   rsnn_bench --benchmark_filter=RecurrentLIF
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/lif_bench_common.h"
#include "autograd/recurrent_lif_unfused.h"
#include "kernels/lif_math.h"
#include "kernels/recurrent_lif.h"
#include "runtime/random.h"
#include "runtime/threads.h"

using namespace rsnn;
using namespace rsnn::lif_bench;

namespace {

// ---- fused ---------------------------------------------------------------------------------

void run_fused(benchmark::State& state, const Workload& w, bool backward) {
  kernels::LifForward last;
  double secs = 0;
  int64_t iters = 0;
  const Tensor dreadout = backward ? random_tensor({w.T, w.B, w.R}, -1e-3, 1e-3, 77) : Tensor();
  kernels::LifNeeds needs;
  needs.w = needs.tau_m = needs.tau_adp = needs.i_ext = needs.w_ro = true;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    last = kernels::recurrent_lif_forward(w.net->p, w.cfg, w.x, backward);
    if (backward) {
      kernels::LifGrads g =
          kernels::recurrent_lif_backward(w.net->p, w.cfg, w.x, last.saved, Tensor(), dreadout, needs);
      benchmark::DoNotOptimize(g.dw.raw());
    }
    secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++iters;
    last.saved = kernels::LifSaved();  // release before the next iteration
  }
  const double per_iter = secs / static_cast<double>(iters);
  set_common_counters(state, w, per_iter);
  const double r = static_cast<double>(last.stats.spikes) / static_cast<double>(w.T * w.B * w.N);
  state.counters["rate"] = r;
  state.counters["syn_events/s"] = static_cast<double>(last.stats.synaptic_events) / per_iter;
  state.counters["push_frac"] = static_cast<double>(last.stats.push_steps) /
                                static_cast<double>(last.stats.push_steps + last.stats.pull_steps);
  state.counters["threads"] = last.stats.threads;
  state.counters["kept_B_per_ns"] =
      backward ? (w.cfg.model == NeuronModel::alif ? 2.0 : 1.0) * sizeof(float) : 0.0;
  const double floor = lif_floor_seconds(w, r, backward);
  state.counters["floor_ms"] = floor * 1e3;
  state.counters["x_floor"] = per_iter / floor;
}

// ---- dense masked GEMM -------------------------------------------------------------------
// What a framework does with a dense masked recurrent matrix: per step and group, sgemm of
// the [B, N] spikes (this step's for earlier groups, the previous step's for the rest) with
// the dense signed weights, then the same neuron update (lif_math.h bodies). Backward: the
// reverse loop with two more sgemms per group (error to the spikes, dense weight gradient),
// masked at the end. States are kept in full ([T, B, N] v, a, u, s), as a framework would.
struct DenseNet {
  std::vector<float> W;  // [N, N] signed, row = target
  std::vector<float> mask;
};

void run_dense(benchmark::State& state, const Workload& w, bool backward) {
  const int64_t N = w.N, B = w.B, T = w.T, G = static_cast<int64_t>(w.cfg.group_offsets.size()) - 1;
  const auto& off = w.cfg.group_offsets;
  DenseNet dn;
  dn.W.assign(static_cast<size_t>(N * N), 0.f);
  dn.mask.assign(static_cast<size_t>(N * N), 0.f);
  {
    const int64_t* ptr = w.net->p.post_ptr.data<int64_t>();
    const int32_t* pre = w.net->p.pre_idx.data<int32_t>();
    const float* sign = w.net->p.source_sign.data<float>();
    for (int64_t i = 0; i < N; ++i)
      for (int64_t k = ptr[i]; k < ptr[i + 1]; ++k) {
        dn.W[i * N + pre[k]] = sign[pre[k]] * w.x.w.data<float>()[k];
        dn.mask[i * N + pre[k]] = 1.f;
      }
  }
  const auto m = kernels::lif::make_model<float>(w.cfg.model, w.cfg.dt, w.cfg.r_m, w.cfg.beta);
  const auto sg = kernels::lif::make_surrogate<float>(w.cfg.surrogate, w.cfg.sg_width, w.cfg.sg_scale);
  std::vector<kernels::lif::NeuronConst<float>> nc(N);
  for (int64_t i = 0; i < N; ++i)
    nc[i] = kernels::lif::neuron_const(m, w.x.tau_m.data<float>()[i], w.x.tau_adp.data<float>()[i],
                                       w.x.b_base.data<float>()[i]);
  const float* ext = w.x.i_ext.data<float>();
  const float* wro = w.x.w_ro.data<float>();
  const int64_t R = w.R, N_ro = w.x.w_ro.size(1);
  const Tensor dreadout = random_tensor({T, B, R}, -1e-3, 1e-3, 77);
  // readout neurons are two ranges; gather them into a [B, N_ro] matrix per step
  std::vector<int64_t> ro;
  for (const auto& r : w.cfg.readout)
    for (int64_t n = r.start; n < r.start + r.length; ++n) ro.push_back(n);

  std::vector<float> v((T + 1) * B * N), a((T + 1) * B * N), s((T + 1) * B * N), u(T * B * N);
  std::vector<float> cur(B * N), y(T * B * R), xro(B * N_ro);
  std::vector<float> dW, ds, dv(B * N), da(B * N), dI(B * N), dwro(R * N_ro), dsro(B * N_ro);
  double secs = 0;
  int64_t iters = 0, spikes = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    std::copy(w.x.v0.data<float>(), w.x.v0.data<float>() + B * N, v.begin());
    std::copy(w.x.a0.data<float>(), w.x.a0.data<float>() + B * N, a.begin());
    std::copy(w.x.s0.data<float>(), w.x.s0.data<float>() + B * N, s.begin());
    spikes = 0;
    for (int64_t t = 0; t < T; ++t) {
      float* sp = &s[t * B * N];
      float* sn = &s[(t + 1) * B * N];
      for (int64_t g = 0; g < G; ++g) {
        const int64_t o = off[g], n = off[g + 1] - off[g];
        if (n == 0) continue;
        // current for group g: C[B, n] = S_t[:, :o] W[o.., :o]^T + S_{t-1}[:, o:] W[o.., o:]^T
        if (o > 0)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, n, o, 1.f, sn, N, &dn.W[o * N], N,
                      0.f, &cur[0], n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, n, N - o, 1.f, sp + o, N,
                    &dn.W[o * N + o], N, o > 0 ? 1.f : 0.f, &cur[0], n);
        for (int64_t b = 0; b < B; ++b)
          for (int64_t i = o; i < o + n; ++i) {
            const int64_t at = b * N + i;
            float e = 0;
            if (i >= w.cfg.input_offset && i < w.cfg.input_offset + w.N_in)
              e = ext[(t * B + b) * w.N_in + i - w.cfg.input_offset];
            float vv = v[t * B * N + at], aa = a[t * B * N + at];
            const float uu = kernels::lif::neuron_step(m, nc[i], e + cur[b * n + i - o], sp[at], vv, aa);
            v[(t + 1) * B * N + at] = vv;
            a[(t + 1) * B * N + at] = aa;
            u[t * B * N + at] = uu;
            sn[at] = kernels::lif::spike_of(uu);
            spikes += sn[at] != 0.f;
          }
      }
      for (int64_t b = 0; b < B; ++b)
        for (size_t c = 0; c < ro.size(); ++c) xro[b * N_ro + c] = sn[b * N + ro[c]];
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, R, N_ro, 1.f, xro.data(), N_ro, wro,
                  N_ro, 0.f, &y[t * B * R], R);
    }
    if (backward) {
      dW.assign(static_cast<size_t>(N * N), 0.f);
      ds.assign(static_cast<size_t>((T + 1) * B * N), 0.f);
      std::fill(dv.begin(), dv.end(), 0.f);
      std::fill(da.begin(), da.end(), 0.f);
      std::fill(dwro.begin(), dwro.end(), 0.f);
      const float* gy = dreadout.data<float>();
      for (int64_t t = T - 1; t >= 0; --t) {
        float* sp = &s[t * B * N];
        float* sn = &s[(t + 1) * B * N];
        float* dsn = &ds[(t + 1) * B * N];
        float* dsp = &ds[t * B * N];
        // readout: ds += dy W_ro, dW_ro += dy^T x
        for (int64_t b = 0; b < B; ++b)
          for (size_t c = 0; c < ro.size(); ++c) xro[b * N_ro + c] = sn[b * N + ro[c]];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, N_ro, R, 1.f, gy + t * B * R, R, wro,
                    N_ro, 0.f, dsro.data(), N_ro);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, R, N_ro, B, 1.f, gy + t * B * R, R,
                    xro.data(), N_ro, 1.f, dwro.data(), N_ro);
        for (int64_t b = 0; b < B; ++b)
          for (size_t c = 0; c < ro.size(); ++c) dsn[b * N + ro[c]] += dsro[b * N_ro + c];
        for (int64_t g = G - 1; g >= 0; --g) {
          const int64_t o = off[g], n = off[g + 1] - off[g];
          if (n == 0) continue;
          for (int64_t b = 0; b < B; ++b)
            for (int64_t i = o; i < o + n; ++i) {
              const int64_t at = b * N + i;
              const auto gr = kernels::lif::neuron_step_backward(
                  m, nc[i], sg, dsn[at], nc[i].decay * dv[at], nc[i].rho * da[at], u[t * B * N + at],
                  a[(t + 1) * B * N + at], sp[at], a[t * B * N + at]);
              dv[at] = gr.dv;
              da[at] = gr.da;
              dsp[at] += gr.ds_prev;
              dI[b * n + i - o] = nc[i].in_gain * gr.dv;
            }
          // errors to the spikes and the dense weight gradient
          if (o > 0) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, o, n, 1.f, dI.data(), n, &dn.W[o * N], N,
                        1.f, dsn, N);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, o, B, 1.f, dI.data(), n, sn, N, 1.f,
                        &dW[o * N], N);
          }
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, N - o, n, 1.f, dI.data(), n,
                      &dn.W[o * N + o], N, 1.f, dsp + o, N);
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, N - o, B, 1.f, dI.data(), n, sp + o, N,
                      1.f, &dW[o * N + o], N);
        }
      }
      for (int64_t k = 0; k < N * N; ++k) dW[k] *= dn.mask[k];
      benchmark::DoNotOptimize(dW.data());
    }
    secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++iters;
  }
  const double per_iter = secs / static_cast<double>(iters);
  set_common_counters(state, w, per_iter);
  state.counters["rate"] = static_cast<double>(spikes) / static_cast<double>(T * B * N);
}

// ---- unfused: the same model from primitive tape ops (autograd/recurrent_lif_unfused.h) ------

void run_unfused(benchmark::State& state, const Workload& w, bool backward) {
  const Tensor dreadout = random_tensor({w.T, w.B, w.R}, -1e-3, 1e-3, 77);
  double secs = 0;
  int64_t iters = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    {
      ag::RecurrentLifInputs in;
      in.w = ag::Var(w.x.w, backward);
      in.tau_m = ag::Var(w.x.tau_m, backward);
      in.tau_adp = ag::Var(w.x.tau_adp, backward);
      in.i_ext = ag::Var(w.x.i_ext, backward);
      in.v0 = ag::Var(w.x.v0);
      in.a0 = ag::Var(w.x.a0);
      in.s0 = ag::Var(w.x.s0);
      in.w_ro = ag::Var(w.x.w_ro, backward);
      in.b_base = w.x.b_base;
      ag::RecurrentLifOutputs out = ag::recurrent_lif_unfused(w.net->p, w.cfg, in);
      if (backward) ag::backward(out.readout, dreadout);
      benchmark::DoNotOptimize(out.readout.value().raw());
    }  // the tape is released here, inside the timing
    secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++iters;
  }
  set_common_counters(state, w, secs / static_cast<double>(iters));
}

// ---- registration --------------------------------------------------------------------------

void register_case(const std::string& impl, bool backward, const WorkloadKey& key) {
  const std::string name = "RecurrentLIF/" + impl + "/" + (backward ? "fwd_bwd" : "fwd") + "/" + key.name();
  benchmark::RegisterBenchmark(name.c_str(), [impl, backward, key](benchmark::State& st) {
    Workload& w = workload(key);
    w.cfg.propagation = impl == "fused_pull"   ? Propagation::pull
                        : impl == "fused_push" ? Propagation::push
                                               : Propagation::automatic;
    if (impl.rfind("fused", 0) == 0) run_fused(st, w, backward);
    if (impl == "dense") run_dense(st, w, backward);
    if (impl == "unfused") run_unfused(st, w, backward);
  })->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.2);
}

const bool registered = [] {
  benchmark::RegisterBenchmark("RecurrentLIF/floor", [](benchmark::State& st) {
    for (auto _ : st) benchmark::DoNotOptimize(bench::measured_copy_bandwidth_gbs());
    st.counters["copy_GB/s"] = bench::measured_copy_bandwidth_gbs();
    st.counters["sgemm_GFLOP/s"] = bench::measured_sgemm_gflops();
  })->Iterations(1);
  // barrel cortex (spec W1): 4,418 neurons in 14 groups, ~1.27 M synapses
  for (int64_t B : {1, 16, 128})
    for (int64_t T : {110, 550})
      for (bool bwd : {false, true}) register_case("fused", bwd, {"barrel", B, T});
  for (bool bwd : {false, true}) register_case("fused", bwd, {"barrel", 128, 55});
  // baselines at barrel size, at a smaller T where the full run would take minutes (compare
  // ms_per_step; per step the work does not depend on T)
  for (int64_t B : {1, 16, 128})
    for (bool bwd : {false, true}) {
      register_case("dense", bwd, {"barrel", B, B >= 16 ? 55 : 110});
      register_case("unfused", bwd, {"barrel", B, B == 128 ? 11 : B == 16 ? 22 : 55});
    }
  // propagation strategies forced (Propagation::automatic picks per step)
  for (int64_t B : {1, 4, 16, 128})
    for (const char* impl : {"fused_pull", "fused_push"}) register_case(impl, false, {"barrel", B, 110});
  for (int64_t B : {1, 16})
    for (const char* impl : {"fused_pull", "fused_push"}) register_case(impl, false, {"random", B, 100, 4096, 0.10});
  // scale (W3): random E/I networks with a fixed in-degree
  struct S { int64_t N; double p; int64_t B, T; bool bwd; };
  for (const S& s : {S{4096, 0.10, 16, 500, true}, S{16384, 0.01, 16, 500, true}, S{16384, 0.01, 1, 500, true},
                     S{65536, 0.001, 16, 200, true}, S{65536, 0.001, 1, 500, true},
                     S{1 << 20, 0.00002, 1, 100, false}})
    for (bool bwd : {false, true})
      if (!bwd || s.bwd) register_case("fused", bwd, {"random", s.B, s.T, s.N, s.p});
  for (bool bwd : {false, true}) {
    register_case("dense", bwd, {"random", 16, 50, 4096, 0.10});
    register_case("unfused", bwd, {"random", 16, 20, 4096, 0.10});
    register_case("dense", bwd, {"random", 1, 50, 16384, 0.01});
    register_case("unfused", bwd, {"random", 16, 20, 16384, 0.01});
  }
  return true;
}();

}  // namespace
