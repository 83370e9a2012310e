// MICrONS field loader: see field.h for the files and the checks.
#include "models/microns/field.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "runtime/error.h"
#include "runtime/npy.h"

namespace rsnn::microns {
namespace {

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string base_name(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const size_t s = dir.find_last_of('/');
  return s == std::string::npos ? dir : dir.substr(s + 1);
}

std::string parent_dir(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const size_t s = dir.find_last_of('/');
  return s == std::string::npos ? "." : (s == 0 ? "/" : dir.substr(0, s));
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

// A square float matrix (N,N) as doubles; finite values required.
std::vector<double> load_matrix(const std::string& path, int N) {
  RSNN_CHECK(file_exists(path), path, ": missing file");
  const Tensor t = npy_load_as(path, DType::f64);
  RSNN_CHECK(t.shape() == Shape({N, N}), path, ": expected shape [", N, ", ", N, "], found ",
             shape_str(t.shape()));
  std::vector<double> v = t.to_vector<double>();
  for (size_t k = 0; k < v.size(); ++k)
    RSNN_CHECK(std::isfinite(v[k]), path, ": non-finite value at [", k / N, ", ", k % N, "]");
  return v;
}

std::vector<int64_t> load_ids(const std::string& path, int N) {
  RSNN_CHECK(file_exists(path), path, ": missing file");
  const Tensor t = npy_load(path);
  RSNN_CHECK(t.dtype() == DType::i64 || t.dtype() == DType::i32, path,
             ": expected integer ids, found dtype ", dtype_name(t.dtype()));
  RSNN_CHECK(t.shape() == Shape({N}), path, ": expected shape [", N, "], found ",
             shape_str(t.shape()));
  return t.to_vector<int64_t>();
}

void check_symmetric(const std::vector<double>& a, int N, const std::string& path) {
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < i; ++j) {
      const double x = a[size_t(i) * N + j], y = a[size_t(j) * N + i];
      RSNN_CHECK(std::fabs(x - y) <= 1e-9 * (1 + std::fabs(x)), path, ": not symmetric at [",
                 i, ", ", j, "] (", x, " vs ", y, ")");
    }
}

// connectome_<name>.csv: header ",0..N-1" then rows "i,c0..cN-1" of non-negative integers.
std::vector<double> load_connectome(const std::string& path, int& N) {
  std::ifstream in(path);
  RSNN_CHECK(in, path, ": missing file");
  std::string line;
  RSNN_CHECK(std::getline(in, line), path, ": empty file");
  std::vector<std::string> head;
  {
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) head.push_back(trim(cell));
  }
  RSNN_CHECK(head.size() >= 2 && head[0].empty(), path,
             ": header must be ',0,1,..,N-1' (an empty first cell for the index column)");
  N = int(head.size()) - 1;
  for (int j = 0; j < N; ++j)
    RSNN_CHECK(head[j + 1] == std::to_string(j), path, ": header column ", j + 1, " is '",
               head[j + 1], "', expected '", j, "'");
  std::vector<double> C(size_t(N) * N, 0.0);
  int row = 0;
  while (std::getline(in, line)) {
    if (trim(line).empty()) continue;
    RSNN_CHECK(row < N, path, ": more than ", N, " data rows");
    std::stringstream ss(line);
    std::string cell;
    int col = -1;
    while (std::getline(ss, cell, ',')) {
      cell = trim(cell);
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      RSNN_CHECK(!cell.empty() && end && *end == '\0', path, ": row ", row + 2,
                 ": not a number: '", cell, "'");
      if (col < 0) {
        RSNN_CHECK(v == row, path, ": row ", row + 2, ": index column is ", cell, ", expected ",
                   row);
      } else {
        RSNN_CHECK(col < N, path, ": row ", row + 2, ": more than ", N + 1, " cells");
        RSNN_CHECK(std::isfinite(v) && v >= 0 && v == std::floor(v), path, ": row ", row + 2,
                   ", column ", col, ": synapse count must be a non-negative integer, found ",
                   cell);
        C[size_t(row) * N + col] = v;
      }
      ++col;
    }
    RSNN_CHECK(col == N, path, ": row ", row + 2, " has ", col, " values, expected ", N);
    ++row;
  }
  RSNN_CHECK(row == N, path, ": ", row, " data rows, expected ", N);
  return C;
}

std::vector<int64_t> load_positions(const std::string& path, int N) {
  RSNN_CHECK(file_exists(path), path, ": missing file");
  Tensor t;
  try {
    t = npy_load(path);
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.find("'|O'") != std::string::npos || msg.find("Python objects") != std::string::npos ||
        msg.find("|O") != std::string::npos)
      RSNN_FAIL(path, ": a pickled object array; convert it with "
                "tools/microns_positions_to_npy.py ", path, " (writes a plain int64 NPY)");
    throw;
  }
  RSNN_CHECK(t.dtype() == DType::i64 || t.dtype() == DType::i32, path,
             ": expected integer positions, found dtype ", dtype_name(t.dtype()));
  RSNN_CHECK(t.shape() == Shape({N, 3}), path, ": expected shape [", N, ", 3], found ",
             shape_str(t.shape()));
  return t.to_vector<int64_t>();
}

}  // namespace

