// Builders of the scaling study's network families (contract in models/scale/families.h).
#include "models/scale/families.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "kernels/projection.h"
#include "models/barrel/anatomy.h"
#include "models/microcircuit/potjans.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace rsnn::scale {

namespace {

// Philox streams of the families' draws (the microcircuit keeps its own).
constexpr uint64_t kEdgeStream = 0x5343'0001;     // random-ei sources
constexpr uint64_t kV0Stream = 0x5343'0002;       // initial membrane potentials
constexpr uint64_t kColumnStream = 0x5343'1000;   // barrel: + 4 c (+ 1, + 2 for the neighbours)

// Uniform integer in [0, m) from a 32-bit word (bias below m / 2^32).
inline int64_t pick(uint32_t w, int64_t m) { return static_cast<int64_t>((uint64_t(w) * uint64_t(m)) >> 32); }

int delay_steps(double ms, double dt, const char* what) {
  const double s = std::round(ms / dt);
  RSNN_CHECK(s >= 1 && s <= 255, what, ": delay ", ms, " ms is not 1..255 steps of ", dt, " ms");
  return static_cast<int>(s);
}

// Initial V (relative to E_L): normal, mean -58 mV, sd 10 mV, as the microcircuit's.
std::vector<float> initial_v(int64_t n, uint64_t seed, const mc::NeuronParams& np) {
  std::vector<float> v(n);
  const double mean = -58.0 - np.e_l;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(mean + 10.0 * philox::normal(seed, kV0Stream, i));
  return v;
}

void poisson_drive(ScaleNet& net, double rate_hz, float weight, uint64_t seed) {
  const int64_t n = net.neurons();
  net.drive.i_dc.assign(n, 0.f);
  net.drive.bg_lambda.assign(n, rate_hz * net.dt * 1e-3);
  net.drive.bg_weight.assign(n, weight);
  net.drive.seed = seed;
}

// Thread j of P handles targets [n j / P, n (j + 1) / P).
inline int64_t share(int64_t n, int j, int P) { return n * j / P; }

}  // namespace

Family parse_family(const std::string& name) {
  if (name == "microcircuit") return Family::microcircuit;
  if (name == "barrel-tiled") return Family::barrel_tiled;
  if (name == "random-ei") return Family::random_ei;
  throw Error("--family: unknown family '" + name + "' (expected microcircuit, barrel-tiled or random-ei)");
}

std::string family_name(Family f) {
  switch (f) {
    case Family::microcircuit: return "microcircuit";
    case Family::barrel_tiled: return "barrel-tiled";
    case Family::random_ei: return "random-ei";
  }
  return "?";
}

int64_t ScaleNet::bytes() const {
  const int64_t n = graph.n, d = graph.max_delay() + 1;
  const int64_t synapses = graph.nnz() * mc::DelayCsr::kBytesPerSynapse + (n + 1) * 8;
  const int64_t drive_b = n * (4 + 8 + 4), state = n * (4 + 4 + 4) + d * n * 4;
  return synapses + drive_b + state;
}

int64_t random_ei_indegree(int64_t n, const RandomEiParams& p) {
  return std::min<int64_t>(p.max_indegree, std::llround(0.1 * double(n)));
}

