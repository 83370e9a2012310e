// MAT-files of the original framework through libmatio: reading an original model (v5 from
// scipy.io.savemat, or v7.3), writing one with the original's names, shapes and types, and the
// grid search's in-place update (the original appends to the model file with `save -append`).
#include <matio.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "models/rate/model_file.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"

namespace rsnn::rate {

namespace {

// matio prints its errors on stderr; keep the last one for our one-line error instead.
thread_local std::string g_matio_last;
void matio_log(int level, char* message) {
  if (level & (MATIO_LOG_LEVEL_ERROR | MATIO_LOG_LEVEL_CRITICAL)) g_matio_last = message ? message : "";
}
void quiet_matio() {
  static std::once_flag once;
  std::call_once(once, [] { Mat_LogInitFunc("rsnn", matio_log); });
  g_matio_last.clear();
}
std::string matio_reason() { return g_matio_last.empty() ? "" : " (" + g_matio_last + ")"; }

struct VarDeleter {
  void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using VarPtr = std::unique_ptr<matvar_t, VarDeleter>;

std::string dims_str(const std::vector<size_t>& d) {
  std::ostringstream os;
  for (size_t i = 0; i < d.size(); ++i) os << (i ? "x" : "") << d[i];
  return d.empty() ? "[]" : os.str();
}

// One variable as MATLAB holds it: dims (trailing singleton dimensions beyond 2 dropped) and
// column-major values as double, or the text of a char array.
struct MatValue {
  std::vector<size_t> dims;
  std::vector<double> v;   // numeric / logical
  std::vector<char32_t> chars;  // char arrays, column-major
  bool is_char = false, is_logical = false;
  std::string cls;
  size_t numel() const {
    size_t n = 1;
    for (size_t d : dims) n *= d;
    return n;
  }
};

template <class T>
void convert(const void* data, size_t n, std::vector<double>& out) {
  const T* p = static_cast<const T*>(data);
  out.assign(p, p + n);
}

class MatIn {
 public:
  explicit MatIn(const std::string& path) : path_(path) {
    quiet_matio();
    f_ = Mat_Open(path.c_str(), MAT_ACC_RDONLY);
    RSNN_CHECK(f_, path, ": cannot open as a MAT-file", matio_reason());
    while (matvar_t* v = Mat_VarReadNextInfo(f_)) {
      if (v->name) names_.push_back(v->name);
      Mat_VarFree(v);
    }
  }
  ~MatIn() { Mat_Close(f_); }
  MatIn(const MatIn&) = delete;
  MatIn& operator=(const MatIn&) = delete;

  const std::string& path() const { return path_; }
  // A damaged header must not make matio allocate or read gigabytes: the dimensions are
  // checked before the data is read.
  void check_size(const std::string& name, double max_elements) const {
    VarPtr info(Mat_VarReadInfo(f_, name.c_str()));
    RSNN_CHECK(info, path_, ": cannot read field '", name, "'", matio_reason());
    RSNN_CHECK(info->rank >= 0 && info->rank <= 8 && (info->rank == 0 || info->dims), path_, ": field '", name,
               "' has ", info->rank, " dimensions");
    double n = 1;
    std::vector<size_t> dims;
    for (int i = 0; i < info->rank; ++i) n *= double(info->dims[i]), dims.push_back(info->dims[i]);
    RSNN_CHECK(n <= max_elements, path_, ": field '", name, "' has shape ", dims_str(dims), " (", n,
               " elements), expected at most ", max_elements, " elements");
  }
  bool has(const std::string& name) const {
    return std::find(names_.begin(), names_.end(), name) != names_.end();
  }

