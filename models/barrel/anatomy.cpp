#include "models/barrel/anatomy.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "runtime/atomic_file.h"
#include "runtime/npy.h"

namespace rsnn::barrel {
namespace {

std::vector<Population> make_populations() {
  struct Row {
    const char* name;
    const char* layer;
    int sign;
    int64_t size;
  };
  const Row rows[kPopulations] = {
      {"Pyr_SP", "L4", +1, 440},      {"Pyr_SS", "L4", +1, 934},    {"Inh_FS", "L4", -1, 94},
      {"Inh_RSNP", "L4", -1, 93},     {"Pyr", "L2/3", +1, 2232},    {"Inh_FSBS", "L2/3", -1, 106},
      {"Inh_FSCH", "L2/3", -1, 4},    {"Inh_BSPV", "L2/3", -1, 55}, {"Inh_Mar", "L2/3", -1, 64},
      {"Inh_DBC", "L2/3", -1, 64},    {"Inh_Bip", "L2/3", -1, 34},  {"Inh_SBC", "L2/3", -1, 60},
      {"Inh_NG", "L2/3", -1, 38}};
  std::vector<Population> out;
  int64_t offset = 0;
  for (const Row& r : rows) {
    out.push_back({r.name, r.layer, r.sign, r.size, offset});
    offset += r.size;
  }
  return out;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
bool dir_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream is(line);
  while (std::getline(is, cell, ',')) cells.push_back(trim(cell));
  if (!line.empty() && line.back() == ',') cells.push_back("");
  return cells;
}

const char* kind_label(TableKind k) {
  switch (k) {
    case TableKind::thalamic: return "thalamic";
    case TableKind::exc: return "excitatory";
    case TableKind::inh: return "inhibitory";
  }
  return "?";
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Values finite and in [0, 1]; `where` names the file.
void check_probabilities(const Tensor& t, const std::string& where) {
  const double* p = t.data<double>();
  const auto& names = populations();
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t row = t.ndim() == 2 ? i / kPopulations : 0, col = i % kPopulations;
    const std::string at = t.ndim() == 2
                               ? names[row].name + " -> " + names[col].name
                               : std::string(kThalamusName) + " -> " + names[col].name;
    RSNN_CHECK(std::isfinite(p[i]), where, ": probability ", at, " is ", p[i],
               " (NaN or Inf is not a probability)");
    RSNN_CHECK(p[i] >= 0.0 && p[i] <= 1.0, where, ": probability ", at, " is ", p[i],
               ", outside [0, 1]");
  }
}

}  // namespace

const std::vector<Population>& populations() {
  static const std::vector<Population> pops = make_populations();
  return pops;
}

std::vector<std::string> population_names() {
  std::vector<std::string> n;
  for (const auto& p : populations()) n.push_back(p.name);
  return n;
}

int population_index(const std::string& name) {
  const auto& pops = populations();
  std::string all;
  for (int i = 0; i < kPopulations; ++i) {
    if (pops[i].name == name) return i;
    all += (i ? ", " : "") + pops[i].name;
  }
  RSNN_FAIL("unknown barrel-cortex population '", name, "' (known: ", all, ")");
}

PopulationLayout cortex_layout() {
  PopulationLayout l;
  for (const auto& p : populations()) {
    l.names.push_back(p.name);
    l.sizes.push_back(p.size);
    l.signs.push_back(p.sign);
  }
  return l;
}

PopulationLayout network_layout() {
  PopulationLayout l;
  l.names.push_back(kThalamusName);
  l.sizes.push_back(kThalamicNeurons);
  l.signs.push_back(+1);
  for (const auto& p : populations()) {
    l.names.push_back(p.name);
    l.sizes.push_back(p.size);
    l.signs.push_back(p.sign);
  }
  return l;
}

const char* table_stem(TableKind kind) {
  switch (kind) {
    case TableKind::thalamic: return "Exc_ThtoAll_prob";
    case TableKind::exc: return "Exc_AlltoAll_prob";
    case TableKind::inh: return "Inh_AlltoAll_prob";
  }
  return "?";
}

Tensor ConnectionTables::prob() const {
  Tensor out = Tensor::empty({kPopulations, kPopulations}, DType::f64);
  const double* e = exc.data<double>();
  const double* i = inh.data<double>();
  double* o = out.data<double>();
  for (int k = 0; k < kPopulations * kPopulations; ++k) o[k] = e[k] + i[k];
  return out;
}

Tensor ConnectionTables::type() const {
  Tensor out = Tensor::zeros({kPopulations, kPopulations}, DType::i32);
  const double* e = exc.data<double>();
  const double* i = inh.data<double>();
  int32_t* o = out.data<int32_t>();
  for (int k = 0; k < kPopulations * kPopulations; ++k) o[k] = e[k] > 0 ? 1 : (i[k] > 0 ? -1 : 0);
  return out;
}

Tensor read_table_csv(const std::string& path, TableKind kind) {
  std::ifstream in(path);
  RSNN_CHECK(in.good(), "cannot open connection table '", path, "'");
  return parse_table_csv(in, path, kind);
}

Tensor parse_table_csv(std::istream& in, const std::string& path, TableKind kind) {
  const auto& pops = populations();
  const int n_rows = kind == TableKind::thalamic ? 1 : kPopulations;
  std::vector<double> values;
  values.reserve(n_rows * kPopulations);
  bool have_header = false;
  int rows_read = 0;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const auto cells = split_csv(t);
    const std::string at = path + ":" + std::to_string(line_no);
    RSNN_CHECK(static_cast<int>(cells.size()) == kPopulations + 1, at, ": expected ",
               kPopulations + 1, " comma-separated cells (a name and ", kPopulations,
               " columns), found ", cells.size());
    if (!have_header) {
      for (int c = 0; c < kPopulations; ++c)
        RSNN_CHECK(cells[c + 1] == pops[c].name, at, ": header column ", c + 1, " is '",
                   cells[c + 1], "', expected postsynaptic population '", pops[c].name, "'");
      have_header = true;
      continue;
    }
    RSNN_CHECK(rows_read < n_rows, at, ": more than ", n_rows, " data row(s) in a ",
               kind_label(kind), " table");
    const std::string expected = kind == TableKind::thalamic ? kThalamusName : pops[rows_read].name;
    RSNN_CHECK(cells[0] == expected, at, ": row ", rows_read + 1, " is named '", cells[0],
               "', expected presynaptic population '", expected, "'");
    for (int c = 0; c < kPopulations; ++c) {
      const std::string& s = cells[c + 1];
      char* end = nullptr;
      errno = 0;
      const double v = std::strtod(s.c_str(), &end);
      RSNN_CHECK(!s.empty() && end == s.c_str() + s.size() && errno != ERANGE, at, ": column '",
                 pops[c].name, "': cannot read '", s, "' as a number");
      values.push_back(v);
    }
    ++rows_read;
  }
  RSNN_CHECK(have_header, path, ": no header row (expected 'pre\\post,", pops[0].name, ",...')");
  RSNN_CHECK(rows_read == n_rows, path, ": found ", rows_read, " data row(s), expected ", n_rows,
             " for a ", kind_label(kind), " table");
  Tensor t = kind == TableKind::thalamic
                 ? Tensor::from_vector(values, {kPopulations})
                 : Tensor::from_vector(values, {kPopulations, kPopulations});
  check_probabilities(t, path);
  return t;
}

