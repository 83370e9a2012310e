// The Potjans & Diesmann microcircuit builder (contract in models/microcircuit/potjans.h).
//
// Every random number is Philox keyed by (seed, purpose and population pair, index). Per pair,
// the sources' out-degrees are one multinomial draw (conditional binomials); synapse k of the
// pair then belongs to the source whose range holds k and takes its target, weight and delay
// from block k. Rows are filled in place source by source in parallel and radix-sorted by
// (delay, target), so the build streams through memory and the CSR is the same on any thread
// count.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <utility>

#include "models/microcircuit/potjans.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace rsnn::mc {

const std::array<const char*, kPops> kPopNames = {"L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"};
const std::array<int64_t, kPops> kFullNeurons = {20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948};
const double kConnProb[kPops][kPops] = {
    {0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0},
    {0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0},
    {0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0},
    {0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0},
    {0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0},
    {0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0},
    {0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252},
    {0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443}};
const std::array<double, kPops> kExternalIndegree = {1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100};
// The full-scale rates that NEST's example (commit e0a0745546eb) uses for the compensation.
const std::array<double, kPops> kFullScaleRates = {0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829};
const std::array<double, kPops> kV0OptimizedMean = {-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43};
const std::array<double, kPops> kV0OptimizedSd = {5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48};

namespace {

enum Purpose : uint64_t { kEnds = 1, kWeight = 2, kDelay = 3, kV0 = 4, kCounts = 5 };
constexpr int kMaxRedraws = 1000;

uint64_t stream_of(Purpose what, int pair, int attempt) {
  return (uint64_t(what) << 56) | (uint64_t(attempt) << 40) | uint64_t(pair);
}

bool excitatory(int pop) { return pop % 2 == 0; }

// Nearest integer, halves to even (numpy's round), whatever the floating-point mode.
int64_t round_half_even(double x) {
  double r = std::floor(x + 0.5);
  if (r - x == 0.5 && std::fmod(r, 2.0) != 0) r -= 1;
  return static_cast<int64_t>(r);
}

// Full-scale in-degree of target population a from source population b.
double full_indegree(int a, int b) {
  const double p = kConnProb[a][b];
  if (p == 0) return 0;
  const double prod = double(kFullNeurons[a]) * double(kFullNeurons[b]);
  return std::log1p(-p) / std::log1p(-1.0 / prod) / double(kFullNeurons[a]);
}

// normal(mean, sd) redrawn until accept(x) holds; attempt r uses its own stream. NaN when no
// draw is admissible (the caller reports it outside its parallel region).
template <class Accept>
double redrawn_normal(uint64_t seed, Purpose what, int pair, uint64_t k, double mean, double sd, Accept accept,
                      int first_attempt) {
  for (int r = first_attempt; r < kMaxRedraws; ++r) {
    const double x = mean + sd * philox::normal(seed, stream_of(what, pair, r), k);
    if (accept(x)) return x;
  }
  return NAN;
}

struct PairPlan {
  int a = 0, b = 0;        // target and source population
  int64_t count = 0;       // synapses
  double w = 0, w_sd = 0;  // pA
  double d = 0, d_sd = 0;  // ms
};

// Uniform integer in [0, n) from 32 random bits (multiply-shift; bias below n / 2^32).
int64_t pick(uint32_t bits, int64_t n) { return static_cast<int64_t>((uint64_t(bits) * uint64_t(n)) >> 32); }

}  // namespace

