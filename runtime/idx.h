// IDX files, the format of MNIST, Fashion-MNIST and EMNIST, gzip-compressed (.gz) or plain
// (detected from the content, not the name).
//
// Layout: 0x00 0x00 <type> <rank>, then `rank` big-endian uint32 dimensions, then the data,
// big-endian, row-major. Returned as a CPU tensor of that shape:
//   type   element   Tensor dtype
//   0x08   uint8     u8
//   0x09   int8      i32 (widened)
//   0x0B   int16     i32 (widened)
//   0x0C   int32     i32
//   0x0D   float32   f32
//   0x0E   float64   f64
// e.g. train-images-idx3-ubyte.gz -> u8 [60000, 28, 28], train-labels-idx1-ubyte.gz ->
// u8 [60000].
//
// Errors (rsnn::Error naming the path): missing file, bad magic, unknown type code, rank 0
// or above 16, a data length that does not match the dimensions (truncated file: expected
// vs actual bytes; or trailing bytes), corrupt gzip data.
#pragma once
#include <string>

#include "runtime/tensor.h"

namespace rsnn {

struct IdxHeader {
  int type_code = 0x08;  // as in the file
  Shape shape;
  DType dtype = DType::u8;  // the dtype idx_load returns
};

// Read the magic and dimensions only.
IdxHeader idx_header(const std::string& path);

// Read the whole file (see the table above).
Tensor idx_load(const std::string& path);

}  // namespace rsnn
