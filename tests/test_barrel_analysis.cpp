// Analyses of the barrel-cortex RSNN (models/barrel/analysis.h, spec §4): the binning,
// degree and CV computations on hand-made inputs, the model-level runs and files on a short
// (T = 20) model, and `rsnn barrel analyze` end to end. The statistics are in
// test_barrel_stats.cpp.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "models/barrel/analysis.h"
#include "models/barrel/anatomy.h"
#include "models/barrel/train.h"
#include "models/barrel/whisker_synth.h"
#include "runtime/hdf5_io.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::barrel;
using rsnn::test::TempDir;

namespace {

bool exists(const std::string& p) { return std::ifstream(p).good(); }

}  // namespace

// ---- rates and degrees on hand-made inputs ----

TEST(BarrelAnalysis, PopulationRateBinning) {
  // T = 25, N = 5, groups {0, 1} and {2, 3, 4}, bins of 10 (the last 5 steps dropped).
  Tensor r = Tensor::zeros({25, 5}, DType::u8);
  uint8_t* x = r.data<uint8_t>();
  auto spike = [&](int t, int i) { x[t * 5 + i] = 1; };
  spike(0, 0), spike(3, 1), spike(9, 1);    // group A, bin 0: 3 spikes
  spike(12, 2);                             // group B, bin 1: 1 spike
  spike(15, 4), spike(19, 3);               // group B, bin 1: 2 more
  spike(22, 0), spike(24, 4);               // dropped
  const std::vector<NeuronGroup> g = {{"A", 0, 2, +1}, {"B", 2, 3, -1}};
  const Tensor rates = population_rates(r, g, 10);
  ASSERT_EQ(rates.shape(), (Shape{2, 2}));
  const double* v = rates.data<double>();
  EXPECT_DOUBLE_EQ(v[0], 100.0 * 3 / 2);  // A, bin 0
  EXPECT_DOUBLE_EQ(v[1], 0.0);            // A, bin 1
  EXPECT_DOUBLE_EQ(v[2], 0.0);            // B, bin 0
  EXPECT_DOUBLE_EQ(v[3], 100.0 * 3 / 3);  // B, bin 1
  // Counts over 4 samples give the per-sample mean.
  Tensor counts = r.to_dtype(DType::i32);
  for (int64_t i = 0; i < counts.numel(); ++i) counts.data<int32_t>()[i] *= 4;
  const Tensor mean = population_rates(counts, g, 10, 4);
  for (int i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(mean.data<double>()[i], v[i]);
  EXPECT_THROW(population_rates(r, g, 30), Error);
  EXPECT_THROW(population_rates(r, {{"C", 4, 3, 1}}, 10), Error);
  // The spec's groups.
  const std::vector<NeuronGroup> s = rate_groups();
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].start, 0);
  EXPECT_EQ(s[1].start, 1374);
  EXPECT_EQ(s[2].start, 1561);
  EXPECT_EQ(s[3].start, 3793);
  EXPECT_EQ(s[3].start + s[3].length, 4218);
}

TEST(BarrelAnalysis, WeightedDegreesOnATinyProjection) {
  // 5 neurons; neuron 0 plays the thalamus (excluded by first = 1).
  //   0->1 (0.5)  0->2 (0.25)  1->2 (1.0)  2->1 (2.0)  3->1 (4.0)  1->4 (8.0)  4->4 (16.0)
  const std::vector<int32_t> post = {1, 2, 2, 1, 1, 4, 4}, pre = {0, 0, 1, 2, 3, 1, 4};
  const std::vector<double> wv = {0.5, 0.25, 1.0, 2.0, 4.0, 8.0, 16.0};
  const Projection p = projection_from_pairs(5, 5, post, pre, Tensor::full({5}, 1.0, DType::f32));
  // Weights in post-major order: sort the pairs by (post, pre).
  Tensor w = Tensor::empty({p.nnz()}, DType::f64);
  const int64_t* ptr = p.post_ptr.data<int64_t>();
  const int32_t* pi = p.pre_idx.data<int32_t>();
  for (int64_t r = 0; r < 5; ++r)
    for (int64_t s = ptr[r]; s < ptr[r + 1]; ++s)
      for (size_t k = 0; k < post.size(); ++k)
        if (post[k] == r && pre[k] == pi[s]) w.data<double>()[s] = wv[k];
  const WeightedDegrees d = weighted_degrees(p, w, 1, 4);  // neurons 1..4
  EXPECT_EQ(d.in, (std::vector<double>{2.0 + 4.0, 1.0, 0.0, 8.0 + 16.0}));
  EXPECT_EQ(d.out, (std::vector<double>{1.0 + 8.0, 2.0, 4.0, 16.0}));
  const WeightedDegrees all = weighted_degrees(p, w, 0, 5);
  EXPECT_EQ(all.out[0], 0.75);
  EXPECT_EQ(all.in[2], 1.25);
  EXPECT_THROW(weighted_degrees(p, w, 2, 4), Error);
}

