#include "models/rate/model_file.h"

#include <hdf5.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>

#include "runtime/atomic_file.h"
#include "runtime/error.h"
#include "runtime/hdf5_io.h"

namespace rsnn::rate {

namespace {

// ---------------------------------------------------------------- writing
// Writes 2-D arrays given row-major as (rows, cols): HDF5 dims (rows, cols). (MAT-files are
// written by libmatio: mat_file.cpp.)
class Writer {
 public:
  explicit Writer(const std::string& path) : path_(path) {
    hdf5_quiet_errors();  // failures become one-line errors, not HDF5 error stacks
    f_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f_ < 0) {
      const std::string why = hdf5_error_reason();
      RSNN_FAIL("cannot create HDF5 file ", path, why.empty() ? "" : ": ", why);
    }
  }
  ~Writer() {
    if (f_ >= 0) H5Fclose(f_);
    if (lcpl_ >= 0) H5Pclose(lcpl_);
  }
  // Link creation that makes missing groups ("trial_0/out").
  hid_t lcpl() {
    if (lcpl_ < 0) {
      lcpl_ = H5Pcreate(H5P_LINK_CREATE);
      RSNN_H5_CHECK(H5Pset_create_intermediate_group(lcpl_, 1), path_);
    }
    return lcpl_;
  }
  void close() {
    RSNN_H5_CHECK(H5Fclose(f_), "closing ", path_);
    f_ = -1;
  }

  template <class T>
  void array(const std::string& name, const T* data, int64_t rows, int64_t cols, bool scalar = false) {
    const hsize_t dims[2] = {hsize_t(rows), hsize_t(cols)};
    const int rank = scalar ? 0 : 2;
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, nullptr);
    RSNN_H5_CHECK(space, path_, ": dataspace for ", name);
    hid_t type = h5type<T>();
    hid_t ds = H5Dcreate2(f_, name.c_str(), type, space, lcpl(), H5P_DEFAULT, H5P_DEFAULT);
    H5Sclose(space);
    RSNN_CHECK(ds >= 0, path_, ": cannot create dataset ", name);
    const herr_t st = rows * cols > 0 ? H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0;
    H5Dclose(ds);
    RSNN_CHECK(st >= 0, path_, ": cannot write dataset ", name);
  }
  void scalar(const std::string& name, double v) { array(name, &v, 1, 1, true); }
  void tensor(const std::string& name, const Tensor& t, int64_t rows, int64_t cols) {
    if (!t.defined()) return;
    RSNN_CHECK(t.numel() == rows * cols, path_, ": ", name, " has ", t.numel(), " values, expected ",
               rows, "x", cols);
    if (t.dtype() == DType::f32) {
      array(name, t.data<float>(), rows, cols);
    } else {
      auto v = t.to_vector<double>();
      array(name, v.data(), rows, cols);
    }
  }
  void logical(const std::string& name, const std::vector<uint8_t>& v, int64_t rows, int64_t cols) {
    array(name, v.data(), rows, cols);
  }
  void string(const std::string& name, const std::string& s) {
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, std::max<size_t>(1, s.size()));
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t ds = H5Dcreate2(f_, name.c_str(), type, space, lcpl(), H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = ds >= 0 ? H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, s.c_str()) : -1;
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(space);
    H5Tclose(type);
    RSNN_CHECK(st >= 0, path_, ": cannot write string ", name);
  }

 private:
  template <class T> static hid_t h5type() {
    if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
    if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
    if constexpr (std::is_same_v<T, uint8_t>) return H5T_NATIVE_UINT8;
    if constexpr (std::is_same_v<T, uint16_t>) return H5T_NATIVE_UINT16;
    if constexpr (std::is_same_v<T, int64_t>) return H5T_NATIVE_INT64;
    return -1;
  }
  std::string path_;
  hid_t f_ = -1;
  hid_t lcpl_ = -1;
};

