// MICrONS field loader (models/microns/field.h). The field is a folder of files; its own
// parsers are the connectome CSV and the INF.md field table (the NPY files go through
// npy_load, fuzzed by fuzz_npy). The first input byte picks which of the two the rest of the
// input replaces in a valid 4-neuron field "1_2_3" (grid 2 x 2 x 1); the other is valid.
#include <filesystem>

#include "models/microns/field.h"
#include "runtime/npy.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

namespace fs = std::filesystem;
constexpr int kN = 4;
const char* kConnectome = ",0,1,2,3\n0,0,1,0,2\n1,3,0,0,0\n2,0,0,0,1\n3,1,1,1,0\n";
const char* kInf = "| Session | Scan | Field | Neurons | Grid |\n|---|---|---|---|---|\n"
                   "| 1 | 2 | 3 | 4 | (2, 2, 1) |\n";

// The valid field, written once per process; returns its folder.
const fs::path& field_dir() {
  static const fs::path dir = [] {
    using rsnn::Tensor;
    const fs::path d = rsnn::fuzz::scratch_dir("_microns") / "1_2_3";
    fs::create_directories(d);
    std::vector<double> eye(kN * kN, 0.0);
    for (int i = 0; i < kN; ++i) eye[i * kN + i] = 1.0;
    std::vector<double> sttc(kN * kN, 0.0);
    sttc[1 * kN + 0] = 0.25;  // lower-triangular as published
    rsnn::npy_save((d / "sttc_matrix.npy").string(), Tensor::from_vector(sttc, {kN, kN}));
    rsnn::npy_save((d / "corr_matrix.npy").string(), Tensor::from_vector(eye, {kN, kN}));
    rsnn::npy_save((d / "precision_matrix.npy").string(), Tensor::from_vector(eye, {kN, kN}));
    rsnn::npy_save((d / "positions_1_2_3_plain.npy").string(),
                   Tensor::from_vector<int64_t>({0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0}, {kN, 3}));
    for (const char* ids : {"root_ids_1_2_3.npy", "unit_ids_1_2_3.npy", "target_ids_1_2_3.npy"})
      rsnn::npy_save((d / ids).string(), Tensor::from_vector<int64_t>({10, 11, 12, 13}));
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rsnn;
  if (size == 0) return 0;
  const fs::path& dir = field_dir();
  const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool fuzz_inf = data[0] & 1;
  fuzz::write_file(dir / "connectome_1_2_3.csv", fuzz_inf ? kConnectome : input);
  fuzz::write_file(dir.parent_path() / "INF.md", fuzz_inf ? input : kInf);
  microns::Field f;
  if (!fuzz::loads([&] { f = microns::load_field(dir.string()); })) return 0;
  RSNN_FUZZ_ASSERT(f.N == kN && f.connectome.size() == size_t(kN) * kN);
  RSNN_FUZZ_ASSERT(f.grid.nx > 0 && f.grid.ny > 0 && f.grid.nz > 0 && f.grid.size() == kN);
  return 0;
}
