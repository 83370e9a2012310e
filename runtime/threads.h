// CPU thread count for rsnn's OpenMP loops and for OpenBLAS.
#pragma once

namespace rsnn {
// n <= 0 selects the number of cores. Also sets OpenBLAS's thread count.
void set_num_threads(int n);
int num_threads();
int hardware_threads();

// Runs OpenBLAS on one thread while in scope when `single` (and OpenBLAS has more), then
// restores its count; does nothing inside an OpenMP parallel region (the count is global).
// For products too small to gain from BLAS threads: thread start-up, and OpenBLAS's workers
// (pthreads build) keep spinning for a while after a multi-threaded call, competing with the
// next OpenMP loop for the cores.
class BlasThreadsGuard {
 public:
  explicit BlasThreadsGuard(bool single);
  ~BlasThreadsGuard();
  BlasThreadsGuard(const BlasThreadsGuard&) = delete;
  BlasThreadsGuard& operator=(const BlasThreadsGuard&) = delete;

 private:
  int prev_ = 1;
  bool on_ = false;
};
}  // namespace rsnn
