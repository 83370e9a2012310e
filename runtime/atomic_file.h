// Atomic output: write a file under a temporary name in the same directory, then rename it
// onto the target. Readers see either the old file or the complete new one, never a
// half-written file, and a failed write leaves the old file untouched.
//
// Used by npy_save, H5File::create and every writer of results (CSV, JSON, checkpoints).
#pragma once
#include <cstddef>
#include <string>

namespace rsnn {

// A fresh temporary name beside `path`: "dir/name.ext.tmp-<pid>-<n>" (unique within this
// process; rename is atomic only within one file system, hence the same directory).
std::string temp_path_for(const std::string& path);

// Flush `tmp` to disk, rename it onto `path` (replacing any existing file), then flush the
// directory so that the rename survives a crash.
// Throws rsnn::Error "cannot move 'tmp' onto 'path': <reason>" on failure; `tmp` is left
// in place then (the caller decides whether to remove it).
void commit_temp(const std::string& tmp, const std::string& path);

// Removes the temporary files of `path` ("<path>.tmp-<pid>-<n>") whose process no longer runs
// (a run killed between writing and renaming); returns how many. Files of live processes stay.
int remove_stale_temps(const std::string& path);

// Write `contents` (text or binary) to `path` atomically. Throws rsnn::Error naming the
// path on any failure; the temporary file is removed then.
void write_text_atomic(const std::string& path, const std::string& contents);
void write_bytes_atomic(const std::string& path, const void* data, size_t bytes);

// RAII form for writers that stream into a file of their own: open temp_path(), write,
// then commit(). If the AtomicFile is destroyed without commit() (an exception unwound,
// or discard() was called) the temporary file is removed and `path` is untouched.
//
//   AtomicFile out(path);
//   std::ofstream os(out.temp_path());  ... os.close();
//   out.commit();
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&& other) noexcept;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }
  bool committed() const { return committed_; }

  void commit();   // commit_temp(temp_path(), path()); a second call throws
  void discard();  // remove the temporary file now (no-op after commit)

 private:
  std::string path_;
  std::string tmp_;
  bool done_ = false;  // committed or discarded
  bool committed_ = false;
};

}  // namespace rsnn
