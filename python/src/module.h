// The pieces of the extension module rsnn._core, one function per part.
#pragma once
#include <nanobind/nanobind.h>

namespace rsnn::py {
void bind_engine(nanobind::module_& m);
void bind_rate(nanobind::module_& m);
void bind_barrel(nanobind::module_& m);
void bind_microns(nanobind::module_& m);
void bind_rstdp(nanobind::module_& m);
}  // namespace rsnn::py
