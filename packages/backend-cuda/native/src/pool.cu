// Max and average pooling, forward and backward, with PyTorch's window rules (padding, dilation,
// ceil mode, count_include_pad, divisor_override). Forward: a thread per output. Backward: a
// thread per output scattering into gradIn (zero-filled by core) with atomic adds, since windows
// may overlap.
#include <memory>

#include "kernels.h"
#include "strided.cuh"

namespace kc {
namespace {

__device__ __forceinline__ int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
__device__ __forceinline__ int ceil_div_pos(int a, int b) { return (a + b - 1) / b; }

// Taps [lo, hi) of a window starting at `start` that land inside [0, size), and how many land
// before size + pad (the count_include_pad size, clipped at the padding's right edge).
struct Axis {
  int lo, hi, padded;
};
__device__ __forceinline__ Axis axis_window(int start, int k, int d, int size, int pad) {
  Axis a;
  a.lo = start >= 0 ? 0 : ceil_div_pos(-start, d);
  a.hi = min(k, floor_div(size - 1 - start, d) + 1);
  a.padded = max(0, min(k, floor_div(size + pad - 1 - start, d) + 1));
  if (a.lo > k) a.lo = k;
  if (a.hi < 0) a.hi = 0;
  return a;
}

struct Dims {
  int NC, H, W, OH, OW;
};

// Output i's window, which the max and avg kernels (forward, and avg backward) all start from:
// its plane, the input coordinates of tap (0, 0), and the in-bounds taps along each axis.
struct Window {
  long long plane;
  int hs, ws;
  Axis ah, aw;
};
__device__ __forceinline__ Window window_of(long long i, const Dims& d, const PoolParams& p) {
  const int ow = static_cast<int>(i % d.OW), oh = static_cast<int>((i / d.OW) % d.OH);
  Window w;
  w.plane = i / (static_cast<long long>(d.OW) * d.OH);
  w.hs = oh * p.sh - p.ph;
  w.ws = ow * p.sw - p.pw;
  w.ah = axis_window(w.hs, p.kh, p.dh, d.H, p.ph);
  w.aw = axis_window(w.ws, p.kw, p.dw, d.W, p.pw);
  return w;
}

__global__ void max_pool_kernel(const float* __restrict__ x, Dims d, PoolParams p, float* __restrict__ y, int* __restrict__ idx) {
  const long long total = static_cast<long long>(d.NC) * d.OH * d.OW;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total; i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const Window wi = window_of(i, d, p);
    const int hs = wi.hs, ws = wi.ws;
    const Axis ah = wi.ah, aw = wi.aw;
    const float* xp = x + wi.plane * d.H * d.W;
    float best = -INFINITY;
    int bi = -1;
    for (int r = ah.lo; r < ah.hi; r++) {
      const int ih = hs + r * p.dh;
      for (int s = aw.lo; s < aw.hi; s++) {
        const int iw = ws + s * p.dw;
        const float v = xp[ih * d.W + iw];
        if (bi < 0 || v > best || v != v) {  // a NaN always takes the window, as in PyTorch
          best = v;
          bi = ih * d.W + iw;
        }
      }
    }
    y[i] = best;
    // A window over padding only (possible with dilation) has no tap: PyTorch then points at its
    // first tap past the padding, outside the input; core's backward drops those windows' gradient.
    idx[i] = bi >= 0 ? bi : (hs + ah.lo * p.dh) * d.W + (ws + aw.lo * p.dw);
  }
}

__global__ void max_pool_backward_kernel(const float* __restrict__ gy, const int* __restrict__ idx, Dims d, float* __restrict__ gx, int* err) {
  const long long total = static_cast<long long>(d.NC) * d.OH * d.OW;
  const int plane_size = d.H * d.W;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total; i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long plane = i / (static_cast<long long>(d.OW) * d.OH);
    const int k = idx[i];
    if (k < 0 || k >= plane_size) {
      atomicExch(err, DEV_MAXPOOL_INDEX);
      continue;
    }
    atomicAdd(gx + plane * plane_size + k, gy[i]);
  }
}

__device__ __forceinline__ float avg_divisor(const PoolParams& p, const Axis& ah, const Axis& aw) {
  if (p.divisor) return static_cast<float>(p.divisor);
  if (p.count_include_pad) return static_cast<float>(ah.padded * aw.padded);
  return static_cast<float>((ah.hi - ah.lo) * (aw.hi - aw.lo));
}

