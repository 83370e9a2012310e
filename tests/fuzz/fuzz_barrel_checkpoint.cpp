// Barrel checkpoint loader (models/barrel/train.h): load_checkpoint and, for a checkpoint it
// accepts, load_training_state into an optimizer made for that model.
#include "autograd/optim.h"
#include "models/barrel/train.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rsnn;
  const std::string path = fuzz::write_input(data, size, ".h5");
  std::unique_ptr<barrel::BarrelModel> model;
  if (!fuzz::loads([&] { model = barrel::load_checkpoint(path); })) return 0;
  RSNN_FUZZ_ASSERT(model != nullptr);
  ag::Adam adam(model->param_groups(0.001));
  ag::StepLR sched(adam, 20, 0.8);
  fuzz::loads([&] { barrel::load_training_state(path, adam, sched); });
  return 0;
}
