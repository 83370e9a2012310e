// Clauset-Newman-Moore greedy modularity, reproducing networkx 2.8.8
// greedy_modularity_communities(G) (weight None, resolution 1) step for step:
//  - dq_uv starts at 1/m - 2 a_u a_v with a_u = deg_u/(2m), computed in the same order;
//  - each step takes the entry with the largest dq; networkx keeps its heaps ordered by
//    (-dq, u, v), so ties go to the lexicographically smallest (u, v), and u merges into v;
//  - it stops at the first step whose best dq is < 0 (merges while dq >= 0);
//  - the result is sorted by size, descending, ties in order of the surviving label.
// A dense N x N table with a cached best column per row replaces the heaps: with a total
// order on (dq, u, v) the heap top is determined by the set of live entries, so the merges
// (and the floating-point dq values) are the same. Cost O(N^2) per merge, fine for N ~ 1e3.
#include <algorithm>
#include <cstddef>

#include "kernels/graph_metrics.h"
#include "runtime/error.h"

namespace rsnn::graph {
namespace {

struct CnmState {
  int N;
  std::vector<double> dq;       // N x N, valid where live
  std::vector<uint8_t> live;    // N x N: entry (u, v) present (u, v adjacent communities)
  std::vector<int> best;        // per row: column of its best entry, -1 if the row is empty
  std::vector<double> a;        // a_u = (community degree)/(2m)

  size_t at(int u, int v) const { return static_cast<size_t>(u) * N + v; }
  // Row entry (u, c) beats (u, c2) when its dq is larger, or equal with a smaller column.
  bool beats(int u, int c, int c2) const {
    return dq[at(u, c)] > dq[at(u, c2)] || (dq[at(u, c)] == dq[at(u, c2)] && c < c2);
  }
  void refresh_best(int u) {
    int b = -1;
    for (int c = 0; c < N; ++c)
      if (live[at(u, c)] && (b < 0 || dq[at(u, c)] > dq[at(u, b)])) b = c;
    best[u] = b;
  }
  // Row w after a merge of u into v: (w,u) is gone and (w,v) has a new value; every other
  // entry is unchanged, so only a best that was (w,u) or (w,v) needs a rescan.
  void update_best_after_merge(int w, int u, int v) {
    if (best[w] == u || best[w] == v)
      refresh_best(w);
    else if (best[w] < 0 || beats(w, v, best[w]))
      best[w] = v;
  }
  // Merge community u into v: v's new dq with every community next to u or v (networkx's
  // three cases, same arithmetic), then u's row and column disappear.
  void merge(int u, int v) {
    std::vector<int> touched;
    for (int w = 0; w < N; ++w) {
      if (w == u || w == v) continue;
      const bool nu = live[at(u, w)], nv = live[at(v, w)];
      if (!nu && !nv) continue;
      double d;
      if (nu && nv)
        d = dq[at(v, w)] + dq[at(u, w)];
      else if (nv)
        d = dq[at(v, w)] - (a[u] * a[w] + a[w] * a[u]);
      else
        d = dq[at(u, w)] - (a[v] * a[w] + a[w] * a[v]);
      dq[at(v, w)] = dq[at(w, v)] = d;
      live[at(v, w)] = live[at(w, v)] = 1;
      touched.push_back(w);
    }
    for (int w = 0; w < N; ++w) live[at(u, w)] = live[at(w, u)] = 0;
    a[v] += a[u];
    a[u] = 0;
    best[u] = -1;
    refresh_best(v);
    for (int w : touched) update_best_after_merge(w, u, v);
  }
};

}  // namespace

Communities greedy_modularity_communities(const std::vector<uint8_t>& adj, int N) {
  RSNN_CHECK(N >= 1, "greedy_modularity_communities: N must be >= 1, got ", N);
  RSNN_CHECK(adj.size() == static_cast<size_t>(N) * N, "greedy_modularity_communities: adjacency has ",
             adj.size(), " entries, expected ", static_cast<size_t>(N) * N);
  std::vector<int> deg(N, 0);
  int64_t m = 0;
  for (int i = 0; i < N; ++i) {
    RSNN_CHECK(adj[static_cast<size_t>(i) * N + i] == 0,
               "greedy_modularity_communities: self-loop at node ", i);
    for (int j = 0; j < N; ++j) {
      const bool e = adj[static_cast<size_t>(i) * N + j] != 0;
      RSNN_CHECK(e == (adj[static_cast<size_t>(j) * N + i] != 0),
                 "greedy_modularity_communities: adjacency not symmetric at (", i, ",", j, ")");
      deg[i] += e;
      if (e && j > i) ++m;
    }
  }
  std::vector<std::vector<int>> members(N);
  for (int i = 0; i < N; ++i) members[i] = {i};
  if (m == 0) return members;  // networkx: every node its own community

  CnmState s{N, std::vector<double>(static_cast<size_t>(N) * N, 0.0),
             std::vector<uint8_t>(static_cast<size_t>(N) * N, 0), std::vector<int>(N, -1),
             std::vector<double>(N, 0.0)};
  const double q0 = 1.0 / static_cast<double>(m);
  for (int i = 0; i < N; ++i) s.a[i] = static_cast<double>(deg[i]) * q0 * 0.5;
  for (int u = 0; u < N; ++u)
    for (int v = 0; v < N; ++v)
      if (adj[s.at(u, v)]) {
        s.live[s.at(u, v)] = 1;
        s.dq[s.at(u, v)] = q0 * 1.0 - (s.a[u] * s.a[v] + s.a[u] * s.a[v]);
      }
  for (int u = 0; u < N; ++u) s.refresh_best(u);

  std::vector<uint8_t> alive(N, 1);
  int n_comms = N;
  while (n_comms > 1) {
    // networkx stops once its top-level heap holds fewer than two rows.
    int rows = 0, u = -1;
    for (int r = 0; r < N; ++r) {
      if (s.best[r] < 0) continue;
      ++rows;
      if (u < 0 || s.dq[s.at(r, s.best[r])] > s.dq[s.at(u, s.best[u])]) u = r;
    }
    if (rows < 2) break;
    const int v = s.best[u];
    if (s.dq[s.at(u, v)] < 0) break;

    s.merge(u, v);
    members[v].insert(members[v].end(), members[u].begin(), members[u].end());
    members[u].clear();
    alive[u] = 0;
    --n_comms;
  }

  Communities out;
  for (int i = 0; i < N; ++i)
    if (alive[i]) {
      std::sort(members[i].begin(), members[i].end());
      out.push_back(std::move(members[i]));
    }
  // networkx: sorted(..., key=len, reverse=True) is stable over labels in node order.
  std::stable_sort(out.begin(), out.end(),
                   [](const std::vector<int>& x, const std::vector<int>& y) { return x.size() > y.size(); });
  return out;
}

}  // namespace rsnn::graph
