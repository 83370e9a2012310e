#include "models/barrel/whisker_data.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "runtime/hdf5_io.h"
#include "runtime/philox.h"

namespace rsnn::barrel {

namespace {
// Elements of one sweep of one sample, and of one frame within a sweep.
constexpr int64_t kFrameSize = kWhiskers * kSegments * kAxes;  // 279
constexpr int64_t kSweepSize = kFrames * kFrameSize;            // 30,690
constexpr int64_t kSampleSize = kSweeps * kSweepSize;           // 368,280

// The first non-finite value of a [N, 12, 110, 31, 3, 3] float32 tensor, named by its indices.
void check_finite_values(const Tensor& t, const std::string& where, const char* name) {
  const float* p = t.data<float>();
  const int64_t n = t.numel();
  int64_t first = n;
#pragma omp parallel for reduction(min : first) schedule(static)
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i]) && i < first) first = i;
  if (first == n) return;
  int64_t r = first;
  const int64_t axis = r % kAxes; r /= kAxes;
  const int64_t seg = r % kSegments; r /= kSegments;
  const int64_t whisker = r % kWhiskers; r /= kWhiskers;
  const int64_t frame = r % kFrames; r /= kFrames;
  const int64_t sweep = r % kSweeps; r /= kSweeps;
  RSNN_FAIL(where, ": dataset '", name, "': non-finite value ", p[first], " at sample ", r,
            ", sweep ", sweep, ", frame ", frame, ", whisker ", whisker, ", segment ", seg,
            ", axis ", axis);
}

void check_sweep(int64_t sweep, const char* what) {
  RSNN_CHECK(sweep >= 0 && sweep < kSweeps, what, ": sweep ", sweep, " is outside 0..",
             kSweeps - 1);
}
}  // namespace

Shape whisker_sample_shape() { return {kSweeps, kFrames, kWhiskers, kSegments, kAxes}; }

Shape whisker_data_shape(int64_t n) { return {n, kSweeps, kFrames, kWhiskers, kSegments, kAxes}; }

WhiskerData WhiskerData::zeros(int64_t n) {
  WhiskerData d;
  d.force = Tensor::zeros(whisker_data_shape(n), DType::f32);
  d.torque = Tensor::zeros(whisker_data_shape(n), DType::f32);
  d.label = Tensor::zeros({n}, DType::i32);
  return d;
}

const char* class_name(int label) {
  switch (label) {
    case 0: return "helmet";
    case 1: return "box";
    case 2: return "plane";
  }
  RSNN_FAIL("whisker class id ", label, " is outside 0..2");
}

double category_of_label(int label) {
  switch (label) {
    case 0: return 53.0;
    case 1: return 55.0;
    case 2: return 113.0;
  }
  RSNN_FAIL("whisker class id ", label, " is outside 0..2");
}

int label_of_category(double category, const std::string& where) {
  if (category == 53.0) return 0;
  if (category == 55.0) return 1;
  if (category == 113.0) return 2;
  RSNN_FAIL(where, ": unknown label ", category,
            " (expected ShapeNet category 53 = helmet, 55 = box or 113 = plane)");
}

void check_layout(const WhiskerData& d, const std::string& where) {
  RSNN_CHECK(d.force.defined(), where, ": dataset 'force' is missing");
  RSNN_CHECK(d.torque.defined(), where, ": dataset 'torque' is missing");
  RSNN_CHECK(d.label.defined(), where, ": dataset 'label' is missing");
  RSNN_CHECK(d.label.ndim() == 1, where, ": dataset 'label': expected shape [N], got ",
             d.label.shape_str());
  check_dtype(d.label, DType::i32, where + ": dataset 'label'");
  const int64_t n = d.label.numel();
  for (const auto& [name, t] : {std::pair<const char*, const Tensor*>{"force", &d.force},
                                {"torque", &d.torque}}) {
    RSNN_CHECK(t->ndim() == 6, where, ": dataset '", name,
               "': expected rank 6 [N, 12, 110, 31, 3, 3], got shape ", t->shape_str());
    RSNN_CHECK(t->size(0) == n, where, ": dataset '", name, "' has ", t->size(0),
               " samples but 'label' has ", n);
    check_shape(*t, whisker_data_shape(n), where + ": dataset '" + name + "'");
    check_dtype(*t, DType::f32, where + ": dataset '" + name + "'");
  }
  for (const Tensor* t : {&d.force, &d.torque, &d.label})
    RSNN_CHECK(t->device().is_cpu(), where, ": whisker data must be on the CPU, found ",
               t->device().str());
}

