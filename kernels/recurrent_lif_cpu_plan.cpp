// The optimized CPU recurrent LIF layer's thread plan and its team-or-one auto-tuner
// (recurrent_lif_cpu.h).
#include <omp.h>

#include <algorithm>

#include "kernels/recurrent_lif_cpu.h"

namespace rsnn::kernels::lif_cpu {
namespace {

// A forward whose time loop runs on one thread builds the backward's tables on another when
// the loop's work, T * (4 N + nnz / 16) * B, is at least this many times nnz.
constexpr int64_t kTablesAsideWork = 4;

}  // namespace

bool TeamChooser::pick(const TeamKey& k) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = table_[k];
  if (e.team.n < 2 || e.one.n < 2) return e.team.n <= e.one.n;
  const double team = e.team.best() + e.team_extra, one = e.one.best();
  const bool team_faster = team <= one;
  const double ratio = team_faster ? one / team : team / one;
  if (++e.since_retry >= retry_period(ratio)) {
    e.since_retry = 0;
    return !team_faster;
  }
  return team_faster;
}

int64_t TeamChooser::retry_period(double ratio) {
  const double p = 80.0 * (ratio - 1.0);
  return p <= 16.0 ? 16 : p >= 128.0 ? 128 : static_cast<int64_t>(p);
}

void TeamChooser::record(const TeamKey& k, bool team, double seconds_per_step) {
  std::lock_guard<std::mutex> lock(mu_);
  Times& t = team ? table_[k].team : table_[k].one;
  t.last[1] = t.last[0];
  t.last[0] = seconds_per_step;
  ++t.n;
}

void TeamChooser::record_team_extra(const TeamKey& k, double seconds_per_step) {
  std::lock_guard<std::mutex> lock(mu_);
  table_[k].team_extra = seconds_per_step;
}

TeamChooser& team_chooser() {
  static TeamChooser c;
  return c;
}

Plan plan_shape(const Dims& d, int dir, int64_t work_per_step, const LifConfig& cfg) {
  Plan p;
  const int nth = omp_get_max_threads();
  const int64_t blocks = (d.B + kBlock - 1) / kBlock;
  if (blocks >= 2) {
    // 64 samples per slice at most: wide enough for the vector loops, and a wider slice only
    // spreads the state over more cache
    const int64_t cache_blocks = 64 / kBlock;
    const int64_t per = std::max<int64_t>(1, std::min(cache_blocks, (blocks + nth - 1) / nth));
    const int64_t s = (blocks + per - 1) / per;
    for (int64_t k = 0; k <= s; ++k) p.b0.push_back(std::min(d.B, kBlock * std::min(blocks, per * k)));
    p.threads = static_cast<int>(std::min<int64_t>(nth, s));
    return p;
  }
  p.b0 = {0, d.B};
  // a shared slice synchronizes after every phase: about G + 2 per step (LifConfig)
  if (nth > 1 && cfg.row_team != RowTeam::never && work_per_step / (d.G + 2) >= cfg.row_parallel_min_work) {
    p.key = TeamKey{dir, d.N, d.nnz, d.B, nth};
    p.measured = cfg.row_team == RowTeam::measured;
    p.shared = !p.measured;
    if (p.shared) p.threads = nth;
  }
  return p;
}

Plan make_plan(const Dims& d, int dir, int64_t work_per_step, const LifConfig& cfg) {
  Plan p = plan_shape(d, dir, work_per_step, cfg);
  if (p.measured && team_chooser().pick(p.key)) {
    p.shared = true;
    p.threads = omp_get_max_threads();
  }
  return p;
}

bool tables_aside_fits(const Dims& d) {
  return omp_get_max_threads() >= 2 && d.T * fwd_work_per_step(d) >= kTablesAsideWork * d.nnz;
}

}  // namespace rsnn::kernels::lif_cpu
