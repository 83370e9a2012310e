// Copy a block of columns between two row-major matrices (the last dim of a tensor is its
// columns): what concatenating or slicing along the last dim needs. Any dtype.
#pragma once
#include <cstddef>
#include <cstdint>

#include "runtime/cuda_entry.h"
#include "runtime/tensor.h"

namespace rsnn::kernels {

// ---- CPU reference: dst (rows, dst_ld), src (rows, src_ld), both already offset to the
// first column of the block: dst[r, j] = src[r, j] for j < width. elem: bytes per value.
inline void copy_columns_ref(void* dst, int64_t dst_ld, const void* src, int64_t src_ld,
                             int64_t rows, int64_t width, size_t elem) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  for (int64_t r = 0; r < rows; ++r)
    for (size_t b = 0; b < static_cast<size_t>(width) * elem; ++b)
      d[static_cast<size_t>(r * dst_ld) * elem + b] = s[static_cast<size_t>(r * src_ld) * elem + b];
}

// ---- optimized CPU (memcpy per row, OpenMP over rows), same arguments ------------------
void copy_columns_cpu(void* dst, int64_t dst_ld, const void* src, int64_t src_ld, int64_t rows,
                      int64_t width, size_t elem);

// ---- CUDA (cudaMemcpy2DAsync), same arguments plus the stream --------------------------
namespace cuda {
RSNN_CUDA_ENTRY("copy_columns",
                void copy_columns(void* dst, int64_t dst_ld, const void* src, int64_t src_ld,
                                  int64_t rows, int64_t width, size_t elem, Stream stream));
}

// ---- Tensor level: dst[..., dst_col + j] = src[..., src_col + j] for j < width. dst and
// src have the same leading dims (rows), dtype and device; columns are their last dims.
void copy_columns(Tensor& dst, int64_t dst_col, const Tensor& src, int64_t src_col, int64_t width,
                  Stream stream = Stream{});

}  // namespace rsnn::kernels