ScaleNet build_random_ei(int64_t n, const RandomEiParams& p, uint64_t seed) {
  check_size(Family::random_ei, double(n));
  RSNN_CHECK(p.max_indegree >= 1 && p.exc_fraction > 0 && p.exc_fraction < 1 && p.j_exc > 0 && p.g >= 0 &&
                 p.bg_rate_hz >= 0,
             "random-ei: invalid parameters");
  ScaleNet net;
  net.prop = mc::make_propagators(mc::NeuronParams{}, net.dt);
  const int64_t K = random_ei_indegree(n, p), KE = std::llround(p.exc_fraction * double(K));
  const int64_t NE = std::llround(p.exc_fraction * double(n)), NI = n - NE;
  RSNN_CHECK(K >= 1 && NI >= 1 && KE >= 1 && K - KE >= 1, "random-ei: ", n, " neurons leave no inhibitory inputs");
  const int d = delay_steps(p.delay_ms, net.dt, "random-ei");
  const int64_t blocks = (K + 3) / 4;  // Philox blocks per target: four sources each
  // Source of in-synapse k of target t: from block t * blocks + k / 4, word k % 4.
  auto for_targets = [&](int64_t lo, int64_t hi, auto&& f) {
    for (int64_t t = lo; t < hi; ++t)
      for (int64_t b = 0; b < blocks; ++b) {
        const philox::Words w = philox::block(seed, kEdgeStream, uint64_t(t * blocks + b));
        for (int64_t k = 4 * b; k < std::min(K, 4 * b + 4); ++k)
          f(t, k < KE ? pick(w.v[k & 3], NE) : NE + pick(w.v[k & 3], NI));
      }
  };
  mc::DelayCsr& g = net.graph;
  g.n = n;
  g.ptr.assign(n + 1, 0);
  // Each thread counts, then places, the synapses of its own contiguous range of targets, at
  // positions fixed by the counts of the earlier ranges: rows come out sorted (one delay,
  // ascending targets) on any thread count, with no atomics and no sort.
  std::vector<int64_t> cursor;
  int P = 1;
#pragma omp parallel
  {
#pragma omp single
    {
      P = omp_get_num_threads();
      cursor.assign(size_t(P) * n, 0);
    }
    const int j = omp_get_thread_num();
    int64_t* mine = &cursor[size_t(j) * n];
    for_targets(share(n, j, P), share(n, j + 1, P), [&](int64_t, int64_t s) { ++mine[s]; });
#pragma omp barrier
#pragma omp single
    {
      for (int64_t s = 0; s < n; ++s) {
        int64_t at = g.ptr[s];
        for (int t = 0; t < P; ++t) {
          const int64_t count = cursor[size_t(t) * n + s];
          cursor[size_t(t) * n + s] = at;  // thread t's first position in row s
          at += count;
        }
        g.ptr[s + 1] = at;
      }
      g.syn.resize(size_t(g.ptr[n]));
      g.weight.resize(size_t(g.ptr[n]));
    }
    const float we = static_cast<float>(p.j_exc), wi = static_cast<float>(-p.g * p.j_exc);
    for_targets(share(n, j, P), share(n, j + 1, P), [&](int64_t t, int64_t s) {
      const int64_t pos = mine[s]++;
      g.syn[pos] = mc::pack_synapse(static_cast<int32_t>(t), d);
      g.weight[pos] = s < NE ? we : wi;
    });
  }
  poisson_drive(net, p.bg_rate_hz, static_cast<float>(p.j_exc), seed);
  net.v0 = initial_v(n, seed, mc::NeuronParams{});
  return net;
}

int barrel_neighbours(int64_t columns) { return static_cast<int>(std::min<int64_t>(columns - 1, 2)); }

double barrel_expected_inter_synapses(int64_t columns) {
  const barrel::ExpectedCounts e = barrel::expected_counts(barrel::default_tables());
  return double(columns) * barrel_neighbours(columns) * kInterFraction * e.recurrent_exc;
}

ScaleNet build_barrel_tiled(int64_t C, const BarrelTiledParams& p, uint64_t seed) {
  check_size(Family::barrel_tiled, double(C));
  RSNN_CHECK(p.j_exc > 0 && p.g >= 0 && p.bg_rate_hz >= 0, "barrel-tiled: invalid parameters");
  ScaleNet net;
  net.prop = mc::make_propagators(mc::NeuronParams{}, net.dt);
  const int de = delay_steps(p.delay_exc_ms, net.dt, "barrel-tiled"),
            di = delay_steps(p.delay_inh_ms, net.dt, "barrel-tiled"),
            dx = delay_steps(p.delay_inter_ms, net.dt, "barrel-tiled");
  const barrel::ConnectionTables tables = barrel::default_tables();
  const int64_t M = barrel::kCorticalNeurons, n = C * M;
  const int nb = barrel_neighbours(C);
  ProjectionSpec intra, inter;
  intra.pre = intra.post = inter.pre = inter.post = barrel::cortex_layout();
  intra.prob = tables.prob();
  intra.same_network = true;  // autapses kept, as the barrel model samples them
  inter.prob = tables.exc.clone();
  for (int64_t k = 0; k < inter.prob.numel(); ++k) inter.prob.data<double>()[k] *= kInterFraction;
  intra.seed = inter.seed = seed;
  // proj[c * 3 + 0]: within column c; + 1: c -> c + 1; + 2: c -> c - 1 (when distinct).
  std::vector<Projection> proj(size_t(C) * 3);
  for (int64_t c = 0; c < C; ++c) {
    intra.stream = kColumnStream + 4 * uint64_t(c);
    proj[c * 3] = build_projection(intra);
    for (int k = 1; k <= nb; ++k) {
      inter.stream = kColumnStream + 4 * uint64_t(c) + k;
      proj[c * 3 + k] = build_projection(inter);
    }
  }
  const Tensor& sign = proj[0].source_sign;
  auto target_column = [&](int64_t c, int k) { return k == 0 ? c : (k == 1 ? (c + 1) % C : (c + C - 1) % C); };
  mc::DelayCsr& g = net.graph;
  g.n = n;
  g.ptr.assign(n + 1, 0);
  for (int64_t s = 0; s < n; ++s) {
    const int64_t c = s / M, i = s % M;
    int64_t len = 0;
    for (int k = 0; k <= nb; ++k) len += proj[c * 3 + k].pre_ptr.data<int64_t>()[i + 1] - proj[c * 3 + k].pre_ptr.data<int64_t>()[i];
    g.ptr[s + 1] = g.ptr[s] + len;
  }
  g.syn.resize(size_t(g.ptr[n]));
  g.weight.resize(size_t(g.ptr[n]));
  int64_t inter_count = 0;
#pragma omp parallel for schedule(dynamic, 256) reduction(+ : inter_count)
  for (int64_t s = 0; s < n; ++s) {
    const int64_t c = s / M, i = s % M;
    const bool exc = sign.data<float>()[i] > 0;
    const float w = static_cast<float>(exc ? p.j_exc : -p.g * p.j_exc);
    int64_t pos = g.ptr[s];
    for (int k = 0; k <= nb; ++k) {
      const Projection& q = proj[c * 3 + k];
      const int64_t* pp = q.pre_ptr.data<int64_t>();
      const int32_t* tgt = q.post_idx.data<int32_t>();
      const int64_t base = target_column(c, k) * M;
      const int d = k == 0 ? (exc ? de : di) : dx;
      for (int64_t e = pp[i]; e < pp[i + 1]; ++e) g.syn[pos++] = mc::pack_synapse(static_cast<int32_t>(base + tgt[e]), d);
      if (k > 0) inter_count += pp[i + 1] - pp[i];
    }
    std::sort(g.syn.begin() + g.ptr[s], g.syn.begin() + g.ptr[s + 1]);
    std::fill(g.weight.begin() + g.ptr[s], g.weight.begin() + g.ptr[s + 1], w);
  }
  net.inter_synapses = inter_count;
  poisson_drive(net, p.bg_rate_hz, static_cast<float>(p.j_exc), seed);
  net.v0 = initial_v(n, seed, mc::NeuronParams{});
  return net;
}