// The network: weights as the original saves them, then the configuration it lacks.
void write_network(Writer& w, const RateModel& m) {
  const RateNet& n = m.net;
  const int N = n.N(), C = int(n.w_in.size(1));
  // relu'd weights, as the original saves them (raw weights without Dale, as the original)
  auto relu = [&](const Tensor& t) {
    auto v = t.to_vector<float>();
    if (n.cfg.apply_dale)
      for (auto& x : v) x = std::max(x, 0.f);
    return v;
  };
  const auto wr = relu(n.w), w0 = relu(n.w0.defined() ? n.w0 : n.w);
  w.array("w", wr.data(), N, N);
  w.array("w0", w0.data(), N, N);
  w.tensor("m", n.m_matrix().to_dtype(DType::f32), N, N);
  w.tensor("som_m", n.som_m.to_dtype(DType::f32), N, N);
  w.tensor("w_in", n.w_in.to_dtype(DType::f32), N, C);
  w.tensor("w_in0", n.w_in.to_dtype(DType::f32), N, C);
  w.tensor("w_out", n.w_out.to_dtype(DType::f32), 1, N);
  w.scalar("b_out", n.b_out.item<double>());
  w.array("taus", n.cfg.taus.data(), 1, int64_t(n.cfg.taus.size()));
  w.tensor("taus_gaus", n.taus_gaus.to_dtype(DType::f32), N, 1);
  w.tensor("taus_gaus0", (n.taus_gaus0.defined() ? n.taus_gaus0 : n.taus_gaus).to_dtype(DType::f32), N, 1);
  w.scalar("N", N);
  w.scalar("som_N", n.cfg.som_N);
  std::vector<uint8_t> exc(N);
  for (int i = 0; i < N; ++i) exc[i] = !n.inh[i];
  w.logical("exc", exc, N, 1);
  w.logical("inh", n.inh, N, 1);
  w.string("activation", activation_name(n.cfg.act));
  // the rest of the configuration (not in the original, needed to rebuild the run)
  w.string("task", m.task.name());
  w.string("loss_fn", loss_name(m.loss));
  w.scalar("P_inh", n.cfg.P_inh);
  w.scalar("P_rec", n.cfg.P_rec);
  w.scalar("gain", n.cfg.gain);
  w.scalar("apply_dale", n.cfg.apply_dale ? 1 : 0);
  w.scalar("noise_std", n.cfg.noise_std);
  w.scalar("x0_std", n.cfg.x0_std);
  w.scalar("n_areas", n.cfg.n_areas);
  w.scalar("P_inter", n.cfg.P_inter);
  {
    std::vector<double> area(N);  // area index of every unit (0-based)
    for (int i = 0; i < N; ++i) area[i] = n.cfg.area_of(i);
    w.array("area", area.data(), N, 1);
  }
  w.scalar("seed", double(m.seed));
  const double timing[5] = {double(m.task.T), double(m.task.stim_on), double(m.task.stim_dur),
                            double(m.task.delay), m.task.mante_offset};
  w.array("task_timing", timing, 1, 5);
}