  // max_elements: the most this field may hold (its expected size where known).
  MatValue read(const std::string& name, double max_elements = 1e8) const {
    RSNN_CHECK(has(name), path_, ": missing field '", name, "'");
    g_matio_last.clear();
    check_size(name, max_elements);
    VarPtr var(Mat_VarRead(f_, name.c_str()));
    RSNN_CHECK(var, path_, ": cannot read field '", name, "'", matio_reason());
    MatValue out;
    for (int i = 0; i < var->rank; ++i) out.dims.push_back(var->dims[i]);
    while (out.dims.size() > 2 && out.dims.back() == 1) out.dims.pop_back();
    RSNN_CHECK(!var->isComplex, path_, ": field '", name, "' is complex, expected real values");
    const size_t n = out.numel();
    RSNN_CHECK(n == 0 || var->data, path_, ": field '", name,
               "' has no data libmatio can read (a missing or unknown MATLAB_class)");
    switch (var->class_type) {
      case MAT_C_DOUBLE: out.cls = "double"; convert<double>(var->data, n, out.v); break;
      case MAT_C_SINGLE: out.cls = "single"; convert<float>(var->data, n, out.v); break;
      case MAT_C_INT8: out.cls = "int8"; convert<int8_t>(var->data, n, out.v); break;
      case MAT_C_UINT8: out.cls = "uint8"; convert<uint8_t>(var->data, n, out.v); break;
      case MAT_C_INT16: out.cls = "int16"; convert<int16_t>(var->data, n, out.v); break;
      case MAT_C_UINT16: out.cls = "uint16"; convert<uint16_t>(var->data, n, out.v); break;
      case MAT_C_INT32: out.cls = "int32"; convert<int32_t>(var->data, n, out.v); break;
      case MAT_C_UINT32: out.cls = "uint32"; convert<uint32_t>(var->data, n, out.v); break;
      case MAT_C_INT64: out.cls = "int64"; convert<int64_t>(var->data, n, out.v); break;
      case MAT_C_UINT64: out.cls = "uint64"; convert<uint64_t>(var->data, n, out.v); break;
      case MAT_C_CHAR: {
        out.cls = "char";
        out.is_char = true;
        for (size_t i = 0; i < n; ++i) {
          if (var->data_size == 1) out.chars.push_back(static_cast<const uint8_t*>(var->data)[i]);
          else if (var->data_size == 2) out.chars.push_back(static_cast<const uint16_t*>(var->data)[i]);
          else out.chars.push_back(static_cast<const uint32_t*>(var->data)[i]);
        }
        break;
      }
      default:
        RSNN_FAIL(path_, ": field '", name, "' is a ", class_name(var->class_type),
                  ", expected a numeric array");
    }
    out.is_logical = var->isLogical != 0;
    return out;
  }

 private:
  static const char* class_name(matio_classes c) {
    switch (c) {
      case MAT_C_CELL: return "cell array";
      case MAT_C_STRUCT: return "struct";
      case MAT_C_OBJECT: return "object";
      case MAT_C_SPARSE: return "sparse matrix";
      case MAT_C_FUNCTION: return "function handle";
      default: return "value of an unsupported class";
    }
  }
  std::string path_;
  mat_t* f_ = nullptr;
  std::vector<std::string> names_;
};

// Typed, validated access to the fields of an original model.
class Fields {
 public:
  explicit Fields(const MatIn& in) : in_(in) {}
  bool has(const std::string& n) const { return in_.has(n); }

  // A real numeric (non-char) array of exactly `want` (row-major values returned). One
  // alternative shape may be given (e.g. (T-1)x1 or 1x(T-1)).
  std::vector<double> matrix(const std::string& name, std::vector<size_t> want,
                             std::vector<size_t> alt = {}, bool finite = true) const {
    double expected = 1;
    for (size_t d : want) expected *= double(d);
    const MatValue v = numeric(name, expected);
    RSNN_CHECK(v.dims == want || (!alt.empty() && v.dims == alt), in_.path(), ": field '", name,
               "' has shape ", dims_str(v.dims), ", expected ", dims_str(want),
               alt.empty() ? "" : " or " + dims_str(alt));
    if (finite) check_finite(name, v.v);
    return row_major(v);
  }
  double scalar(const std::string& name, bool finite = true) const {
    return matrix(name, {1, 1}, {}, finite)[0];
  }
  int64_t integer(const std::string& name, int64_t lo) const {
    const double x = scalar(name);
    RSNN_CHECK(x == std::floor(x) && x >= double(lo) && x < 9.0e15, in_.path(), ": field '", name,
               "' must be an integer >= ", lo, ", got ", x);
    return int64_t(x);
  }
  // N x 1 logical (or numeric 0/1) vector.
  std::vector<uint8_t> flags(const std::string& name, size_t N) const {
    const auto v = matrix(name, {N, 1}, {1, N});
    std::vector<uint8_t> out(N);
    for (size_t i = 0; i < N; ++i) {
      RSNN_CHECK(v[i] == 0 || v[i] == 1, in_.path(), ": field '", name, "' must hold 0/1 (logical), got ",
                 v[i], " at element ", i);
      out[i] = uint8_t(v[i]);
    }
    return out;
  }
  std::string text(const std::string& name) const {
    const MatValue v = in_.read(name);
    RSNN_CHECK(v.is_char && v.dims.size() == 2 && v.dims[0] == 1, in_.path(), ": field '", name,
               "' must be a character row (a string), got a ", v.cls, " of shape ", dims_str(v.dims));
    std::string s;
    for (char32_t c : v.chars) {
      RSNN_CHECK(c > 0 && c < 128, in_.path(), ": field '", name, "' holds a non-ASCII character");
      s.push_back(char(c));
    }
    return s;
  }
  // Rows of a char matrix (XOR labels: 'same' / 'diff'), trailing blanks removed.
  std::vector<std::string> text_rows(const std::string& name) const {
    const MatValue v = in_.read(name);
    RSNN_CHECK(v.is_char && v.dims.size() == 2, in_.path(), ": field '", name, "' must be a char matrix");
    std::vector<std::string> rows(v.dims[0]);
    for (size_t j = 0; j < v.dims[1]; ++j)
      for (size_t i = 0; i < v.dims[0]; ++i) rows[i].push_back(char(v.chars[j * v.dims[0] + i]));
    for (auto& r : rows) r.erase(r.find_last_not_of(' ') + 1);
    return rows;
  }
  bool is_char(const std::string& name) const { return in_.read(name).is_char; }

