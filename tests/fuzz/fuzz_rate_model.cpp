// Rate-model HDF5 loader (models/rate/model_file.h): accepted models have consistent shapes.
#include "models/rate/model_file.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rsnn;
  const std::string path = fuzz::write_input(data, size, ".h5");
  rate::RateModel m;
  if (!fuzz::loads([&] { m = rate::load_rate_model(path); })) return 0;
  // Accepted models are consistent: the simulators index these by N without checking again.
  const int64_t N = m.net.N();
  RSNN_FUZZ_ASSERT(N > 0 && m.net.w.shape() == (Shape{N, N}) && m.net.sign.numel() == N);
  RSNN_FUZZ_ASSERT(m.net.w_out.numel() == N && m.net.w_in.defined() && m.net.w_in.size(0) == N);
  RSNN_FUZZ_ASSERT(static_cast<int64_t>(m.net.inh.size()) == N);
  return 0;
}
