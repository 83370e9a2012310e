// igraph behind a small wrapper: the only file pair that includes igraph. RAII owners for
// igraph_t and igraph vectors, and every igraph call checked and turned into rsnn::Error
// (igraph's default error handler aborts the process; the wrapper swaps in the
// "ignore" handler for the duration of each call and restores the caller's). Safe to call
// from several threads: Debian's igraph is not thread-safe, so the wrapper serializes calls.
//
// Graphs here are simple undirected graphs on nodes 0..N-1 given as a dense symmetric 0/1
// adjacency (row-major uint8, N x N); the diagonal is ignored (igraph gets no self-loops).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace rsnn::graph {

// An undirected igraph graph owned by value (move-only); the igraph_t lives behind a pimpl so
// that this header does not pull in igraph.
class IGraph {
 public:
  // Edges {i, j} with i < j and adj[i*N + j] != 0 (the caller guarantees symmetry).
  static IGraph from_adjacency(const std::vector<uint8_t>& adj, int N);
  IGraph(IGraph&&) noexcept;
  IGraph& operator=(IGraph&&) noexcept;
  ~IGraph();

  int n_nodes() const;
  int64_t n_edges() const;

  // igraph_modularity (resolution 1, unweighted, undirected): Newman's Q of the partition
  // given as one community id per node (ids 0..K-1).
  double modularity(const std::vector<int>& membership) const;
  // igraph_assortativity_degree (undirected): Pearson r of the degrees at the two ends of each
  // edge, the same definition as networkx degree_assortativity_coefficient. NaN when all
  // degrees at edge ends are equal.
  double degree_assortativity() const;
  // igraph_global_efficiency (unweighted): mean over ordered pairs i != j of 1/d_ij.
  double global_efficiency() const;
  // igraph_transitivity_local_undirected in "zero" mode (nodes of degree < 2 get 0).
  std::vector<double> local_transitivity() const;

 private:
  struct Impl;
  explicit IGraph(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rsnn::graph
