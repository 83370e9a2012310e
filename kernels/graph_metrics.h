// Graph metrics of a recurrent weight matrix (entropy of the weight distribution, binary graph
// at the 0.9 quantile, CNM modularity, degree assortativity, clustering, global efficiency,
// small-worldness against a random null), with the definitions of numpy/scipy 1.10,
// networkx 2.8.8 and bctpy so that results match those libraries.
//
// Graphs are simple undirected graphs on nodes 0..N-1, given as a dense symmetric 0/1
// adjacency (row-major uint8, N x N). Functions that take "adj" say whether a nonzero diagonal
// (self-loop) is allowed and how it counts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace rsnn::graph {

// Mean clustering and global efficiency over the seRNN random nulls of size N.
struct SmallWorldNull {
  int N = 0;
  int n_nulls = 0;
  uint64_t seed = 0;
  double clustering = 0, efficiency = 0;  // means over the nulls
  double clustering_sd = 0, efficiency_sd = 0;  // sd (ddof=0) over the nulls; 0 if given as constants
};

struct GraphMetrics {
  double entropy_bits = 0, threshold_q90 = 0;
  int64_t n_directed_above = 0, n_undirected_edges = 0;
  double modularity = 0;
  int n_communities = 0;
  double assortativity = 0, clustering_mean = 0, global_efficiency = 0, smallworld = 0;
  // NaN everywhere (the counts -1) when W has inf/NaN, as the original.
};

// W: N x N row-major float32 (the trained recurrent kernel, signed).
// null: the small-world null constants for this N (null.N must equal N).
GraphMetrics graph_metrics(const float* W, int N, const SmallWorldNull& null);

// The seRNN null: U = rand(N,N); Wp = (U+U^T)/2; A = Wp > 0.7 (diagonal KEPT);
// mean bct clustering_coef_bu and efficiency_bin over n_nulls graphs (Philox-keyed by seed,
// the same on any thread count; parallel over nulls with OpenMP).
SmallWorldNull smallworld_null(int N, int n_nulls, uint64_t seed);

// Same, cached as a small JSON file in cache_dir keyed by (N, n_nulls, seed); cache_dir is
// created if missing; written atomically; a corrupt cache file is an error.
SmallWorldNull smallworld_null_cached(int N, int n_nulls, uint64_t seed,
                                      const std::string& cache_dir);

// ---- building blocks ----

// scipy.stats.entropy(p, base=2) of p = gaussian_kde(w)(linspace(min, max, n_points)),
// p normalized to sum 1 (Scott bandwidth: sd = std(w, ddof=1) * n^(-1/5)). Exact up to
// the kernel terms farther than 12 bandwidths from a grid point (each < exp(-72) of the
// kernel peak: the dropped mass is < 1e-25 of the total for n <= 1e6). Throws when w has a
// non-finite value or all w are equal (scipy fails then too).
double kde_entropy_bits(const float* w, int64_t n, int n_points = 100);

// numpy.quantile(x, q) with the default linear interpolation. n >= 1, 0 <= q <= 1.
double quantile_linear(const float* x, int64_t n, double q);

// The binary graph of the original: B = |W| > thresh (strict), OR-symmetrized, self-loops
// removed. Returns N x N uint8. n_directed_above counts B (diagonal included).
std::vector<uint8_t> threshold_graph(const float* W, int N, double thresh,
                                     int64_t* n_directed_above);

// Communities as lists of node ids (each sorted ascending), in the order networkx 2.8.8
// greedy_modularity_communities returns them (by size, descending; stable).
using Communities = std::vector<std::vector<int>>;

// Clauset-Newman-Moore greedy merging exactly as networkx 2.8.8
// greedy_modularity_communities(G) (weight None, resolution 1, same ties). adj: symmetric,
// zero diagonal. A graph without edges gives N singletons.
Communities greedy_modularity_communities(const std::vector<uint8_t>& adj, int N);

// networkx modularity(G, comms): sum_c [L_c/m - (d_c/2m)^2]; NaN-free: throws if m = 0.
double modularity(const std::vector<uint8_t>& adj, int N, const Communities& comms);

// networkx degree_assortativity_coefficient(G) (Pearson r of degrees over edge ends).
// adj: symmetric, zero diagonal, at least one edge. NaN when all degrees are equal.
double degree_assortativity(const std::vector<uint8_t>& adj, int N);

// bct clustering_coef_bu per node. adj: symmetric; a diagonal 1 makes the node its own
// neighbour (it counts in k and in the triangle sum), as numpy's np.where(G[u]) does.
std::vector<double> clustering_coef_bu(const std::vector<uint8_t>& adj, int N);

// bct efficiency_bin(adj) (global): mean over i != j of 1/d_ij, 0 for unreachable pairs.
// The diagonal is ignored.
double efficiency_bin(const std::vector<uint8_t>& adj, int N);

// Bitset forms of the last two (what the null loop runs): row i is ceil(N/64) words, bit j of
// word j/64 set when adj[i*N + j] != 0.
std::vector<uint64_t> adjacency_bits(const std::vector<uint8_t>& adj, int N);
std::vector<double> clustering_coef_bits(const uint64_t* rows, int N);
double efficiency_bits(const uint64_t* rows, int N);

}  // namespace rsnn::graph