void PotjansConfig::validate() const {
  RSNN_CHECK(scale > 0 && scale <= 1, "microcircuit: scale must be in (0, 1], got ", scale);
  RSNN_CHECK(k_scale > 0 && k_scale <= 1, "microcircuit: k_scale must be in (0, 1], got ", k_scale);
  RSNN_CHECK(std::isfinite(dt) && dt > 0, "microcircuit: dt must be positive, got ", dt);
  RSNN_CHECK(std::isfinite(bg_rate) && bg_rate >= 0, "microcircuit: bg_rate must be >= 0, got ", bg_rate);
  RSNN_CHECK(std::isfinite(psp_mean) && psp_mean > 0, "microcircuit: psp_mean must be positive");
  RSNN_CHECK(std::isfinite(g) && g <= 0, "microcircuit: g must be <= 0, got ", g);
  RSNN_CHECK(weight_rel_sd >= 0 && delay_rel_sd >= 0 && std::isfinite(weight_rel_sd + delay_rel_sd),
             "microcircuit: relative sds must be >= 0");
  RSNN_CHECK(delay_exc >= dt && delay_inh >= dt && std::isfinite(delay_exc + delay_inh),
             "microcircuit: mean delays must be >= dt");
  RSNN_CHECK(std::isfinite(v0_mean) && std::isfinite(v0_sd) && v0_sd >= 0, "microcircuit: bad v0");
  neuron.validate("microcircuit neuron parameters");
}

double psc_from_psp(double psp_mv, const NeuronParams& p) {
  p.validate("psc_from_psp");
  const double tm = p.tau_m, ts = p.tau_syn;
  // PSP of a unit exponential current: tm ts / (C (ts - tm)) (e^{-t/ts} - e^{-t/tm}), largest at
  // t* = ln(tm / ts) tm ts / (tm - ts); equal taus: t e^{-t/tau} / C at t* = tau.
  double peak;
  if (std::fabs(tm - ts) < 1e-12 * tm) {
    peak = tm * std::exp(-1.0) / p.c_m;
  } else {
    const double t = std::log(tm / ts) * tm * ts / (tm - ts);
    peak = tm * ts / (p.c_m * (ts - tm)) * (std::exp(-t / ts) - std::exp(-t / tm));
  }
  return psp_mv / peak;
}

int64_t population_size(int p, double scale) { return round_half_even(double(kFullNeurons[p]) * scale); }

std::vector<int64_t> synapse_counts(double scale, double k_scale) {
  std::vector<int64_t> k(kPops * kPops);
  for (int a = 0; a < kPops; ++a)
    for (int b = 0; b < kPops; ++b)
      k[a * kPops + b] = round_half_even(full_indegree(a, b) * double(kFullNeurons[a]) * scale * k_scale);
  return k;
}

namespace {

// 32 random bits per call from one Philox stream (four words per block), for the
// standard library's distributions: a pure function of (seed, stream) and the call count.
class PhiloxBits {
 public:
  using result_type = uint32_t;
  PhiloxBits(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return 0xFFFFFFFFu; }
  result_type operator()() {
    if ((i_ & 3) == 0) w_ = philox::block(seed_, stream_, i_ >> 2);
    return w_.v[i_++ & 3];
  }

