// The seRNN small-world null (not degree-matched): U = rand(N,N), A = (U+U^T)/2 > 0.7 with
// the diagonal kept, averaged over many draws; plus a small JSON cache of the two means,
// which are constants per (N, n_nulls, seed).
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kernels/graph_metrics.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace rsnn::graph {
namespace {

// Philox stream of null k is kNullStream + k: the purpose tag keeps these draws apart from
// any other use of the same seed.
constexpr uint64_t kNullStream = uint64_t(0x534E554C) << 32;  // "SNUL"
constexpr const char* kCacheFormat = "rsnn-smallworld-null-v1";

// One null graph as bitset rows: A_ij = A_ji = (U_ij + U_ji)/2 > 0.7, U_ij uniform in (0,1).
void null_graph_bits(int N, uint64_t seed, int k, std::vector<uint64_t>& rows) {
  const size_t W = (static_cast<size_t>(N) + 63) / 64;
  rows.assign(static_cast<size_t>(N) * W, 0);
  const uint64_t stream = kNullStream + static_cast<uint64_t>(k);
  std::vector<double> U(static_cast<size_t>(N) * N);
  for (size_t idx = 0; idx < U.size(); ++idx) U[idx] = philox::uniform_f64(seed, stream, idx);
  for (int i = 0; i < N; ++i)
    for (int j = i; j < N; ++j)
      if ((U[static_cast<size_t>(i) * N + j] + U[static_cast<size_t>(j) * N + i]) / 2 > 0.7) {
        rows[i * W + j / 64] |= uint64_t(1) << (j % 64);
        rows[j * W + i / 64] |= uint64_t(1) << (i % 64);
      }
}

std::string cache_file(int N, int n_nulls, uint64_t seed, const std::string& dir) {
  std::ostringstream os;
  os << dir << "/smallworld_null_N" << N << "_n" << n_nulls << "_seed" << seed << ".json";
  return os.str();
}

// The value after "key": in a flat JSON object, as text; throws naming the file if absent.
std::string json_field(const std::string& text, const std::string& key, const std::string& path) {
  const std::string quoted = "\"" + key + "\"";
  const size_t at = text.find(quoted);
  RSNN_CHECK(at != std::string::npos, "small-world null cache ", path, ": missing \"", key, "\"");
  size_t p = text.find_first_not_of(" \t\r\n", at + quoted.size());
  RSNN_CHECK(p != std::string::npos && text[p] == ':', "small-world null cache ", path,
             ": no ':' after \"", key, "\"");
  p = text.find_first_not_of(" \t\r\n", p + 1);
  const size_t end = text.find_first_of(",}\r\n", p);
  RSNN_CHECK(p != std::string::npos && end != std::string::npos && end > p,
             "small-world null cache ", path, ": no value for \"", key, "\"");
  std::string v = text.substr(p, end - p);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
  return v;
}

double json_number(const std::string& text, const std::string& key, const std::string& path) {
  const std::string v = json_field(text, key, path);
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(v.c_str(), &end);
  RSNN_CHECK(errno == 0 && end && *end == '\0' && std::isfinite(d), "small-world null cache ",
             path, ": \"", key, "\" is not a finite number: '", v, "'");
  return d;
}

SmallWorldNull read_cache(const std::string& path, int N, int n_nulls, uint64_t seed) {
  std::ifstream in(path, std::ios::binary);
  RSNN_CHECK(in.good(), "small-world null cache ", path, ": cannot open for reading");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  RSNN_CHECK(json_field(text, "format", path) == std::string("\"") + kCacheFormat + "\"",
             "small-world null cache ", path, ": format is not \"", kCacheFormat, "\"");
  RSNN_CHECK(json_field(text, "N", path) == std::to_string(N) &&
                 json_field(text, "n_nulls", path) == std::to_string(n_nulls) &&
                 json_field(text, "seed", path) == std::to_string(seed),
             "small-world null cache ", path, ": N/n_nulls/seed differ from the file name's (", N,
             ", ", n_nulls, ", ", seed, ")");
  SmallWorldNull r;
  r.N = N;
  r.n_nulls = n_nulls;
  r.seed = seed;
  r.clustering = json_number(text, "clustering", path);
  r.efficiency = json_number(text, "efficiency", path);
  r.clustering_sd = json_number(text, "clustering_sd", path);
  r.efficiency_sd = json_number(text, "efficiency_sd", path);
  RSNN_CHECK(r.clustering > 0 && r.efficiency > 0 && r.clustering_sd >= 0 && r.efficiency_sd >= 0,
             "small-world null cache ", path, ": means must be > 0 and sds >= 0");
  return r;
}

}  // namespace

SmallWorldNull smallworld_null(int N, int n_nulls, uint64_t seed) {
  RSNN_CHECK(N >= 2, "smallworld_null: N must be >= 2, got ", N);
  RSNN_CHECK(n_nulls >= 1, "smallworld_null: n_nulls must be >= 1, got ", n_nulls);
  std::vector<double> clu(n_nulls), eff(n_nulls);
#pragma omp parallel
  {
    std::vector<uint64_t> rows;
#pragma omp for schedule(dynamic)
    for (int k = 0; k < n_nulls; ++k) {
      null_graph_bits(N, seed, k, rows);
      const std::vector<double> C = clustering_coef_bits(rows.data(), N);
      double s = 0;
      for (double c : C) s += c;
      clu[k] = s / N;
      eff[k] = efficiency_bits(rows.data(), N);
    }
  }
  // Sums in null order, so the result does not depend on the thread count.
  SmallWorldNull r;
  r.N = N;
  r.n_nulls = n_nulls;
  r.seed = seed;
  for (int k = 0; k < n_nulls; ++k) {
    r.clustering += clu[k];
    r.efficiency += eff[k];
  }
  r.clustering /= n_nulls;
  r.efficiency /= n_nulls;
  for (int k = 0; k < n_nulls; ++k) {
    r.clustering_sd += (clu[k] - r.clustering) * (clu[k] - r.clustering);
    r.efficiency_sd += (eff[k] - r.efficiency) * (eff[k] - r.efficiency);
  }
  r.clustering_sd = std::sqrt(r.clustering_sd / n_nulls);
  r.efficiency_sd = std::sqrt(r.efficiency_sd / n_nulls);
  return r;
}

SmallWorldNull smallworld_null_cached(int N, int n_nulls, uint64_t seed, const std::string& cache_dir) {
  RSNN_CHECK(!cache_dir.empty(), "smallworld_null_cached: empty cache directory");
  const std::string path = cache_file(N, n_nulls, seed, cache_dir);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return read_cache(path, N, n_nulls, seed);
  std::filesystem::create_directories(cache_dir, ec);
  RSNN_CHECK(!ec, "smallworld_null_cached: cannot create cache directory ", cache_dir, ": ",
             ec.message());
  const SmallWorldNull r = smallworld_null(N, n_nulls, seed);
  std::ostringstream os;
  os.precision(17);
  os << "{\n  \"format\": \"" << kCacheFormat << "\",\n"
     << "  \"rule\": \"U = philox uniform_f64(seed, 0x534E554C00000000 + k, i*N + j); "
        "A = (U + U^T)/2 > 0.7, diagonal kept; bct clustering_coef_bu mean, efficiency_bin\",\n"
     << "  \"N\": " << N << ",\n  \"n_nulls\": " << n_nulls << ",\n  \"seed\": " << seed << ",\n"
     << "  \"clustering\": " << r.clustering << ",\n  \"efficiency\": " << r.efficiency << ",\n"
     << "  \"clustering_sd\": " << r.clustering_sd << ",\n  \"efficiency_sd\": " << r.efficiency_sd
     << "\n}\n";
  write_text_atomic(path, os.str());
  return r;
}

}  // namespace rsnn::graph
