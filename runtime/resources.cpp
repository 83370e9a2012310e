#include "runtime/resources.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <sstream>

#include "runtime/error.h"
#include "runtime/threads.h"

namespace rsnn {

namespace {
// A single number from a file (cgroup v2 files; "max" means no limit); -1 when absent.
int64_t read_number(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  if (!(in >> s) || s == "max") return -1;
  try {
    return std::stoll(s);
  } catch (const std::exception&) {
    return -1;
  }
}
}  // namespace

int64_t available_memory_bytes() {
  int64_t avail = -1;
  std::ifstream info("/proc/meminfo");
  std::string key, unit;
  int64_t kb = 0;
  while (info >> key >> kb) {
    std::getline(info, unit);
    if (key == "MemAvailable:") {
      avail = kb * 1024;
      break;
    }
  }
  if (const char* env = std::getenv("RSNN_MEMORY_LIMIT")) {
    char* end = nullptr;
    double v = std::strtod(env, &end);
    const std::string unit = end ? end : "";
    const double scale = unit == "" ? 1 : unit == "K" ? 1e3 : unit == "M" ? 1e6 : unit == "G" ? 1e9 : -1;
    RSNN_CHECK(end != env && scale > 0 && v > 0, "RSNN_MEMORY_LIMIT='", env,
               "' is not a size (bytes, or a number with K, M or G)");
    v *= scale;
    avail = avail < 0 ? int64_t(v) : std::min(avail, int64_t(v));
  }
  const int64_t limit = read_number("/sys/fs/cgroup/memory.max");
  const int64_t used = read_number("/sys/fs/cgroup/memory.current");
  if (limit > 0 && used >= 0) {
    const int64_t room = limit > used ? limit - used : 0;
    avail = avail < 0 ? room : std::min(avail, room);
  }
  return avail;
}

std::string format_bytes(double bytes) {
  char buf[64];
  if (bytes >= 1e9)
    std::snprintf(buf, sizeof buf, "%.1f GB", bytes / 1e9);
  else if (bytes >= 1e6)
    std::snprintf(buf, sizeof buf, "%.0f MB", bytes / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.0f kB", bytes / 1e3);
  return buf;
}

void check_memory_fits(double bytes, const std::string& what) {
  const int64_t avail = available_memory_bytes();
  if (avail < 0) return;
  RSNN_CHECK(bytes <= double(avail), what, " needs about ", format_bytes(bytes), " of memory but only ",
             format_bytes(double(avail)), " is available");
}

int capped_threads(int requested, std::ostream* note) {
  const int cores = hardware_threads();
  if (requested <= cores) return requested;
  if (note)
    *note << "rsnn: note: --threads " << requested << " capped at " << cores
          << " (the cores of this machine; more threads only wait on each other)\n";
  return cores;
}

}  // namespace rsnn
