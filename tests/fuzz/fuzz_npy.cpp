// NPY loader (runtime/npy.h): any accepted file saves and reloads to the same shape, dtype and
// bytes, and npy_header agrees with npy_load.
#include <cstring>

#include "runtime/npy.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rsnn;
  const std::string path = fuzz::write_input(data, size, ".npy");
  Tensor t;
  if (!fuzz::loads([&] { t = npy_load(path); })) return 0;
  const NpyHeader h = npy_header(path);
  RSNN_FUZZ_ASSERT(h.shape == t.shape() && h.dtype == t.dtype());
  // Round trip through the writer into the same scratch name.
  npy_save(path, t);
  const Tensor back = npy_load(path);
  RSNN_FUZZ_ASSERT(back.shape() == t.shape() && back.dtype() == t.dtype());
  RSNN_FUZZ_ASSERT(std::memcmp(back.raw(), t.raw(), t.nbytes()) == 0);
  return 0;
}
