// Graph metrics with the definitions of numpy 1.24 / scipy 1.10 / networkx 2.8.8 / bctpy.
// Which code computes what, and why:
//  - modularity value and degree assortativity: igraph (kernels/igraph_wrap.h), whose
//    definitions equal networkx's for simple undirected graphs;
//  - CNM communities: our own (graph_cnm.cpp), because igraph's fastgreedy breaks ties
//    differently from networkx, and ties decide the partition;
//  - clustering: our own, because bct counts a self-loop as the node being its own neighbour
//    (the small-world null keeps the diagonal), which igraph's transitivity does not;
//  - efficiency: our own bitset BFS: N BFS over 64-bit words, no allocation per pair, and it
//    ignores self-loops as bct does; igraph_global_efficiency is the cross-check in the test.
#include "kernels/graph_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/igraph_wrap.h"
#include "runtime/error.h"

namespace rsnn::graph {
namespace {

// Kernel terms farther than this many bandwidths are dropped: each is < exp(-72) < 1e-31 of
// the kernel peak, and the density at the grid point on the smallest sample is >= 1 peak,
// so for n <= 1e6 samples the dropped mass is < 1e-25 of the total (below double rounding).
constexpr double kKdeCutoff = 12.0;

size_t words_for(int N) { return (static_cast<size_t>(N) + 63) / 64; }

}  // namespace

double kde_entropy_bits(const float* w, int64_t n, int n_points) {
  RSNN_CHECK(w != nullptr, "kde_entropy_bits: null sample pointer");
  RSNN_CHECK(n >= 2, "kde_entropy_bits: need at least 2 samples, got ", n);
  RSNN_CHECK(n_points >= 2, "kde_entropy_bits: need at least 2 grid points, got ", n_points);
  std::vector<double> x(static_cast<size_t>(n));
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) {
    RSNN_CHECK(std::isfinite(w[i]), "kde_entropy_bits: sample ", i, " is not finite");
    x[i] = w[i];
    mean += x[i];
  }
  mean /= static_cast<double>(n);
  double ss = 0;
  for (double v : x) ss += (v - mean) * (v - mean);
  const double var = ss / static_cast<double>(n - 1);
  RSNN_CHECK(var > 0, "kde_entropy_bits: all ", n, " samples are equal (scipy gaussian_kde "
             "fails on a singular covariance)");
  // scipy: Scott factor n^(-1/(d+4)), covariance = data covariance * factor^2.
  const double h = std::sqrt(var) * std::pow(static_cast<double>(n), -0.2);
  std::sort(x.begin(), x.end());
  const double lo = x.front(), hi = x.back();
  const double step = (hi - lo) / (n_points - 1);  // numpy linspace: j*step + start, last = stop
  std::vector<double> p(n_points);
  const double inv2h2 = 1.0 / (2.0 * h * h);
#pragma omp parallel for schedule(static)
  for (int j = 0; j < n_points; ++j) {
    const double g = (j == n_points - 1) ? hi : j * step + lo;
    auto b = std::lower_bound(x.begin(), x.end(), g - kKdeCutoff * h);
    auto e = std::upper_bound(b, x.end(), g + kKdeCutoff * h);
    double acc = 0;
    for (auto it = b; it != e; ++it) acc += std::exp(-(g - *it) * (g - *it) * inv2h2);
    p[j] = acc;
  }
  double total = 0;
  for (double v : p) total += v;
  double H = 0;
  for (double v : p) {
    const double q = v / total;
    if (q > 0) H -= q * std::log(q);
  }
  return H / std::log(2.0);
}

double quantile_linear(const float* x, int64_t n, double q) {
  RSNN_CHECK(x != nullptr && n >= 1, "quantile_linear: need at least one value, got ", n);
  RSNN_CHECK(q >= 0 && q <= 1, "quantile_linear: q must be in [0, 1], got ", q);
  std::vector<float> v(x, x + n);
  for (int64_t i = 0; i < n; ++i)
    RSNN_CHECK(!std::isnan(v[i]), "quantile_linear: value ", i, " is NaN");
  const double vi = q * static_cast<double>(n - 1);
  const int64_t prev = std::min<int64_t>(static_cast<int64_t>(std::floor(vi)), n - 1);
  const int64_t next = std::min<int64_t>(prev + 1, n - 1);
  std::nth_element(v.begin(), v.begin() + prev, v.end());
  const float a = v[prev];
  const float b = (next == prev) ? a : *std::min_element(v.begin() + prev + 1, v.end());
  const double t = vi - static_cast<double>(prev);
  // numpy _lerp: b - a in the array's dtype (float32), the blend in float64.
  const float diff = b - a;
  return t >= 0.5 ? static_cast<double>(b) - static_cast<double>(diff) * (1.0 - t)
                  : static_cast<double>(a) + static_cast<double>(diff) * t;
}