 private:
  MatValue numeric(const std::string& name, double max_elements) const {
    MatValue v = in_.read(name, max_elements);
    RSNN_CHECK(!v.is_char, in_.path(), ": field '", name, "' is text, expected numbers");
    return v;
  }
  void check_finite(const std::string& name, const std::vector<double>& v) const {
    for (size_t i = 0; i < v.size(); ++i)
      RSNN_CHECK(std::isfinite(v[i]), in_.path(), ": field '", name, "' holds a non-finite value (",
                 v[i], " at element ", i, ")");
  }
  // Column-major (MATLAB) to row-major over the first two dimensions.
  static std::vector<double> row_major(const MatValue& v) {
    if (v.dims.size() != 2) return v.v;
    const size_t R = v.dims[0], C = v.dims[1];
    std::vector<double> out(v.v.size());
    for (size_t i = 0; i < R; ++i)
      for (size_t j = 0; j < C; ++j) out[i * C + j] = v.v[j * R + i];
    return out;
  }
  const MatIn& in_;
};

Tensor as_tensor(const std::vector<double>& v, const Shape& shape) {
  std::vector<float> f(v.begin(), v.end());
  return Tensor::from_vector(f, shape);
}

// The task an original model was trained on, from its input channels (and, for two channels,
// the length of its last trial: 200 columns = the cty20010831 DMS fork, 410 = wmRNN DMS).
TaskSpec task_of(const MatIn& in, int C) {
  if (C == 1) return task_defaults(TaskKind::go_nogo);
  if (C == 4) return task_defaults(TaskKind::mante);
  RSNN_CHECK(C == 2, in.path(), ": field 'w_in' has ", C,
             " columns; the original tasks have 1 (go-nogo), 2 (xor) or 4 (mante)");
  if (in.has("u")) {
    const MatValue u = in.read("u");
    if (u.dims.size() == 2 && u.dims[0] == 2 && u.dims[1] == 200) return task_defaults(TaskKind::dms_cty);
    if (u.dims.size() == 2 && u.dims[0] == 2 && u.dims[1] == 410) return task_defaults(TaskKind::dms_wm);
  }
  return task_defaults(TaskKind::xor_task);
}

}  // namespace

bool is_mat_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[128] = {0};
  if (!in.read(head, sizeof head)) return false;
  return std::strncmp(head, "MATLAB 5.0 MAT-file", 19) == 0 || std::strncmp(head, "MATLAB 7.3 MAT-file", 19) == 0;
}

namespace {

// A real vector of 1 x k or k x 1 values.
std::vector<double> vec(const MatIn& in, const std::string& name, bool finite = true) {
  const MatValue v = in.read(name);
  RSNN_CHECK(!v.is_char && v.dims.size() == 2 && (v.dims[0] == 1 || v.dims[1] == 1), in.path(),
             ": field '", name, "' must be a numeric row or column, got a ", v.cls, " of shape ",
             dims_str(v.dims));
  for (size_t i = 0; finite && i < v.v.size(); ++i)
    RSNN_CHECK(std::isfinite(v.v[i]), in.path(), ": field '", name, "' holds a non-finite value (",
               v.v[i], " at element ", i, ")");
  return v.v;
}

void load_network(const MatIn& in, const Fields& f, RateModel& m) {
  const std::string& path = in.path();
  const int64_t N64 = f.integer("N", 1);
  RSNN_CHECK(N64 <= 1000000, path, ": field 'N' = ", N64, " is too large");
  const size_t N = size_t(N64);
  const MatValue win = in.read("w_in");
  RSNN_CHECK(!win.is_char && win.dims.size() == 2 && win.dims[0] == N && win.dims[1] >= 1, path,
             ": field 'w_in' has shape ", dims_str(win.dims), ", expected ", N, "xC");
  const int C = int(win.dims[1]);
  m.task = task_of(in, C);
  RateConfig cfg;
  cfg.N = int(N);
  cfg.n_in = C;
  cfg.taus = vec(in, "taus");
  RSNN_CHECK((cfg.taus.size() == 1 || cfg.taus.size() == 2) && cfg.taus[0] > 0 && cfg.taus.back() >= cfg.taus[0],
             path, ": field 'taus' must be [tau] or [min max] with 0 < min <= max");
  const std::string act = f.text("activation");
  try {
    cfg.act = parse_activation(act);
  } catch (const Error& e) {
    RSNN_FAIL(path, ": field 'activation': ", e.what());
  }
  RateNet& n = m.net;
  n.w = as_tensor(f.matrix("w", {N, N}), {int64_t(N), int64_t(N)});
  n.w0 = f.has("w0") ? as_tensor(f.matrix("w0", {N, N}), {int64_t(N), int64_t(N)}) : n.w.clone();
  const auto mm = f.matrix("m", {N, N});
  std::vector<float> sign(N);
  for (size_t i = 0; i < N; ++i)
    for (size_t j = 0; j < N; ++j) {
      const double x = mm[i * N + j];
      RSNN_CHECK(i == j ? (x == 1 || x == -1) : x == 0, path, ": field 'm' must be diagonal with +-1 on ",
                 "the diagonal, got ", x, " at (", i + 1, ",", j + 1, ")");
      if (i == j) sign[i] = float(x);
    }
  n.sign = Tensor::from_vector(sign, {int64_t(N)});
  const auto som = f.matrix("som_m", {N, N});
  for (size_t k = 0; k < som.size(); ++k)
    RSNN_CHECK(som[k] == 0 || som[k] == 1, path, ": field 'som_m' must hold 0/1, got ", som[k],
               " at (", k / N + 1, ",", k % N + 1, ")");
  n.som_m = as_tensor(som, {int64_t(N), int64_t(N)});
  n.w_in = as_tensor(f.matrix("w_in", {N, size_t(C)}), {int64_t(N), C});
  if (f.has("w_in0")) f.matrix("w_in0", {N, size_t(C)});  // validated; the input weights are fixed
  n.w_out = as_tensor(f.matrix("w_out", {1, N}), {1, int64_t(N)});
  n.b_out = Tensor::full({1}, f.scalar("b_out"));
  n.taus_gaus = as_tensor(f.matrix("taus_gaus", {N, 1}), {int64_t(N), 1});
  n.taus_gaus0 = f.has("taus_gaus0") ? as_tensor(f.matrix("taus_gaus0", {N, 1}), {int64_t(N), 1})
                                     : n.taus_gaus.clone();
  n.inh = f.flags("inh", N);
  const auto exc = f.flags("exc", N);
  int n_inh = 0;
  for (size_t i = 0; i < N; ++i) {
    RSNN_CHECK(exc[i] != n.inh[i], path, ": fields 'exc' and 'inh' must be complements, unit ", i + 1,
               " is ", exc[i] ? "both" : "neither");
    n_inh += n.inh[i];
  }
  // Without Dale's principle the original has no inhibitory units and saves w as it is.
  bool any_negative = false;
  for (float x : n.w.to_vector<float>()) any_negative |= x < 0;
  cfg.apply_dale = n_inh > 0 || !any_negative;
  for (size_t i = 0; i < N; ++i)
    RSNN_CHECK((sign[i] < 0) == bool(n.inh[i]), path, ": the sign mask 'm' disagrees with 'inh' at unit ", i + 1);
  cfg.som_N = int(f.integer("som_N", 0));
  RSNN_CHECK(cfg.som_N <= n_inh, path, ": field 'som_N' = ", cfg.som_N, " exceeds the ", n_inh,
             " inhibitory units");
  for (size_t i = 0; i < N && int(n.som_units.size()) < cfg.som_N; ++i)
    if (n.inh[i]) n.som_units.push_back(int(i));
  cfg.validate();
  n.cfg = cfg;
}

// The training record and the grid search, when present (each validated).
void load_record(const MatIn& in, const Fields& f, RateModel& m) {
  const size_t N = size_t(m.net.N()), C = size_t(m.task.n_inputs());
  size_t T = size_t(m.task.T);
  if (f.has("u")) {
    const MatValue u = in.read("u");
    RSNN_CHECK(!u.is_char && u.dims.size() == 2 && u.dims[0] == C && u.dims[1] >= 2, in.path(),
               ": field 'u' has shape ", dims_str(u.dims), ", expected ", C, "xT");
    T = u.dims[1];
    m.u = as_tensor(f.matrix("u", {C, T}), {int64_t(C), int64_t(T)});
  }
  const int64_t Ti = int64_t(T);
  auto trace = [&](const char* name) {
    return f.has(name) ? as_tensor(f.matrix(name, {T, N}), {Ti, int64_t(N)}) : Tensor();
  };
  m.x0 = trace("x0");
  m.r0 = trace("r0");
  m.x = trace("x");
  m.r = trace("r");
  if (f.has("target")) m.target = as_tensor(f.matrix("target", {1, T}, {T, 1}), {Ti});
  if (f.has("o")) m.o = as_tensor(f.matrix("o", {T - 1, 1}, {1, T - 1}), {Ti - 1});
  if (f.has("tr")) m.tr = f.integer("tr", 0);
  if (f.has("losses")) m.losses = vec(in, "losses");
  if (f.has("eval_perf_mean")) m.eval_perf_mean = f.scalar("eval_perf_mean", false);
  if (f.has("eval_loss_mean")) m.eval_loss_mean = f.scalar("eval_loss_mean", false);
  if (f.has("eval_os")) {
    const MatValue e = in.read("eval_os");
    RSNN_CHECK(!e.is_char && e.dims.size() == 2 && e.dims[1] == T - 1, in.path(), ": field 'eval_os' has shape ",
               dims_str(e.dims), ", expected nx", T - 1);
    m.eval_os = as_tensor(f.matrix("eval_os", e.dims), {int64_t(e.dims[0]), Ti - 1});
  }
  if (f.has("eval_labels")) {
    if (f.is_char("eval_labels")) {  // XOR: 'same' / 'diff'
      for (const std::string& s : f.text_rows("eval_labels")) {
        RSNN_CHECK(s == "same" || s == "diff", in.path(), ": field 'eval_labels' holds '", s,
                   "', expected 'same' or 'diff'");
        m.eval_labels.push_back(s == "same" ? 1 : -1);
      }
    } else {
      for (double l : vec(in, "eval_labels")) {
        RSNN_CHECK(l == 0 || l == 1 || l == -1, in.path(), ": field 'eval_labels' holds ", l,
                   ", expected 0, 1 or -1");
        m.eval_labels.push_back(int(l));
      }
    }
  }
  // lambda_grid_search.m writes NaN first as a lock: NaN means "no result yet".
  if (f.has("opt_scaling_factor")) m.opt_scaling_factor = f.scalar("opt_scaling_factor", false);
  if (f.has("scaling_factors") || f.has("all_perfs")) {
    m.scaling_factors = vec(in, "scaling_factors");
    m.all_perfs = vec(in, "all_perfs");
    RSNN_CHECK(m.all_perfs.size() == m.scaling_factors.size(), in.path(),
               ": fields 'all_perfs' and 'scaling_factors' differ in length");
  }
}

// ---------------------------------------------------------------- writing
class MatOut {
 public:
  MatOut(const std::string& path, mat_ft version) : path_(path) {
    quiet_matio();
    f_ = Mat_CreateVer(path.c_str(), nullptr, version);
    RSNN_CHECK(f_, "cannot create MAT-file ", path, matio_reason());
  }
  ~MatOut() {
    if (f_) Mat_Close(f_);
  }
  void close() {
    const int st = Mat_Close(f_);
    f_ = nullptr;
    RSNN_CHECK(st == 0, "cannot finish MAT-file ", path_, matio_reason());
  }
  // Column-major data of class `cls`.
  void put(const std::string& name, matio_classes cls, matio_types type, std::vector<size_t> dims,
           const void* data, int flags = 0) {
    g_matio_last.clear();
    VarPtr v(Mat_VarCreate(name.c_str(), cls, type, int(dims.size()), dims.data(), const_cast<void*>(data),
                           flags | MAT_F_DONT_COPY_DATA));
    RSNN_CHECK(v, path_, ": cannot create variable ", name, matio_reason());
    write(v.get());
  }
  void write(matvar_t* v) {
    RSNN_CHECK(Mat_VarWrite(f_, v, MAT_COMPRESSION_NONE) == 0, path_, ": cannot write variable ", v->name,
               matio_reason());
  }
  // Row-major (rows x cols) values; `dims` (default {rows, cols}) may add trailing 1s.
  void single(const std::string& name, const std::vector<float>& rm, size_t rows, size_t cols,
              std::vector<size_t> dims = {}) {
    RSNN_CHECK(rm.size() == rows * cols, path_, ": ", name, " has ", rm.size(), " values, expected ", rows, "x", cols);
    const auto cm = col_major(rm, rows, cols);
    put(name, MAT_C_SINGLE, MAT_T_SINGLE, dims.empty() ? std::vector<size_t>{rows, cols} : dims, cm.data());
  }
  void single(const std::string& name, const Tensor& t, size_t rows, size_t cols, std::vector<size_t> dims = {}) {
    single(name, t.to_vector<float>(), rows, cols, dims);
  }
  void dbl(const std::string& name, const std::vector<double>& rm, size_t rows, size_t cols) {
    RSNN_CHECK(rm.size() == rows * cols, path_, ": ", name, " has ", rm.size(), " values, expected ", rows, "x", cols);
    const auto cm = col_major(rm, rows, cols);
    put(name, MAT_C_DOUBLE, MAT_T_DOUBLE, {rows, cols}, cm.data());
  }
  void int64(const std::string& name, int64_t v) { put(name, MAT_C_INT64, MAT_T_INT64, {1, 1}, &v); }
  void logical(const std::string& name, const std::vector<uint8_t>& v) {
    put(name, MAT_C_UINT8, MAT_T_UINT8, {v.size(), 1}, v.data(), MAT_F_LOGICAL);
  }
  // Equal-length rows of a char matrix (one row: a string).
  void text(const std::string& name, const std::vector<std::string>& rows) {
    const size_t R = rows.size(), L = rows.empty() ? 0 : rows[0].size();
    std::vector<uint8_t> cm(R * L);
    for (size_t i = 0; i < R; ++i) {
      RSNN_CHECK(rows[i].size() == L, path_, ": rows of ", name, " differ in length");
      for (size_t j = 0; j < L; ++j) cm[j * R + i] = uint8_t(rows[i][j]);
    }
    put(name, MAT_C_CHAR, MAT_T_UINT8, {R, L}, cm.data());
  }