TEST(BarrelAnalysis, IsolatedNeuronsFollowTheSpecEquations) {
  LifConfig lif;  // alif, dt 1, r_m 1, beta 1.8
  const std::vector<double> tau_m = {10, 10, 20, 4, 10}, tau_adp = {5, 12, 5, 5, 5},
                            b = {0.04, 0.04, 0.04, 0.04, 2.0};
  const int64_t T = 550;
  const double current = 1.0, a0 = 0.04;
  const std::vector<int64_t> got = isolated_spike_counts(tau_m, tau_adp, b, lif, current, a0, T);
  for (size_t i = 0; i < tau_m.size(); ++i) {
    // Spec §1.4, written out in float as the model runs.
    const float alpha = std::exp(-1.0f / float(tau_m[i])), ro = std::exp(-1.0f / float(tau_adp[i]));
    float mem = 0, s = 0, a = float(a0);
    int64_t n = 0;
    for (int64_t t = 0; t < T; ++t) {
      a = ro * a + (1 - ro) * s;
      const float th = float(b[i]) + 1.8f * a;
      mem = mem * alpha + (1 - alpha) * float(current) - th * s;
      s = mem - th > 0 ? 1.0f : 0.0f;
      n += s > 0;
    }
    // One spike of slack for a rounding difference at a threshold crossing (e.g. FMA).
    EXPECT_NEAR(double(got[i]), double(n), 1.0) << "neuron " << i;
  }
  EXPECT_GT(got[0], 10);
  EXPECT_NE(got[0], got[1]);  // slower adaptation fires less
  EXPECT_EQ(got[4], 0);       // threshold 2 above the steady state 1: silent
  EXPECT_THROW(isolated_spike_counts({10}, {5, 5}, {0.04}, lif, 1, 0.04, 10), Error);
}

TEST(BarrelAnalysis, SelectivityOnHandMadeCounts) {
  // T = 4 bins, N = 3 neurons. Neuron 0: the same in every class (skipped); neuron 1: fires
  // only for class 2 with low noise (selective); neuron 2: the hand example above.
  const int64_t T = 4, N = 3;
  std::vector<Activity> acts(3);
  const int32_t n1[3][4] = {{0, 1, 0, 0}, {1, 0, 0, 0}, {20, 21, 19, 20}};
  const int32_t n2[3][4] = {{1, 2, 3, 2}, {4, 5, 6, 5}, {7, 8, 9, 8}};
  for (int c = 0; c < 3; ++c) {
    acts[size_t(c)].counts = Tensor::zeros({T, N}, DType::i32);
    acts[size_t(c)].samples = 91;
    int32_t* x = acts[size_t(c)].counts.data<int32_t>();
    for (int64_t t = 0; t < T; ++t) {
      x[t * N + 0] = int32_t(t % 2);
      x[t * N + 1] = n1[c][t];
      x[t * N + 2] = n2[c][t];
    }
  }
  const SelectivityResult r = selectivity(acts);
  EXPECT_EQ(r.tested, (std::vector<uint8_t>{0, 1, 1}));
  EXPECT_TRUE(std::isnan(r.F[0]));
  EXPECT_EQ(r.selective[1], 1);
  const AnovaResult a2 = one_way_anova({{1, 2, 3, 2}, {4, 5, 6, 5}, {7, 8, 9, 8}});
  EXPECT_DOUBLE_EQ(r.F[2], a2.F);
  EXPECT_DOUBLE_EQ(r.p[2], a2.p);
  EXPECT_EQ(r.selective[2], a2.p < 1e-3);
  EXPECT_EQ(r.n_tested, 2);
  EXPECT_DOUBLE_EQ(r.fraction, double(r.n_selective) / 3);
  // Proportions (count + 182) / (total + 546) and the 2-D point.
  const double tot = 1 + 1 + 80;
  const double p[3] = {(1 + 182) / (tot + 546), (1 + 182) / (tot + 546), (80 + 182) / (tot + 546)};
  for (int c = 0; c < 3; ++c) EXPECT_DOUBLE_EQ(r.proportions[size_t(3 + c)], p[c]);
  EXPECT_NEAR(r.xy[2], (p[2] - p[0]) * std::sqrt(3.0) / 2, 1e-15);
  EXPECT_NEAR(r.xy[3], -0.5 * p[0] + p[1] - 0.5 * p[2], 1e-15);
  // Neuron 0 (identical vectors) still gets proportions.
  EXPECT_DOUBLE_EQ(r.proportions[0] + r.proportions[1] + r.proportions[2], 1.0);
}

