// Whisker-sweep HDF5 loader (models/barrel/whisker_data.h): whatever it accepts passes
// validate() (the reader promises validated data).
#include "models/barrel/whisker_data.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rsnn;
  const std::string path = fuzz::write_input(data, size, ".h5");
  barrel::WhiskerData d;
  if (!fuzz::loads([&] { d = barrel::read_whisker_h5(path); })) return 0;
  RSNN_FUZZ_ASSERT(fuzz::loads([&] { barrel::validate(d, path); }));
  return 0;
}