__global__ void avg_pool_kernel(const float* __restrict__ x, Dims d, PoolParams p, float* __restrict__ y) {
  const long long total = static_cast<long long>(d.NC) * d.OH * d.OW;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total; i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const Window w = window_of(i, d, p);
    const float* xp = x + w.plane * d.H * d.W;
    float sum = 0.f;
    for (int r = w.ah.lo; r < w.ah.hi; r++)
      for (int s = w.aw.lo; s < w.aw.hi; s++) sum += xp[(w.hs + r * p.dh) * d.W + w.ws + s * p.dw];
    y[i] = sum / avg_divisor(p, w.ah, w.aw);
  }
}

__global__ void avg_pool_backward_kernel(const float* __restrict__ gy, Dims d, PoolParams p, float* __restrict__ gx) {
  const long long total = static_cast<long long>(d.NC) * d.OH * d.OW;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total; i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const Window w = window_of(i, d, p);
    float* gp = gx + w.plane * d.H * d.W;
    const float g = gy[i] / avg_divisor(p, w.ah, w.aw);
    for (int r = w.ah.lo; r < w.ah.hi; r++)
      for (int s = w.aw.lo; s < w.aw.hi; s++) atomicAdd(gp + (w.hs + r * p.dh) * d.W + w.ws + s * p.dw, g);
  }
}

Dims dims_of(const View& in, const View& out) {
  Dims d;
  d.NC = static_cast<int>(in.shape[0] * in.shape[1]);
  d.H = static_cast<int>(in.shape[2]);
  d.W = static_cast<int>(in.shape[3]);
  d.OH = static_cast<int>(out.shape[2]);
  d.OW = static_cast<int>(out.shape[3]);
  return d;
}

long long out_count(const Dims& d) { return static_cast<long long>(d.NC) * d.OH * d.OW; }

// Every pooling entry point: `in` made contiguous, `out` written through OutF32 (preloaded for the
// backward passes, which add into core's zeros) and `launch(src, dst, grid)` run with one thread
// per output element when there is any.
template <typename Launch>
void pool_pass(Context& c, const View& in, const View& out, bool preload, const char* op, const Dims& d, Launch launch) {
  std::unique_ptr<Temp> t;
  const float* src = contiguous_f32(c, in, t, op);
  OutF32 dst(c, out, preload, op);
  if (out_count(d) > 0) launch(src, dst.ptr, grid_for(out_count(d)));
  dst.commit();
}

int* pool_indices(const View& idxv, const char* op) {
  if (!idxv.contiguous() || idxv.dtype != I32) throw Error(std::string(op) + ": indices must be a contiguous int32 view");
  return idxv.data<int>();
}

}  // namespace

void max_pool2d(Context& c, const View& xv, const PoolParams& p, const View& outv, const View& idxv) {
  int* idx = pool_indices(idxv, "maxPool2d");
  const Dims d = dims_of(xv, outv);
  pool_pass(c, xv, outv, false, "maxPool2d", d, [&](const float* x, float* y, unsigned grid) {
    max_pool_kernel<<<grid, 256, 0, c.stream()>>>(x, d, p, y, idx);
  });
}

void max_pool2d_backward(Context& c, const View& gyv, const View& idxv, const PoolParams& p, const View& gxv) {
  const int* idx = pool_indices(idxv, "maxPool2dBackward");
  const Dims d = dims_of(gxv, gyv);
  pool_pass(c, gyv, gxv, true, "maxPool2dBackward", d, [&](const float* gy, float* gx, unsigned grid) {
    max_pool_backward_kernel<<<grid, 256, 0, c.stream()>>>(gy, idx, d, gx, c.device_error_word());
  });
}

void avg_pool2d(Context& c, const View& xv, const PoolParams& p, const View& outv) {
  const Dims d = dims_of(xv, outv);
  pool_pass(c, xv, outv, false, "avgPool2d", d, [&](const float* x, float* y, unsigned grid) {
    avg_pool_kernel<<<grid, 256, 0, c.stream()>>>(x, d, p, y);
  });
}

void avg_pool2d_backward(Context& c, const View& gyv, const PoolParams& p, const View& gxv) {
  const Dims d = dims_of(gxv, gyv);
  pool_pass(c, gyv, gxv, true, "avgPool2dBackward", d, [&](const float* gy, float* gx, unsigned grid) {
    avg_pool_backward_kernel<<<grid, 256, 0, c.stream()>>>(gy, d, p, gx);
  });
}

}  // namespace kc
