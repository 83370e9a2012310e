#include "kernels/dense_check.h"

namespace rsnn::kernels::detail {

void check_float(const Tensor& t, const std::string& what, const char* name) {
  RSNN_CHECK(t.defined(), what, ": ", name, " is undefined");
  RSNN_CHECK(is_floating(t.dtype()), what, ": ", name, " must be float32 or float64, got ",
             t.describe());
}

void check_like(const Tensor& t, const Tensor& ref, const std::string& what, const char* name,
                const char* ref_name) {
  RSNN_CHECK(t.defined(), what, ": ", name, " is undefined");
  RSNN_CHECK(t.dtype() == ref.dtype(), what, ": ", name, " is ", t.describe(), " but ", ref_name,
             " is ", ref.describe(), " (dtypes differ)");
  RSNN_CHECK(t.device() == ref.device(), what, ": ", name, " is ", t.describe(), " but ", ref_name,
             " is ", ref.describe(), " (devices differ)");
}

void prepare_out(Tensor& out, const Shape& shape, DType dtype, Device device,
                 const std::string& what, const char* name) {
  if (!out.defined()) {
    out = Tensor::empty(shape, dtype, device);
    return;
  }
  RSNN_CHECK(out.shape() == shape, what, ": ", name, " has shape ", out.shape_str(), ", expected ",
             shape_str(shape));
  RSNN_CHECK(out.dtype() == dtype, what, ": ", name, " is ", dtype_name(out.dtype()), ", expected ",
             dtype_name(dtype));
  RSNN_CHECK(out.device() == device, what, ": ", name, " is on ", out.device().str(), ", expected ",
             device.str());
}

void prepare_accum(Tensor& out, const Shape& shape, DType dtype, Device device,
                   const std::string& what, const char* name) {
  if (!out.defined()) {
    out = Tensor::zeros(shape, dtype, device);
    return;
  }
  prepare_out(out, shape, dtype, device, what, name);
}

Stream stream_on(Device d, Stream s, const std::string& what) {
  if (d.is_cpu()) return Stream{d, nullptr};
  if (s.device.is_cpu()) return Stream{d, nullptr};
  RSNN_CHECK(s.device == d, what, ": stream on ", s.device.str(), " for tensors on ", d.str());
  return s;
}

int64_t leading_numel(const Shape& s, int n) {
  int64_t m = 1;
  for (int i = 0; i < n; ++i) m *= s[static_cast<size_t>(i)];
  return m;
}

}  // namespace rsnn::kernels::detail
