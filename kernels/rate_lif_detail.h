// Bookkeeping shared by the CPU versions of the converted LIF simulation (rate_lif.h).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/rate_lif.h"

namespace rsnn::kernels::rate_lif::detail {

// Columns of a record taken every rec.stride steps: ceil(nt / stride).
inline int64_t recorded_columns(int64_t nt, const Record& rec) { return (nt + rec.stride - 1) / rec.stride; }
// A result with its outputs and the requested records allocated (zeros).
Result start_result(int N, int64_t nt, const Record& rec);
// fr[i] = count[i] / (nt dt): the original's rates, from the spikes of steps 10 on.
void finish_rates(Result& res, const std::vector<int64_t>& count, double dt);
// Whether the stimulation acts at step s (inside its window and this step's coin < 1/2).
bool stim_coin(const NetView& net, const TrialKeys& keys, int64_t s);

}  // namespace rsnn::kernels::rate_lif::detail
