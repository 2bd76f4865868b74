// Fused optimizer steps, in place, with PyTorch's single-tensor semantics (see the CPU backend's
// optim for the formulas). Every state tensor is a strided view walked by one indexer.
#include <cmath>

#include "kernels.h"
#include "strided.cuh"

namespace kc {
namespace {

__global__ void sgd_kernel(Indexer<3> ix, int n, float* p, const float* g, float* buf, SgdOptions o) {
  const bool use_momentum = o.momentum != 0.f;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int off[3];
    index_offsets(ix, i, off);
    const float pv = p[off[0]];
    float gv = g[off[1]];
    if (o.maximize) gv = -gv;
    if (o.weight_decay != 0.f) gv += o.weight_decay * pv;
    if (use_momentum) {
      const float b = o.first_step ? gv : o.momentum * buf[off[2]] + (1.f - o.dampening) * gv;
      buf[off[2]] = b;
      gv = o.nesterov ? gv + o.momentum * b : b;
    }
    p[off[0]] = pv - o.lr * gv;
  }
}

struct AdamScalars {
  float step_size, bc2_sqrt, decay;
};

__global__ void adam_kernel(Indexer<5> ix, int n, float* p, const float* g, float* m, float* v, float* vmax, AdamOptions o, AdamScalars s) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int off[5];
    index_offsets(ix, i, off);
    float pv = p[off[0]];
    float gv = g[off[1]];
    if (o.maximize) gv = -gv;
    if (o.decoupled) pv *= s.decay;
    else if (o.weight_decay != 0.f) gv += o.weight_decay * pv;
    const float mv = o.beta1 * m[off[2]] + (1.f - o.beta1) * gv;
    const float vv = o.beta2 * v[off[3]] + (1.f - o.beta2) * gv * gv;
    m[off[2]] = mv;
    v[off[3]] = vv;
    float vd = vv;
    if (o.amsgrad) {
      const float x = vmax[off[4]];
      vd = (vv > x || vv != vv) ? vv : x;
      vmax[off[4]] = vd;
    }
    const float denom = sqrtf(vd) / s.bc2_sqrt + o.eps;
    p[off[0]] = pv - s.step_size * mv / denom;
  }
}

}  // namespace

void sgd_step(Context& c, const View& p, const View& g, const View& buf, const SgdOptions& o) {
  const int n = checked_numel(p, "sgdStep");
  if (n == 0) return;
  if (o.momentum != 0.f && !buf.present()) throw Error("sgdStep: momentum is non-zero but no momentum buffer was given");
  const View& b = buf.present() ? buf : p;
  const int64_t* st[3] = {p.strides, g.strides, b.strides};
  const int64_t of[3] = {p.offset, g.offset, b.offset};
  auto ix = make_indexer<3>(p.nd, p.shape, st, of);
  sgd_kernel<<<grid_for(n), 256, 0, c.stream()>>>(ix, n, static_cast<float*>(p.ptr), static_cast<const float*>(g.ptr), static_cast<float*>(b.ptr), o);
}

void adam_step(Context& c, const View& p, const View& g, const View& m, const View& v, const View& vmax, const AdamOptions& o) {
  const int n = checked_numel(p, "adamStep");
  if (n == 0) return;
  if (o.amsgrad && !vmax.present()) throw Error("adamStep: amsgrad needs maxExpAvgSq");
  const View& x = vmax.present() ? vmax : v;
  const int64_t* st[5] = {p.strides, g.strides, m.strides, v.strides, x.strides};
  const int64_t of[5] = {p.offset, g.offset, m.offset, v.offset, x.offset};
  auto ix = make_indexer<5>(p.nd, p.shape, st, of);
  AdamScalars s;
  const double bc1 = 1.0 - std::pow(static_cast<double>(o.beta1), o.step);
  s.step_size = static_cast<float>(o.lr / bc1);
  s.bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(o.beta2), o.step)));
  s.decay = o.decoupled && o.weight_decay != 0.f ? 1.f - o.lr * o.weight_decay : 1.f;
  adam_kernel<<<grid_for(n), 256, 0, c.stream()>>>(ix, n, static_cast<float*>(p.ptr), static_cast<const float*>(g.ptr), static_cast<float*>(m.ptr),
                                                   static_cast<float*>(v.ptr), static_cast<float*>(x.ptr), o, s);
}

}  // namespace kc
