// Byte-order helpers for the file readers (NPY, IDX). The engine assumes a little-endian
// host (x86-64, aarch64): files in big-endian order are swapped on load.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "rsnn's file readers assume a little-endian host"
#endif

namespace rsnn {

// Reverse the bytes of each of the n items of `item_size` bytes at `data`, in place.
inline void byteswap_items(void* data, size_t n, size_t item_size) {
  auto* p = static_cast<unsigned char*>(data);
  if (item_size <= 1) return;
  for (size_t i = 0; i < n; ++i, p += item_size)
    for (size_t a = 0, b = item_size - 1; a < b; ++a, --b) std::swap(p[a], p[b]);
}

// Unsigned big-endian integer of `bytes` bytes (1..8).
inline uint64_t read_big_endian(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// Unsigned little-endian integer of `bytes` bytes (1..8).
inline uint64_t read_little_endian(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace rsnn
