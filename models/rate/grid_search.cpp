#include "models/rate/grid_search.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <sstream>

#include "models/rate/rng.h"
#include "runtime/error.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rsnn::rate {

std::vector<double> parse_scaling_factors(const std::string& spec) {
  auto num = [&](const std::string& s) {
    try {
      size_t pos = 0;
      const double v = std::stod(s, &pos);
      if (pos != s.size()) throw std::invalid_argument(s);
      return v;
    } catch (const std::exception&) {
      RSNN_FAIL("scaling factors '", spec, "': '", s, "' is not a number (use start:step:stop or a,b,c)");
    }
  };
  std::vector<std::string> parts;
  std::vector<double> out;
  if (spec.find(':') != std::string::npos) {
    std::stringstream ss(spec);
    std::string p;
    while (std::getline(ss, p, ':')) parts.push_back(p);
    RSNN_CHECK(parts.size() == 3, "scaling factors '", spec, "': expected start:step:stop");
    const double a = num(parts[0]), step = num(parts[1]), b = num(parts[2]);
    RSNN_CHECK(std::isfinite(a) && std::isfinite(b) && std::isfinite(step) && step > 0 && b >= a,
               "scaling factors '", spec, "': need finite values, step > 0 and stop >= start");
    const double count = std::floor((b - a) / step) + 1;
    RSNN_CHECK(count <= double(kMaxScalingFactors), "scaling factors '", spec, "': ", count,
               " values, more than the ", kMaxScalingFactors, " a grid search may try (use a larger step)");
    for (int64_t k = 0;; ++k) {
      const double v = a + double(k) * step;
      if (v > b + 1e-9 * std::fabs(step)) break;
      out.push_back(v);
    }
  } else {
    std::stringstream ss(spec);
    std::string p;
    while (std::getline(ss, p, ',')) out.push_back(num(p));
  }
  RSNN_CHECK(!out.empty(), "scaling factors '", spec, "': no values");
  RSNN_CHECK(out.size() <= size_t(kMaxScalingFactors), "scaling factors '", spec, "': ", out.size(),
             " values, more than the ", kMaxScalingFactors, " a grid search may try");
  for (double v : out)
    RSNN_CHECK(std::isfinite(v) && v > 0, "scaling factors '", spec, "': ", v, " is not a finite number > 0");
  return out;
}

uint64_t grid_trial_id(int64_t q) {
  RSNN_CHECK(q >= 0 && uint64_t(q) < kTrialSetSpan, "grid search: trial ", q, " beyond the 2^40 trial ids");
  return trial_id(TrialSet::grid, uint64_t(q));
}

double lif_performance(const LifNetwork& lif, const TaskSpec& task, uint64_t seed,
                       const std::vector<uint64_t>& ids, bool use_cuda) {
  std::vector<Trial> trials;
  for (auto id : ids) trials.push_back(make_trial(task, seed, id, 1));
  const int substeps = 100 / lif.p.downsample;
  int correct = 0;
  if (use_cuda && !lif.p.stims.active()) {  // the CUDA kernel has no stimulation
    std::vector<std::vector<float>> out;
    std::vector<int64_t> ns;
    simulate_lif_cuda(lif, trials, seed, ids, out, ns);
    for (size_t k = 0; k < ids.size(); ++k)
      correct += lif_correct(task, trials[k].label, out[k].data(), int64_t(out[k].size()), substeps);
  } else {
    auto res = simulate_lif_batch(lif, trials, seed, ids);
    for (size_t k = 0; k < ids.size(); ++k)
      correct += lif_correct(task, trials[k].label, res[k].out.data(), res[k].nt, substeps);
  }
  return double(correct) / double(ids.size());
}

GridSearchResult grid_search(const RateNet& net, const TaskSpec& task, const GridSearchConfig& cfg,
                             const std::function<void(int64_t, int64_t)>& progress) {
  RSNN_CHECK(cfg.n_trials >= 1, "grid search: n_trials must be >= 1, got ", cfg.n_trials);
  RSNN_CHECK(!cfg.scaling_factors.empty(), "grid search: no scaling factors");
  RSNN_CHECK(int(net.w_in.size(1)) == task.n_inputs(), "grid search: the model has ",
             net.w_in.size(1), " inputs, task ", task.name(), " needs ", task.n_inputs());
  const auto t0 = std::chrono::steady_clock::now();
  const int K = int(cfg.scaling_factors.size()), n = cfg.n_trials;
  const int substeps = 100 / cfg.lif.downsample;
  std::vector<LifNetwork> nets;
  for (double s : cfg.scaling_factors) nets.push_back(convert_to_lif(net, s, cfg.lif));
  std::vector<Trial> trials(size_t(K) * n);
  RSNN_CHECK(double(K) * n < double(kTrialSetSpan), "grid search: ", K, " factors x ", n,
             " trials exceed the 2^40 trial ids");
  for (int64_t q = 0; q < int64_t(trials.size()); ++q) trials[q] = make_trial(task, cfg.seed, grid_trial_id(q), 1);
  std::vector<int> correct(trials.size(), 0);
  const int64_t total = int64_t(trials.size());
  if (cfg.use_cuda && !cfg.lif.stims.active()) {
    for (int k = 0; k < K; ++k) {
      std::vector<Trial> tk(trials.begin() + int64_t(k) * n, trials.begin() + int64_t(k + 1) * n);
      std::vector<uint64_t> ids(n);
      for (int j = 0; j < n; ++j) ids[j] = grid_trial_id(int64_t(k) * n + j);
      std::vector<std::vector<float>> out;
      std::vector<int64_t> ns;
      simulate_lif_cuda(nets[k], tk, cfg.seed, ids, out, ns);
      for (int j = 0; j < n; ++j)
        correct[size_t(k) * n + j] =
            lif_correct(task, tk[j].label, out[j].data(), int64_t(out[j].size()), substeps);
      if (progress) progress(int64_t(k + 1) * n, total);
    }
  } else {
    std::atomic<int64_t> done{0};
    std::string err;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t q = 0; q < total; ++q) {
      try {
        const int k = int(q / n);
        auto r = simulate_lif(nets[k], trials[q].u.data(), trials[q].Tc, cfg.seed, grid_trial_id(q));
        correct[q] = lif_correct(task, trials[q].label, r.out.data(), r.nt, substeps);
      } catch (const std::exception& e) {
#pragma omp critical(rsnn_grid_err)
        err = e.what();
      }
      const int64_t d = ++done;
#ifdef _OPENMP
      const bool master = omp_get_thread_num() == 0;
#else
      const bool master = true;
#endif
      if (progress && master) progress(d, total);
    }
    RSNN_CHECK(err.empty(), "grid search: ", err);
  }
  GridSearchResult res;
  res.scaling_factors = cfg.scaling_factors;
  res.all_perfs.assign(K, 0.0);
  for (int k = 0; k < K; ++k) {
    int c = 0;
    for (int j = 0; j < n; ++j) c += correct[size_t(k) * n + j];
    res.all_perfs[k] = double(c) / n;
  }
  res.opt_index = 0;  // first maximum, as MATLAB's max / numpy's argmax
  for (int k = 1; k < K; ++k)
    if (res.all_perfs[k] > res.all_perfs[res.opt_index]) res.opt_index = k;
  res.opt_scaling_factor = res.scaling_factors[res.opt_index];
  res.trials_run = total;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace rsnn::rate
