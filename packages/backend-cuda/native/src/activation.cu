// An activation's backward from its saved output y in one pass (core's activationBackward):
// gx = gy·y·(1−y) for sigmoid, gy·(1−y²) for tanh, gy·[y > 0] for relu. Every product and
// difference is rounded separately in the order core's decomposition uses (the _rn intrinsics keep
// nvcc from contracting them into fused multiply-adds), so the result matches it bit for bit.
#include "kernels.h"
#include "ops.h"
#include "strided.cuh"

namespace kc {
namespace {

__global__ void activation_backward_kernel(int n, int op, const float* __restrict__ y, const float* __restrict__ gy, float* __restrict__ gx) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const float v = y[i], g = gy[i];
    float d;
    if (op == A_SIGMOID) d = __fmul_rn(v, __fsub_rn(1.f, v));
    else if (op == A_TANH) d = __fsub_rn(1.f, __fmul_rn(v, v));
    else d = v > 0.f ? 1.f : 0.f;
    gx[i] = __fmul_rn(g, d);
  }
}

}  // namespace

void activation_backward(Context& c, int op, const View& y, const View& gy, const View& gx) {
  if (op < 0 || op >= A_COUNT) throw Error("activationBackward: unknown activation code " + std::to_string(op));
  if (!y.contiguous() || !gy.contiguous() || !gx.contiguous() || y.dtype != F32 || gy.dtype != F32 || gx.dtype != F32)
    throw Error("activationBackward: expected contiguous float32 views");
  const int n = checked_numel(y, "activationBackward");
  if (n == 0) return;
  activation_backward_kernel<<<grid_for(n), 256, 0, c.stream()>>>(n, op, y.data<float>(), gy.data<float>(), gx.data<float>());
}

}  // namespace kc
