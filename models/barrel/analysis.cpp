#include "models/barrel/analysis.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "autograd/var.h"
#include "kernels/lif_math.h"
#include "models/barrel/anatomy.h"
#include "runtime/philox.h"

namespace rsnn::barrel {

namespace {

constexpr uint64_t kControlStream = 4401;  // Philox stream of the dynamics control noise

void check_record(const Tensor& record, const char* what) {
  RSNN_CHECK(record.defined() && record.dtype() == DType::u8 && record.ndim() == 3 &&
                 record.size(2) == kNetworkNeurons,
             what, ": expected a uint8 spike record [T, B, ", kNetworkNeurons, "], got ",
             record.defined() ? record.describe() : std::string("nothing"));
}

std::vector<double> slice(const std::vector<double>& v, int64_t start, int64_t n) {
  return std::vector<double>(v.begin() + start, v.begin() + start + n);
}

}  // namespace

// ---- data and runs ----

EncodedSet concat_sets(const EncodedSet& a, const EncodedSet& b) {
  if (a.size() == 0) return b;
  if (b.size() == 0) return a;
  RSNN_CHECK(a.x.dtype() == b.x.dtype() && a.x.ndim() == b.x.ndim(),
             "concat_sets: the sets are encoded differently (", a.x.describe(), " vs ", b.x.describe(), ")");
  Shape sa = a.x.shape(), sb = b.x.shape();
  RSNN_CHECK(std::equal(sa.begin() + 1, sa.end(), sb.begin() + 1),
             "concat_sets: sample shapes differ (", a.x.shape_str(), " vs ", b.x.shape_str(), ")");
  Shape s = sa;
  s[0] = sa[0] + sb[0];
  EncodedSet out;
  out.x = Tensor::empty(s, a.x.dtype());
  out.x.narrow0(0, sa[0]).copy_from(a.x);
  out.x.narrow0(sa[0], sb[0]).copy_from(b.x);
  out.labels = Tensor::empty({s[0]}, DType::i64);
  out.labels.narrow0(0, a.size()).copy_from(a.labels.to_dtype(DType::i64));
  out.labels.narrow0(a.size(), b.size()).copy_from(b.labels.to_dtype(DType::i64));
  return out;
}

std::vector<int64_t> samples_of_class(const EncodedSet& set, int label) {
  std::vector<int64_t> idx;
  const std::vector<int64_t> l = set.labels.to_vector<int64_t>();
  for (size_t i = 0; i < l.size(); ++i)
    if (l[i] == label) idx.push_back(static_cast<int64_t>(i));
  return idx;
}

std::unique_ptr<BarrelModel> copy_with_steps(const BarrelModel& m, int64_t T) {
  BarrelConfig cfg = m.config();
  cfg.T = T;
  auto c = std::make_unique<BarrelModel>(cfg, m.projection().to(Device::cpu()));
  const auto src = m.named_parameters();
  const auto dst = c->named_parameters();
  for (size_t k = 0; k < src.size(); ++k) dst[k].second.value().copy_from(src[k].second.value());
  c->b_base().copy_from(m.b_base());
  // The seed's stored initial state does not depend on T.
  for (const auto& [B, vs] : m.stored_initial_states()) c->set_stored_initial_state(vs.first, vs.second);
  return c;
}

void accumulate_counts(const Tensor& record, Tensor& counts) {
  check_record(record, "accumulate_counts");
  const int64_t T = record.size(0), B = record.size(1), N = kCorticalNeurons;
  check_shape(counts, {T, N}, "accumulate_counts: counts");
  check_dtype(counts, DType::i32, "accumulate_counts: counts");
  const uint8_t* r = record.data<uint8_t>();
  int32_t* c = counts.data<int32_t>();
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      const uint8_t* src = r + (t * B + b) * kNetworkNeurons + kThalamicNeurons;
      int32_t* dst = c + t * N;
      for (int64_t i = 0; i < N; ++i) dst[i] += src[i];
    }
}

