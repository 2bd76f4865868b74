#include "linear.h"

#include <algorithm>

#include "gemm.h"

namespace kd {

void linear_forward(int64_t M, int64_t N, int64_t K, const float* x, const float* w, const float* bias, float* y) {
  if (M <= 0 || N <= 0) return;
  if (bias)
    for (int64_t i = 0; i < M; i++) std::copy(bias, bias + N, y + i * N);
  // wᵀ as a [K, N] operand: element (k, n) is w[n·K + k].
  sgemm(M, N, K, Mat{x, K, 1}, Mat{w, 1, K}, MutMat{y, N, 1}, bias != nullptr);
}

}  // namespace kd
