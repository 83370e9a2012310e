#include "kernels/igraph_wrap.h"

#include <igraph/igraph.h>

#include <mutex>
#include <utility>

#include "runtime/error.h"

namespace rsnn::graph {
namespace {

// Debian's igraph 0.10 is built with IGRAPH_THREAD_SAFE 0: its error handler and its stack
// of temporaries are process-wide, so every igraph call (create, compute, destroy) holds
// this one lock. The calls wrapped here are cheap next to the metrics' own code.
std::mutex& igraph_mutex() {
  static std::mutex m;
  return m;
}

// Holds the igraph lock, installs igraph's "ignore" error handler (free temporaries, return
// the code) and silences warnings for one wrapper call, then restores the previous ones.
class HandlerScope {
 public:
  HandlerScope()
      : lock_(igraph_mutex()),
        err_(igraph_set_error_handler(igraph_error_handler_ignore)),
        warn_(igraph_set_warning_handler(igraph_warning_handler_ignore)) {}
  ~HandlerScope() {
    igraph_set_error_handler(err_);
    igraph_set_warning_handler(warn_);
  }
  HandlerScope(const HandlerScope&) = delete;
  HandlerScope& operator=(const HandlerScope&) = delete;

 private:
  std::lock_guard<std::mutex> lock_;
  igraph_error_handler_t* err_;
  igraph_warning_handler_t* warn_;
};

void check(igraph_error_t code, const char* call) {
  RSNN_CHECK(code == IGRAPH_SUCCESS, "igraph: ", call, " failed: ", igraph_strerror(code));
}
#define RSNN_IGRAPH(call) check((call), #call)

// RAII owners of the igraph vector types this wrapper uses.
struct RealVector {
  igraph_vector_t v;
  explicit RealVector(igraph_integer_t n) { RSNN_IGRAPH(igraph_vector_init(&v, n)); }
  ~RealVector() { igraph_vector_destroy(&v); }
  RealVector(const RealVector&) = delete;
  RealVector& operator=(const RealVector&) = delete;
};
struct IntVector {
  igraph_vector_int_t v;
  explicit IntVector(igraph_integer_t n) { RSNN_IGRAPH(igraph_vector_int_init(&v, n)); }
  ~IntVector() { igraph_vector_int_destroy(&v); }
  IntVector(const IntVector&) = delete;
  IntVector& operator=(const IntVector&) = delete;
};

}  // namespace

struct IGraph::Impl {
  igraph_t g;
  bool alive = false;
  ~Impl() {
    if (!alive) return;
    HandlerScope scope;
    igraph_destroy(&g);
  }
};

IGraph::IGraph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
IGraph::IGraph(IGraph&&) noexcept = default;
IGraph& IGraph::operator=(IGraph&&) noexcept = default;
IGraph::~IGraph() = default;

IGraph IGraph::from_adjacency(const std::vector<uint8_t>& adj, int N) {
  RSNN_CHECK(N >= 1, "igraph: graph needs at least one node, got N=", N);
  RSNN_CHECK(adj.size() == static_cast<size_t>(N) * N, "igraph: adjacency has ", adj.size(),
             " entries, expected N*N = ", static_cast<size_t>(N) * N);
  HandlerScope scope;
  std::vector<igraph_integer_t> ends;
  for (int i = 0; i < N; ++i)
    for (int j = i + 1; j < N; ++j)
      if (adj[static_cast<size_t>(i) * N + j]) {
        ends.push_back(i);
        ends.push_back(j);
      }
  IntVector edges(static_cast<igraph_integer_t>(ends.size()));
  for (size_t k = 0; k < ends.size(); ++k) VECTOR(edges.v)[k] = ends[k];
  auto impl = std::make_unique<Impl>();
  RSNN_IGRAPH(igraph_create(&impl->g, &edges.v, N, IGRAPH_UNDIRECTED));
  impl->alive = true;
  return IGraph(std::move(impl));
}

int IGraph::n_nodes() const {
  HandlerScope scope;
  return static_cast<int>(igraph_vcount(&impl_->g));
}
int64_t IGraph::n_edges() const {
  HandlerScope scope;
  return static_cast<int64_t>(igraph_ecount(&impl_->g));
}

double IGraph::modularity(const std::vector<int>& membership) const {
  const int N = n_nodes();
  RSNN_CHECK(membership.size() == static_cast<size_t>(N), "igraph: membership has ",
             membership.size(), " entries for ", N, " nodes");
  for (int c : membership) RSNN_CHECK(c >= 0 && c < N, "igraph: community id ", c, " out of range");
  HandlerScope scope;
  IntVector memb(N);
  for (int i = 0; i < N; ++i) VECTOR(memb.v)[i] = membership[i];
  igraph_real_t q = 0;
  RSNN_IGRAPH(igraph_modularity(&impl_->g, &memb.v, nullptr, 1.0, IGRAPH_UNDIRECTED, &q));
  return q;
}

double IGraph::degree_assortativity() const {
  HandlerScope scope;
  igraph_real_t r = 0;
  RSNN_IGRAPH(igraph_assortativity_degree(&impl_->g, &r, IGRAPH_UNDIRECTED));
  return r;
}

double IGraph::global_efficiency() const {
  HandlerScope scope;
  igraph_real_t e = 0;
  RSNN_IGRAPH(igraph_global_efficiency(&impl_->g, &e, nullptr, IGRAPH_UNDIRECTED));
  return e;
}

std::vector<double> IGraph::local_transitivity() const {
  HandlerScope scope;
  RealVector res(0);
  RSNN_IGRAPH(igraph_transitivity_local_undirected(&impl_->g, &res.v, igraph_vss_all(),
                                                   IGRAPH_TRANSITIVITY_ZERO));
  std::vector<double> out(static_cast<size_t>(igraph_vector_size(&res.v)));
  for (size_t i = 0; i < out.size(); ++i) out[i] = VECTOR(res.v)[i];
  return out;
}

}  // namespace rsnn::graph
