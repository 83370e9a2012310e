#include "runtime/output_check.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "runtime/atomic_file.h"
#include "runtime/error.h"

namespace rsnn {

namespace {
namespace fs = std::filesystem;

// Creates and removes a temporary file in `dir` (named after `target`, so it reads as ours).
void probe_write(const std::string& dir, const std::string& target, const std::string& what) {
  const std::string probe = temp_path_for(dir + "/" + fs::path(target).filename().string());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  RSNN_CHECK(fd >= 0, what, " '", target, "': cannot create a file in '", dir, "': ",
             std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

std::string parent_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}
}  // namespace

void check_output_file(const std::string& path, const std::string& what) {
  RSNN_CHECK(!path.empty(), what, ": empty path");
  std::error_code ec;
  RSNN_CHECK(!fs::is_directory(path, ec), what, " '", path, "' is a folder, expected a file name");
  const std::string dir = parent_of(path);
  const bool exists = fs::exists(dir, ec);
  RSNN_CHECK(exists, what, " '", path, "': folder '", dir, "' does not exist");
  RSNN_CHECK(fs::is_directory(dir, ec), what, " '", path, "': '", dir, "' is not a folder");
  probe_write(dir, path, what);
}

void prepare_output_dir(const std::string& dir, const std::string& what) {
  RSNN_CHECK(!dir.empty(), what, ": empty folder name");
  std::error_code ec;
  fs::create_directories(dir, ec);
  RSNN_CHECK(!ec, what, " '", dir, "': cannot create the folder: ", ec.message());
  RSNN_CHECK(fs::is_directory(dir, ec), what, " '", dir, "' is not a folder");
  probe_write(dir, dir + "/probe", what);
}

}  // namespace rsnn