Grid grid_from_inf(const std::string& inf_path, const std::string& name) {
  std::ifstream in(inf_path);
  RSNN_CHECK(in, inf_path, ": cannot open the field table");
  std::string line;
  while (std::getline(in, line)) {
    // | 6 | 6 | 2 | 312 | (12, 13, 2) |
    if (line.find('|') == std::string::npos || line.find('(') == std::string::npos) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, '|')) cells.push_back(trim(cell));
    if (cells.size() < 6) continue;
    const std::string key = cells[1] + "_" + cells[2] + "_" + cells[3];
    if (key != name) continue;
    std::string g = cells[5];
    for (char& c : g)
      if (c == '(' || c == ')' || c == ',') c = ' ';
    std::istringstream gs(g);
    Grid grid;
    int64_t n = 0;
    RSNN_CHECK(gs >> grid.nx >> grid.ny >> grid.nz, inf_path, ": field ", name,
               ": unparsable grid '", cells[5], "'");
    std::istringstream ns(cells[4]);
    RSNN_CHECK(ns >> n, inf_path, ": field ", name, ": unparsable neuron count '", cells[4], "'");
    RSNN_CHECK(grid.nx > 0 && grid.ny > 0 && grid.nz > 0 && grid.size() == n, inf_path,
               ": field ", name, ": grid ", cells[5], " does not multiply to ", n);
    return grid;
  }
  RSNN_FAIL(inf_path, ": field ", name, " not in the table");
}

Field load_field(const std::string& dir, const LoadOptions& opt) {
  Field f;
  f.dir = dir;
  f.name = base_name(dir);
  const std::string p = dir + "/";
  f.connectome = load_connectome(p + "connectome_" + f.name + ".csv", f.N);
  const int N = f.N;

  f.sttc = load_matrix(p + "sttc_matrix.npy", N);
  // Lower-triangular as published (or already symmetric): copy the strict lower triangle up.
  for (int i = 0; i < N; ++i)
    for (int j = i + 1; j < N; ++j) {
      const double up = f.sttc[size_t(i) * N + j], lo = f.sttc[size_t(j) * N + i];
      RSNN_CHECK(up == 0.0 || std::fabs(up - lo) <= 1e-9 * (1 + std::fabs(lo)),
                 p, "sttc_matrix.npy: neither lower-triangular nor symmetric at [", i, ", ", j,
                 "]");
      f.sttc[size_t(i) * N + j] = lo;
    }
  f.corr = load_matrix(p + "corr_matrix.npy", N);
  check_symmetric(f.corr, N, p + "corr_matrix.npy");
  for (int i = 0; i < N; ++i)
    RSNN_CHECK(std::fabs(f.corr[size_t(i) * N + i] - 1.0) < 1e-6, p,
               "corr_matrix.npy: diagonal [", i, "] is ", f.corr[size_t(i) * N + i],
               ", expected 1");
  f.precision = load_matrix(p + "precision_matrix.npy", N);
  check_symmetric(f.precision, N, p + "precision_matrix.npy");

  std::string pos = opt.positions_path;
  if (pos.empty()) {
    pos = p + "positions_" + f.name + "_plain.npy";
    if (!file_exists(pos)) pos = p + "positions_" + f.name + ".npy";
  }
  f.positions = load_positions(pos, N);
  f.root_ids = load_ids(p + "root_ids_" + f.name + ".npy", N);
  f.unit_ids = load_ids(p + "unit_ids_" + f.name + ".npy", N);
  f.target_ids = load_ids(p + "target_ids_" + f.name + ".npy", N);

  f.grid = opt.grid;
  if (f.grid.size() == 0) f.grid = grid_from_inf(parent_dir(dir) + "/INF.md", f.name);
  RSNN_CHECK(f.grid.nx > 0 && f.grid.ny > 0 && f.grid.nz > 0 && f.grid.size() == N, dir,
             ": grid (", f.grid.nx, ", ", f.grid.ny, ", ", f.grid.nz, ") does not multiply to N = ",
             N);
  return f;
}

}  // namespace rsnn::microns
