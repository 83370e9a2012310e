// Every dense kernel, one fixture: each case states its inputs, outputs and how to run one
// implementation; the harness runs the CPU reference in float64 (the expected values), then
// the reference and the optimized CPU path in float32 (tolerance stated per case) and the
// optimized path in float64 (tight tolerance), and the CUDA path in both when a device is
// usable. Outputs start from random values (so an accumulating kernel that overwrites, or
// an overwriting kernel that accumulates, fails), are followed by guard values that must
// stay untouched, and must hold no NaN. The cases are in dense_kernel_cases.h.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "dense_kernel_cases.h"
#include "runtime/philox.h"
#include "test_util.h"

using namespace rsnn;

namespace {

using namespace rsnn::dense_cases;

constexpr double kAtol64 = 1e-9, kRtol64 = 1e-9;  // float64 results vs the float64 reference
constexpr int64_t kGuard = 16;
constexpr double kSentinel = -7777.0;  // exact in float32, float64 and int64

// ---- inputs and guarded outputs --------------------------------------------------------

// Uniform values on [lo, hi), drawn serially (the harness itself starts no OpenMP threads:
// on a loaded 2-core machine every parallel region costs a scheduler slice).
std::vector<double> uniform(int64_t n, uint64_t seed, uint64_t stream, double lo, double hi) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] =
        lo + (hi - lo) * philox::uniform_f64(seed, stream, static_cast<uint64_t>(i));
  return v;
}

// Float inputs are drawn in float64 and rounded through float32, so every precision sees
// the same values.
Ins make_inputs(const std::vector<Input>& spec, uint64_t seed) {
  Ins in;
  for (size_t i = 0; i < spec.size(); ++i) {
    const int64_t n = shape_numel(spec[i].shape);
    if (spec[i].classes > 0) {
      const std::vector<double> v = uniform(n, seed, i, 0.0, static_cast<double>(spec[i].classes));
      std::vector<int64_t> lab(v.size());
      for (size_t j = 0; j < v.size(); ++j)
        lab[j] = std::min<int64_t>(spec[i].classes - 1, static_cast<int64_t>(v[j]));
      in.push_back(Tensor::from_vector(lab, spec[i].shape));
    } else {
      const Tensor t =
          Tensor::from_vector(uniform(n, seed, i, spec[i].lo, spec[i].hi), spec[i].shape);
      in.push_back(t.to_dtype(DType::f32).to_dtype(DType::f64));
    }
  }
  return in;
}

Ins convert(const Ins& in64, DType t, Device d) {
  Ins out;
  for (const Tensor& x : in64)
    out.push_back(is_floating(x.dtype()) ? x.to_dtype(t).to(d) : x.to(d));
  return out;
}

// Starting values of the outputs (float64, or int64 -1 for index outputs).
Ins make_inits(const std::vector<Output>& spec, uint64_t seed) {
  Ins out;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i].index) {
      out.push_back(Tensor::full(spec[i].shape, -1.0, DType::i64));
    } else {
      const Tensor t = Tensor::from_vector(
          uniform(shape_numel(spec[i].shape), seed, 100 + i, -1, 1), spec[i].shape);
      out.push_back(t.to_dtype(DType::f32).to_dtype(DType::f64));
    }
  }
  return out;
}

struct Guarded {
  Tensor flat;  // n + kGuard values on the device
  Tensor view;  // the first n, in the output's shape
};

Guarded guarded(const Tensor& init64, bool index, DType t, Device d) {
  const int64_t n = init64.numel();
  const DType dt = index ? DType::i64 : t;
  std::vector<double> v = init64.to_vector<double>();
  v.resize(static_cast<size_t>(n + kGuard), kSentinel);
  Tensor flat = Tensor::from_vector(v).to_dtype(dt).to(d);
  return {flat, flat.narrow0(0, n).reshape(init64.shape())};
}

