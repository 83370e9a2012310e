#include "runtime/convert.h"

#include <algorithm>
#include <cstdint>

namespace rsnn {

namespace {
template <class F>
void with_type(DType t, F&& f) {
  switch (t) {
    case DType::f32: f(float{}); break;
    case DType::f64: f(double{}); break;
    case DType::i32: f(int32_t{}); break;
    case DType::i64: f(int64_t{}); break;
    case DType::u8: f(uint8_t{}); break;
  }
}
}  // namespace

void convert_elements(void* dst, DType dst_type, const void* src, DType src_type, size_t n) {
  with_type(dst_type, [&](auto dtag) {
    using D = decltype(dtag);
    with_type(src_type, [&](auto stag) {
      using S = decltype(stag);
      const S* s = static_cast<const S*>(src);
      D* d = static_cast<D*>(dst);
      for (size_t i = 0; i < n; ++i) d[i] = static_cast<D>(s[i]);
    });
  });
}

void fill_elements(void* dst, DType type, size_t n, double value) {
  with_type(type, [&](auto tag) {
    using T = decltype(tag);
    std::fill_n(static_cast<T*>(dst), n, static_cast<T>(value));
  });
}

}  // namespace rsnn
