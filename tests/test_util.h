// Helpers shared by the test suites.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "runtime/device.h"

// Skip a CUDA test, saying why, when no device is usable.
#define RSNN_SKIP_WITHOUT_CUDA()                                                    \
  do {                                                                              \
    if (!::rsnn::cuda_usable())                                                     \
      GTEST_SKIP() << "no usable CUDA device: " << ::rsnn::cuda_status();           \
  } while (0)

namespace rsnn::test {
// ../shared/data beside the checkout (RSNN_SHARED_DATA overrides it).
inline std::string shared_data_dir() {
  if (const char* env = std::getenv("RSNN_SHARED_DATA")) return env;
  return RSNN_SHARED_DATA_DIR;
}
}  // namespace rsnn::test