Activity record_activity(BarrelModel& m, const EncodedSet& set, const std::vector<int64_t>& index,
                         int64_t batch, int64_t raster_pos, const AnalysisProgress& progress) {
  const int64_t n = static_cast<int64_t>(index.size());
  RSNN_CHECK(n > 0, "record_activity: no samples to run");
  RSNN_CHECK(raster_pos < n, "record_activity: raster sample ", raster_pos, " out of range (",
             n, " samples)");
  const int64_t T = m.config().T, N = kCorticalNeurons;
  RSNN_CHECK(m.neurons() == kNetworkNeurons, "record_activity: model has ", m.neurons(),
             " neurons, expected ", kNetworkNeurons);
  ag::NoGradGuard no_grad;
  Activity a;
  a.counts = Tensor::zeros({T, N}, DType::i32);
  const int64_t bs = batch <= 0 ? n : batch;
  for (int64_t start = 0; start < n; start += bs) {
    const int64_t len = std::min(bs, n - start);
    const std::vector<int64_t> idx(index.begin() + start, index.begin() + start + len);
    const ForwardResult f = m.forward(make_batch(m.config(), set, idx), Tensor(), true);
    const Tensor& rec = f.spike_record;
    check_record(rec, "record_activity");
    accumulate_counts(rec, a.counts);
    if (raster_pos >= start && raster_pos < start + len) {
      a.raster = Tensor::empty({T, N}, DType::u8);
      const uint8_t* src = rec.data<uint8_t>();
      uint8_t* dst = a.raster.data<uint8_t>();
      for (int64_t t = 0; t < T; ++t)
        std::memcpy(dst + t * N, src + (t * len + raster_pos - start) * kNetworkNeurons + kThalamicNeurons,
                    size_t(N));
    }
    a.samples += len;
    if (progress) progress(a.samples);
  }
  const int32_t* c = a.counts.data<int32_t>();
  for (int64_t i = 0; i < T * N; ++i) a.spikes += c[i];
  return a;
}

// ---- 1. raster and population rates ----

std::vector<NeuronGroup> rate_groups() {
  const auto& p = populations();
  // L4: populations 0-3 (E 0, 1; I 2, 3); L2/3: 4-12 (E 4; I 5-12).
  return {{"L4 E", p[0].offset, p[2].offset - p[0].offset, +1},
          {"L4 I", p[2].offset, p[4].offset - p[2].offset, -1},
          {"L2/3 E", p[4].offset, p[5].offset - p[4].offset, +1},
          {"L2/3 I", p[5].offset, kCorticalNeurons - p[5].offset, -1}};
}

Tensor population_rates(const Tensor& activity, const std::vector<NeuronGroup>& groups, int64_t bin,
                        double samples) {
  RSNN_CHECK(activity.ndim() == 2 && (activity.dtype() == DType::u8 || activity.dtype() == DType::i32),
             "population_rates: expected uint8 or int32 [T, N], got ", activity.describe());
  RSNN_CHECK(bin >= 1, "population_rates: bin must be >= 1, got ", bin);
  RSNN_CHECK(samples > 0, "population_rates: samples must be > 0");
  const int64_t T = activity.size(0), N = activity.size(1), bins = T / bin;
  RSNN_CHECK(bins >= 1, "population_rates: ", T, " steps do not fill one bin of ", bin);
  const Tensor a = activity.to_dtype(DType::i32);
  const int32_t* x = a.data<int32_t>();
  Tensor out = Tensor::zeros({static_cast<int64_t>(groups.size()), bins}, DType::f64);
  double* o = out.data<double>();
  for (size_t g = 0; g < groups.size(); ++g) {
    const NeuronGroup& gr = groups[g];
    RSNN_CHECK(gr.length > 0 && gr.start >= 0 && gr.start + gr.length <= N, "population_rates: group '",
               gr.name, "' [", gr.start, ", ", gr.start + gr.length, ") outside [0, ", N, ")");
    for (int64_t k = 0; k < bins; ++k) {
      int64_t s = 0;
      for (int64_t t = k * bin; t < (k + 1) * bin; ++t)
        for (int64_t i = gr.start; i < gr.start + gr.length; ++i) s += x[t * N + i];
      o[int64_t(g) * bins + k] = 100.0 * double(s) / (double(gr.length) * samples);
    }
  }
  return out;
}