// The training record, the evaluation traces and the grid search's results.
void write_record(Writer& w, const RateModel& m) {
  w.scalar("tr", double(m.tr));
  w.scalar("converged", m.converged ? 1 : 0);
  w.scalar("training_seconds", m.seconds);
  if (!m.losses.empty()) w.array("losses", m.losses.data(), 1, int64_t(m.losses.size()));
  if (!m.evals.empty()) {
    std::vector<double> e;  // (n_evals, 4): tr, perf, loss, seconds
    for (const auto& r : m.evals) e.insert(e.end(), {double(r.tr), r.perf, r.loss, r.seconds});
    w.array("eval_history", e.data(), int64_t(m.evals.size()), 4);
  }
  w.scalar("eval_perf_mean", m.eval_perf_mean);
  w.scalar("eval_loss_mean", m.eval_loss_mean);
  if (m.eval_os.defined()) w.tensor("eval_os", m.eval_os.to_dtype(DType::f32), m.eval_os.size(0), m.eval_os.size(1));
  if (!m.eval_labels.empty()) {
    std::vector<double> l(m.eval_labels.begin(), m.eval_labels.end());
    w.array("eval_labels", l.data(), 1, int64_t(l.size()));
  }
  auto trace = [&](const char* name, const Tensor& t) {
    if (t.defined()) w.tensor(name, t.to_dtype(DType::f32), t.size(0), t.numel() / t.size(0));
  };
  trace("x0", m.x0);
  trace("r0", m.r0);
  trace("u", m.u);
  if (m.target.defined()) w.tensor("target", m.target.to_dtype(DType::f32), 1, m.target.numel());
  if (m.o.defined()) w.tensor("o", m.o.to_dtype(DType::f32), 1, m.o.numel());
  trace("x", m.x);
  trace("r", m.r);
  if (!m.scaling_factors.empty()) {
    w.array("scaling_factors", m.scaling_factors.data(), 1, int64_t(m.scaling_factors.size()));
    w.array("all_perfs", m.all_perfs.data(), int64_t(m.all_perfs.size()), 1);
  }
  if (!std::isnan(m.opt_scaling_factor)) w.scalar("opt_scaling_factor", m.opt_scaling_factor);
}

void write_model(Writer& w, const RateModel& m) {
  write_network(w, m);
  write_record(w, m);
}

// The project's atomic writer: a unique temporary name (two processes writing one file never
// share it), fsync of file and directory, the temporary removed when `body` throws.
template <class F>
void atomic_write(const std::string& path, F&& body) {
  AtomicFile out(path);
  body(out.temp_path());
  out.commit();
}

// ---------------------------------------------------------------- reading
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {
    hdf5_quiet_errors();
    H5E_BEGIN_TRY { f_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT); }
    H5E_END_TRY;
    RSNN_CHECK(f_ >= 0, "cannot open rate model file ", path, " (missing or not HDF5)");
  }
  ~Reader() { H5Fclose(f_); }
  bool has(const std::string& name) const { return H5Lexists(f_, name.c_str(), H5P_DEFAULT) > 0; }
  // Values as double, with the shape (rank <= 2; a scalar has shape {}).
  std::vector<double> read(const std::string& name, std::vector<int64_t>* shape = nullptr) const {
    RSNN_CHECK(has(name), path_, ": missing dataset '", name, "'");
    hid_t ds = H5Dopen2(f_, name.c_str(), H5P_DEFAULT);
    RSNN_CHECK(ds >= 0, path_, ": cannot open dataset ", name);
    hid_t sp = H5Dget_space(ds);
    const int rank = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[8] = {0};
    H5Sget_simple_extent_dims(sp, dims, nullptr);
    H5Sclose(sp);
    int64_t n = 1;
    std::vector<int64_t> sh;
    for (int i = 0; i < rank; ++i) n *= int64_t(dims[i]), sh.push_back(int64_t(dims[i]));
    std::vector<double> v(n);
    herr_t st = n > 0 ? H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) : 0;
    H5Dclose(ds);
    RSNN_CHECK(st >= 0, path_, ": cannot read dataset ", name, " as numbers");
    if (shape) *shape = sh;
    return v;
  }
  // Values that define the model: NaN or infinity there is an error naming file and dataset.
  std::vector<double> read_finite(const std::string& name, std::vector<int64_t>* shape = nullptr) const {
    auto v = read(name, shape);
    for (size_t i = 0; i < v.size(); ++i)
      RSNN_CHECK(std::isfinite(v[i]), path_, ": dataset '", name, "' holds a non-finite value (",
                 v[i], " at element ", i, ")");
    return v;
  }
  std::vector<double> read_shape(const std::string& name, const std::vector<int64_t>& want) const {
    std::vector<int64_t> sh;
    auto v = read_finite(name, &sh);
    RSNN_CHECK(sh == want, path_, ": dataset '", name, "': expected shape ", shape_str(want), ", got ",
               shape_str(sh));
    return v;
  }
  double scalar(const std::string& name) const {
    auto v = read_finite(name);
    RSNN_CHECK(v.size() == 1, path_, ": dataset '", name, "' is not a scalar");
    return v[0];
  }
  double scalar_or(const std::string& name, double dflt) const { return has(name) ? scalar(name) : dflt; }
  // A record that may hold NaN (an evaluation that never ran).
  double record_or(const std::string& name, double dflt) const {
    if (!has(name)) return dflt;
    auto v = read(name);
    RSNN_CHECK(v.size() == 1, path_, ": dataset '", name, "' is not a scalar");
    return v[0];
  }
  std::string string(const std::string& name) const {
    RSNN_CHECK(has(name), path_, ": missing dataset '", name, "'");
    hid_t ds = H5Dopen2(f_, name.c_str(), H5P_DEFAULT);
    hid_t type = H5Dget_type(ds);
    std::string out;
    herr_t st = -1;
    if (H5Tget_class(type) == H5T_STRING && !H5Tis_variable_str(type)) {
      std::vector<char> buf(H5Tget_size(type) + 1, 0);
      hid_t mem = H5Tcopy(H5T_C_S1);
      H5Tset_size(mem, buf.size());
      st = H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
      H5Tclose(mem);
      out = buf.data();
    }
    H5Tclose(type);
    H5Dclose(ds);
    RSNN_CHECK(st >= 0, path_, ": dataset '", name, "' is not a fixed-length string");
    return out;
  }

 private:
  std::string path_;
  hid_t f_ = -1;
};