void validate(const WhiskerData& d, const std::string& where) {
  check_layout(d, where);
  check_finite_values(d.force, where, "force");
  check_finite_values(d.torque, where, "torque");
  const int32_t* l = d.label.data<int32_t>();
  for (int64_t i = 0; i < d.size(); ++i)
    RSNN_CHECK(l[i] >= 0 && l[i] < kClasses, where, ": dataset 'label': sample ", i,
               " has class id ", l[i], ", expected 0..2");
}

Tensor spike_probabilities(const WhiskerData& d, int64_t sweep) {
  check_sweep(sweep, "spike_probabilities");
  check_layout(d, "spike_probabilities");
  const int64_t N = d.size();
  Tensor out = Tensor::empty({N, 2, kFrames, kSpikeInputs}, DType::f32);
  const float* src[2] = {d.force.data<float>(), d.torque.data<float>()};
  const float exp_offset[2] = {static_cast<float>(std::exp(kForceOffset)),
                               static_cast<float>(std::exp(kTorqueOffset))};
  float* o = out.data<float>();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t f = 0; f < kFrames; ++f) {
      for (int ch = 0; ch < 2; ++ch) {
        const float* v = src[ch] + n * kSampleSize + sweep * kSweepSize + f * kFrameSize;
        float* p = o + ((n * 2 + ch) * kFrames + f) * kSpikeInputs;
        for (int64_t i = 0; i < kSpikeInputs; ++i)
          p[i] = spike_probability(contact_magnitude(v[3 * i], v[3 * i + 1], v[3 * i + 2]),
                                   exp_offset[ch]);
      }
    }
  }
  return out;
}

Tensor encode_spikes(const WhiskerData& d, uint64_t seed, uint64_t stream, int64_t sweep,
                     int64_t sample_offset) {
  check_sweep(sweep, "encode_spikes");
  RSNN_CHECK(sample_offset >= 0, "encode_spikes: negative sample_offset ", sample_offset);
  const int64_t N = d.size();
  const Tensor prob = spike_probabilities(d, sweep);
  const float* p = prob.data<float>();
  Tensor out = Tensor::empty({N, 2, kSteps, kSpikeInputs}, DType::u8);
  uint8_t* s = out.data<uint8_t>();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t ch = 0; ch < 2; ++ch) {
      for (int64_t t = 0; t < kSteps; ++t) {
        const float* pf = p + ((n * 2 + ch) * kFrames + t / kRepeat) * kSpikeInputs;
        const int64_t row = ((n * 2 + ch) * kSteps + t) * kSpikeInputs;
        const uint64_t base =
            static_cast<uint64_t>((((sample_offset + n) * 2 + ch) * kSteps + t) * kSpikeInputs);
        // philox::bernoulli(seed, stream, base + i, pf[i]), computing each Philox block
        // (four numbers) once instead of once per number.
        philox::Words w = philox::block(seed, stream, base >> 2);
        for (int64_t i = 0; i < kSpikeInputs; ++i) {
          const uint64_t idx = base + static_cast<uint64_t>(i);
          if (i > 0 && (idx & 3) == 0) w = philox::block(seed, stream, idx >> 2);
          s[row + i] = philox::to_unit_float(w.v[idx & 3]) < pf[i] ? 1 : 0;
        }
      }
    }
  }
  return out;
}

Tensor encode_real(const WhiskerData& d, int64_t sweep) {
  check_sweep(sweep, "encode_real");
  check_layout(d, "encode_real");
  const int64_t N = d.size();
  Tensor out = Tensor::empty({N, kFrames, kRealFeatures}, DType::f32);
  const float* src[2] = {d.force.data<float>(), d.torque.data<float>()};
  float* o = out.data<float>();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t f = 0; f < kFrames; ++f) {
      float* row = o + (n * kFrames + f) * kRealFeatures;
      for (int ch = 0; ch < 2; ++ch) {
        const float* base = src[ch] + n * kSampleSize + f * kFrameSize;
        for (int64_t e = 0; e < kFrameSize; ++e) {  // e = (whisker*3 + segment)*3 + axis
          double sq = 0;
          for (int64_t k = 0; k < kSweeps; ++k) {
            const double v = base[k * kSweepSize + e];
            sq += v * v;
          }
          const double norm = std::max(std::sqrt(sq), kNormalizeEps);
          const int64_t ws = e / kAxes, axis = e % kAxes;
          row[ws * 2 * kAxes + ch * kAxes + axis] =
              static_cast<float>(base[sweep * kSweepSize + e] / norm);
        }
      }
    }
  }
  return out;
}

