#include "runtime/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

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