RasterResult raster_analysis(const Activity& a, int label, int64_t sample, int64_t bin) {
  RSNN_CHECK(a.raster.defined(), "raster_analysis: the activity holds no raster");
  RasterResult r;
  r.label = label;
  r.sample = sample;
  r.samples = a.samples;
  r.bin = bin;
  r.groups = rate_groups();
  r.raster = a.raster;
  r.rates = population_rates(a.raster, r.groups, bin, 1.0);
  r.mean_rates = population_rates(a.counts, r.groups, bin, double(a.samples));
  const int64_t T = a.counts.size(0), N = a.counts.size(1);
  r.mean_rate_per_neuron = Tensor::zeros({N}, DType::f64);
  const int32_t* c = a.counts.data<int32_t>();
  double* m = r.mean_rate_per_neuron.data<double>();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < N; ++i) m[i] += c[t * N + i];
  for (int64_t i = 0; i < N; ++i) m[i] /= double(T) * double(a.samples);
  return r;
}

// ---- 2. neuron dynamics ----

const std::vector<double>& izhikevich_rates() {
  static const std::vector<double> r = {0.01636364, 0.01636364, 0.05454545, 0.02181818, 0.03818182,
                                        0.21272727, 0.21272727, 0.05454545, 0.16727273, 0.05454545,
                                        0.05454545, 0.04727273, 0.03454545};
  return r;
}

std::vector<int64_t> isolated_spike_counts(const std::vector<double>& tau_m,
                                           const std::vector<double>& tau_adp,
                                           const std::vector<double>& b_base, const LifConfig& lif,
                                           double current, double a0, int64_t T) {
  RSNN_CHECK(tau_m.size() == tau_adp.size() && tau_m.size() == b_base.size(),
             "isolated_spike_counts: tau_m, tau_adp and b_base differ in length (", tau_m.size(), ", ",
             tau_adp.size(), ", ", b_base.size(), ")");
  RSNN_CHECK(T >= 1, "isolated_spike_counts: T must be >= 1, got ", T);
  using namespace kernels::lif;
  const ModelParams<float> mp = make_model<float>(lif.model, lif.dt, lif.r_m, lif.beta);
  const int64_t n = static_cast<int64_t>(tau_m.size());
  std::vector<int64_t> counts(size_t(n), 0);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const NeuronConst<float> c =
        neuron_const<float>(mp, float(tau_m[size_t(i)]), float(tau_adp[size_t(i)]), float(b_base[size_t(i)]));
    float v = 0, a = float(a0), s = 0;
    int64_t k = 0;
    for (int64_t t = 0; t < T; ++t) {
      s = spike_of(neuron_step(mp, c, float(current), s, v, a));
      k += s > 0;
    }
    counts[size_t(i)] = k;
  }
  return counts;
}

