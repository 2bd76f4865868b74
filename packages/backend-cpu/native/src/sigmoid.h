// The scalar sigmoid, as the TypeScript kernel computes it: 1/(1+e^-x) for x >= 0 and e^x/(1+e^x)
// below, so neither side overflows. The vector runs (elementwise.cc, unary_avx512.cc) use it for
// their tails, and scalar_unary for single values.
#pragma once

#include <cmath>

namespace kd {

inline float sigmoid_scalar(float v) {
  if (v >= 0) return 1.0f / (1.0f + std::exp(-v));
  const float e = std::exp(v);
  return e / (1.0f + e);
}

}  // namespace kd