Tensor read_table_npy(const std::string& path, TableKind kind) {
  Tensor raw = npy_load(path);
  RSNN_CHECK(is_floating(raw.dtype()), path, ": connection table must hold float32 or float64, found ",
             dtype_name(raw.dtype()));
  Tensor t = raw.to_dtype(DType::f64);
  const Shape& s = t.shape();
  if (kind == TableKind::thalamic) {
    if (s == Shape{kPopulations} || s == Shape{1, kPopulations}) {
      t = t.reshape({kPopulations});
    } else if (s == Shape{kPopulations, kPopulations}) {
      // The original file: row 0 is VPM -> population; rows 1..12 are unused and zero.
      const double* p = t.data<double>();
      for (int i = kPopulations; i < kPopulations * kPopulations; ++i)
        RSNN_CHECK(p[i] == 0.0, path, ": thalamic table of shape [13, 13] must be zero outside row 0"
                   " (only row 0, VPM -> population, is used), found ", p[i], " at row ",
                   i / kPopulations, ", column ", i % kPopulations);
      t = t.narrow0(0, 1).clone().reshape({kPopulations});
    } else {
      RSNN_FAIL(path, ": thalamic table: expected shape [13], [1, 13] or [13, 13], got ",
                shape_str(s));
    }
  } else {
    RSNN_CHECK(s == (Shape{kPopulations, kPopulations}), path, ": ", kind_label(kind),
               " table: expected shape [13, 13], got ", shape_str(s));
    t = t.clone();
  }
  check_probabilities(t, path);
  return t;
}