DynamicsResult neuron_dynamics(const BarrelModel& m, const DynamicsOptions& o) {
  RSNN_CHECK(o.T >= 1 && o.control_draws >= 1 && o.control_sd >= 0 && o.kde_points >= 2,
             "neuron_dynamics: bad options (T ", o.T, ", control draws ", o.control_draws, ")");
  DynamicsResult r;
  r.options = o;
  r.a0 = o.a0 < 0 ? m.config().init_b : o.a0;
  r.tau_m_init = m.config().tau_m_init;
  r.tau_adp_init = m.config().tau_adp_init;
  const int64_t first = kThalamicNeurons, N = kCorticalNeurons;
  r.tau_m = slice(m.parameter("tau_m").value().to_vector<double>(), first, N);
  r.tau_adp = slice(m.parameter("tau_adp").value().to_vector<double>(), first, N);
  const std::vector<double> b_base = slice(m.b_base().to_vector<double>(), first, N);
  const std::vector<int64_t> counts =
      isolated_spike_counts(r.tau_m, r.tau_adp, b_base, m.lif_config(), o.current, r.a0, o.T);

  for (const Population& p : populations()) {
    const std::vector<double> tm = slice(r.tau_m, p.offset, p.size);
    const std::vector<double> ta = slice(r.tau_adp, p.offset, p.size);
    double sm = 0, sa = 0;
    int64_t spikes = 0;
    for (int64_t i = 0; i < p.size; ++i) {
      sm += tm[size_t(i)];
      sa += ta[size_t(i)];
      spikes += counts[size_t(p.offset + i)];
    }
    r.tau_m_mean.push_back(sm / double(p.size));
    r.tau_adp_mean.push_back(sa / double(p.size));
    r.tau_m_kde.push_back(gaussian_kde(tm, o.kde_points));
    r.tau_adp_kde.push_back(gaussian_kde(ta, o.kde_points));
    r.rates.push_back(double(spikes) / (double(o.T) * double(p.size)));
  }
  r.izh = izhikevich_rates();
  r.rates_norm = minmax_normalize(r.rates);
  r.izh_norm = minmax_normalize(r.izh);
  r.correlation = pearson(r.rates_norm, r.izh_norm);

  // Control: a flat profile with tiny noise (Pearson r is scale-free, so the noise alone
  // decides r). The mean r and p over the draws say what chance alone gives.
  double sr = 0, sp = 0;
  const size_t P = r.izh.size();
  for (int d = 0; d < o.control_draws; ++d) {
    std::vector<double> y(P);
    for (size_t i = 0; i < P; ++i)
      y[i] = 0.5 + o.control_sd * philox::normal(o.seed, kControlStream, uint64_t(d) * P + i);
    const Correlation c = pearson(r.izh_norm, y);
    sr += c.r;
    sp += c.p;
  }
  r.control_r = sr / o.control_draws;
  r.control_p = sp / o.control_draws;
  return r;
}

// ---- 3. weighted degrees ----

WeightedDegrees weighted_degrees(const Projection& p, const Tensor& w, int64_t first, int64_t n) {
  RSNN_CHECK(first >= 0 && n >= 0 && first + n <= p.n_post && first + n <= p.n_pre,
             "weighted_degrees: neurons [", first, ", ", first + n, ") outside the projection (",
             p.n_pre, " -> ", p.n_post, ")");
  check_shape(w, {p.nnz()}, "weighted_degrees: weights");
  const Projection c = p.to(Device::cpu());
  const std::vector<double> v = w.to_vector<double>();
  const int64_t* ptr = c.post_ptr.data<int64_t>();
  const int32_t* pre = c.pre_idx.data<int32_t>();
  WeightedDegrees d;
  d.in.assign(size_t(n), 0.0);
  d.out.assign(size_t(n), 0.0);
  for (int64_t post = first; post < first + n; ++post)
    for (int64_t s = ptr[post]; s < ptr[post + 1]; ++s) {
      const int64_t j = pre[s];
      if (j < first || j >= first + n) continue;
      d.in[size_t(post - first)] += v[size_t(s)];
      d.out[size_t(j - first)] += v[size_t(s)];
    }
  return d;
}

WeightedDegrees recurrent_degrees(const BarrelModel& m) {
  return weighted_degrees(m.projection(), m.parameter("w").value(), kThalamicNeurons, kCorticalNeurons);
}