Tensor to_tensor(const std::vector<double>& v, const Shape& shape) {
  std::vector<float> f(v.begin(), v.end());
  return Tensor::from_vector(f, shape);
}

}  // namespace

// ---------------------------------------------------------------- public
RateModel model_from_training(const TrainResult& r, const TrainConfig& cfg) {
  RateModel m;
  m.net = r.net;
  m.task = cfg.stages.back();
  m.loss = cfg.loss;
  m.seed = cfg.seed;
  m.tr = r.tr;
  m.converged = r.converged;
  m.seconds = r.seconds;
  m.losses = r.losses;
  m.evals = r.evals;
  m.eval_perf_mean = r.last_eval.perf;
  m.eval_loss_mean = r.last_eval.loss;
  m.eval_os = r.last_eval.o;
  m.eval_labels = r.last_eval.labels;
  auto first = [](const Tensor& t) {  // (B, T, N) -> (T, N) of the first trial
    return t.defined() ? t.narrow0(0, 1).reshape({t.size(1), t.size(2)}) : Tensor();
  };
  m.x0 = first(r.trace0.x);
  m.r0 = first(r.trace0.r);
  m.x = first(r.trace_last.x);
  m.r = first(r.trace_last.r);
  m.u = r.u_last;
  m.target = r.z_last;
  m.o = r.o_last;
  return m;
}

void save_rate_model(const std::string& path, const RateModel& m) {
  atomic_write(path, [&](const std::string& tmp) {
    Writer w(tmp);
    write_model(w, m);
    w.string("format", "rsnn-rate-model");
    w.scalar("format_version", 1);
    w.close();
  });
}

