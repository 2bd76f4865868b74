// AVX-512 twins of elementwise.cc's transcendental runs: the same operations on 16 lanes, so the
// results are bit-identical to the AVX2 versions. Call only when use_avx512() (isa.h) is true.
#pragma once
#include <cstdint>

namespace kd {
namespace avx512 {

void sigmoid_run(const float* x, float* y, int64_t n);

}  // namespace avx512
}  // namespace kd
