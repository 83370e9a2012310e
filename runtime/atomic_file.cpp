#include "runtime/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "runtime/error.h"

namespace rsnn {

namespace {
std::string errno_text() { return std::strerror(errno); }

// Make the temporary file's bytes durable before the rename publishes it; otherwise a
// crash right after the rename could leave an empty file under the final name.
void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  RSNN_CHECK(fd >= 0, "cannot open '", path, "' to flush it: ", errno_text());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  RSNN_CHECK(rc == 0, "cannot flush '", path, "' to disk: ", std::strerror(err));
}

// Make the rename itself durable: the new directory entry lives in the directory's data.
// Some file systems refuse fsync on a directory (EINVAL); the rename has happened then.
void sync_parent_dir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  RSNN_CHECK(fd >= 0, "cannot open directory '", dir, "' to flush it: ", errno_text());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  RSNN_CHECK(rc == 0 || err == EINVAL || err == EROFS, "cannot flush directory '", dir,
             "' to disk: ", std::strerror(err));
}
}  // namespace

std::string temp_path_for(const std::string& path) {
  static std::atomic<unsigned long> counter{0};
  return path + ".tmp-" + std::to_string(static_cast<long>(::getpid())) + "-" +
         std::to_string(counter.fetch_add(1));
}

void commit_temp(const std::string& tmp, const std::string& path) {
  sync_file(tmp);
  RSNN_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot move '", tmp, "' onto '", path,
             "': ", errno_text());
  sync_parent_dir(path);
}

int remove_stale_temps(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp-";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;  // no folder yet: nothing is stale
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (end == name.c_str() + prefix.size() || *end != '-' || pid <= 0) continue;
    // kill(pid, 0) fails with ESRCH only when no such process exists.
    if (pid != static_cast<long>(::getpid()) && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      stale.push_back(dir + "/" + name);
  }
  ::closedir(d);
  int removed = 0;
  for (const std::string& f : stale) removed += std::remove(f.c_str()) == 0;
  return removed;
}

void write_bytes_atomic(const std::string& path, const void* data, size_t bytes) {
  AtomicFile out(path);
  std::FILE* f = std::fopen(out.temp_path().c_str(), "wb");
  RSNN_CHECK(f, path, ": cannot create '", out.temp_path(), "': ", errno_text());
  const size_t written = bytes ? std::fwrite(data, 1, bytes, f) : 0;
  const int write_errno = errno;
  const bool closed = std::fclose(f) == 0;
  RSNN_CHECK(written == bytes, path, ": write failed after ", written, " of ", bytes,
             " bytes: ", std::strerror(write_errno));
  RSNN_CHECK(closed, path, ": cannot close '", out.temp_path(), "': ", errno_text());
  out.commit();
}

void write_text_atomic(const std::string& path, const std::string& contents) {
  write_bytes_atomic(path, contents.data(), contents.size());
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(temp_path_for(path_)) {}

AtomicFile::~AtomicFile() { discard(); }

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      tmp_(std::move(other.tmp_)),
      done_(other.done_),
      committed_(other.committed_) {
  other.done_ = true;  // the moved-from object owns no temporary file
  other.committed_ = false;
}

AtomicFile& AtomicFile::operator=(AtomicFile&& other) noexcept {
  if (this != &other) {
    discard();
    path_ = std::move(other.path_);
    tmp_ = std::move(other.tmp_);
    done_ = other.done_;
    committed_ = other.committed_;
    other.done_ = true;
    other.committed_ = false;
  }
  return *this;
}

void AtomicFile::commit() {
  RSNN_CHECK(!done_, path_, ": AtomicFile already ", committed_ ? "committed" : "discarded");
  commit_temp(tmp_, path_);
  done_ = committed_ = true;
}

void AtomicFile::discard() {
  if (done_) return;
  std::remove(tmp_.c_str());  // may not exist when the writer never created it
  done_ = true;
}

}  // namespace rsnn