void deprive_(WhiskerData& d, const std::vector<int>& whiskers) {
  check_layout(d, "deprive");
  for (int w : whiskers)
    RSNN_CHECK(w >= 0 && w < kWhiskers, "deprive: whisker ", w, " is outside 0..", kWhiskers - 1);
  const int64_t rows = d.size() * kSweeps * kFrames;
  constexpr int64_t kWhiskerSize = kSegments * kAxes;
  for (Tensor* t : {&d.force, &d.torque}) {
    float* p = t->data<float>();
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r)
      for (int w : whiskers) std::fill_n(p + r * kFrameSize + w * kWhiskerSize, kWhiskerSize, 0.0f);
  }
}

WhiskerData deprive(const WhiskerData& d, const std::vector<int>& whiskers) {
  WhiskerData c{d.force.clone(), d.torque.clone(), d.label.clone()};
  deprive_(c, whiskers);
  return c;
}

std::vector<std::vector<int>> deprivation_sets(int k, int trials, uint64_t seed, int n_candidates) {
  RSNN_CHECK(k >= 1, "deprivation_sets: k must be at least 1, got ", k);
  std::vector<std::vector<int>> sets;
  if (k == 1) {
    for (int w = 0; w < kWhiskers; ++w) sets.push_back({w});
    return sets;
  }
  RSNN_CHECK(n_candidates >= k && n_candidates <= kWhiskers, "deprivation_sets: cannot draw ", k,
             " distinct whiskers from ", n_candidates, " candidates (at most ", kWhiskers, ")");
  RSNN_CHECK(trials >= 1, "deprivation_sets: trials must be at least 1, got ", trials);
  for (int tr = 0; tr < trials; ++tr) {
    // Partial Fisher-Yates on 0..n_candidates-1; stream = k, counter = (trial, position).
    std::vector<int> pool(n_candidates);
    std::iota(pool.begin(), pool.end(), 0);
    for (int i = 0; i < k; ++i) {
      const double u = philox::uniform_f64(seed, static_cast<uint64_t>(k),
                                           static_cast<uint64_t>(tr) * kWhiskers + i);
      const int j = i + std::min(static_cast<int>(u * (n_candidates - i)), n_candidates - i - 1);
      std::swap(pool[i], pool[j]);
    }
    sets.emplace_back(pool.begin(), pool.begin() + k);
  }
  return sets;
}

WhiskerData subset(const WhiskerData& d, const std::vector<int64_t>& index) {
  check_layout(d, "whisker data subset");
  const int64_t N = d.size(), M = static_cast<int64_t>(index.size());
  for (int64_t i : index)
    RSNN_CHECK(i >= 0 && i < N, "whisker data subset: sample ", i, " is outside 0..", N - 1);
  WhiskerData out = WhiskerData::zeros(M);
  const float* f = d.force.data<float>();
  const float* q = d.torque.data<float>();
  const int32_t* l = d.label.data<int32_t>();
  float* of = out.force.data<float>();
  float* oq = out.torque.data<float>();
  int32_t* ol = out.label.data<int32_t>();
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < M; ++m) {
    std::memcpy(of + m * kSampleSize, f + index[m] * kSampleSize, kSampleSize * sizeof(float));
    std::memcpy(oq + m * kSampleSize, q + index[m] * kSampleSize, kSampleSize * sizeof(float));
    ol[m] = l[index[m]];
  }
  return out;
}

std::vector<int64_t> class_counts(const WhiskerData& d) {
  std::vector<int64_t> c(kClasses, 0);
  const std::vector<int32_t> l = d.label.to_vector<int32_t>();
  for (int32_t v : l) {
    RSNN_CHECK(v >= 0 && v < kClasses, "class_counts: class id ", v, " is outside 0..2");
    ++c[v];
  }
  return c;
}

