// nn.Linear's forward in one call (FusedKernels.linear).
#pragma once
#include <cstdint>

namespace kd {

// y [M,N] = x [M,K] · wᵀ (w [N,K]) + bias [N] (bias may be null); all dense row-major. The bias
// is written first and the product accumulated onto it by one sgemm (the weight read transposed
// in place).
void linear_forward(int64_t M, int64_t N, int64_t K, const float* x, const float* w, const float* bias, float* y);

}  // namespace kd
