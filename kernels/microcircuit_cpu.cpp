// Shared pieces of the optimized CPU microcircuit op (contract in kernels/microcircuit_cpu.h).
#include "kernels/microcircuit_cpu.h"

#include <algorithm>
#include <cstring>

#include "runtime/philox_batch.h"

namespace rsnn::mc::detail {

bool row_cuts(const CsrView& g, int64_t D, const std::vector<int64_t>& lo, int C, int64_t s, uint32_t* c) {
  const uint32_t* row = g.syn + g.ptr[s];
  const uint32_t len = static_cast<uint32_t>(g.ptr[s + 1] - g.ptr[s]);
  uint32_t k = 0;
  for (int64_t d = 0; d < D; ++d) {
    const uint32_t g0 = k;
    while (k < len && synapse_delay(row[k]) == d) ++k;
    c[d * C] = g0;
    for (int j = 1; j < C; ++j)
      c[d * C + j] = static_cast<uint32_t>(
          std::lower_bound(row + g0, row + k, pack_synapse(static_cast<int32_t>(lo[j]), static_cast<int>(d))) - row);
  }
  c[D * C] = len;
  return k == len;
}

void deliver_group(const CsrView& g, const Cuts& cuts, const std::vector<int64_t>& lo,
                   const std::vector<int32_t>& spikes, int d, int j, float* slot) {
  const int P = static_cast<int>(lo.size()) - 1, C = cuts.C;
  for (int32_t s : spikes) {
    const uint32_t* c = cuts.c.data() + static_cast<int64_t>(s) * cuts.stride + d * C;
    const uint32_t* row = g.syn + g.ptr[s];
    const float* wrow = g.weight + g.ptr[s];
    uint32_t k0 = c[C == P ? j : 0], k1 = c[C == P ? j + 1 : 1];
    if (C != P && k0 < k1) {
      if (j > 0)
        k0 = static_cast<uint32_t>(std::lower_bound(row + k0, row + k1, pack_synapse(static_cast<int32_t>(lo[j]), d)) - row);
      if (j < P - 1)
        k1 = static_cast<uint32_t>(
            std::lower_bound(row + k0, row + k1, pack_synapse(static_cast<int32_t>(lo[j + 1]), d)) - row);
    }
    for (uint32_t k = k0; k < k1; ++k) slot[synapse_target(row[k])] += wrow[k];
  }
}

namespace {

// The neuron step works in segments of at most kChunk neurons: Poisson counts from this
// group of 4 steps' Philox words (made 16 neurons at a time), then the update (lif_step over
// raw pointers that alias nothing, so it vectorizes), then the spikes, ascending. Where the
// drive is the same for a run of neurons (a population), a segment takes it as scalars.
constexpr int64_t kChunk = 512;
using Segment = NeuronStepper::Segment;

// Uniform segments where the drive comes in runs (at most one per 32 neurons on average),
// plain chunks otherwise.
std::vector<Segment> segments(const PoissonTables& pt, const Drive& d, int64_t a, int64_t b) {
  // Equal bits, not equal values: -0 and +0 would sum differently.
  const auto same = [](float x, float y) { return std::memcmp(&x, &y, sizeof x) == 0; };
  std::vector<Segment> out;
  for (int64_t i = a; i < b;) {
    Segment sg{i, 1, true, pt.table[i], d.bg_weight[i], d.i_dc[i]};
    while (i + sg.len < b && sg.len < kChunk && pt.table[i + sg.len] == sg.q && same(d.bg_weight[i + sg.len], sg.w) &&
           same(d.i_dc[i + sg.len], sg.idc))
      ++sg.len;
    i += sg.len;
    out.push_back(sg);
  }
  if (static_cast<int64_t>(out.size()) * 32 <= b - a) return out;
  out.clear();
  for (int64_t c0 = a; c0 < b; c0 += kChunk) out.push_back(Segment{c0, std::min(kChunk, b - c0)});
  return out;
}

template <bool kUniform>
void update_chunk(const LifPropagators& p, const Segment& sg, const int32_t* __restrict count,
                  float* __restrict slot, const float* __restrict bg_w, const float* __restrict i_dc,
                  float* __restrict v, float* __restrict i_syn, int32_t* __restrict ref, uint8_t* __restrict spiked) {
  const LifPropagators q = p;
  const float w_u = sg.w, idc_u = sg.idc;
  for (int64_t k = 0; k < sg.len; ++k) {
    const int64_t i = sg.c0 + k;
    const float input = step_input(slot[i], kUniform ? w_u : bg_w[i], count[k]);
    slot[i] = 0.f;
    spiked[k] = lif_step(q, v[i], i_syn[i], ref[i], kUniform ? idc_u : i_dc[i], input) ? 1 : 0;
  }
}

void poisson_counts(const PoissonTables& pt, const Segment& sg, const uint32_t* word, int32_t* count) {
  if (!sg.uniform) {
    for (int64_t k = 0; k < sg.len; ++k) {
      const int64_t i = sg.c0 + k;
      count[k] = pt.table[i] >= 0 ? pt.count(i, word[k]) : 0;
    }
  } else if (sg.q < 0) {
    std::fill(count, count + sg.len, 0);
  } else {
    const uint8_t* lut = &pt.lut[static_cast<size_t>(sg.q) * 256];
    const uint32_t* th = &pt.th[pt.start[sg.q]];
    const int len = pt.len[sg.q];
    for (int64_t k = 0; k < sg.len; ++k) count[k] = poisson_count_lut(word[k], lut, th, len);
  }
}

}  // namespace

NeuronStepper::NeuronStepper(const LifPropagators& p, const PoissonTables& pt, const Drive& drive, State& state,
                             int64_t a, int64_t b, int64_t gid0, int64_t gstep)
    : p_(&p), pt_(&pt), drive_(&drive), state_(&state), a_(a), b_(b), gid0_(gid0), gstep_(gstep),
      words_(static_cast<size_t>(4 * (b - a))), segs_(segments(pt, drive, a, b)) {}

void NeuronStepper::step(int64_t now, bool fresh, float* slot, std::vector<int32_t>& fired) {
  const int64_t a = a_, m = b_ - a_;
  const PoissonTables& pt = *pt_;
  // background_block of every neuron: block now / 4 of the streams of the global ids
  // gid0 + i gstep, an arithmetic sequence (neurons without Poisson input get unread words).
  if (fresh || (now & 3) == 0)
    philox::blocks(drive_->seed, poisson_stream(gid0_ + a * gstep_), static_cast<uint64_t>(gstep_),
                   static_cast<uint64_t>(now) >> 2, 0, m, words_.data(), m);
  const uint32_t* word = &words_[(now & 3) * m];
  int32_t count[kChunk];
  uint8_t spiked[kChunk];
  State& st = *state_;
  const float *bg_w = drive_->bg_weight.data(), *i_dc = drive_->i_dc.data();
  for (const Segment& sg : segs_) {
    poisson_counts(pt, sg, word + (sg.c0 - a), count);
    if (sg.uniform)
      update_chunk<true>(*p_, sg, count, slot, bg_w, i_dc, st.v.data(), st.i_syn.data(), st.ref.data(), spiked);
    else
      update_chunk<false>(*p_, sg, count, slot, bg_w, i_dc, st.v.data(), st.i_syn.data(), st.ref.data(), spiked);
    for (int64_t k = 0; k < sg.len; ++k)
      if (spiked[k]) fired.push_back(static_cast<int32_t>(sg.c0 + k));
  }
}

}  // namespace rsnn::mc::detail