namespace {
RateConfig read_config(Reader& rd, const std::string& path) {
  RateConfig cfg;
  const int N = int(rd.scalar("N"));
  RSNN_CHECK(N >= 1, path, ": N = ", N);
  std::vector<int64_t> sh;
  rd.read("w_in", &sh);
  RSNN_CHECK(sh.size() == 2 && sh[0] == N, path, ": dataset 'w_in': expected shape [", N,
             ", C], got ", shape_str(sh));
  cfg.N = N;
  cfg.n_in = int(sh[1]);
  cfg.som_N = int(rd.scalar("som_N"));
  cfg.taus = rd.read_finite("taus");
  cfg.act = parse_activation(rd.string("activation"));
  cfg.P_inh = rd.scalar_or("P_inh", 0.2);
  cfg.P_rec = rd.scalar_or("P_rec", 0.2);
  cfg.gain = rd.scalar_or("gain", 1.5);
  cfg.apply_dale = rd.scalar_or("apply_dale", 1) != 0;
  cfg.noise_std = rd.scalar_or("noise_std", 0.1);
  cfg.x0_std = rd.scalar_or("x0_std", 0.01);
  cfg.n_areas = int(rd.scalar_or("n_areas", 1));
  cfg.P_inter = rd.scalar_or("P_inter", 0.2);
  RSNN_CHECK(cfg.n_areas >= 1 && N % cfg.n_areas == 0, path, ": n_areas = ", cfg.n_areas,
             " does not divide N = ", N);
  cfg.validate();
  return cfg;
}

void read_network(Reader& rd, const std::string& path, const RateConfig& cfg, RateNet& n) {
  const int N = cfg.N, C = cfg.n_in;
  n.cfg = cfg;
  n.w = to_tensor(rd.read_shape("w", {N, N}), {N, N});
  n.w0 = rd.has("w0") ? to_tensor(rd.read_shape("w0", {N, N}), {N, N}) : n.w.clone();
  const auto mm = rd.read_shape("m", {N, N});
  std::vector<float> sign(N);
  for (int i = 0; i < N; ++i) sign[i] = float(mm[size_t(i) * N + i]);
  n.sign = Tensor::from_vector(sign, {N});
  n.som_m = to_tensor(rd.read_shape("som_m", {N, N}), {N, N});
  n.w_in = to_tensor(rd.read_shape("w_in", {N, C}), {N, C});
  n.w_out = to_tensor(rd.read_shape("w_out", {1, N}), {1, N});
  n.b_out = Tensor::full({1}, rd.scalar("b_out"));
  n.taus_gaus = to_tensor(rd.read_shape("taus_gaus", {N, 1}), {N, 1});
  n.taus_gaus0 = rd.has("taus_gaus0") ? to_tensor(rd.read_shape("taus_gaus0", {N, 1}), {N, 1})
                                      : n.taus_gaus.clone();
  const auto inh = rd.read_shape("inh", {N, 1});
  n.inh.resize(N);
  for (int i = 0; i < N; ++i) n.inh[i] = inh[i] != 0;
  for (int i = 0; i < N && int(n.som_units.size()) < cfg.som_N; ++i)
    if (n.inh[i]) n.som_units.push_back(i);
  for (int i = 0; i < N; ++i)
    RSNN_CHECK((sign[i] < 0) == bool(n.inh[i]) || !cfg.apply_dale, path,
               ": the sign mask m disagrees with inh at unit ", i);
}

void read_task(Reader& rd, const std::string& path, int C, RateModel& m) {
  m.task = task_defaults(parse_task(rd.string("task")));
  if (rd.has("task_timing")) {
    const auto tt = rd.read_shape("task_timing", {1, 5});
    m.task.T = int(tt[0]);
    m.task.stim_on = int(tt[1]);
    m.task.stim_dur = int(tt[2]);
    m.task.delay = int(tt[3]);
    m.task.mante_offset = tt[4];
  }
  RSNN_CHECK(m.task.n_inputs() == C, path, ": task ", m.task.name(), " needs ", m.task.n_inputs(),
             " inputs, w_in has ", C);
  m.loss = parse_loss(rd.string("loss_fn"));
  m.seed = uint64_t(rd.scalar_or("seed", 0));
}

// The training record and the optional arrays, kept so that rewriting a model (grid search)
// loses nothing.
void read_record(Reader& rd, const std::string& path, RateModel& m) {
  m.tr = int64_t(rd.scalar_or("tr", 0));
  m.converged = rd.scalar_or("converged", 0) != 0;
  m.seconds = rd.record_or("training_seconds", 0);
  if (rd.has("losses")) m.losses = rd.read("losses");
  if (rd.has("eval_history")) {
    std::vector<int64_t> es;
    auto e = rd.read("eval_history", &es);
    RSNN_CHECK(es.size() == 2 && es[1] == 4, path, ": eval_history must be [n, 4]");
    for (int64_t k = 0; k < es[0]; ++k)
      m.evals.push_back({int64_t(e[k * 4]), 0, e[k * 4 + 1], e[k * 4 + 2], e[k * 4 + 3]});
  }
  auto opt_tensor = [&](const char* name) {
    if (!rd.has(name)) return Tensor();
    std::vector<int64_t> s;
    auto v = rd.read(name, &s);
    return to_tensor(v, Shape(s.begin(), s.end()));
  };
  m.eval_os = opt_tensor("eval_os");
  if (rd.has("eval_labels"))
    for (double l : rd.read("eval_labels")) m.eval_labels.push_back(int(l));
  m.x0 = opt_tensor("x0");
  m.r0 = opt_tensor("r0");
  m.u = opt_tensor("u");
  m.target = opt_tensor("target");
  m.o = opt_tensor("o");
  m.x = opt_tensor("x");
  m.r = opt_tensor("r");
  m.eval_perf_mean = rd.record_or("eval_perf_mean", NAN);
  m.eval_loss_mean = rd.record_or("eval_loss_mean", NAN);
  if (rd.has("scaling_factors")) {
    m.scaling_factors = rd.read_finite("scaling_factors");
    m.all_perfs = rd.read_finite("all_perfs");
    RSNN_CHECK(m.all_perfs.size() == m.scaling_factors.size(), path,
               ": all_perfs and scaling_factors differ in length");
  }
  m.opt_scaling_factor = rd.scalar_or("opt_scaling_factor", NAN);
}
}  // namespace

