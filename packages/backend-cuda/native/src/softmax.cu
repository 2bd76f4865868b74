// Softmax / log-softmax over the last dim of [rows, cols], and their backward: a warp per row,
// max-shifted so large logits cannot overflow exp (a row of -inf gives NaN, as in PyTorch).
#include <memory>

#include "kernels.h"

namespace kc {
namespace {

__device__ __forceinline__ float warp_sum(float v) {
  for (int d = 16; d > 0; d >>= 1) v += __shfl_xor_sync(0xffffffffu, v, d);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int d = 16; d > 0; d >>= 1) {
    const float o = __shfl_xor_sync(0xffffffffu, v, d);
    v = (o > v || o != o) ? o : v;
  }
  return v;
}

__global__ void softmax_kernel(const float* __restrict__ x, int rows, int cols, int log, float* __restrict__ y) {
  const int lane = threadIdx.x % 32;
  for (int row = (blockIdx.x * blockDim.x + threadIdx.x) / 32; row < rows; row += gridDim.x * blockDim.x / 32) {
    const float* xr = x + static_cast<long long>(row) * cols;
    float* yr = y + static_cast<long long>(row) * cols;
    float mx = -INFINITY;
    for (int j = lane; j < cols; j += 32) {
      const float v = xr[j];
      if (v > mx || v != v) mx = v;
    }
    mx = warp_max(mx);
    const float shift = mx == -INFINITY ? 0.f : mx;
    float s = 0.f;
    for (int j = lane; j < cols; j += 32) s += expf(xr[j] - shift);
    s = warp_sum(s);
    if (log) {
      const float lse = logf(s);
      for (int j = lane; j < cols; j += 32) yr[j] = xr[j] - shift - lse;
    } else {
      const float inv = 1.f / s;
      for (int j = lane; j < cols; j += 32) yr[j] = expf(xr[j] - shift) * inv;
    }
  }
}

// softmax: gx = y·(gy − Σ gy·y);  log-softmax: gx = gy − exp(y)·Σ gy
__global__ void softmax_backward_kernel(const float* __restrict__ y, const float* __restrict__ gy, int rows, int cols, int log, float* __restrict__ gx) {
  const int lane = threadIdx.x % 32;
  for (int row = (blockIdx.x * blockDim.x + threadIdx.x) / 32; row < rows; row += gridDim.x * blockDim.x / 32) {
    const long long o = static_cast<long long>(row) * cols;
    float s = 0.f;
    for (int j = lane; j < cols; j += 32) s += log ? gy[o + j] : gy[o + j] * y[o + j];
    s = warp_sum(s);
    for (int j = lane; j < cols; j += 32) gx[o + j] = log ? gy[o + j] - expf(y[o + j]) * s : y[o + j] * (gy[o + j] - s);
  }
}

void rows_cols(const View& v, int& rows, int& cols) {
  cols = v.nd == 0 ? 1 : static_cast<int>(v.shape[v.nd - 1]);
  long long r = 1;
  for (int d = 0; d < v.nd - 1; d++) r *= v.shape[d];
  if (r * cols >= (1LL << 31)) throw Error("softmax: tensors of 2^31 or more elements are not supported on cuda", true);
  rows = static_cast<int>(r);
}

unsigned warp_blocks(int rows) {
  long long b = (static_cast<long long>(rows) + 7) / 8;  // 8 warps of 32 per block
  if (b > 65535LL * 16) b = 65535LL * 16;
  return static_cast<unsigned>(b < 1 ? 1 : b);
}

}  // namespace

void softmax(Context& c, const View& xv, bool log, const View& outv) {
  int rows, cols;
  rows_cols(xv, rows, cols);
  std::unique_ptr<Temp> tx;
  const float* x = contiguous_f32(c, xv, tx, "softmax");
  OutF32 out(c, outv, false, "softmax");
  if (rows > 0 && cols > 0) softmax_kernel<<<warp_blocks(rows), 256, 0, c.stream()>>>(x, rows, cols, log ? 1 : 0, out.ptr);
  out.commit();
}

void softmax_backward(Context& c, const View& yv, const View& gyv, bool log, const View& gxv) {
  int rows, cols;
  rows_cols(yv, rows, cols);
  std::unique_ptr<Temp> ty, tg;
  const float* y = contiguous_f32(c, yv, ty, "softmaxBackward");
  const float* gy = contiguous_f32(c, gyv, tg, "softmaxBackward");
  OutF32 gx(c, gxv, false, "softmaxBackward");
  if (rows > 0 && cols > 0) softmax_backward_kernel<<<warp_blocks(rows), 256, 0, c.stream()>>>(y, gy, rows, cols, log ? 1 : 0, gx.ptr);
  gx.commit();
}

}  // namespace kc
