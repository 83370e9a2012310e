#include "runtime/threads.h"

#include <omp.h>

#include <thread>

extern "C" void openblas_set_num_threads(int);

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

}  // namespace rsnn
