// Floating-point mode of the calling thread for rsnn's CPU time loops.
#pragma once

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <xmmintrin.h>
#define RSNN_HAVE_MXCSR 1
#else
#define RSNN_HAVE_MXCSR 0
#endif

namespace rsnn {

// While in scope, the calling thread flushes denormal results to zero and reads denormal
// operands as zero (x86 MXCSR FTZ and DAZ, float32 and float64 alike); the previous mode comes
// back at the end of the scope. Elsewhere a no-op. Each thread of a parallel region has its
// own mode, so a loop that wants it sets it on every thread.
// Why: a decaying quantity (the membrane potential of a silent neuron, an error sent back
// through many steps) slides into the denormal range, below 1.2e-38 in float32, where every
// multiply-add on it takes a microcode assist of ~100 cycles on x86 cores. Values that small
// are far below the resolution of anything they meet in the LIF kernels (thresholds, weights
// and currents of order 1e-3 to 1).
class FlushDenormals {
 public:
  FlushDenormals() {
#if RSNN_HAVE_MXCSR
    saved_ = _mm_getcsr();
    _mm_setcsr(saved_ | kFtz | kDaz);
#endif
  }
  ~FlushDenormals() {
#if RSNN_HAVE_MXCSR
    _mm_setcsr(saved_);
#endif
  }
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

  // Whether the calling thread flushes denormals now (always false where unsupported).
  static bool active() {
#if RSNN_HAVE_MXCSR
    return (_mm_getcsr() & (kFtz | kDaz)) == (kFtz | kDaz);
#else
    return false;
#endif
  }

 private:
  static constexpr unsigned kFtz = 0x8000, kDaz = 0x0040;
  unsigned saved_ = 0;
};

}  // namespace rsnn
