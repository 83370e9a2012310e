// Where the shared data files (../shared/data) are, for the tests and the benchmarks.
#pragma once
#include <cstdlib>
#include <string>

namespace rsnn::test {
// ../shared/data beside the checkout (RSNN_SHARED_DATA_DIR, set by CMake); the environment
// variable RSNN_SHARED_DATA overrides it.
inline std::string shared_data_dir() {
  if (const char* env = std::getenv("RSNN_SHARED_DATA")) return env;
  return RSNN_SHARED_DATA_DIR;
}
}  // namespace rsnn::test
