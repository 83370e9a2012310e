// Shared by every fuzz target. The loaders take paths, so each input goes through one scratch
// file per process; an rsnn::Error is the expected answer to bad input, anything else (another
// exception, a crash, a sanitizer report) is a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "runtime/error.h"

namespace rsnn::fuzz {

// The scratch file for inputs of this process, named with `suffix` (loaders that choose by
// extension need it); removed at exit.
inline std::string input_path(const std::string& suffix) {
  static std::string base = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/rsnn_fuzz_" + std::to_string(::getpid());
  }();
  static bool registered = false;
  if (!registered) {
    registered = true;
    std::atexit([] {
      for (const char* s : {".npy", ".csv", ".idx", ".h5", ".bin"}) std::remove((base + s).c_str());
    });
  }
  return base + suffix;
}

// Writes the input to the scratch file and returns its path.
inline std::string write_input(const uint8_t* data, size_t size, const std::string& suffix) {
  const std::string path = input_path(suffix);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) std::abort();  // a full disk would make every later run meaningless
  return path;
}

// A scratch folder of this process for loaders that read several files (a data set, a
// field): created by the call (call it once, e.g. for a static), removed with its contents
// at exit.
inline std::filesystem::path scratch_dir(const std::string& suffix) {
  static auto* dirs = new std::vector<std::string>();  // never freed: the exit handler reads it
  const std::string dir = input_path(suffix);
  std::filesystem::create_directories(dir);
  if (dirs->empty())
    std::atexit([] {
      std::error_code ec;
      for (const std::string& d : *dirs) std::filesystem::remove_all(d, ec);
    });
  dirs->push_back(dir);
  return dir;
}

// Writes `bytes` to `path` through the scratch file and a rename, so a loader never sees a
// half-written file.
inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  write_input(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ".bin");
  std::filesystem::rename(input_path(".bin"), path);
}

// Runs `load`; an rsnn::Error (a clear message about bad input) is fine, and so is success.
// Returns whether it loaded.
template <class F>
bool loads(F&& load) {
  try {
    load();
    return true;
  } catch (const rsnn::Error&) {
    return false;
  }
}

// A property that must hold for every input the loader accepts (e.g. a round trip).
#define RSNN_FUZZ_ASSERT(cond)                                                     \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                \
    }                                                                              \
  } while (0)

}  // namespace rsnn::fuzz