// Runs one implementation; checks the guards; returns every output as float64 values.
std::vector<std::vector<double>> run_impl(const Case& c, const Sizes& z, Impl impl, DType t,
                                          Device d, const Ins& in64, const Ins& init64,
                                          const std::vector<Output>& out_spec,
                                          const std::string& label) {
  Ins in = convert(in64, t, d);
  std::vector<Guarded> g;
  Outs views;
  for (size_t i = 0; i < init64.size(); ++i) {
    g.push_back(guarded(init64[i], out_spec[i].index, t, d));
    views.push_back(g.back().view);
  }
  c.run(impl, views, in, z);
  synchronize(d);
  std::vector<std::vector<double>> res;
  for (size_t i = 0; i < g.size(); ++i) {
    std::vector<double> all = g[i].flat.to_vector<double>();
    const size_t n = all.size() - kGuard;
    for (size_t j = n; j < all.size(); ++j)
      EXPECT_EQ(all[j], kSentinel) << label << ": output " << i << " guard value " << j - n
                                   << " overwritten (out-of-bounds write)";
    EXPECT_EQ(views[i].raw(), g[i].view.raw()) << label << ": output " << i << " reallocated";
    all.resize(n);
    res.push_back(all);
  }
  return res;
}

void expect_close(const std::vector<std::vector<double>>& got,
                  const std::vector<std::vector<double>>& want, double atol, double rtol,
                  const std::string& label) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t o = 0; o < got.size(); ++o) {
    ASSERT_EQ(got[o].size(), want[o].size()) << label;
    int failures = 0;
    for (size_t i = 0; i < got[o].size() && failures < 5; ++i) {
      const double g = got[o][i], w = want[o][i];
      if (std::isnan(g)) {
        ADD_FAILURE() << label << ": output " << o << "[" << i << "] is NaN (expected " << w << ")";
        ++failures;
      } else if (std::fabs(g - w) > atol + rtol * std::fabs(w)) {
        ADD_FAILURE() << label << ": output " << o << "[" << i << "] = " << g << ", expected " << w
                      << " (diff " << std::fabs(g - w) << ", atol " << atol << ", rtol " << rtol
                      << ")";
        ++failures;
      }
    }
  }
}

std::string sizes_str(const Sizes& z) {
  std::string s = "(";
  for (size_t i = 0; i < z.size(); ++i) s += (i ? "," : "") + std::to_string(z[i]);
  return s + ")";
}

void check_case(const Case& c, bool cuda) {
  uint64_t seed = 1;
  for (const Sizes& z : c.sizes) {
    const std::vector<Output> out_spec = c.outputs(z);
    const Ins in64 = make_inputs(c.inputs(z), seed);
    const Ins init64 = make_inits(out_spec, seed);
    ++seed;
    const std::string at = c.name + " " + sizes_str(z);
    const Device cpu = Device::cpu();
    const auto want =
        run_impl(c, z, Impl::ref, DType::f64, cpu, in64, init64, out_spec, at + " ref f64");
    for (const auto& o : want)
      for (double v : o) ASSERT_FALSE(std::isnan(v)) << at << ": the float64 reference gives NaN";
    if (!cuda) {
      expect_close(run_impl(c, z, Impl::ref, DType::f32, cpu, in64, init64, out_spec, at), want,
                   c.atol32, c.rtol32, at + " ref f32");
      expect_close(run_impl(c, z, Impl::cpu, DType::f32, cpu, in64, init64, out_spec, at), want,
                   c.atol32, c.rtol32, at + " cpu f32");
      expect_close(run_impl(c, z, Impl::cpu, DType::f64, cpu, in64, init64, out_spec, at), want,
                   kAtol64, kRtol64, at + " cpu f64");
    } else {
      const Device gpu = Device::cuda(0);
      expect_close(run_impl(c, z, Impl::cuda, DType::f32, gpu, in64, init64, out_spec, at), want,
                   c.atol32, c.rtol32, at + " cuda f32");
      expect_close(run_impl(c, z, Impl::cuda, DType::f64, gpu, in64, init64, out_spec, at), want,
                   kAtol64, kRtol64, at + " cuda f64");
    }
  }
}

class DenseKernel : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(DenseKernel, CpuMatchesReference) { check_case(GetParam(), false); }

TEST_P(DenseKernel, CudaMatchesReference) {
  RSNN_SKIP_WITHOUT_CUDA();
  check_case(GetParam(), true);
}

INSTANTIATE_TEST_SUITE_P(Ops, DenseKernel, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });
