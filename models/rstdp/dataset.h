// MNIST-format data sets (MNIST, Fashion-MNIST) from a folder of IDX files:
// {train,t10k}-{images-idx3,labels-idx1}-ubyte, gzip-compressed (.gz) or plain.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace rsnn::rstdp {

struct Dataset {
  std::string name;  // "DIR/train" or "DIR/t10k"
  int64_t n = 0;
  int rows = 0, cols = 0;
  std::vector<uint8_t> images;  // n x rows x cols
  std::vector<int> labels;      // n, each in 0..9
  const uint8_t* image(int64_t i) const { return images.data() + i * int64_t(rows) * cols; }
};

// The file of `stem` ("train-images-idx3-ubyte") in `dir`: stem.gz if present, else stem;
// throws naming both when neither exists.
std::string find_idx_file(const std::string& dir, const std::string& stem);

// Images [first, first + count) of split "train" or "t10k" (count -1: all from `first`).
// Checks: 3-d uint8 images, 1-d uint8 labels, equal counts, labels in 0..9, the range
// inside the file; every error names the file.
Dataset load_split(const std::string& dir, const std::string& split, int64_t first = 0,
                   int64_t count = -1);

// The default data set (Debian's dataset-fashion-mnist).
inline const char* kDefaultDataDir = "/usr/share/datasets/fashion-mnist";

}  // namespace rsnn::rstdp
