// IDX data sets for the R-STDP network (format reading in runtime/idx.h).
#include "models/rstdp/dataset.h"

#include <cstring>
#include <filesystem>

#include "runtime/error.h"
#include "runtime/idx.h"

namespace rsnn::rstdp {

std::string find_idx_file(const std::string& dir, const std::string& stem) {
  namespace fs = std::filesystem;
  RSNN_CHECK(fs::is_directory(dir), "--data ", dir, ": not a folder");
  const std::string gz = dir + "/" + stem + ".gz", plain = dir + "/" + stem;
  if (fs::is_regular_file(gz)) return gz;
  if (fs::is_regular_file(plain)) return plain;
  RSNN_FAIL(dir, ": neither ", stem, ".gz nor ", stem, " found");
}

Dataset load_split(const std::string& dir, const std::string& split, int64_t first, int64_t count) {
  RSNN_CHECK(split == "train" || split == "t10k", "load_split: split '", split,
             "' is neither train nor t10k");
  const std::string ipath = find_idx_file(dir, split + "-images-idx3-ubyte");
  const std::string lpath = find_idx_file(dir, split + "-labels-idx1-ubyte");
  const IdxHeader ih = idx_header(ipath), lh = idx_header(lpath);
  RSNN_CHECK(ih.dtype == DType::u8 && ih.shape.size() == 3, ipath,
             ": expected a 3-d uint8 image array, got ", shape_str(ih.shape));
  RSNN_CHECK(lh.dtype == DType::u8 && lh.shape.size() == 1, lpath,
             ": expected a 1-d uint8 label array, got ", shape_str(lh.shape));
  RSNN_CHECK(ih.shape[0] == lh.shape[0], ipath, ": ", ih.shape[0], " images but ", lpath, " has ",
             lh.shape[0], " labels");
  RSNN_CHECK(ih.shape[1] >= 1 && ih.shape[2] >= 1 && ih.shape[1] <= 1024 && ih.shape[2] <= 1024,
             ipath, ": image size ", ih.shape[1], "x", ih.shape[2], " outside 1..1024");
  const int64_t total = ih.shape[0];
  RSNN_CHECK(first >= 0 && first <= total, ipath, ": first image ", first, " outside 0..", total);
  if (count < 0) count = total - first;
  RSNN_CHECK(first + count <= total, ipath, ": images [", first, ", ", first + count,
             ") requested, the file has ", total);
  const Tensor images = idx_load(ipath), labels = idx_load(lpath);
  Dataset d;
  d.name = dir + "/" + split;
  d.n = count;
  d.rows = int(ih.shape[1]);
  d.cols = int(ih.shape[2]);
  const size_t px = size_t(d.rows) * d.cols;
  d.images.resize(size_t(count) * px);
  // count may be 0 (an empty slice): memcpy must not see the null data() of an empty vector.
  if (count > 0)
    std::memcpy(d.images.data(), images.data<uint8_t>() + size_t(first) * px, d.images.size());
  d.labels.resize(size_t(count));
  const uint8_t* l = labels.data<uint8_t>();
  for (int64_t i = 0; i < count; ++i) {
    RSNN_CHECK(l[first + i] <= 9, lpath, ": label ", int(l[first + i]), " of item ", first + i,
               " outside 0..9");
    d.labels[i] = l[first + i];
  }
  return d;
}

}  // namespace rsnn::rstdp
