// Connection-probability tables (models/barrel/anatomy.h), CSV or NPY: the first input byte
// picks the table kind and the format, the rest is the file. An accepted CSV table writes
// and reads back to the same bits (the writer prints every float64 digit).
#include <cstring>

#include "models/barrel/anatomy.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rsnn;
  using barrel::TableKind;
  if (size == 0) return 0;
  const TableKind kind = data[0] % 3 == 0 ? TableKind::thalamic
                         : data[0] % 3 == 1 ? TableKind::exc : TableKind::inh;
  const bool csv = (data[0] & 0x80) == 0;
  const std::string path = fuzz::write_input(data + 1, size - 1, csv ? ".csv" : ".npy");
  Tensor t;
  if (!fuzz::loads([&] { t = barrel::read_table(path, kind); })) return 0;
  const Shape want = kind == TableKind::thalamic ? Shape{13} : Shape{13, 13};
  RSNN_FUZZ_ASSERT(t.shape() == want && t.dtype() == DType::f64);
  if (!csv) return 0;
  barrel::write_table_csv(path, t, kind);
  const Tensor back = barrel::read_table_csv(path, kind);
  RSNN_FUZZ_ASSERT(std::memcmp(back.raw(), t.raw(), t.nbytes()) == 0);
  return 0;
}
