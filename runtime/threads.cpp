#include "runtime/threads.h"

#include <omp.h>

#include <string>
#include <thread>

extern "C" void openblas_set_num_threads(int);
extern "C" int openblas_get_num_threads(void);
extern "C" char* openblas_get_corename(void);

namespace rsnn {

int hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

void set_num_threads(int n) {
  if (n <= 0) n = hardware_threads();
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

BlasThreadsGuard::BlasThreadsGuard(bool single) {
  if (!single || omp_in_parallel()) return;
  prev_ = openblas_get_num_threads();
  on_ = prev_ > 1;
  if (on_) openblas_set_num_threads(1);
}

BlasThreadsGuard::~BlasThreadsGuard() {
  if (on_) openblas_set_num_threads(prev_);
}

std::string blas_core() {
  const char* name = openblas_get_corename();
  return name ? name : "";
}

std::string blas_coretype_hint() {
  if (blas_core() != "Prescott") return "";
  if (__builtin_cpu_supports("avx512bf16")) return "Cooperlake";
  if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return "";
}

}  // namespace rsnn