// ---- the model ----

namespace {
BarrelConfig short_config(int64_t T = 20) {
  BarrelConfig c = BarrelConfig::spiking_default();
  c.T = T;
  return c;
}
BarrelModel& short_model() {
  static BarrelModel m(short_config());
  return m;
}
const EncodedSet& small_data() {
  // 6 + 3 synthetic samples, balanced: 3 per class.
  static const EncodedSet s = concat_sets(encode_for(short_config(), synthesize_whisker_data(6, 11, kTrainStream), 515),
                                          encode_for(short_config(), synthesize_whisker_data(3, 11, kTestStream), 516));
  return s;
}
}  // namespace

TEST(BarrelAnalysis, DataHelpers) {
  const EncodedSet& d = small_data();
  ASSERT_EQ(d.size(), 9);
  EXPECT_EQ(d.x.shape(), (Shape{9, 2, 550, 93}));
  for (int c = 0; c < 3; ++c) EXPECT_EQ(samples_of_class(d, c).size(), 3u) << c;
  // The second set's samples follow the first's.
  const EncodedSet a = encode_for(short_config(), synthesize_whisker_data(6, 11, kTrainStream), 515);
  EXPECT_EQ(std::memcmp(d.x.data<uint8_t>(), a.x.data<uint8_t>(), a.x.nbytes()), 0);
  // copy_with_steps keeps every parameter.
  auto c = copy_with_steps(short_model(), 12);
  EXPECT_EQ(c->config().T, 12);
  EXPECT_EQ(c->projection().nnz(), short_model().projection().nnz());
  EXPECT_EQ(c->parameter("w").value().to_vector<float>(), short_model().parameter("w").value().to_vector<float>());
}

TEST(BarrelAnalysis, RecordActivityAndRaster) {
  BarrelModel& m = short_model();
  const EncodedSet& d = small_data();
  const std::vector<int64_t> idx = samples_of_class(d, 0);
  int64_t calls = 0;
  const Activity a = record_activity(m, d, idx, 2, 1, [&](int64_t) { ++calls; });
  EXPECT_EQ(calls, 2);  // batches of 2 and 1
  EXPECT_EQ(a.samples, 3);
  ASSERT_EQ(a.counts.shape(), (Shape{20, 4218}));
  ASSERT_EQ(a.raster.shape(), (Shape{20, 4218}));
  // The raster is sample idx[1] run in the batch {idx[0], idx[1]}: the same as the cortical part
  // of that batch's record.
  {
    ag::NoGradGuard ng;
    const ForwardResult f = m.forward(make_batch(m.config(), d, {idx[0], idx[1]}), Tensor(), true);
    const uint8_t* rec = f.spike_record.data<uint8_t>();
    int64_t mismatch = 0;
    for (int64_t t = 0; t < 20; ++t)
      for (int64_t i = 0; i < 4218; ++i)
        mismatch += rec[(t * 2 + 1) * 4418 + 200 + i] != a.raster.data<uint8_t>()[t * 4218 + i];
    EXPECT_EQ(mismatch, 0);
  }
  int64_t raster_spikes = 0, counted = 0;
  for (int64_t i = 0; i < a.raster.numel(); ++i) raster_spikes += a.raster.data<uint8_t>()[i];
  for (int64_t i = 0; i < a.counts.numel(); ++i) counted += a.counts.data<int32_t>()[i];
  EXPECT_EQ(counted, a.spikes);
  EXPECT_GT(raster_spikes, 0);
  EXPECT_GE(counted, raster_spikes);

  const RasterResult r = raster_analysis(a, 0, 1, 10);
  EXPECT_EQ(r.rates.shape(), (Shape{4, 2}));
  EXPECT_EQ(r.mean_rates.shape(), (Shape{4, 2}));
  EXPECT_EQ(r.mean_rate_per_neuron.shape(), (Shape{4218}));
  double mean_rate = 0;
  for (int64_t i = 0; i < 4218; ++i) mean_rate += r.mean_rate_per_neuron.data<double>()[i];
  EXPECT_NEAR(mean_rate, double(a.spikes) / (20.0 * 3), 1e-9);

  TempDir dir;
  write_raster(dir.path("raster.h5"), dir.path("raster.csv"), r);
  H5File f = H5File::open_read(dir.path("raster.h5"));
  EXPECT_EQ(f.dataset_shape("/raster"), (Shape{20, 4218}));
  EXPECT_EQ(f.dataset_shape("/rates"), (Shape{4, 2}));
  EXPECT_EQ(f.dataset_shape("/neuron_sign"), (Shape{4218}));
  EXPECT_EQ(f.dataset_shape("/group_bounds"), (Shape{4, 2}));
  EXPECT_EQ(f.get_attr_int("/", "sample"), 1);
  EXPECT_TRUE(exists(dir.path("raster.csv")));
  EXPECT_THROW(record_activity(m, d, idx, 0, 3), Error);
}

