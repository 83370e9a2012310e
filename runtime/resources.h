// Resource guards: a run that cannot fit in memory is refused before it starts, with the
// estimate and what is available, instead of failing (or swapping) hours later.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>

namespace rsnn {

// Bytes of memory this process may still use: MemAvailable of /proc/meminfo, lowered to the
// cgroup's limit minus its usage where one is set, and to $RSNN_MEMORY_LIMIT (bytes, or with
// a K, M or G suffix) when set, for sharing a machine; -1 when none of them can be read.
int64_t available_memory_bytes();

// "1.5 GB", "300 MB": sizes for messages.
std::string format_bytes(double bytes);

// Throws rsnn::Error "<what> needs about X but only Y is available" when `bytes` exceeds
// what is available (nothing is checked when the available memory is unknown).
void check_memory_fits(double bytes, const std::string& what);

// The thread count to use for a request (--threads): at most the cores this machine has
// (more only adds scheduling and barrier waits to every parallel loop), with a note on
// `note` when capped. 0 means all cores.
int capped_threads(int requested, std::ostream* note);

}  // namespace rsnn
