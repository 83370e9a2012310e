// Force-included into every C++ file of the fuzz build (clang; see RSNN_FUZZ in the top-level
// CMakeLists.txt). The project is built with GCC, and kernels/recurrent_lif_rows.h uses GCC's
// two-vector __builtin_shuffle, which clang lacks: this gives clang the same semantics (mask
// elements taken modulo twice the lane count), lane by lane, fast enough for fuzzing.
#pragma once
#if defined(__clang__) && defined(__cplusplus)
template <class V, class I>
inline V rsnn_clang_shuffle(V a, V b, I mask) {
  constexpr int n = sizeof(V) / sizeof(a[0]);
  V r;
  for (int i = 0; i < n; ++i) {
    const int j = static_cast<int>(mask[i]) & (2 * n - 1);
    r[i] = j < n ? a[j] : b[j - n];
  }
  return r;
}
#define __builtin_shuffle(a, b, mask) rsnn_clang_shuffle(a, b, mask)
#endif