TEST(BarrelAnalysis, NeuronDynamicsOfAModel) {
  // A copy whose populations get different time constants (as training would give them).
  auto m = copy_with_steps(short_model(), 20);
  Tensor tau_m = m->parameter("tau_m").value();
  Tensor tau_adp = m->parameter("tau_adp").value();
  const auto& ps = populations();
  for (size_t k = 0; k < ps.size(); ++k)
    for (int64_t i = 0; i < ps[k].size; ++i) {
      tau_m.data<float>()[200 + ps[k].offset + i] = float(6 + 0.7 * double(k) + 0.001 * double(i % 7));
      tau_adp.data<float>()[200 + ps[k].offset + i] = float(3 + 0.5 * double((k * 5) % 13));
    }
  DynamicsOptions o;
  o.T = 200;
  o.kde_points = 64;
  const DynamicsResult r = neuron_dynamics(*m, o);
  ASSERT_EQ(r.tau_m.size(), 4218u);
  ASSERT_EQ(r.rates.size(), 13u);
  ASSERT_EQ(r.tau_m_kde.size(), 13u);
  EXPECT_EQ(r.tau_m_kde[0].grid.size(), 64u);
  EXPECT_NEAR(r.tau_m_mean[1], 6.7 + 0.001 * 3, 0.001);
  EXPECT_DOUBLE_EQ(r.a0, 0.04);
  // Rates from the same counts as isolated_spike_counts.
  const std::vector<int64_t> c = isolated_spike_counts(r.tau_m, r.tau_adp, std::vector<double>(4218, 0.04),
                                                       m->lif_config(), 1.0, 0.04, 200);
  int64_t s0 = 0;
  for (int64_t i = 0; i < 440; ++i) s0 += c[size_t(i)];
  EXPECT_DOUBLE_EQ(r.rates[0], double(s0) / (200.0 * 440));
  const Correlation ref = pearson(minmax_normalize(r.rates), minmax_normalize(izhikevich_rates()));
  EXPECT_DOUBLE_EQ(r.correlation.r, ref.r);
  EXPECT_TRUE(std::isfinite(r.correlation.r));
  EXPECT_GE(r.correlation.p, 0.0);
  EXPECT_LE(r.correlation.p, 1.0);
  // The control correlates with noise: r near 0 on average, p near 0.5.
  EXPECT_LT(std::fabs(r.control_r), 0.2);
  EXPECT_GT(r.control_p, 0.2);

  // The untrained model: equal taus, equal rates, r undefined.
  const DynamicsResult u = neuron_dynamics(short_model(), o);
  EXPECT_TRUE(std::isnan(u.correlation.r));
  TempDir dir;
  write_dynamics(dir.path("d.h5"), dir.path("d.csv"), r);
  H5File f = H5File::open_read(dir.path("d.h5"));
  EXPECT_EQ(f.dataset_shape("/tau_m_kde/density"), (Shape{13, 64}));
  EXPECT_EQ(f.dataset_shape("/rates"), (Shape{13}));
  EXPECT_DOUBLE_EQ(f.get_attr_double("/", "r"), r.correlation.r);
}