 private:
  uint64_t seed_, stream_, i_ = 0;
  philox::Words w_{};
};

// Out-degrees of the sources of one pair: `count` synapses with uniform sources among nb is a
// multinomial, drawn as conditional binomials (source i gets Bin(left, 1 / (nb - i))).
// Returns the prefix sums [nb + 1]: synapse k of the pair belongs to the source i with
// off[i] <= k < off[i + 1].
std::vector<int64_t> source_offsets(uint64_t seed, int pair, int64_t count, int64_t nb) {
  std::vector<int64_t> off(static_cast<size_t>(nb) + 1, 0);
  PhiloxBits bits(seed, stream_of(kCounts, pair, 0));
  int64_t left = count;
  for (int64_t i = 0; i < nb; ++i) {
    int64_t c = left;
    if (i + 1 < nb && left > 0) c = std::binomial_distribution<int64_t>(left, 1.0 / double(nb - i))(bits);
    left -= c;
    off[i + 1] = off[i] + c;
  }
  return off;
}

// Every pair's source offsets (source_offsets), in parallel.
std::vector<std::vector<int64_t>> all_source_offsets(const PotjansConfig& cfg, const std::vector<int64_t>& offsets,
                                                     const std::vector<PairPlan>& plan) {
  std::vector<std::vector<int64_t>> off(plan.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t q = 0; q < plan.size(); ++q) {
    const int b = plan[q].b;
    off[q] = source_offsets(cfg.seed, static_cast<int>(q), plan[q].count, offsets[b + 1] - offsets[b]);
  }
  return off;
}

int population_of(const std::vector<int64_t>& offsets, int64_t s) {
  int b = 0;
  while (s >= offsets[b + 1]) ++b;
  return b;
}

// Synapse k of a pair: its target, weight and delay from one Philox block (a rejected weight
// or delay is redrawn from its own streams). False when no admissible draw was found.
bool draw_synapse(const PotjansConfig& cfg, const PairPlan& pp, int pair, int64_t k, int64_t tgt0, int64_t na,
                  uint32_t& word, float& weight) {
  const philox::Words e = philox::block(cfg.seed, stream_of(kEnds, pair, 0), static_cast<uint64_t>(k));
  // One Box-Muller pair in float (24-bit uniforms, tails to 5.9 sd): weights and delays
  // need no more, and float log and sincos cost far less than double at 3e8 synapses.
  const float r = std::sqrt(-2.f * std::log(philox::to_unit_float(e.v[1])));
  const float angle = 6.28318531f * philox::to_unit_float(e.v[2]);
  const float z_w = r * std::cos(angle), z_d = r * std::sin(angle);
  const bool exc = excitatory(pp.b);
  const double dt = cfg.dt;
  const auto sign_ok = [exc](double x) { return exc ? x >= 0 : x <= 0; };
  const auto delay_ok = [dt](double x) { return x >= dt; };
  double w = pp.w + pp.w_sd * z_w, d = pp.d + pp.d_sd * z_d;
  if (!sign_ok(w)) w = redrawn_normal(cfg.seed, kWeight, pair, k, pp.w, pp.w_sd, sign_ok, 1);
  if (!delay_ok(d)) d = redrawn_normal(cfg.seed, kDelay, pair, k, pp.d, pp.d_sd, delay_ok, 1);
  const double x = d / dt;  // >= 1 here (or NaN): round half away from zero without a libm call
  const double steps = x < 512 ? double(int64_t(x) + (x - double(int64_t(x)) >= 0.5 ? 1 : 0)) : x;
  if (!(steps >= 1 && steps <= 255) || std::isnan(w)) return false;
  word = pack_synapse(static_cast<int32_t>(tgt0 + pick(e.v[0], na)), static_cast<int>(steps));
  weight = static_cast<float>(w);
  return true;
}

// Orders a row by its words, i.e. by (delay, target), keeping equal words in the order they
// were drawn: a stable LSD radix sort on bytes of the word (a byte all entries share is
// skipped), 3-4 passes in place of a comparison sort (the build's largest cost).
void sort_row(uint32_t* syn, float* weight, int64_t len, std::vector<uint64_t>& buf) {
  buf.resize(static_cast<size_t>(2 * len));
  uint64_t *src = buf.data(), *dst = src + len;
  for (int64_t i = 0; i < len; ++i) {
    uint32_t wb;
    std::memcpy(&wb, &weight[i], 4);
    src[i] = (uint64_t(syn[i]) << 32) | wb;
  }
  for (int shift = 32; shift < 64; shift += 8) {
    int64_t count[257] = {0};
    for (int64_t i = 0; i < len; ++i) ++count[((src[i] >> shift) & 255) + 1];
    if (len == 0 || count[((src[0] >> shift) & 255) + 1] == len) continue;  // one value: nothing moves
    for (int d = 0; d < 256; ++d) count[d + 1] += count[d];
    for (int64_t i = 0; i < len; ++i) dst[count[(src[i] >> shift) & 255]++] = src[i];
    std::swap(src, dst);
  }
  for (int64_t i = 0; i < len; ++i) {
    syn[i] = static_cast<uint32_t>(src[i] >> 32);
    const uint32_t wb = static_cast<uint32_t>(src[i]);
    std::memcpy(&weight[i], &wb, 4);
  }
}

// Every source's row is written in place, pair by pair in target-population order, from the
// per-pair out-degrees: no scatter, no atomics, and the same network on any thread count.
void place_synapses(const PotjansConfig& cfg, Microcircuit& m, const std::vector<PairPlan>& plan) {
  const int64_t n = m.neurons();
  DelayCsr& g = m.graph;
  g.n = n;
  const std::vector<std::vector<int64_t>> off = all_source_offsets(cfg, m.offsets, plan);
  auto pop_of = [&](int64_t s) { return population_of(m.offsets, s); };
  g.ptr.assign(n + 1, 0);
  for (int64_t s = 0; s < n; ++s) {
    const int b = pop_of(s);
    int64_t c = 0;
    for (int a = 0; a < kPops; ++a) {
      const std::vector<int64_t>& o = off[a * kPops + b];
      c += o[s - m.offsets[b] + 1] - o[s - m.offsets[b]];
    }
    g.ptr[s + 1] = g.ptr[s] + c;
  }
  g.syn.resize(g.ptr[n]);
  g.weight.resize(g.ptr[n]);
  int bad_pair = -1;
#pragma omp parallel
  {
    std::vector<uint64_t> key;
#pragma omp for schedule(dynamic, 16)
    for (int64_t s = 0; s < n; ++s) {
      const int b = pop_of(s);
      const int64_t i = s - m.offsets[b];
      int64_t pos = g.ptr[s];
      for (int a = 0; a < kPops; ++a) {
        const int q = a * kPops + b;
        const int64_t na = m.offsets[a + 1] - m.offsets[a];
        for (int64_t k = off[q][i]; k < off[q][i + 1]; ++k, ++pos)
          if (!draw_synapse(cfg, plan[q], q, k, m.offsets[a], na, g.syn[pos], g.weight[pos])) {
#pragma omp atomic write
            bad_pair = q;  // no throw inside the region
          }
      }
      sort_row(&g.syn[g.ptr[s]], &g.weight[g.ptr[s]], pos - g.ptr[s], key);
    }
  }
  RSNN_CHECK(bad_pair < 0, "microcircuit: pair ", kPopNames[plan[bad_pair].b], " -> ", kPopNames[plan[bad_pair].a],
             " drew a delay outside 1..255 steps or no weight of the source's sign in ", kMaxRedraws, " tries");
}


// The target of synapse k of pair q (target population a): the first word of its block.
int64_t synapse_target_of(const PotjansConfig& cfg, int q, int64_t k, int64_t tgt0, int64_t na) {
  return tgt0 + pick(philox::block(cfg.seed, stream_of(kEnds, q, 0), static_cast<uint64_t>(k)).v[0], na);
}

// place_synapses for the synapses onto `part`'s neurons only. The out-degrees are drawn per
// source, so finding a source's local synapses takes its every synapse's target (one Philox
// block each, on every rank; pairs onto populations this rank does not hold are skipped);
// weights, delays, sorting and memory are local. Pass 1 counts, pass 2 fills.
void place_local(const PotjansConfig& cfg, const Microcircuit& m, const std::vector<PairPlan>& plan,
                 const Partition& part, LocalCsr& g) {
  const int64_t n = m.neurons();
  const std::vector<std::vector<int64_t>> off = all_source_offsets(cfg, m.offsets, plan);
  std::array<bool, kPops> held{};
  for (int a = 0; a < kPops; ++a) held[a] = part.owns_any(m.offsets[a], m.offsets[a + 1]);
  g.n_global = n;
  g.n_local = part.local_count();
  g.ptr.assign(n + 1, 0);
  auto walk = [&](int64_t s, auto&& on_local) {  // calls on_local(q, a, k) for local synapses
    const int b = population_of(m.offsets, s);
    const int64_t i = s - m.offsets[b];
    for (int a = 0; a < kPops; ++a) {
      if (!held[a]) continue;
      const int q = a * kPops + b;
      const int64_t na = m.offsets[a + 1] - m.offsets[a];
      for (int64_t k = off[q][i]; k < off[q][i + 1]; ++k)
        if (part.owner(synapse_target_of(cfg, q, k, m.offsets[a], na)) == part.rank) on_local(q, a, k);
    }
  };
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t s = 0; s < n; ++s) {
    int64_t c = 0;
    walk(s, [&](int, int, int64_t) { ++c; });
    g.ptr[s + 1] = c;
  }
  for (int64_t s = 0; s < n; ++s) g.ptr[s + 1] += g.ptr[s];
  g.syn.resize(g.ptr[n]);
  g.weight.resize(g.ptr[n]);
  int bad_pair = -1;
#pragma omp parallel
  {
    std::vector<uint64_t> key;
#pragma omp for schedule(dynamic, 64)
    for (int64_t s = 0; s < n; ++s) {
      int64_t pos = g.ptr[s];
      walk(s, [&](int q, int a, int64_t k) {
        uint32_t word;
        if (!draw_synapse(cfg, plan[q], q, k, m.offsets[a], m.offsets[a + 1] - m.offsets[a], word, g.weight[pos])) {
#pragma omp atomic write
          bad_pair = q;
        }
        // Local indices keep the global order and the sort is stable, so the sorted row is
        // the global one, filtered.
        g.syn[pos++] = pack_synapse(static_cast<int32_t>(part.local_index(synapse_target(word))), synapse_delay(word));
      });
      sort_row(&g.syn[g.ptr[s]], &g.weight[g.ptr[s]], pos - g.ptr[s], key);
    }
  }
  RSNN_CHECK(bad_pair < 0, "microcircuit: pair ", kPopNames[plan[bad_pair].b], " -> ", kPopNames[plan[bad_pair].a],
             " drew a delay outside 1..255 steps or no weight of the source's sign in ", kMaxRedraws, " tries");
}
}  // namespace

