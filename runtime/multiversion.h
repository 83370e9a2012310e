// Hot loops compiled twice: for baseline x86-64 and for x86-64-v3 (AVX2, FMA); the loader
// picks the clone the CPU supports (GCC target_clones). Put RSNN_MULTIVERSION on a
// non-inline function whose loops should vectorize with AVX2; helpers it calls must be
// inlined into it (RSNN_ALWAYS_INLINE) to be compiled for the clone's target. Results of the
// two clones may differ in the last bits where the compiler contracts a*b+c into an FMA.
#pragma once

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define RSNN_MULTIVERSION_X86 1
#define RSNN_MULTIVERSION __attribute__((target_clones("default", "arch=x86-64-v3"), noinline))
#else
#define RSNN_MULTIVERSION_X86 0
#define RSNN_MULTIVERSION
#endif

#define RSNN_ALWAYS_INLINE inline __attribute__((always_inline))