Tensor read_table(const std::string& path, TableKind kind) {
  if (ends_with(path, ".csv")) return read_table_csv(path, kind);
  if (ends_with(path, ".npy")) return read_table_npy(path, kind);
  RSNN_FAIL("connection table '", path, "': expected a .csv or .npy file");
}

void write_table_csv(const std::string& path, const Tensor& table, TableKind kind,
                     const std::string& comment) {
  const int n_rows = kind == TableKind::thalamic ? 1 : kPopulations;
  RSNN_CHECK(table.numel() == n_rows * kPopulations, "write_table_csv(", path, "): ",
             kind_label(kind), " table must hold ", n_rows * kPopulations, " values, got ",
             table.describe());
  const std::vector<double> v = table.to_vector<double>();
  const auto& pops = populations();
  std::ostringstream os;
  if (!comment.empty()) {
    std::istringstream cs(comment);
    std::string l;
    while (std::getline(cs, l)) os << "# " << l << "\n";
  }
  os << "pre\\post";
  for (const auto& p : pops) os << "," << p.name;
  os << "\n";
  char buf[64];
  for (int r = 0; r < n_rows; ++r) {
    os << (kind == TableKind::thalamic ? std::string(kThalamusName) : pops[r].name);
    for (int c = 0; c < kPopulations; ++c) {
      const double x = v[r * kPopulations + c];
      if (x == 0.0) {
        os << ",0";
      } else {
        std::snprintf(buf, sizeof buf, "%.17g", x);
        os << "," << buf;
      }
    }
    os << "\n";
  }
  write_text_atomic(path, os.str());
}

void validate_tables(const ConnectionTables& t, const std::string& where) {
  check_shape(t.thalamic, {kPopulations}, where + ": thalamic table");
  check_shape(t.exc, {kPopulations, kPopulations}, where + ": excitatory table");
  check_shape(t.inh, {kPopulations, kPopulations}, where + ": inhibitory table");
  check_dtype(t.thalamic, DType::f64, where + ": thalamic table");
  check_dtype(t.exc, DType::f64, where + ": excitatory table");
  check_dtype(t.inh, DType::f64, where + ": inhibitory table");
  check_probabilities(t.thalamic, where + " (thalamic table)");
  check_probabilities(t.exc, where + " (excitatory table)");
  check_probabilities(t.inh, where + " (inhibitory table)");
  const auto& pops = populations();
  const double* e = t.exc.data<double>();
  const double* i = t.inh.data<double>();
  for (int pre = 0; pre < kPopulations; ++pre) {
    for (int post = 0; post < kPopulations; ++post) {
      const int k = pre * kPopulations + post;
      const std::string at = pops[pre].name + " -> " + pops[post].name;
      RSNN_CHECK(!(e[k] > 0 && i[k] > 0), where, ": ", at,
                 " appears in both the excitatory and the inhibitory table");
      RSNN_CHECK(!(e[k] > 0 && pops[pre].sign < 0), where, ": excitatory table has ", at, " = ",
                 e[k], ", but ", pops[pre].name, " is inhibitory");
      RSNN_CHECK(!(i[k] > 0 && pops[pre].sign > 0), where, ": inhibitory table has ", at, " = ",
                 i[k], ", but ", pops[pre].name, " is excitatory");
    }
  }
}

ConnectionTables load_tables(const std::string& dir) {
  RSNN_CHECK(dir_exists(dir), "connection-table folder '", dir, "' does not exist");
  auto pick = [&](TableKind kind) {
    const std::string base = dir + "/" + table_stem(kind);
    if (file_exists(base + ".csv")) return read_table_csv(base + ".csv", kind);
    if (file_exists(base + ".npy")) return read_table_npy(base + ".npy", kind);
    RSNN_FAIL("connection-table folder '", dir, "' has neither ", table_stem(kind), ".csv nor ",
              table_stem(kind), ".npy");
  };
  ConnectionTables t;
  t.thalamic = pick(TableKind::thalamic);
  t.exc = pick(TableKind::exc);
  t.inh = pick(TableKind::inh);
  validate_tables(t, dir);
  return t;
}

ConnectionTables shipped_tables() {
  auto parse = [](TableKind kind) {
    std::istringstream in(detail::shipped_table_csv(kind));
    return parse_table_csv(in, std::string("built-in ") + table_stem(kind) + ".csv", kind);
  };
  ConnectionTables t;
  t.thalamic = parse(TableKind::thalamic);
  t.exc = parse(TableKind::exc);
  t.inh = parse(TableKind::inh);
  validate_tables(t, "built-in tables");
  return t;
}

