// Output paths checked before the work starts, so that a run of hours never fails at its end
// on a missing folder or a read-only disk. Every check really creates (and removes) a file,
// since permission bits say nothing for root or for read-only mounts.
#pragma once
#include <string>

namespace rsnn {

// `path` can be written: its folder exists and accepts a new file, and `path` is not a folder.
// Throws rsnn::Error "<what> 'path': <reason>" (what: e.g. "--out").
void check_output_file(const std::string& path, const std::string& what);

// Creates `dir` (and its parents) when missing and checks that it accepts a new file.
void prepare_output_dir(const std::string& dir, const std::string& what);

}  // namespace rsnn
