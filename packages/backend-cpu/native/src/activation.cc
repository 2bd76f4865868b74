#include "activation.h"

#include "threadpool.h"

namespace kd {
namespace {

constexpr int64_t kGrain = 1 << 16;  // elements per thread at least (memory-bound)

// Plain loops: GCC vectorises them (AVX2), and -ffp-contract=off keeps every product and difference
// rounded on its own, as the decomposition rounds it.
void sigmoid_bw(const float* y, const float* gy, float* gx, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = y[i];
    const float d = v * (1.0f - v);
    gx[i] = gy[i] * d;
  }
}

void tanh_bw(const float* y, const float* gy, float* gx, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = y[i];
    const float sq = v * v;
    gx[i] = gy[i] * (1.0f - sq);
  }
}

// gy · 1 or gy · 0 (so a NaN or infinite gradient under a closed mask stays NaN, as the product does).
void relu_bw(const float* y, const float* gy, float* gx, int64_t n) {
  for (int64_t i = 0; i < n; i++) gx[i] = gy[i] * (y[i] > 0.0f ? 1.0f : 0.0f);
}

}  // namespace

bool activation_backward(int op, const float* y, const float* gy, float* gx, int64_t n) {
  void (*fn)(const float*, const float*, float*, int64_t) = nullptr;
  switch (op) {
    case A_SIGMOID: fn = sigmoid_bw; break;
    case A_TANH: fn = tanh_bw; break;
    case A_RELU: fn = relu_bw; break;
    default: return false;
  }
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi, int) { fn(y + lo, gy + lo, gx + lo, hi - lo); });
  return true;
}

}  // namespace kd
