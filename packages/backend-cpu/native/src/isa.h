// Which vector ISA the kernels that have an AVX-512 variant run (small_gemm, sigmoid).
#pragma once

namespace kd {

// Set once by the module entry (module.cc) when it selects the avx2 or avx512 level; false in the
// baseline build, which has no AVX-512 code.
void set_avx512(bool on);
bool use_avx512();

}  // namespace kd
