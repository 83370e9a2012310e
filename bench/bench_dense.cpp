// Dense ops: the CPU reference vs the optimized CPU path (and CUDA when a device is usable),
// float32. Names carry the implementation: Linear/ref/fwd/..., Linear/cpu/fwd/...; the
// optimized cases report `vs_ref` (reference time / optimized time, same shape, same run)
// when the reference case ran first in this process (it does in a default run). Every case
// reports bytes/s, FLOP/s where it does GEMM work, and floor_ratio against the floors
// measured in this run (bench/floor.h).
//
// Linear shapes are the barrel-cortex readout: M = B*T rows (batch x time steps), K = 3606
// inputs (the recurrent neurons read out), N = 128 outputs. M = 128 is the shape for the
// ref-vs-optimized ratio (the reference needs ~0.1 s per call there); M = 2048 is a
// realistic training batch for the optimized paths.
#include <benchmark/benchmark.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "bench/floor.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/softmax.h"
#include "runtime/random.h"

using namespace rsnn;
namespace k = rsnn::kernels;

namespace {

enum class Impl { ref, cpu, cuda };
const char* impl_name(Impl i) { return i == Impl::ref ? "ref" : i == Impl::cpu ? "cpu" : "cuda"; }

Tensor rnd(const Shape& s, Device d, double lo = -1, double hi = 1) {
  static uint64_t stream = 0;
  Tensor t = Tensor::empty(s, DType::f32);
  fill_uniform(t, 3, ++stream, lo, hi);
  return t.to(d);
}

Device device_of(Impl i) { return i == Impl::cuda ? Device::cuda(0) : Device::cpu(); }

// Seconds per iteration of each reference case, by op and shape.
std::map<std::string, double>& ref_seconds() {
  static std::map<std::string, double> m;
  return m;
}

// The timing loop, plus the vs_ref bookkeeping. `key` names the op and shape, not the impl.
template <class F>
void run(benchmark::State& state, Impl impl, const std::string& key, F&& body) {
  const Device d = device_of(impl);
  const auto t0 = std::chrono::steady_clock::now();
  int64_t iters = 0;
  for (auto _ : state) {
    body();
    if (d.is_cuda()) synchronize(d);
    ++iters;
  }
  const double per_iter =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
      static_cast<double>(std::max<int64_t>(1, iters));
  if (impl == Impl::ref) {
    ref_seconds()[key] = per_iter;
  } else {
    auto it = ref_seconds().find(key);
    if (it != ref_seconds().end()) state.counters["vs_ref"] = it->second / per_iter;
  }
}

std::string key_of(const char* op, const benchmark::State& state, int nargs) {
  std::string k = op;
  for (int i = 0; i < nargs; ++i) k += "/" + std::to_string(state.range(i));
  return k;
}

// ---- cases -----------------------------------------------------------------------------

void linear_fwd(benchmark::State& state, Impl impl) {
  const int64_t M = state.range(0), K = state.range(1), N = state.range(2);
  const Device d = device_of(impl);
  const Tensor x = rnd({M, K}, d), w = rnd({N, K}, d), b = rnd({N}, d);
  Tensor out = Tensor::empty({M, N}, DType::f32, d);
  run(state, impl, key_of("linear_fwd", state, 3), [&] {
    if (impl == Impl::ref)
      k::linear_forward_ref(out.data<float>(), x.data<float>(), w.data<float>(), b.data<float>(), M,
                            K, N);
    else
      k::linear_forward(out, x, w, &b);
  });
  benchmark::DoNotOptimize(out.raw());
  rsnn::bench::set_floor_counters(state, 4.0 * (M * K + N * K + M * N + N), 2.0 * M * K * N);
}

void linear_bwd(benchmark::State& state, Impl impl) {
  const int64_t M = state.range(0), K = state.range(1), N = state.range(2);
  const Device d = device_of(impl);
  const Tensor x = rnd({M, K}, d), w = rnd({N, K}, d), dout = rnd({M, N}, d);
  Tensor dx = Tensor::zeros({M, K}, DType::f32, d), dw = Tensor::zeros({N, K}, DType::f32, d),
         db = Tensor::zeros({N}, DType::f32, d);
  run(state, impl, key_of("linear_bwd", state, 3), [&] {
    if (impl == Impl::ref)
      k::linear_backward_ref(dx.data<float>(), dw.data<float>(), db.data<float>(),
                             dout.data<float>(), x.data<float>(), w.data<float>(), M, K, N);
    else
      k::linear_backward(&dx, &dw, &db, dout, x, w);
  });
  benchmark::DoNotOptimize(dx.raw());
  // reads dout, x, W; reads and writes dx, dW, db
  const double bytes = 4.0 * (M * N + M * K + N * K + 2.0 * (M * K + N * K + N));
  rsnn::bench::set_floor_counters(state, bytes, 4.0 * M * K * N + M * N);
}

void softmax_fwd(benchmark::State& state, Impl impl) {
  const int64_t M = state.range(0), C = state.range(1);
  const Device d = device_of(impl);
  const Tensor x = rnd({M, C}, d, -5, 5);
  Tensor y = Tensor::empty({M, C}, DType::f32, d);
  run(state, impl, key_of("softmax_fwd", state, 2), [&] {
    if (impl == Impl::ref)
      k::softmax_forward_ref(y.data<float>(), x.data<float>(), M, C);
    else
      k::softmax_forward(y, x);
  });
  benchmark::DoNotOptimize(y.raw());
  rsnn::bench::set_floor_counters(state, 8.0 * M * C, 0);
}

void cross_entropy_fwd_bwd(benchmark::State& state, Impl impl) {
  const int64_t M = state.range(0), C = state.range(1);
  const Device d = device_of(impl);
  const Tensor logits = rnd({M, C}, d, -5, 5);
  Tensor lab = Tensor::empty({M}, DType::i64);
  for (int64_t m = 0; m < M; ++m) lab.data<int64_t>()[m] = (m * 7) % C;
  lab = lab.to(d);
  Tensor loss = Tensor::empty({1}, DType::f32, d), lse = Tensor::empty({M}, DType::f32, d);
  Tensor dlogits = Tensor::zeros({M, C}, DType::f32, d);
  const Tensor dloss = Tensor::full({1}, 1.0, DType::f32, d);
  run(state, impl, key_of("cross_entropy", state, 2), [&] {
    if (impl == Impl::ref) {
      k::cross_entropy_forward_ref(loss.data<float>(), lse.data<float>(), logits.data<float>(),
                                   lab.data<int64_t>(), M, C);
      k::cross_entropy_backward_ref(dlogits.data<float>(), dloss.data<float>(),
                                    logits.data<float>(), lse.data<float>(), lab.data<int64_t>(), M,
                                    C);
    } else {
      k::cross_entropy_forward(loss, &lse, logits, lab);
      k::cross_entropy_backward(dlogits, dloss, logits, lse, lab);
    }
  });
  benchmark::DoNotOptimize(dlogits.raw());
  // forward reads the logits; backward reads them again and reads + writes dlogits
  rsnn::bench::set_floor_counters(state, 4.0 * M * C * 4 + 8.0 * M * 2, 0);
}

void elementwise(benchmark::State& state, Impl impl, bool is_exp) {
  const int64_t n = state.range(0);
  const Device d = device_of(impl);
  const Tensor a = rnd({n}, d), b = rnd({n}, d);
  Tensor out = Tensor::empty({n}, DType::f32, d);
  run(state, impl, key_of(is_exp ? "exp" : "add", state, 1), [&] {
    if (is_exp) {
      if (impl == Impl::ref)
        k::unary_forward_ref(k::UnaryOp::exp, out.data<float>(), a.data<float>(), n, 0.f);
      else
        k::unary_forward(k::UnaryOp::exp, out, a);
    } else {
      if (impl == Impl::ref)
        k::binary_forward_ref(k::BinaryOp::add, out.data<float>(), a.data<float>(), b.data<float>(),
                              1, n, true, true);
      else
        k::binary_forward(k::BinaryOp::add, out, a, b);
    }
  });
  benchmark::DoNotOptimize(out.raw());
  rsnn::bench::set_floor_counters(state, 4.0 * n * (is_exp ? 2 : 3), 0);
}

// ---- registration ----------------------------------------------------------------------

void reg(const std::string& family, Impl impl, const std::string& pass,
         std::function<void(benchmark::State&)> fn, const std::vector<int64_t>& args,
         const std::vector<std::string>& names) {
  benchmark::RegisterBenchmark((family + "/" + impl_name(impl) + "/" + pass).c_str(), fn)
      ->Args(args)
      ->ArgNames(names)
      ->UseRealTime()
      ->MinTime(0.1)
      ->Unit(benchmark::kMillisecond);
}

[[maybe_unused]] const bool registered = [] {
  std::vector<Impl> fast = {Impl::cpu};
  if (cuda_usable()) fast.push_back(Impl::cuda);
  const std::vector<std::string> mkn = {"M", "K", "N"};
  for (Impl impl : {Impl::ref, Impl::cpu}) {
    reg(
        "Linear", impl, "fwd", [impl](benchmark::State& s) { linear_fwd(s, impl); },
        {128, 3606, 128}, mkn);
    reg(
        "Linear", impl, "bwd", [impl](benchmark::State& s) { linear_bwd(s, impl); },
        {128, 3606, 128}, mkn);
  }
  for (Impl impl : fast) {
    reg(
        "Linear", impl, "fwd", [impl](benchmark::State& s) { linear_fwd(s, impl); },
        {2048, 3606, 128}, mkn);
    reg(
        "Linear", impl, "bwd", [impl](benchmark::State& s) { linear_bwd(s, impl); },
        {2048, 3606, 128}, mkn);
  }
  std::vector<Impl> all = {Impl::ref, Impl::cpu};
  if (cuda_usable()) all.push_back(Impl::cuda);
  for (Impl impl : all) {
    reg("Softmax", impl, "fwd", [impl](benchmark::State& s) { softmax_fwd(s, impl); }, {4096, 128},
        {"M", "C"});
    reg("CrossEntropy", impl, "fwd+bwd",
        [impl](benchmark::State& s) { cross_entropy_fwd_bwd(s, impl); }, {8192, 32}, {"M", "C"});
    reg("Add", impl, "fwd", [impl](benchmark::State& s) { elementwise(s, impl, false); }, {1 << 22},
        {"n"});
    reg("Exp", impl, "fwd", [impl](benchmark::State& s) { elementwise(s, impl, true); }, {1 << 22},
        {"n"});
  }
  return true;
}();

}  // namespace
