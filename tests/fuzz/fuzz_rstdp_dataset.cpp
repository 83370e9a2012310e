// MNIST-format data set loader of the R-STDP system (models/rstdp/dataset.h). Byte 0: bit 0
// picks which file the rest of the input replaces (0 images, 1 labels) in a valid 3-image
// split; bits 1-2 pick `first` (0..3) and bits 3-4 `count` (-1..2). What loads is consistent.
#include <filesystem>

#include "models/rstdp/dataset.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

namespace fs = std::filesystem;

// IDX bytes: magic 0 0 0x08 rank, big-endian dims, data.
std::string idx(const std::vector<uint32_t>& dims, const std::string& data) {
  std::string out{char(0), char(0), char(8), char(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) out += char((d >> s) & 0xff);
  return out + data;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rsnn;
  if (size == 0) return 0;
  static const fs::path dir = fuzz::scratch_dir("_rstdp");
  const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string images = idx({3, 2, 2}, std::string(12, '\x7f'));
  const std::string labels = idx({3}, std::string("\x01\x00\x09", 3));
  fuzz::write_file(dir / "train-images-idx3-ubyte", data[0] & 1 ? images : input);
  fuzz::write_file(dir / "train-labels-idx1-ubyte", data[0] & 1 ? input : labels);
  const int64_t first = (data[0] >> 1) & 3, count = int64_t((data[0] >> 3) & 3) - 1;
  rstdp::Dataset d;
  if (!fuzz::loads([&] { d = rstdp::load_split(dir.string(), "train", first, count); })) return 0;
  RSNN_FUZZ_ASSERT(d.n >= 0 && (count < 0 || d.n == count) && d.rows > 0 && d.cols > 0);
  RSNN_FUZZ_ASSERT(d.images.size() == size_t(d.n) * d.rows * d.cols && d.labels.size() == size_t(d.n));
  for (int l : d.labels) RSNN_FUZZ_ASSERT(l >= 0 && l <= 9);
  return 0;
}
