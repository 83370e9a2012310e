// rsnn._core: the C++ engine for Python. rsnn::Error arrives as rsnn.Error (a RuntimeError)
// with the same one-line message.
#include <nanobind/nanobind.h>

#include "python/src/module.h"
#include "runtime/device.h"
#include "runtime/error.h"

namespace nb = nanobind;

NB_MODULE(_core, m) {
  m.doc() = "rsnn engine bindings (see the rsnn package for the documented API)";
  nb::exception<rsnn::Error>(m, "Error", PyExc_RuntimeError);
  m.def("cuda_compiled", &rsnn::cuda_compiled, "Was rsnn built with the CUDA backend?");
  m.def("cuda_usable", &rsnn::cuda_usable, "Is a CUDA device usable now?");
  rsnn::py::bind_engine(m);
  rsnn::py::bind_rate(m);
  rsnn::py::bind_barrel(m);
  rsnn::py::bind_microns(m);
  rsnn::py::bind_rstdp(m);
}