namespace {
// Everything but the synapses: populations, counts, propagators, drive and v0 (all O(N)),
// and the per-pair plan of the synapse draws.
Microcircuit skeleton(const PotjansConfig& cfg, std::vector<PairPlan>& plan) {
  cfg.validate();
  Microcircuit m;
  m.prop = make_propagators(cfg.neuron, cfg.dt);
  m.offsets.assign(kPops + 1, 0);
  for (int a = 0; a < kPops; ++a) {
    const int64_t na = population_size(a, cfg.scale);
    RSNN_CHECK(na >= 1, "microcircuit: scale ", cfg.scale, " leaves population ", kPopNames[a], " empty");
    m.offsets[a + 1] = m.offsets[a] + na;
  }
  m.synapses = synapse_counts(cfg.scale, cfg.k_scale);
  const double w = psc_from_psp(cfg.psp_mean, cfg.neuron), sk = std::sqrt(cfg.k_scale);
  auto mean_weight = [&](int a, int b) {  // full-scale PSC of a synapse b -> a (pA)
    return (excitatory(b) ? w : cfg.g * w) * (a == 0 && b == 2 ? 2.0 : 1.0);
  };
  plan.clear();
  for (int a = 0; a < kPops; ++a)
    for (int b = 0; b < kPops; ++b) {
      PairPlan pp;
      pp.a = a;
      pp.b = b;
      pp.count = m.synapses[a * kPops + b];
      pp.w = mean_weight(a, b) / sk;
      pp.w_sd = std::fabs(pp.w) * cfg.weight_rel_sd;
      pp.d = excitatory(b) ? cfg.delay_exc : cfg.delay_inh;
      pp.d_sd = pp.d * cfg.delay_rel_sd;
      plan.push_back(pp);
    }
  const int64_t n = m.neurons();
  m.drive.i_dc.assign(n, 0.f);
  m.drive.bg_lambda.assign(n, 0.0);
  m.drive.bg_weight.assign(n, 0.f);
  m.drive.seed = cfg.seed;
  const double tau_s = cfg.neuron.tau_syn;
  for (int a = 0; a < kPops; ++a) {
    // Mean input current of a stationary train: 1e-3 (Hz -> 1/ms) * tau_syn * PSC * K * rate.
    double rec = 0;
    for (int b = 0; b < kPops; ++b) rec += mean_weight(a, b) * full_indegree(a, b) * kFullScaleRates[b];
    const double ext = w * kExternalIndegree[a] * cfg.bg_rate;
    double dc = 1e-3 * tau_s * (1 - sk) * rec;
    double lam = 0;
    if (cfg.poisson) {
      dc += 1e-3 * tau_s * (1 - sk) * ext;
      lam = double(round_half_even(kExternalIndegree[a] * cfg.k_scale)) * cfg.bg_rate * cfg.dt * 1e-3;
    } else {
      dc += 1e-3 * tau_s * ext;
    }
    for (int64_t i = m.offsets[a]; i < m.offsets[a + 1]; ++i) {
      m.drive.i_dc[i] = static_cast<float>(dc);
      m.drive.bg_lambda[i] = lam;
      m.drive.bg_weight[i] = static_cast<float>(w / sk);
    }
  }
  m.v0.resize(n);
  for (int a = 0; a < kPops; ++a) {
    const double mean = (cfg.v0_optimized ? kV0OptimizedMean[a] : cfg.v0_mean) - cfg.neuron.e_l;
    const double sd = cfg.v0_optimized ? kV0OptimizedSd[a] : cfg.v0_sd;
#pragma omp parallel for schedule(static)
    for (int64_t i = m.offsets[a]; i < m.offsets[a + 1]; ++i)
      m.v0[i] = static_cast<float>(mean + sd * philox::normal(cfg.seed, stream_of(kV0, 0, 0), i));
  }
  return m;
}
}  // namespace

