// The CUDA LIF simulation (one trial per block) against the CPU simulation. Spiking
// networks amplify last-bit differences (FMA contraction, readout sum order), so the
// comparison is exact in the early steps' outputs within a tolerance and statistical after.
#include <gtest/gtest.h>

#include <cmath>

#include "models/rate/grid_search.h"
#include "models/rate/lif_convert.h"
#include "kernels/rate_lif_noise.h"
#include "models/rate/rng.h"
#include "models/rate/rate_rnn.h"
#include "test_util.h"

using namespace rsnn;
using namespace rsnn::rate;
using namespace rsnn::kernels::rate_lif;

TEST(RateLifCuda, MatchesCpu) {
  RSNN_SKIP_WITHOUT_CUDA();
  RateConfig cfg;
  cfg.N = 200;
  RateNet rate = init_rate_net(cfg, 3);
  LifNetwork lif = convert_to_lif(rate, 25.0);
  TaskSpec task = task_defaults(TaskKind::go_nogo);
  std::vector<Trial> trials;
  std::vector<uint64_t> ids;
  for (uint64_t k = 0; k < 16; ++k) {
    trials.push_back(make_trial(task, 4, k, 1));
    ids.push_back(k);
  }
  std::vector<std::vector<float>> out;
  std::vector<int64_t> ns;
  simulate_lif_cuda(lif, trials, 11, ids, out, ns);
  auto cpu = simulate_lif_batch(lif, trials, 11, ids);
  ASSERT_EQ(out.size(), 16u);
  double spikes_gpu = 0, spikes_cpu = 0;
  for (size_t b = 0; b < trials.size(); ++b) {
    ASSERT_EQ(int64_t(out[b].size()), cpu[b].nt);
    for (int64_t s = 0; s < 200; ++s)  // before any divergence can build up
      ASSERT_NEAR(out[b][s], cpu[b].out[s], 1e-4 * (1 + std::fabs(cpu[b].out[s]))) << b << " " << s;
    for (float x : out[b]) ASSERT_TRUE(std::isfinite(x));
    spikes_gpu += double(ns[b]);
    spikes_cpu += double(cpu[b].n_spikes);
  }
  EXPECT_NEAR(spikes_gpu, spikes_cpu, 0.05 * spikes_cpu);
  EXPECT_NEAR(lif_performance(lif, task, 11, ids, true), lif_performance(lif, task, 11, ids, false), 0.2);
}

TEST(RateLifCuda, NoiseIsTheCpuNoiseBitForBit) {
  RSNN_SKIP_WITHOUT_CUDA();
  const int64_t nblk = 5000;
  const uint64_t stream = stream_id(Draw::lif_noise, 12345);
  std::vector<float> gpu(4 * nblk), cpu(4 * nblk);
  noise::normal4_run_cuda(77, stream, 1000003, nblk, gpu.data());
  noise::normal4_run(77, stream, 1000003, nblk, cpu.data());
  for (int64_t k = 0; k < 4 * nblk; ++k) ASSERT_EQ(gpu[k], cpu[k]) << k;
}

TEST(RateLifCuda, RefusesMixedTrialLengths) {
  RSNN_SKIP_WITHOUT_CUDA();
  RateConfig cfg;
  cfg.N = 8;
  LifNetwork lif = convert_to_lif(init_rate_net(cfg, 1), 25.0);
  std::vector<Trial> trials = {make_trial(task_defaults(TaskKind::go_nogo), 1, 0, 1),
                               make_trial(task_defaults(TaskKind::go_nogo), 1, 1, 0)};
  std::vector<std::vector<float>> out;
  std::vector<int64_t> ns;
  EXPECT_THROW(simulate_lif_cuda(lif, trials, 1, {0, 1}, out, ns), Error);
}
