// One exception type for every error the library reports. The message says what failed
// and where (file, dataset, expected vs actual shape); tools/ print it on one line and
// exit non-zero.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace rsnn {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

// Throw rsnn::Error with the pieces streamed together: RSNN_FAIL("npy: ", path, ": bad magic").
#define RSNN_FAIL(...) throw ::rsnn::Error(::rsnn::detail::concat(__VA_ARGS__))

// Check a condition; on failure throw with the given message pieces.
#define RSNN_CHECK(cond, ...)              \
  do {                                     \
    if (!(cond)) RSNN_FAIL(__VA_ARGS__);   \
  } while (0)

// Checked calls of the libraries we wrap. Each throws rsnn::Error naming the call.
#define RSNN_H5_CHECK(call, ...)                                                        \
  do {                                                                                  \
    if ((call) < 0) RSNN_FAIL("HDF5 call failed: ", #call, " (", __VA_ARGS__, ")");     \
  } while (0)

}  // namespace rsnn