TEST(BarrelAnalysis, DegreesOfModels) {
  BarrelModel& m = short_model();
  auto trained = copy_with_steps(m, 20);
  // "Training": double every recurrent weight out of Pyr_SP (network neurons 200..639).
  const Projection& p = trained->projection();
  Tensor w = trained->parameter("w").value();
  const int64_t* ptr = p.post_ptr.data<int64_t>();
  const int32_t* pre = p.pre_idx.data<int32_t>();
  double thal = 0, rec = 0;
  for (int64_t r = 0; r < 4418; ++r)
    for (int64_t s = ptr[r]; s < ptr[r + 1]; ++s) {
      (pre[s] < 200 ? thal : rec) += w.data<float>()[s];
      if (pre[s] >= 200 && pre[s] < 640) w.data<float>()[s] *= 2;
    }
  EXPECT_GT(thal, 0);
  const DegreeResult d = degree_analysis(m, *trained, 1000);
  ASSERT_EQ(d.fresh.in.size(), 4218u);
  double in = 0, out = 0;
  for (size_t i = 0; i < 4218; ++i) in += d.fresh.in[i], out += d.fresh.out[i];
  EXPECT_NEAR(in, rec, 1e-6 * rec);  // thalamic synapses excluded
  EXPECT_NEAR(out, rec, 1e-6 * rec);
  EXPECT_NEAR(d.trained.out[5], 2 * d.fresh.out[5], 1e-9);
  EXPECT_NEAR(d.trained.out[500], d.fresh.out[500], 1e-12);
  EXPECT_EQ(d.fresh_in.counts.size(), 1000u);
  int64_t n = 0;
  for (int64_t c : d.trained_out.counts) n += c;
  EXPECT_EQ(n, 4218);
  TempDir dir;
  write_degrees(dir.path("g.h5"), dir.path("g.csv"), d);
  H5File f = H5File::open_read(dir.path("g.h5"));
  EXPECT_EQ(f.dataset_shape("/trained/in"), (Shape{4218}));
  EXPECT_EQ(f.dataset_shape("/fresh/out_hist/edges"), (Shape{1001}));
}

TEST(BarrelAnalysis, CvGridAndPerSampleCv) {
  // mean_cv_per_sample on a hand-made record: sample 0 has neuron 0 firing 2 of 8 steps.
  Tensor rec = Tensor::zeros({8, 2, 4418}, DType::u8);
  rec.data<uint8_t>()[(0 * 2 + 0) * 4418 + 200] = 1;
  rec.data<uint8_t>()[(5 * 2 + 0) * 4418 + 200] = 1;
  rec.data<uint8_t>()[(5 * 2 + 0) * 4418 + 10] = 1;  // thalamic: ignored
  const std::vector<double> cv = mean_cv_per_sample(rec);
  ASSERT_EQ(cv.size(), 2u);
  EXPECT_NEAR(cv[0], std::sqrt((1 - 0.25) / 0.25) / 4218, 1e-15);
  EXPECT_EQ(cv[1], 0.0);

  CvGridOptions o;
  o.w = {0.03};
  o.b = {0.02, 0.3};
  o.per_class = 1;
  int64_t calls = 0;
  const CvGridResult r = cv_grid(short_config(), small_data(), o, [&](int64_t) { ++calls; });
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(r.samples, 3);  // classes 0, 1, 1, one sample each
  ASSERT_EQ(r.cv.size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_TRUE(std::isfinite(r.cv[k]));
    EXPECT_GE(r.cv[k], 0.0);
    EXPECT_GE(r.rate[k], 0.0);
  }
  EXPECT_GT(r.rate[0], r.rate[1]);  // a higher threshold fires less
  // One grid point by hand: the same model, the same batch.
  {
    BarrelConfig cfg = short_config();
    cfg.init_w = 0.03;
    cfg.init_b = 0.3;
    BarrelModel m(cfg);
    ag::NoGradGuard ng;
    const std::vector<int64_t> idx = {samples_of_class(small_data(), 0)[0], samples_of_class(small_data(), 1)[0],
                                      samples_of_class(small_data(), 1)[0]};
    const ForwardResult f = m.forward(make_batch(cfg, small_data(), idx), Tensor(), true);
    double s = 0;
    for (double v : mean_cv_per_sample(f.spike_record)) s += v;
    EXPECT_NEAR(r.cv[1], s / 3, 1e-12);
  }
  EXPECT_EQ(cv_full_grid().b.size(), 60u);
  TempDir dir;
  write_cv_grid(dir.path("cv.h5"), dir.path("cv.csv"), r);
  H5File f = H5File::open_read(dir.path("cv.h5"));
  EXPECT_EQ(f.dataset_shape("/cv"), (Shape{1, 2}));
  o.classes = {5};
  EXPECT_THROW(cv_grid(short_config(), small_data(), o), Error);
}