DegreeResult degree_analysis(const BarrelModel& fresh, const BarrelModel& trained, int64_t bins) {
  DegreeResult r;
  r.fresh = recurrent_degrees(fresh);
  r.trained = recurrent_degrees(trained);
  r.fresh_in = histogram(r.fresh.in, bins);
  r.fresh_out = histogram(r.fresh.out, bins);
  r.trained_in = histogram(r.trained.in, bins);
  r.trained_out = histogram(r.trained.out, bins);
  return r;
}

// ---- 4. CV grid ----

namespace {
// Mean CV over the cortical neurons of each sample, and the cortical spike count.
std::vector<double> cv_and_spikes(const Tensor& record, int64_t& spikes) {
  check_record(record, "mean_cv_per_sample");
  const int64_t T = record.size(0), B = record.size(1), N = kCorticalNeurons;
  const uint8_t* r = record.data<uint8_t>();
  std::vector<double> cv(size_t(B), 0.0);
  int64_t total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int32_t> sum(size_t(N), 0), sum_sq(size_t(N), 0);
    for (int64_t t = 0; t < T; ++t) {
      const uint8_t* x = r + (t * B + b) * kNetworkNeurons + kThalamicNeurons;
      for (int64_t i = 0; i < N; ++i) {
        sum[size_t(i)] += x[i];
        sum_sq[size_t(i)] += x[i] * x[i];
      }
    }
    double acc = 0;
    for (int64_t i = 0; i < N; ++i) {
      acc += cv_from_sums(sum[size_t(i)], sum_sq[size_t(i)], T);
      total += sum[size_t(i)];
    }
    cv[size_t(b)] = acc / double(N);
  }
  spikes = total;
  return cv;
}
}  // namespace

std::vector<double> mean_cv_per_sample(const Tensor& record) {
  int64_t spikes = 0;
  return cv_and_spikes(record, spikes);
}

CvGridOptions cv_full_grid() {
  CvGridOptions o;
  o.w = {0.01, 0.02, 0.03, 0.04};
  o.b.clear();
  for (int k = 1; k <= 60; ++k) o.b.push_back(k / 100.0);
  return o;
}

CvGridResult cv_grid(const BarrelConfig& base, const EncodedSet& set, const CvGridOptions& o,
                     const AnalysisProgress& progress) {
  RSNN_CHECK(!o.w.empty() && !o.b.empty(), "cv_grid: empty grid");
  RSNN_CHECK(!o.classes.empty(), "cv_grid: no classes for the batch");
  std::vector<int64_t> index;
  for (int c : o.classes) {
    RSNN_CHECK(c >= 0 && c < kClasses, "cv_grid: class ", c, " is not 0, 1 or 2");
    std::vector<int64_t> idx = samples_of_class(set, c);
    RSNN_CHECK(!idx.empty(), "cv_grid: the data have no sample of class ", c, " (", class_name(c), ")");
    if (o.per_class > 0 && int64_t(idx.size()) > o.per_class) idx.resize(size_t(o.per_class));
    index.insert(index.end(), idx.begin(), idx.end());
  }
  CvGridResult r;
  r.w = o.w;
  r.b = o.b;
  r.samples = static_cast<int64_t>(index.size());
  r.T = base.T;
  const int64_t n = r.samples, bs = o.batch <= 0 ? n : o.batch;
  ag::NoGradGuard no_grad;
  int64_t done = 0;
  for (double w : o.w)
    for (double b : o.b) {
      BarrelConfig cfg = base;
      cfg.init_w = w;
      cfg.init_b = b;
      BarrelModel m(cfg);
      double cv_sum = 0;
      int64_t spikes = 0;
      for (int64_t start = 0; start < n; start += bs) {
        const std::vector<int64_t> idx(index.begin() + start, index.begin() + std::min(n, start + bs));
        const ForwardResult f = m.forward(make_batch(cfg, set, idx), Tensor(), true);
        int64_t s = 0;
        for (double v : cv_and_spikes(f.spike_record, s)) cv_sum += v;
        spikes += s;
      }
      r.cv.push_back(cv_sum / double(n));
      r.rate.push_back(double(spikes) / (double(n) * double(cfg.T) * double(kCorticalNeurons)));
      if (progress) progress(++done);
    }
  return r;
}