std::pair<WhiskerData, WhiskerData> split_stratified(const WhiskerData& d, double test_fraction,
                                                     uint64_t seed) {
  RSNN_CHECK(test_fraction >= 0.0 && test_fraction <= 1.0, "split_stratified: test_fraction ",
             test_fraction, " is outside [0, 1]");
  const std::vector<int32_t> l = d.label.to_vector<int32_t>();
  std::vector<char> is_test(l.size(), 0);
  for (int c = 0; c < kClasses; ++c) {
    std::vector<int64_t> members;
    for (size_t i = 0; i < l.size(); ++i)
      if (l[i] == c) members.push_back(static_cast<int64_t>(i));
    // Seeded Fisher-Yates, one stream per class.
    for (int64_t i = static_cast<int64_t>(members.size()) - 1; i > 0; --i) {
      const double u = philox::uniform_f64(seed, 100 + c, static_cast<uint64_t>(i));
      const int64_t j = std::min(static_cast<int64_t>(u * (i + 1)), i);
      std::swap(members[i], members[j]);
    }
    const auto n_test = static_cast<size_t>(std::llround(test_fraction * members.size()));
    for (size_t k = 0; k < n_test; ++k) is_test[members[k]] = 1;
  }
  std::vector<int64_t> train, test;
  for (size_t i = 0; i < l.size(); ++i) (is_test[i] ? test : train).push_back(static_cast<int64_t>(i));
  return {subset(d, train), subset(d, test)};
}

}  // namespace rsnn::barrel

// ---- HDF5 ----

namespace rsnn::barrel {

WhiskerData read_whisker_h5(const std::string& path) {
  const H5File file = H5File::open_read(path);
  for (const char* name : {"force", "torque", "label"})
    RSNN_CHECK(file.is_dataset(name), path, ": dataset '", name, "' not found (expected 'force', "
               "'torque' [N, 12, 110, 31, 3, 3] and 'label' [N])");
  const Shape sf = file.dataset_shape("force"), st = file.dataset_shape("torque");
  Shape sl = file.dataset_shape("label");
  if (sl.size() == 2 && sl[1] == 1) sl = {sl[0]};
  RSNN_CHECK(sl.size() == 1, path, ": dataset 'label': expected shape [N], got ", shape_str(sl));
  const int64_t n = sl[0];
  // Zero samples would "evaluate" to accuracy 0 and "train" on nothing.
  RSNN_CHECK(n > 0, path, ": holds no samples ('label' has shape ", shape_str(sl), ")");
  for (const auto& [name, s] : {std::pair<const char*, const Shape*>{"force", &sf}, {"torque", &st}}) {
    RSNN_CHECK(s->size() == 6, path, ": dataset '", name,
               "': expected rank 6 [N, 12, 110, 31, 3, 3], got shape ", shape_str(*s));
    RSNN_CHECK((*s)[0] == n, path, ": dataset '", name, "' has ", (*s)[0],
               " samples but 'label' has ", n);
    RSNN_CHECK(*s == whisker_data_shape(n), path, ": dataset '", name, "' has shape ",
               shape_str(*s), ", expected ", shape_str(whisker_data_shape(n)));
  }
  WhiskerData d;
  d.force = file.read_as("force", DType::f32);
  d.torque = file.read_as("torque", DType::f32);
  const Tensor cat = file.read_as("label", DType::f64);
  d.label = Tensor::empty({n}, DType::i32);
  const double* c = cat.data<double>();
  int32_t* l = d.label.data<int32_t>();
  for (int64_t i = 0; i < n; ++i)
    l[i] = label_of_category(c[i], path + ": dataset 'label', sample " + std::to_string(i));
  validate(d, path);
  return d;
}

void write_whisker_h5(const std::string& path, const WhiskerData& d,
                      const std::vector<std::pair<std::string, std::string>>& attributes) {
  validate(d, "write_whisker_h5(" + path + ")");
  const int64_t n = d.size();
  Tensor cat = Tensor::empty({n}, DType::f64);
  const int32_t* l = d.label.data<int32_t>();
  for (int64_t i = 0; i < n; ++i) cat.data<double>()[i] = category_of_label(l[i]);
  // One chunk per sample (1.4 MB), fast deflate: contact-free frames are zero and compress
  // well, and a reader of a few samples decompresses only those.
  H5WriteOptions opt;
  opt.chunked = n > 0;
  opt.gzip = n > 0 ? 1 : -1;
  if (n > 0) opt.chunk = whisker_data_shape(1);
  H5File file = H5File::create(path);
  file.write("force", d.force, opt);
  file.write("torque", d.torque, opt);
  file.write("label", cat);
  file.set_attr("/", "layout",
                "force, torque: float32 [N, 12, 110, 31, 3, 3] = sample, sweep (4*position + "
                "rotation), frame, whisker, base segment, xyz; label: category 53 helmet, 55 box, "
                "113 plane");
  for (const auto& [key, value] : attributes) file.set_attr("/", key, value);
  file.close();
}

}  // namespace rsnn::barrel
