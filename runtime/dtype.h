// Element types a Tensor can hold.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace rsnn {

enum class DType : uint8_t { f32, f64, i32, i64, u8 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::u8: return 1;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::u8: return "uint8";
  }
  return "?";
}

inline bool is_floating(DType t) { return t == DType::f32 || t == DType::f64; }

template <class T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::f32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::f64; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::i32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::i64; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::u8; };
template <class T> constexpr DType dtype_of() { return DTypeOf<T>::value; }

// Call f(T{}) with T the C++ type of a floating dtype; throws for other dtypes.
// Usage: dispatch_float(t.dtype(), "relu", [&](auto tag) { using T = decltype(tag); ... });
template <class F>
decltype(auto) dispatch_float(DType t, const char* what, F&& f);

}  // namespace rsnn

#include "runtime/error.h"
namespace rsnn {
template <class F>
decltype(auto) dispatch_float(DType t, const char* what, F&& f) {
  if (t == DType::f32) return f(float{});
  if (t == DType::f64) return f(double{});
  RSNN_FAIL(what, ": expected a float32 or float64 tensor, got ", dtype_name(t));
}
}  // namespace rsnn