ScaleNet build_microcircuit(double scale, uint64_t seed) {
  check_size(Family::microcircuit, scale);
  mc::PotjansConfig cfg;
  cfg.scale = cfg.k_scale = scale;
  cfg.seed = seed;
  mc::Microcircuit m = mc::build_potjans(cfg);
  ScaleNet net;
  net.graph = std::move(m.graph);
  net.drive = std::move(m.drive);
  net.prop = m.prop;
  net.v0 = std::move(m.v0);
  net.dt = cfg.dt;
  return net;
}

void check_size(Family f, double size) {
  const std::string fam = family_name(f);
  RSNN_CHECK(std::isfinite(size) && size > 0, "--sizes: ", fam, " size ", size, " must be positive");
  if (f == Family::microcircuit) {
    RSNN_CHECK(size <= 1, "--sizes: microcircuit scale factor ", size, " is not in (0, 1]");
    return;
  }
  RSNN_CHECK(size == std::floor(size), "--sizes: ", fam, " size ", size, " is not a whole number");
  if (f == Family::barrel_tiled)
    RSNN_CHECK(size * double(barrel::kCorticalNeurons) <= double(mc::DelayCsr::kMaxNeurons), "--sizes: ", size,
               " barrel columns exceed the op's ", mc::DelayCsr::kMaxNeurons, " neurons");
  if (f == Family::random_ei)
    RSNN_CHECK(size >= 10 && size <= double(mc::DelayCsr::kMaxNeurons), "--sizes: random-ei size ", size,
               " is not in [10, ", mc::DelayCsr::kMaxNeurons, "] neurons");
}

double estimated_bytes(Family f, double size, const RandomEiParams& rp) {
  check_size(f, size);
  constexpr double kSyn = mc::DelayCsr::kBytesPerSynapse;
  // Per neuron: row pointer, drive, state, a ring of up to ~60 slots, build cursors.
  constexpr double kNeuron = 8 + 16 + 12 + 4 * 60 + 16;
  switch (f) {
    case Family::microcircuit: {
      double syn = 0;
      for (int64_t c : mc::synapse_counts(size, size)) syn += double(c);
      double n = 0;
      for (size_t p = 0; p < mc::kFullNeurons.size(); ++p) n += double(mc::population_size(int(p), size));
      return syn * kSyn + n * kNeuron;
    }
    case Family::barrel_tiled: {
      // Each column's projections are kept (16 bytes per synapse) until the rows are filled.
      const double per_column = 1.25e6 * (1 + 2 * kInterFraction);
      return size * per_column * (kSyn + 16) + size * double(barrel::kCorticalNeurons) * kNeuron;
    }
    case Family::random_ei: {
      const int64_t n = static_cast<int64_t>(size);
      return double(n) * double(random_ei_indegree(n, rp)) * kSyn + double(n) * kNeuron;
    }
  }
  return 0;
}

}  // namespace rsnn::scale
