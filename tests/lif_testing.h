// GoogleTest helpers of the recurrent LIF tests (tests/test_recurrent_lif*.cpp): comparisons
// of tensors and of whole runs, and names for the traces. The networks and inputs are in
// kernels/testing/lif_networks.h.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/testing/lif_networks.h"

namespace rsnn::lif_test {

// max |a - b| <= rtol * max(max |b|, floor); fails on NaN and when one is defined and the other
// not (both undefined: nothing to compare). Either tensor may be on any device.
inline void expect_close(const Tensor& a, const Tensor& b, double rtol, const std::string& what,
                         double floor = 1e-3) {
  ASSERT_EQ(a.defined(), b.defined()) << what << ": defined " << a.defined() << " vs " << b.defined();
  if (!b.defined()) return;
  ASSERT_EQ(a.shape(), b.shape()) << what;
  const auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  double scale = floor, err = 0;
  size_t worst = 0;
  for (size_t k = 0; k < av.size(); ++k) {
    ASSERT_FALSE(std::isnan(av[k])) << what << ": NaN at " << k;
    scale = std::max(scale, std::abs(bv[k]));
    if (std::abs(av[k] - bv[k]) > err) {
      err = std::abs(av[k] - bv[k]);
      worst = k;
    }
  }
  EXPECT_LE(err, rtol * scale) << what << ": worst element " << worst << " got " << av[worst] << " want "
                               << bv[worst] << " (scale " << scale << ")";
}

// The same values bit for bit (compared as float64), or both undefined.
inline void expect_identical(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.defined(), b.defined()) << what;
  if (!a.defined()) return;
  ASSERT_EQ(a.shape(), b.shape()) << what;
  const auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  for (size_t k = 0; k < av.size(); ++k) ASSERT_EQ(av[k], bv[k]) << what << " differs at " << k;
}

// Every gradient of two backward calls, bit for bit.
inline void expect_same_grads(const kernels::LifGrads& a, const kernels::LifGrads& b, const std::string& what) {
  expect_identical(a.dw, b.dw, what + " dw");
  expect_identical(a.dtau_m, b.dtau_m, what + " dtau_m");
  expect_identical(a.dtau_adp, b.dtau_adp, what + " dtau_adp");
  expect_identical(a.di_ext, b.di_ext, what + " di_ext");
  expect_identical(a.dv0, b.dv0, what + " dv0");
  expect_identical(a.da0, b.da0, what + " da0");
  expect_identical(a.ds0, b.ds0, what + " ds0");
  expect_identical(a.dw_ro, b.dw_ro, what + " dw_ro");
}

// The outputs and the saved state of two forward calls, bit for bit.
inline void expect_same_run(const kernels::LifForward& a, const kernels::LifForward& b, const std::string& what) {
  expect_identical(a.spikes, b.spikes, what + " spikes");
  expect_identical(a.readout, b.readout, what + " readout");
  expect_identical(a.saved.u, b.saved.u, what + " saved u");
  expect_identical(a.saved.a, b.saved.a, what + " saved a");
}

inline double min_abs(const Tensor& t) {
  double m = 1e300;
  for (double v : t.to_vector<double>()) m = std::min(m, std::abs(v));
  return m;
}

inline const char* model_name(NeuronModel m) {
  return m == NeuronModel::alif ? "alif" : m == NeuronModel::lif ? "lif" : "if";
}

inline const char* prop_name(Propagation p) {
  switch (p) {
    case Propagation::automatic: return "automatic";
    case Propagation::pull: return "pull";
    case Propagation::push: return "push";
    case Propagation::cusparse: return "cusparse";
  }
  return "?";
}

}  // namespace rsnn::lif_test