// ---- 5. ANOVA selectivity ----

const std::vector<std::pair<double, double>>& class_directions() {
  static const std::vector<std::pair<double, double>> u = {
      {-std::sqrt(3.0) / 2, -0.5}, {0.0, 1.0}, {std::sqrt(3.0) / 2, -0.5}};
  return u;
}

SelectivityResult selectivity(const std::vector<Activity>& per_class, const SelectivityOptions& o) {
  const int64_t C = static_cast<int64_t>(per_class.size());
  RSNN_CHECK(C == kClasses, "selectivity: expected the activity of ", kClasses, " classes, got ", C);
  RSNN_CHECK(o.alpha > 0 && o.alpha < 1 && o.prior >= 0, "selectivity: bad options (alpha ", o.alpha,
             ", prior ", o.prior, ")");
  const Shape shape = per_class[0].counts.shape();
  RSNN_CHECK(shape.size() == 2 && shape[0] >= 2, "selectivity: counts must be [T >= 2, N]");
  for (const Activity& a : per_class) {
    check_shape(a.counts, shape, "selectivity: class counts");
    check_dtype(a.counts, DType::i32, "selectivity: class counts");
  }
  const int64_t T = shape[0], N = shape[1];
  SelectivityResult r;
  r.options = o;
  r.F.assign(size_t(N), std::nan(""));
  r.p.assign(size_t(N), std::nan(""));
  r.tested.assign(size_t(N), 0);
  r.selective.assign(size_t(N), 0);
  r.class_spikes.assign(size_t(N * C), 0.0);
  r.proportions.assign(size_t(N * C), 0.0);
  r.xy.assign(size_t(N * 2), 0.0);
  for (const Activity& a : per_class) r.samples.push_back(a.samples);
  std::vector<const int32_t*> x;
  for (const Activity& a : per_class) x.push_back(a.counts.data<int32_t>());
  const auto& u = class_directions();

#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < N; ++i) {
    std::vector<std::vector<double>> groups(static_cast<size_t>(C), std::vector<double>(static_cast<size_t>(T)));
    bool identical = true;
    double total = 0;
    for (int64_t c = 0; c < C; ++c) {
      double s = 0;
      for (int64_t t = 0; t < T; ++t) {
        const double v = x[size_t(c)][t * N + i];
        groups[size_t(c)][size_t(t)] = v;
        s += v;
        identical = identical && v == double(x[0][t * N + i]);
      }
      r.class_spikes[size_t(i * C + c)] = s;
      total += s;
    }
    double px = 0, py = 0;
    const double denom = total + double(C) * o.prior;
    for (int64_t c = 0; c < C; ++c) {
      // A silent neuron with no prior has no preference: equal proportions.
      const double p = denom > 0 ? (r.class_spikes[size_t(i * C + c)] + o.prior) / denom : 1.0 / double(C);
      r.proportions[size_t(i * C + c)] = p;
      px += p * u[size_t(c)].first;
      py += p * u[size_t(c)].second;
    }
    r.xy[size_t(2 * i)] = px;
    r.xy[size_t(2 * i + 1)] = py;
    if (identical) continue;
    const AnovaResult a = one_way_anova(groups);
    r.F[size_t(i)] = a.F;
    r.p[size_t(i)] = a.p;
    r.tested[size_t(i)] = 1;
    r.selective[size_t(i)] = a.p < o.alpha;
  }
  for (int64_t i = 0; i < N; ++i) {
    r.n_tested += r.tested[size_t(i)];
    r.n_selective += r.selective[size_t(i)];
  }
  r.fraction = double(r.n_selective) / double(N);
  r.fraction_of_tested = r.n_tested ? double(r.n_selective) / double(r.n_tested) : 0.0;
  return r;
}

}  // namespace rsnn::barrel