ConnectionTables default_tables() {
  if (std::getenv("RSNN_DATA_DIR")) return load_tables(barrel_data_dir());
  return shipped_tables();
}

std::string barrel_data_dir() {
  std::vector<std::string> tried;
  auto ok = [](const std::string& d) {
    return file_exists(d + "/" + table_stem(TableKind::exc) + ".csv");
  };
  if (const char* env = std::getenv("RSNN_DATA_DIR")) {
    const std::string d = std::string(env) + "/barrel";
    RSNN_CHECK(ok(d), "RSNN_DATA_DIR is set, but '", d, "' holds no ",
               table_stem(TableKind::exc), ".csv");
    return d;
  }
  tried.push_back("data/barrel");
  if (ok("data/barrel")) return "data/barrel";
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string dir(exe, static_cast<size_t>(n));
    for (int up = 0; up <= 4; ++up) {
      const size_t slash = dir.rfind('/');
      if (slash == std::string::npos) break;
      dir = dir.substr(0, slash);
      for (const char* sub : {"/data/barrel", "/share/rsnn/barrel"}) {  // source tree, install
        const std::string d = dir + sub;
        tried.push_back(d);
        if (ok(d)) return d;
      }
    }
  }
  std::string all;
  for (const auto& t : tried) all += (all.empty() ? "" : ", ") + t;
  RSNN_FAIL("cannot find the barrel connection tables (data/barrel/", table_stem(TableKind::exc),
            ".csv); tried ", all, "; set RSNN_DATA_DIR to the project's data/ folder");
}

Tensor network_prob(const ConnectionTables& t) {
  constexpr int G = kPopulations + 1;
  Tensor out = Tensor::zeros({G, G}, DType::f64);
  double* o = out.data<double>();
  const double* th = t.thalamic.data<double>();
  const Tensor p = t.prob();
  const double* pp = p.data<double>();
  for (int post = 0; post < kPopulations; ++post) o[0 * G + 1 + post] = th[post];
  for (int pre = 0; pre < kPopulations; ++pre)
    for (int post = 0; post < kPopulations; ++post)
      o[(1 + pre) * G + 1 + post] = pp[pre * kPopulations + post];
  return out;
}

ProjectionSpec network_projection_spec(const ConnectionTables& t, uint64_t seed, uint64_t stream) {
  validate_tables(t, "network_projection_spec");
  ProjectionSpec spec;
  spec.pre = network_layout();
  spec.post = network_layout();
  spec.prob = network_prob(t);
  spec.pre.validate("barrel network layout");
  spec.same_network = true;
  spec.allow_autapses = true;
  spec.seed = seed;
  spec.stream = stream;
  return spec;
}

ExpectedCounts expected_counts(const ConnectionTables& t) {
  validate_tables(t, "expected_counts");
  constexpr int G = kPopulations + 1;
  const PopulationLayout layout = network_layout();
  const Tensor prob = network_prob(t);
  const double* p = prob.data<double>();
  ExpectedCounts c;
  c.synapses = Tensor::zeros({G, G}, DType::f64);
  double* s = c.synapses.data<double>();
  c.in_degree_recurrent.assign(kPopulations, 0.0);
  c.in_degree_thalamic.assign(kPopulations, 0.0);
  const auto& pops = populations();
  for (int pre = 0; pre < G; ++pre) {
    for (int post = 1; post < G; ++post) {
      const double n_pre = static_cast<double>(layout.sizes[pre]);
      const double n_post = static_cast<double>(layout.sizes[post]);
      const double prob_ij = p[pre * G + post];
      const double syn = prob_ij * n_pre * n_post;
      s[pre * G + post] = syn;
      if (prob_ij <= 0) continue;
      if (pre == 0) {
        c.thalamic += syn;
        c.thalamic_dense_area += n_pre * n_post;
        c.in_degree_thalamic[post - 1] += prob_ij * n_pre;
        ++c.thalamic_blocks;
      } else {
        c.recurrent_dense_area += n_pre * n_post;
        c.in_degree_recurrent[post - 1] += prob_ij * n_pre;
        if (pops[pre - 1].sign > 0) {
          c.recurrent_exc += syn;
          ++c.exc_blocks;
        } else {
          c.recurrent_inh += syn;
          ++c.inh_blocks;
        }
      }
    }
  }
  c.recurrent_total = c.recurrent_exc + c.recurrent_inh;
  return c;
}

}  // namespace rsnn::barrel