std::vector<uint8_t> threshold_graph(const float* W, int N, double thresh, int64_t* n_directed_above) {
  RSNN_CHECK(W != nullptr && N >= 1, "threshold_graph: need N >= 1, got ", N);
  // numpy 1.x compares a float32 array with a float64 scalar in float32.
  const float t = static_cast<float>(thresh);
  const size_t NN = static_cast<size_t>(N) * N;
  std::vector<uint8_t> adj(NN, 0);
  int64_t above = 0;
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j)
      if (std::fabs(W[static_cast<size_t>(i) * N + j]) > t) {
        ++above;
        if (i != j) adj[static_cast<size_t>(i) * N + j] = adj[static_cast<size_t>(j) * N + i] = 1;
      }
  if (n_directed_above) *n_directed_above = above;
  return adj;
}

double modularity(const std::vector<uint8_t>& adj, int N, const Communities& comms) {
  std::vector<int> membership(N, -1);
  for (size_t c = 0; c < comms.size(); ++c)
    for (int node : comms[c]) {
      RSNN_CHECK(node >= 0 && node < N, "modularity: node ", node, " out of range [0, ", N, ")");
      RSNN_CHECK(membership[node] < 0, "modularity: node ", node, " is in two communities");
      membership[node] = static_cast<int>(c);
    }
  for (int i = 0; i < N; ++i)
    RSNN_CHECK(membership[i] >= 0, "modularity: node ", i, " is in no community");
  const IGraph g = IGraph::from_adjacency(adj, N);
  RSNN_CHECK(g.n_edges() > 0, "modularity: the graph has no edges (networkx divides by m = 0)");
  return g.modularity(membership);
}

double degree_assortativity(const std::vector<uint8_t>& adj, int N) {
  const IGraph g = IGraph::from_adjacency(adj, N);
  RSNN_CHECK(g.n_edges() > 0, "degree_assortativity: the graph has no edges");
  return g.degree_assortativity();
}

std::vector<uint64_t> adjacency_bits(const std::vector<uint8_t>& adj, int N) {
  RSNN_CHECK(N >= 1 && adj.size() == static_cast<size_t>(N) * N, "graph: adjacency has ",
             adj.size(), " entries, expected N*N for N=", N);
  const size_t W = words_for(N);
  std::vector<uint64_t> rows(static_cast<size_t>(N) * W, 0);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j)
      if (adj[static_cast<size_t>(i) * N + j]) rows[i * W + j / 64] |= uint64_t(1) << (j % 64);
  return rows;
}

// bct: C_u = sum(G[V,V]) / (k^2 - k), V = {v : G[u,v]} (u itself when it has a loop).
std::vector<double> clustering_coef_bits(const uint64_t* rows, int N) {
  const size_t W = words_for(N);
  std::vector<double> C(N, 0.0);
  for (int u = 0; u < N; ++u) {
    const uint64_t* ru = rows + u * W;
    int64_t k = 0;
    for (size_t w = 0; w < W; ++w) k += __builtin_popcountll(ru[w]);
    if (k < 2) continue;
    int64_t tri = 0;
    for (size_t w = 0; w < W; ++w)
      for (uint64_t bits = ru[w]; bits; bits &= bits - 1) {
        const uint64_t* rv = rows + (w * 64 + __builtin_ctzll(bits)) * W;
        for (size_t x = 0; x < W; ++x) tri += __builtin_popcountll(rv[x] & ru[x]);
      }
    C[u] = static_cast<double>(tri) / static_cast<double>(k * k - k);
  }
  return C;
}