Microcircuit build_potjans(const PotjansConfig& cfg) {
  std::vector<PairPlan> plan;
  Microcircuit m = skeleton(cfg, plan);
  place_synapses(cfg, m, plan);
  return m;
}

LocalMicrocircuit build_potjans_local(const PotjansConfig& cfg, const Partition& part) {
  std::vector<PairPlan> plan;
  Microcircuit m = skeleton(cfg, plan);
  RSNN_CHECK(part.n == m.neurons(), "microcircuit: partition of ", part.n, " neurons for a network of ", m.neurons());
  LocalMicrocircuit out;
  out.part = part;
  out.offsets = m.offsets;
  out.synapses = m.synapses;
  out.prop = m.prop;
  out.drive = local_drive(m.drive, part);
  out.v0 = local_slice(m.v0, part);
  place_local(cfg, m, plan, part, out.graph);
  return out;
}

Partition potjans_partition(const PotjansConfig& cfg, const std::string& mode, int ranks, int rank) {
  RSNN_CHECK(mode == "round-robin" || mode == "population", "--partition: expected round-robin or population, got '",
             mode, "'");
  cfg.validate();
  std::vector<int64_t> offsets(kPops + 1, 0);
  for (int a = 0; a < kPops; ++a) offsets[a + 1] = offsets[a] + population_size(a, cfg.scale);
  if (mode == "round-robin") return round_robin_partition(offsets.back(), ranks, rank);
  // Each neuron weighs 1 + its population's mean in-degree (its update and its synapses).
  const std::vector<int64_t> k = synapse_counts(cfg.scale, cfg.k_scale);
  std::vector<double> load(kPops + 1, 0.0);  // prefix sums of the populations' loads
  std::array<double, kPops> per{};
  for (int a = 0; a < kPops; ++a) {
    const int64_t na = offsets[a + 1] - offsets[a];
    double in = 0;
    for (int b = 0; b < kPops; ++b) in += double(k[a * kPops + b]);
    per[a] = 1.0 + (na > 0 ? in / double(na) : 0.0);
    load[a + 1] = load[a] + per[a] * double(na);
  }
  std::vector<int64_t> cut(ranks + 1, offsets.back());
  cut[0] = 0;
  for (int r = 1; r < ranks; ++r) {  // first neuron whose prefix load reaches r / ranks of the total
    const double want = load[kPops] * r / ranks;
    int a = 0;
    while (a < kPops - 1 && load[a + 1] < want) ++a;
    const int64_t i = offsets[a] + static_cast<int64_t>(std::ceil((want - load[a]) / per[a]));
    cut[r] = std::clamp<int64_t>(i, cut[r - 1], offsets[a + 1]);
  }
  return block_partition(cut, rank);
}

}  // namespace rsnn::mc
