// NumPy .npy files (format versions 1.0, 2.0 and 3.0), read and written directly.
//
// Reading returns a CPU Tensor in C (row-major) order with the file's logical values:
//   file descr             Tensor dtype
//   '<f4' '<f8'            f32, f64
//   '<i4' '<i8'            i32, i64
//   '|u1' '<u1' '>u1'      u8
//   '|b1' (bool)           u8 holding 0 or 1
// Big-endian data ('>f8', '>i4', ...) is byte-swapped. `fortran_order: True` arrays are
// transposed in memory so that t[i][j] equals the NumPy array's a[i, j]. A 0-d array gives a
// Tensor of shape [] (numel 1). Other dtypes (int16, uint32, float16, complex, structured,
// object/pickled arrays) are rejected naming the dtype.
//
// Every failure throws rsnn::Error with the path and what is wrong: missing file, bad magic,
// unsupported version, unparsable header, missing/unknown header keys, unsupported dtype, or
// a data length that does not match the shape ("expected N data bytes, found M").
#pragma once
#include <string>

#include "runtime/tensor.h"

namespace rsnn {

// The header of an .npy file, validated.
struct NpyHeader {
  int major_version = 1;
  int minor_version = 0;
  std::string descr;  // as written in the file, e.g. "<f8"
  bool fortran_order = false;
  Shape shape;                // the array's logical shape; [] for a 0-d array
  DType dtype = DType::f32;   // the dtype npy_load returns
  size_t data_offset = 0;     // bytes before the array data
  size_t data_bytes() const;  // numel * item size
};

// Read and validate the header only (cheap: does not read the data, but does check that the
// file holds exactly data_bytes() after the header).
NpyHeader npy_header(const std::string& path);

// Load the whole array as a CPU tensor (see the table above).
Tensor npy_load(const std::string& path);

// npy_load followed by Tensor::to_dtype(dtype) (static_cast per element).
Tensor npy_load_as(const std::string& path, DType dtype);

// Write `t` (any device; copied to the host) as a version 1.0 file (2.0 when the header
// would not fit), C order, little-endian, header padded to a multiple of 64 bytes. The file
// is written under a temporary name in the same directory and renamed onto `path`, so a
// failed save leaves any previous file intact. u8 tensors are written as '|u1'.
void npy_save(const std::string& path, const Tensor& t);

}  // namespace rsnn
