// IDX loader (runtime/idx.h), plain or gzip-compressed: idx_header agrees with idx_load.
#include "runtime/idx.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rsnn;
  const std::string path = fuzz::write_input(data, size, ".idx");
  Tensor t;
  if (!fuzz::loads([&] { t = idx_load(path); })) return 0;
  const IdxHeader h = idx_header(path);
  RSNN_FUZZ_ASSERT(h.shape == t.shape() && h.dtype == t.dtype());
  return 0;
}