TEST(BarrelAnalysis, SelectivityOfAModelWritesFiles) {
  BarrelModel& m = short_model();
  std::vector<Activity> acts;
  for (int c = 0; c < 3; ++c) acts.push_back(record_activity(m, small_data(), samples_of_class(small_data(), c), 0, -1));
  const SelectivityResult r = selectivity(acts);
  ASSERT_EQ(r.F.size(), 4218u);
  EXPECT_EQ(r.samples, (std::vector<int64_t>{3, 3, 3}));
  EXPECT_GT(r.n_tested, 0);
  EXPECT_LE(r.n_selective, r.n_tested);
  for (size_t i = 0; i < 4218; ++i) {
    if (!r.tested[i]) continue;
    ASSERT_TRUE(r.p[i] >= 0 && r.p[i] <= 1) << i;
    EXPECT_EQ(r.selective[i], r.p[i] < 1e-3);
  }
  TempDir dir;
  write_selectivity(dir.path("a.h5"), dir.path("a.csv"), {{"trained", &r}, {"fresh", &r}});
  H5File f = H5File::open_read(dir.path("a.h5"));
  EXPECT_EQ(f.dataset_shape("/trained/xy"), (Shape{4218, 2}));
  EXPECT_EQ(f.dataset_shape("/fresh/proportions"), (Shape{4218, 3}));
  EXPECT_EQ(f.get_attr_int("/trained", "n_tested"), r.n_tested);
  std::ifstream csv(dir.path("a.csv"));
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "neuron,population,trained_F,trained_p,trained_selective,trained_x,trained_y,fresh_F,"
                    "fresh_p,fresh_selective,fresh_x,fresh_y");
}

// ---- the command ----

namespace {
using test::CmdResult;
using test::run_rsnn;
}  // namespace

TEST(BarrelAnalyzeCli, AllAnalysesEndToEnd) {
  TempDir dir;
  const std::string ckpt = dir.path("checkpoint.h5");
  save_checkpoint(ckpt, short_model(), nullptr, 0, 0, 0.0);
  const std::string out = dir.path("analysis");
  const CmdResult r = run_rsnn("barrel analyze --checkpoint " + ckpt + " --out " + out +
                               " --synth-train 6 --synth-test 3 --raster-sample 2 --dyn-steps 60"
                               " --cv-w 0.02 --cv-b 0.05 --cv-per-class 1 --anova-fresh --plot off --threads 1");
  ASSERT_EQ(r.rc, 0) << r.out;
  for (const char* f : {"raster.h5", "raster_rates.csv", "dynamics.h5", "dynamics.csv", "degrees.h5",
                        "degrees.csv", "cv.h5", "cv.csv", "anova.h5", "anova.csv", "summary.csv"})
    EXPECT_TRUE(exists(out + "/" + f)) << f << "\n" << r.out;
  EXPECT_NE(r.out.find("anova (fresh)"), std::string::npos) << r.out;
  H5File f = H5File::open_read(out + "/raster.h5");
  EXPECT_EQ(f.dataset_shape("/raster"), (Shape{20, 4218}));
  EXPECT_EQ(f.get_attr_int("/", "samples"), 3);

  // Only some analyses; a shorter run.
  const CmdResult s = run_rsnn("barrel analyze --checkpoint " + ckpt + " --out " + out + "2 --what degrees,dynamics"
                               " --dyn-steps 30 --plot off");
  ASSERT_EQ(s.rc, 0) << s.out;
  EXPECT_TRUE(exists(out + "2/degrees.h5"));
  EXPECT_FALSE(exists(out + "2/raster.h5"));

  // Clear one-line errors.
  const CmdResult bad = run_rsnn("barrel analyze --checkpoint " + ckpt + " --out " + out + " --what rastr --plot off");
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.out.find("unknown analysis 'rastr'"), std::string::npos) << bad.out;
  const CmdResult missing = run_rsnn("barrel analyze --checkpoint " + dir.path("nope.h5 --out ") + out);
  EXPECT_NE(missing.rc, 0);
  EXPECT_NE(missing.out.find("nope.h5"), std::string::npos) << missing.out;
  const CmdResult range = run_rsnn("barrel analyze --checkpoint " + ckpt + " --out " + out +
                                   " --what raster --synth-train 3 --synth-test 3 --raster-sample 15 --plot off");
  EXPECT_NE(range.rc, 0);
  EXPECT_NE(range.out.find("--raster-sample 15 out of range"), std::string::npos) << range.out;
}