 private:
  template <class T>
  static std::vector<T> col_major(const std::vector<T>& rm, size_t rows, size_t cols) {
    std::vector<T> cm(rm.size());
    for (size_t i = 0; i < rows; ++i)
      for (size_t j = 0; j < cols; ++j) cm[j * rows + i] = rm[i * cols + j];
    return cm;
  }
  std::string path_;
  mat_t* f_ = nullptr;
};

void write_grid(MatOut& out, const RateModel& m) {
  if (!m.scaling_factors.empty()) {
    out.dbl("scaling_factors", m.scaling_factors, 1, m.scaling_factors.size());
    out.dbl("all_perfs", m.all_perfs, m.all_perfs.size(), 1);
  }
  if (!std::isnan(m.opt_scaling_factor)) out.dbl("opt_scaling_factor", {m.opt_scaling_factor}, 1, 1);
}

// The fields of rate/main.py's savemat with its types: float32 parameters and traces, float64
// task arrays and records, int64 N/som_N/tr, logical exc/inh, char activation (and XOR labels).
void write_fields(MatOut& out, const RateModel& m) {
  const RateNet& n = m.net;
  const size_t N = size_t(n.N()), C = size_t(n.w_in.size(1));
  auto relu = [&](const Tensor& t) {  // saved relu'd under Dale, raw without (as the original)
    auto v = t.to_vector<float>();
    if (n.cfg.apply_dale)
      for (auto& x : v) x = std::max(x, 0.f);
    return v;
  };
  auto trace = [&](const char* name, const Tensor& t) {  // T x N x 1
    if (t.defined()) out.single(name, t, size_t(t.size(0)), N, {size_t(t.size(0)), N, 1});
  };
  trace("x0", m.x0);
  trace("r0", m.r0);
  out.single("w0", relu(n.w0.defined() ? n.w0 : n.w), N, N);
  out.single("taus_gaus0", n.taus_gaus0.defined() ? n.taus_gaus0 : n.taus_gaus, N, 1);
  out.single("w_in0", n.w_in, N, C);
  if (m.u.defined()) out.dbl("u", m.u.to_vector<double>(), C, size_t(m.u.size(1)));
  if (m.o.defined()) out.single("o", m.o, size_t(m.o.numel()), 1);
  out.single("w", relu(n.w), N, N);
  trace("x", m.x);
  if (m.target.defined()) out.dbl("target", m.target.to_vector<double>(), 1, size_t(m.target.numel()));
  out.single("w_out", n.w_out, 1, N);
  trace("r", m.r);
  out.single("m", n.m_matrix(), N, N);
  out.single("som_m", n.som_m, N, N);
  out.int64("N", int64_t(N));
  std::vector<uint8_t> exc(N);
  for (size_t i = 0; i < N; ++i) exc[i] = !n.inh[i];
  out.logical("exc", exc);
  out.logical("inh", n.inh);
  out.single("w_in", n.w_in, N, C);
  out.single("b_out", n.b_out, 1, 1);
  out.int64("som_N", n.cfg.som_N);
  if (!m.losses.empty()) out.dbl("losses", m.losses, 1, m.losses.size());
  out.dbl("taus", n.cfg.taus, 1, n.cfg.taus.size());
  out.dbl("eval_perf_mean", {m.eval_perf_mean}, 1, 1);
  out.dbl("eval_loss_mean", {m.eval_loss_mean}, 1, 1);
  if (m.eval_os.defined())
    out.dbl("eval_os", m.eval_os.to_vector<double>(), size_t(m.eval_os.size(0)), size_t(m.eval_os.size(1)));
  if (!m.eval_labels.empty()) {
    if (C == 2) {  // the XOR family labels its trials 'same' / 'diff'
      std::vector<std::string> rows;
      for (int l : m.eval_labels) rows.push_back(l > 0 ? "same" : "diff");
      out.text("eval_labels", rows);
    } else {
      std::vector<double> l(m.eval_labels.begin(), m.eval_labels.end());
      out.dbl("eval_labels", l, 1, l.size());
    }
  }
  out.single("taus_gaus", n.taus_gaus, N, 1);
  out.int64("tr", m.tr);
  out.text("activation", {activation_name(n.cfg.act)});
  write_grid(out, m);
}

mat_ft ft_of(MatVersion v) { return v == MatVersion::v73 ? MAT_FT_MAT73 : MAT_FT_MAT5; }

}  // namespace

RateModel load_mat_model(const std::string& path) {
  MatIn in(path);
  Fields f(in);
  RateModel m;
  load_network(in, f, m);
  load_record(in, f, m);
  return m;
}

void export_matlab(const std::string& path, const RateModel& m, MatVersion version) {
  AtomicFile file(path);
  {
    MatOut out(file.temp_path(), ft_of(version));
    write_fields(out, m);
    out.close();
  }
  file.commit();
}

void mat_store_grid_result(const std::string& path, const RateModel& m) {
  quiet_matio();
  mat_t* in = Mat_Open(path.c_str(), MAT_ACC_RDONLY);
  RSNN_CHECK(in, path, ": cannot open as a MAT-file", matio_reason());
  std::unique_ptr<mat_t, int (*)(mat_t*)> in_guard(in, Mat_Close);
  AtomicFile file(path);
  {
    MatOut out(file.temp_path(), Mat_GetVersion(in));
    // Every variable as it was (the original's `save -append` keeps them), then the results.
    while (matvar_t* raw = Mat_VarReadNext(in)) {
      VarPtr v(raw);
      const std::string name = v->name ? v->name : "";
      if (name == "scaling_factors" || name == "all_perfs" || name == "opt_scaling_factor") continue;
      out.write(v.get());
    }
    write_grid(out, m);
    out.close();
  }
  file.commit();
}

}  // namespace rsnn::rate