// Level-synchronous BFS from every node over bitset rows; sums 1/d over reached j != i.
double efficiency_bits(const uint64_t* rows, int N) {
  if (N < 2) return 0.0;
  const size_t W = words_for(N);
  std::vector<uint64_t> seen(W), frontier(W), next(W);
  double total = 0;
  for (int s = 0; s < N; ++s) {
    std::fill(seen.begin(), seen.end(), 0);
    std::fill(frontier.begin(), frontier.end(), 0);
    seen[s / 64] = frontier[s / 64] = uint64_t(1) << (s % 64);
    double sum_s = 0;
    for (int d = 1;; ++d) {
      std::fill(next.begin(), next.end(), 0);
      for (size_t w = 0; w < W; ++w)
        for (uint64_t bits = frontier[w]; bits; bits &= bits - 1) {
          const uint64_t* r = rows + (w * 64 + __builtin_ctzll(bits)) * W;
          for (size_t x = 0; x < W; ++x) next[x] |= r[x];
        }
      int64_t found = 0;
      for (size_t x = 0; x < W; ++x) {
        next[x] &= ~seen[x];
        seen[x] |= next[x];
        found += __builtin_popcountll(next[x]);
      }
      if (found == 0) break;
      sum_s += static_cast<double>(found) / d;
      frontier.swap(next);
    }
    total += sum_s;
  }
  return total / (static_cast<double>(N) * N - N);
}

std::vector<double> clustering_coef_bu(const std::vector<uint8_t>& adj, int N) {
  const std::vector<uint64_t> rows = adjacency_bits(adj, N);
  return clustering_coef_bits(rows.data(), N);
}

double efficiency_bin(const std::vector<uint8_t>& adj, int N) {
  const std::vector<uint64_t> rows = adjacency_bits(adj, N);
  return efficiency_bits(rows.data(), N);
}

GraphMetrics graph_metrics(const float* W, int N, const SmallWorldNull& null) {
  RSNN_CHECK(W != nullptr && N >= 2, "graph_metrics: need an N x N matrix with N >= 2, got N=", N);
  RSNN_CHECK(null.N == N, "graph_metrics: small-world null is for N=", null.N, ", matrix has N=", N);
  RSNN_CHECK(null.clustering > 0 && null.efficiency > 0 && std::isfinite(null.clustering) &&
                 std::isfinite(null.efficiency),
             "graph_metrics: small-world null constants must be positive and finite, got "
             "clustering=", null.clustering, " efficiency=", null.efficiency);
  const int64_t NN = static_cast<int64_t>(N) * N;
  GraphMetrics r;
  for (int64_t i = 0; i < NN; ++i)
    if (!std::isfinite(W[i])) {
      const double nan = std::numeric_limits<double>::quiet_NaN();
      return GraphMetrics{nan, nan, -1, -1, nan, -1, nan, nan, nan, nan};
    }
  r.entropy_bits = kde_entropy_bits(W, NN);
  std::vector<float> absW(W, W + NN);
  for (float& v : absW) v = std::fabs(v);
  r.threshold_q90 = quantile_linear(absW.data(), NN, 0.9);
  const std::vector<uint8_t> adj = threshold_graph(W, N, r.threshold_q90, &r.n_directed_above);
  const IGraph g = IGraph::from_adjacency(adj, N);
  r.n_undirected_edges = g.n_edges();
  RSNN_CHECK(r.n_undirected_edges > 0, "graph_metrics: no entry of |W| exceeds its 0.9 quantile ",
             r.threshold_q90, " (the graph has no edges)");
  const Communities comms = greedy_modularity_communities(adj, N);
  std::vector<int> membership(N);
  for (size_t c = 0; c < comms.size(); ++c)
    for (int node : comms[c]) membership[node] = static_cast<int>(c);
  r.modularity = g.modularity(membership);
  r.n_communities = static_cast<int>(comms.size());
  r.assortativity = g.degree_assortativity();
  const std::vector<uint64_t> rows = adjacency_bits(adj, N);
  const std::vector<double> C = clustering_coef_bits(rows.data(), N);
  double csum = 0;
  for (double c : C) csum += c;
  r.clustering_mean = csum / N;
  r.global_efficiency = efficiency_bits(rows.data(), N);
  r.smallworld = (r.clustering_mean / null.clustering) / (null.efficiency / r.global_efficiency);
  return r;
}

}  // namespace rsnn::graph
