// Which vector ISA the kernels that have an AVX-512 variant run (small_gemm, sigmoid).
#pragma once

namespace kd {

// True when the CPU and the OS (XCR0: __builtin_cpu_supports checks it) support AVX-512F, unless
// $KINDLING_CPU_AVX512 is 0/false/off/no. Decided once per process.
bool use_avx512();

}  // namespace kd
