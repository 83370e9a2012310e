// Helpers shared by the test suites.
#pragma once
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <stdexcept>
#include <utility>
#include <vector>

#include "runtime/device.h"
#include "runtime/error.h"
#include "tests/shared_data.h"

// Skip a CUDA test, saying why, when no device is usable.
#define RSNN_SKIP_WITHOUT_CUDA()                                                    \
  do {                                                                              \
    if (!::rsnn::cuda_usable())                                                     \
      GTEST_SKIP() << "no usable CUDA device: " << ::rsnn::cuda_status();           \
  } while (0)

namespace rsnn::test {
// A fresh directory under the system's temporary directory, removed with all it holds when
// the object goes out of scope.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "rsnn_test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "_XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
    dir_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

// |a[i] - b[i]| <= atol + rtol * |b[i]| for every element, and no NaN anywhere.
template <class A, class B>
void expect_close(const std::vector<A>& a, const std::vector<B>& b, double rtol, double atol,
                  const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_FALSE(std::isnan(double(a[i])) || std::isnan(double(b[i]))) << what << " NaN at " << i;
    ASSERT_NEAR(double(a[i]), double(b[i]), atol + rtol * std::fabs(double(b[i])))
        << what << " at " << i;
  }
}

// Expects f() to throw rsnn::Error whose message contains every one of `parts`.
template <class F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected rsnn::Error containing '" << parts.at(0) << "'";
  } catch (const ::rsnn::Error& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "message '" << e.what() << "' lacks '" << p << "'";
  }
}
template <class F>
void expect_error(F&& f, const char* part) {
  expect_error(std::forward<F>(f), std::vector<std::string>{part});
}

#ifdef RSNN_RSNN_EXE
// The `rsnn` program the CLI tests run: this build's, or RSNN_TEST_RSNN_EXE when set (to run
// the same tests against another build, e.g. an older commit's, and see which ones fail there).
inline std::string rsnn_exe() {
  const char* env = std::getenv("RSNN_TEST_RSNN_EXE");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(RSNN_RSNN_EXE);
}

// A child's exit status and its stdout and stderr, interleaved.
struct CmdResult {
  int rc;
  std::string out;
};
// Runs a shell command line, capturing stdout and stderr.
inline CmdResult run_command(const std::string& command_line) {
  const std::string cmd = command_line + " 2>&1";
  CmdResult r{0, ""};
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, "popen failed: " + cmd};
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) r.out.append(buf.data(), n);
  const int st = ::pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}
// Runs the `rsnn` program with `args` (shell syntax).
inline CmdResult run_rsnn(const std::string& args) { return run_command(rsnn_exe() + " " + args); }
#endif

// The command-line start that runs `np` processes on this machine: more ranks than cores
// allowed, no pinning (OpenMP threads keep every core), root allowed (CI containers), and no
// cross-memory attach (containers forbid ptrace between processes). Under the sanitizer
// build the ranks skip LeakSanitizer: Open MPI's plugins leak at finalize and are unloaded by
// then, so their reports name no module a suppression could match (every code path the ranks
// run also runs without mpirun in the other tests, with leak checks).
inline std::string mpirun(int np) {
  return "ASAN_OPTIONS=\"${ASAN_OPTIONS:-}:detect_leaks=0\" OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
         "OMPI_MCA_btl_vader_single_copy_mechanism=none mpirun --oversubscribe --bind-to none -np " +
         std::to_string(np) + " ";
}

}  // namespace rsnn::test