RateModel load_rate_model(const std::string& path) {
  if (is_mat_file(path)) return load_mat_model(path);  // the original's .mat (v5 or v7.3)
  Reader rd(path);
  RSNN_CHECK(rd.has("format") && rd.string("format") == "rsnn-rate-model", path,
             ": not an rsnn rate model (no 'format' = rsnn-rate-model) nor a MAT-file");
  RateModel m;
  const RateConfig cfg = read_config(rd, path);
  read_network(rd, path, cfg, m.net);
  read_task(rd, path, cfg.n_in, m);
  read_record(rd, path, m);
  return m;
}

void save_lif_recording(const std::string& path, const LifNetwork& net, const TaskSpec& task,
                        const std::vector<Trial>& trials, const std::vector<LifTrialResult>& res,
                        int stride, double perf) {
  RSNN_CHECK(trials.size() == res.size(), "save_lif_recording: ", trials.size(), " trials, ",
             res.size(), " results");
  atomic_write(path, [&](const std::string& tmp) {
    Writer w(tmp);
    w.string("format", "rsnn-lif-recording");
    w.string("task", task.name());
    w.scalar("dt", net.p.dt * net.p.downsample);
    w.scalar("scaling_factor", net.scaling_factor);
    w.scalar("stride", stride);
    w.scalar("N", net.N);
    w.scalar("performance", perf);
    w.scalar("n_trials", double(trials.size()));
    w.logical("inh", net.inh, net.N, 1);
    w.array("td", net.td.data(), net.N, 1);
    w.array("td0", net.td0.data(), net.N, 1);  // the untrained decay times, as params.td0
    {
      std::vector<double> W(size_t(net.N) * net.N);  // the scaled W[i, k] (row = postsynaptic)
      for (int i = 0; i < net.N; ++i)
        for (int k = 0; k < net.N; ++k) W[size_t(i) * net.N + k] = net.WT[size_t(k) * net.N + i];
      w.array("W", W.data(), net.N, net.N);
    }
    w.scalar("tr", net.p.tr);
    w.scalar("tref", net.p.tref);
    if (net.p.stims.active()) {
      w.scalar("stim_sign", net.p.stims.sign);
      const double dur[2] = {double(net.p.stims.on), double(net.p.stims.off)};
      w.array("stim_dur", dur, 1, 2);
      std::vector<double> su(net.p.stims.units.begin(), net.p.stims.units.end());
      w.array("stim_units", su.data(), 1, int64_t(su.size()));
    }
    for (size_t k = 0; k < trials.size(); ++k) {
      const std::string g = "trial_" + std::to_string(k) + "/";
      const LifTrialResult& r = res[k];
      w.array(g + "u", trials[k].u.data(), trials[k].C, trials[k].Tc);
      w.scalar(g + "label", trials[k].label);
      w.array(g + "out", r.out.data(), 1, r.nt);
      w.array(g + "fr", r.fr.data(), net.N, 1);
      std::vector<double> st(r.spike_step.begin(), r.spike_step.end()),
          su(r.spike_unit.begin(), r.spike_unit.end());
      w.array(g + "spike_step", st.data(), 1, int64_t(st.size()));
      w.array(g + "spike_unit", su.data(), 1, int64_t(su.size()));
      const int64_t nrec = (r.nt + stride - 1) / stride;
      if (!r.v.empty()) w.array(g + "v", r.v.data(), net.N, nrec);
      if (!r.rs.empty()) w.array(g + "rs", r.rs.data(), net.N, nrec);
      if (!r.ipsc.empty()) w.array(g + "ipsc", r.ipsc.data(), net.N, nrec);
    }
    w.close();
  });
}

