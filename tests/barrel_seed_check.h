// Shared by test_barrel_seed_state.cpp and test_torch_convert.cpp: rsnn's forward of a
// barrel checkpoint against a float64 reference of the seed's forward that recorded, per step,
// its spike count (per_step [T]), its smallest |v - threshold| (near [T]) and the softmax
// summed so far (cum [T, B, 3]).
//
// Over hundreds of steps a neuron-step can lie closer to threshold than float32 resolves
// (|v - threshold| ~ 1e-8), and one spike decided differently makes the recurrent network's
// trajectories part. So: when every step's spike count agrees, the whole run's outputs must
// agree within float32 tolerance; otherwise the first differing step must hold a reference
// neuron-step within 1e-5 of threshold (a rounding flip, not a model difference), and the run
// cut just before that step must agree within float32 tolerance.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "autograd/var.h"
#include "models/barrel/train.h"
#include "runtime/hdf5_io.h"

namespace rsnn::test {

// Largest |rsnn summed softmax - reference| over [B, 3]; rsnn's outputs are summed / T.
inline double seed_output_diff(const Tensor& outputs, int64_t T, const std::vector<double>& want) {
  const std::vector<float> got = outputs.to_vector<float>();
  EXPECT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i)
    worst = std::max(worst, std::abs(double(got[i]) * double(T) - want[i]));
  return worst;
}

// `ckpt`: a checkpoint with the stored seed state for x's B; `scratch`: a path for a copy.
// Returns rsnn's full-run outputs [B, 3] (summed / T).
inline Tensor expect_seed_match(const std::string& ckpt, const Tensor& x, const std::string& ref_path,
                                const std::string& scratch, const std::string& label) {
  using namespace rsnn::barrel;
  const int64_t T = x.size(0), B = x.size(1);
  H5File r = H5File::open_read(ref_path);
  const std::vector<int64_t> want_steps = r.read("per_step").to_vector<int64_t>();
  const std::vector<double> near = r.read("near").to_vector<double>();
  const Tensor cum = r.read("cum");
  const auto cum_at = [&](int64_t t) { return cum.narrow0(t, 1).reshape({B, 3}).to_vector<double>(); };
  ag::NoGradGuard no_grad;
  std::unique_ptr<BarrelModel> m = load_checkpoint(ckpt);
  const ForwardResult f = m->forward(x, Tensor(), true);
  const int64_t N = f.spike_record.size(2);
  const std::vector<uint8_t> rec = f.spike_record.to_vector<uint8_t>();
  int64_t first = T, total = 0;
  for (int64_t t = 0; t < T; ++t) {
    int64_t n = 0;
    for (int64_t i = 0; i < B * N; ++i) n += rec[t * B * N + i];
    total += n;
    if (first == T && n != want_steps[t]) first = t;
  }
  EXPECT_GT(total, 10000) << label << ": too quiet to mean anything";
  const double tol = 1e-5;  // per summed step: float32 against float64
  if (first == T) {
    const double worst = seed_output_diff(f.outputs.value(), T, cum_at(T - 1));
    std::cout << "[  SEED    ] " << label << ": T = " << T << ", " << total << " spikes, every step's count equal; "
              << "max |summed softmax diff| " << worst << " (sums of " << T - 1 << ")\n";
    EXPECT_LT(worst, tol * double(T - 1)) << label;
    return f.outputs.value();
  }
  const double closest = *std::min_element(near.begin(), near.begin() + first + 1);
  std::cout << "[  SEED    ] " << label << ": spike counts part at step " << first << " of " << T
            << " (reference's closest |v - threshold| up to there " << closest << ")\n";
  EXPECT_LT(closest, 1e-5) << label << ": spikes differ at step " << first
                           << " with no neuron-step near threshold: not a float32 rounding flip";
  EXPECT_GE(first, 2) << label;
  if (first >= 2) {  // the run cut before the flip
    std::filesystem::copy_file(ckpt, scratch, std::filesystem::copy_options::overwrite_existing);
    {
      H5File w = H5File::open_rw(scratch);
      w.set_attr("/", "T", first);
    }
    std::unique_ptr<BarrelModel> cut = load_checkpoint(scratch);
    const Tensor xc = x.narrow0(0, first).clone();
    const double worst = seed_output_diff(cut->forward(xc, Tensor()).outputs.value(), first, cum_at(first - 1));
    std::cout << "[  SEED    ] " << label << ": cut at T = " << first << ": max |summed softmax diff| " << worst
              << "\n";
    EXPECT_LT(worst, tol * double(first - 1)) << label;
  }
  return f.outputs.value();
}

}  // namespace rsnn::test