std::string py_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  // Shortest round-trip digits and exponent, then Python's repr layout: positional for
  // 1e-4 <= |v| < 1e16 (with ".0" when integral), else d.ddde[+-]XX.
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string sci(buf, res.ptr);
  const size_t e = sci.find('e');
  std::string digits;
  for (size_t i = 0; i < e; ++i)
    if (std::isdigit(static_cast<unsigned char>(sci[i]))) digits.push_back(sci[i]);
  const int exp = std::stoi(sci.substr(e + 1));
  const std::string sign = v < 0 ? "-" : "";
  if (exp < -4 || exp >= 16) {
    std::string mant = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "");
    char ex[16];
    std::snprintf(ex, sizeof ex, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    return sign + mant + ex;
  }
  std::string out;
  if (exp < 0) {
    out = "0." + std::string(size_t(-exp - 1), '0') + digits;
  } else {
    if (digits.size() < size_t(exp + 1)) digits.append(size_t(exp + 1) - digits.size(), '0');
    const std::string ip = digits.substr(0, size_t(exp + 1)), fp = digits.substr(size_t(exp + 1));
    out = ip + "." + (fp.empty() ? "0" : fp);
  }
  return sign + out;
}

namespace {
std::string taus_part(const std::vector<double>& t) {
  return t.size() > 1 ? "Taus_" + py_float(t[0]) + "_" + py_float(t[1]) : "Tau_" + py_float(t[0]);
}
}  // namespace

std::string original_model_dir(const std::string& out, const RateModel& m) {
  const RateConfig& c = m.net.cfg;
  return out + "/models/" + m.task.name() + "/" + (c.apply_dale ? "" : "NoDale/") + "P_rec_" +
         py_float(c.P_rec) + "_" + taus_part(c.taus);
}

std::string original_model_name(const RateModel& m, std::time_t when) {
  char date[32];
  std::tm tm{};
  localtime_r(&when, &tm);
  std::strftime(date, sizeof date, "%Y_%m_%d_%H%M%S", &tm);
  const std::string areas =
      m.net.cfg.n_areas > 1 ? "_Areas_" + std::to_string(m.net.cfg.n_areas) : std::string();
  return "Task_" + m.task.name() + "_N_" + std::to_string(m.net.cfg.N) + areas + "_" +
         taus_part(m.net.cfg.taus) + "_Act_" + activation_name(m.net.cfg.act) + "_" + date;
}

std::string default_model_name(const RateModel& m) {
  // The date alone collides for runs started in the same second (parallel jobs into one
  // folder): the seed and 32 random bits (from the OS entropy source) keep names apart.
  std::random_device entropy;
  char unique[16];
  std::snprintf(unique, sizeof unique, "%08x", static_cast<unsigned>(entropy()));
  return original_model_name(m, std::time(nullptr)) + "_seed" + std::to_string(m.seed) + "_" + unique;
}

}  // namespace rsnn::rate
