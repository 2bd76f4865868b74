// conv2d and its two backward passes. Large ones go to cuDNN when it is loaded (cudnn_conv.h);
// layers with few channels run as direct convolutions (conv_direct.cu); the rest run here as
// im2col/col2im around the GEMM (gemm.h),
// with the batch folded into the products' long dimension (one wide product per group and chunk of
// images runs far better than one narrow product per image when P = OH·OW is small):
//   forward:         out' (O×nP) = W (O×CK) · col (CK×nP) + bias, then out' regrouped to [n, O, P]
//   backward input:  gcol (CK×nP) = Wᵀ · gy' (gy regrouped to O×nP), then col2im (a gather: no atomics)
//   backward weight: gW (O×CK) = gy' (O×nP) · colᵀ (nP×CK)
// with the batch processed in chunks whose column buffer stays under 256 MiB.
#include <memory>

#include "cudnn_conv.h"
#include "gemm.h"
#include "kernels.h"
#include "strided.cuh"

namespace kc {
namespace {

struct Geo {
  int N, C, H, W, O, kh, kw, OH, OW, Cg, Og, CK, P;
};

Geo geometry(const View& x, const View& w, const View& y, const ConvParams& p) {
  Geo g;
  g.N = static_cast<int>(x.shape[0]);
  g.C = static_cast<int>(x.shape[1]);
  g.H = static_cast<int>(x.shape[2]);
  g.W = static_cast<int>(x.shape[3]);
  g.O = static_cast<int>(w.shape[0]);
  g.kh = static_cast<int>(w.shape[2]);
  g.kw = static_cast<int>(w.shape[3]);
  g.OH = static_cast<int>(y.shape[2]);
  g.OW = static_cast<int>(y.shape[3]);
  g.Cg = g.C / p.groups;
  g.Og = g.O / p.groups;
  g.CK = g.Cg * g.kh * g.kw;
  g.P = g.OH * g.OW;
  return g;
}

// Images per chunk so that a [CK, n·P] column buffer holds at most 64 Mi floats.
int chunk_images(const Geo& g) {
  const long long per = static_cast<long long>(g.CK) * g.P;
  long long n = (64LL << 20) / (per > 0 ? per : 1);
  if (n < 1) n = 1;
  return static_cast<int>(n < g.N ? n : g.N);
}

// col[k·sk + nl·sn + p] = x[n0+nl, c0 + ci, oh·sh - ph + r·dh, ow·sw - pw + s·dw] (0 outside), k = (ci·kh + r)·kw + s.
// A thread per (ci, image, output position) writes all kh·kw taps: the index arithmetic is paid once
// per position, and neighbouring threads write neighbouring addresses for every tap.
__global__ void im2col_kernel(const float* __restrict__ x, int n0, int nc, int C, int H, int W, int c0, int Cg, int kh, int kw, int OH, int OW,
                              int sh, int sw, int ph, int pw, int dh, int dw, float* __restrict__ col, long long sk, long long sn) {
  const int P = OH * OW;
  const long long total = static_cast<long long>(Cg) * nc * P;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total; i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int p = static_cast<int>(i % P);
    const long long r0 = i / P;
    const int nl = static_cast<int>(r0 % nc);
    const int ci = static_cast<int>(r0 / nc);
    const int oh = p / OW, ow = p % OW;
    const int ih0 = oh * sh - ph, iw0 = ow * sw - pw;
    const float* xp = x + (static_cast<long long>(n0 + nl) * C + c0 + ci) * H * W;
    float* cp = col + static_cast<long long>(ci) * kh * kw * sk + nl * sn + p;
    for (int r = 0; r < kh; r++) {
      const int ih = ih0 + r * dh;
      const bool row_in = ih >= 0 && ih < H;
      for (int s = 0; s < kw; s++) {
        const int iw = iw0 + s * dw;
        *cp = (row_in && iw >= 0 && iw < W) ? xp[ih * W + iw] : 0.f;
        cp += sk;
      }
    }
  }
}

// gx[n0+nl, c0+ci, ih, iw] = Σ over taps (r, s) whose output position is on the grid of gcol.
__global__ void col2im_kernel(const float* __restrict__ gcol, int n0, int nc, int C, int H, int W, int c0, int Cg, int kh, int kw, int OH, int OW,
                              int sh, int sw, int ph, int pw, int dh, int dw, float* __restrict__ gx, long long sk, long long sn) {
  const int P = OH * OW;
  const long long total = static_cast<long long>(nc) * Cg * H * W;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total; i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int iw = static_cast<int>(i % W);
    const int ih = static_cast<int>((i / W) % H);
    const int ci = static_cast<int>((i / (static_cast<long long>(W) * H)) % Cg);
    const int nl = static_cast<int>(i / (static_cast<long long>(W) * H * Cg));
    const float* g = gcol + static_cast<long long>(nl) * sn;
    float acc = 0.f;
    for (int r = 0; r < kh; r++) {
      const int th = ih + ph - r * dh;
      if (th < 0 || th % sh) continue;
      const int oh = th / sh;
      if (oh >= OH) continue;
      for (int s = 0; s < kw; s++) {
        const int tw = iw + pw - s * dw;
        if (tw < 0 || tw % sw) continue;
        const int ow = tw / sw;
        if (ow >= OW) continue;
        acc += g[(static_cast<long long>((ci * kh + r) * kw + s)) * sk + oh * OW + ow];
      }
    }
    gx[((static_cast<long long>(n0 + nl) * C + c0 + ci) * H + ih) * W + iw] = acc;
  }
}

void launch_im2col(Context& c, const float* x, const Geo& g, const ConvParams& p, int n0, int nc, int grp, float* col, long long sk, long long sn) {
  const long long total = static_cast<long long>(g.Cg) * nc * g.P;
  im2col_kernel<<<grid_for(total), 256, 0, c.stream()>>>(x, n0, nc, g.C, g.H, g.W, grp * g.Cg, g.Cg, g.kh, g.kw, g.OH, g.OW, p.sh, p.sw, p.ph, p.pw,
                                                           p.dh, p.dw, col, sk, sn);
}

// Copies a chunk of images between the NCHW layout [.., O, P] (images n0 … n0+nc) and the
// regrouped [O, nc·P] layout of the wide products; to_wide picks the direction.
void regroup(Context& c, float* nchw, float* wide, const Geo& g, int n0, int nc, int O0, int Oc, bool to_wide) {
  View a{}, b{};
  a.ptr = nchw;
  b.ptr = wide;
  a.dtype = b.dtype = F32;
  a.nd = b.nd = 3;
  a.shape[0] = b.shape[0] = Oc;
  a.shape[1] = b.shape[1] = nc;
  a.shape[2] = b.shape[2] = g.P;
  a.offset = (static_cast<long long>(n0) * g.O + O0) * g.P;
  a.strides[0] = g.P;
  a.strides[1] = static_cast<long long>(g.O) * g.P;
  a.strides[2] = 1;
  b.strides[0] = static_cast<long long>(nc) * g.P;
  b.strides[1] = g.P;
  b.strides[2] = 1;
  if (to_wide) copy(c, a, b);
  else copy(c, b, a);
}

ConvGeometry full_geometry(const Geo& g, const ConvParams& p) {
  return ConvGeometry{g.N, g.C, g.H, g.W, g.O, g.kh, g.kw, g.OH, g.OW, p.sh, p.sw, p.ph, p.pw, p.dh, p.dw, p.groups};
}

void check_geometry(const char* op, const Geo& g, const ConvParams& p) {
  if (p.groups < 1 || g.C % p.groups || g.O % p.groups) throw Error(std::string(op) + ": channels are not divisible by groups", true);
  if (static_cast<long long>(g.N) * g.C * g.H * g.W >= (1LL << 31) || static_cast<long long>(g.N) * g.O * g.P >= (1LL << 31))
    throw Error(std::string(op) + ": tensors of 2^31 or more elements are not supported on cuda", true);
}

}  // namespace

void conv2d(Context& c, const View& xv, const View& wv, const View& bv, const ConvParams& p, const View& outv) {
  const Geo g = geometry(xv, wv, outv, p);
  check_geometry("conv2d", g, p);
  std::unique_ptr<Temp> tx, tw, tb;
  const float* x = contiguous_f32(c, xv, tx, "conv2d");
  const float* w = contiguous_f32(c, wv, tw, "conv2d");
  const float* bias = contiguous_f32(c, bv, tb, "conv2d");
  OutF32 out(c, outv, false, "conv2d");
  if (g.N == 0 || g.O == 0 || g.P == 0) return out.commit();
  const ConvGeometry fg = full_geometry(g, p);
  if (cudnn_conv_forward(c, fg, CudnnMode{p.tf32, p.cudnn_benchmark}, x, w, bias, out.ptr)) return out.commit();
  if (direct_conv_worth(fg)) {
    conv2d_direct(c, fg, x, w, bias, out.ptr);
    return out.commit();
  }
  const int chunk = chunk_images(g);
  Temp col(c, static_cast<size_t>(g.CK) * chunk * g.P * 4);
  Temp wide(c, static_cast<size_t>(g.Og) * chunk * g.P * 4);
  for (int n0 = 0; n0 < g.N; n0 += chunk) {
    const int nc = g.N - n0 < chunk ? g.N - n0 : chunk;
    const long long np = static_cast<long long>(nc) * g.P;
    for (int grp = 0; grp < p.groups; grp++) {
      launch_im2col(c, x, g, p, n0, nc, grp, col.as<float>(), np, g.P);
      GemmArgs a;
      a.M = g.Og;
      a.N = static_cast<int>(np);
      a.K = g.CK;
      a.A = w + static_cast<long long>(grp) * g.Og * g.CK;
      a.sam = g.CK;
      a.sak = 1;
      a.B = col.as<float>();
      a.sbk = np;
      a.sbn = 1;
      a.C = wide.as<float>();
      a.scm = np;
      a.row_bias = bias ? bias + grp * g.Og : nullptr;
      a.tf32 = p.tf32;
      gemm(c, a);
      regroup(c, out.ptr, wide.as<float>(), g, n0, nc, grp * g.Og, g.Og, false);
    }
  }
  out.commit();
}

void conv2d_backward_input(Context& c, const View& gyv, const View& wv, const ConvParams& p, const View& gxv) {
  const Geo g = geometry(gxv, wv, gyv, p);
  check_geometry("conv2dBackwardInput", g, p);
  std::unique_ptr<Temp> tgy, tw;
  const float* gy = contiguous_f32(c, gyv, tgy, "conv2dBackwardInput");
  const float* w = contiguous_f32(c, wv, tw, "conv2dBackwardInput");
  OutF32 gx(c, gxv, false, "conv2dBackwardInput");
  if (g.N == 0 || g.C == 0 || g.H * g.W == 0) return gx.commit();
  if (g.O == 0 || g.P == 0 || g.CK == 0) {
    cudaMemsetAsync(gx.ptr, 0, static_cast<size_t>(g.N) * g.C * g.H * g.W * 4, c.stream());
    return gx.commit();
  }
  const ConvGeometry fg = full_geometry(g, p);
  if (cudnn_conv_backward_input(c, fg, CudnnMode{p.tf32, p.cudnn_benchmark}, gy, w, gx.ptr)) return gx.commit();
  if (direct_conv_worth(fg)) {
    conv2d_backward_input_direct(c, fg, gy, w, gx.ptr);
    return gx.commit();
  }
  const int chunk = chunk_images(g);
  Temp gcol(c, static_cast<size_t>(g.CK) * chunk * g.P * 4);
  Temp wide(c, static_cast<size_t>(g.Og) * chunk * g.P * 4);
  for (int n0 = 0; n0 < g.N; n0 += chunk) {
    const int nc = g.N - n0 < chunk ? g.N - n0 : chunk;
    const long long np = static_cast<long long>(nc) * g.P;
    for (int grp = 0; grp < p.groups; grp++) {
      regroup(c, const_cast<float*>(gy), wide.as<float>(), g, n0, nc, grp * g.Og, g.Og, true);
      GemmArgs a;
      a.M = g.CK;
      a.N = static_cast<int>(np);
      a.K = g.Og;
      a.A = w + static_cast<long long>(grp) * g.Og * g.CK;  // Wᵀ: (m = ck, k = o) at o·CK + ck
      a.sam = 1;
      a.sak = g.CK;
      a.B = wide.as<float>();
      a.sbk = np;
      a.sbn = 1;
      a.C = gcol.as<float>();
      a.scm = np;
      a.tf32 = p.tf32;
      gemm(c, a);
      const long long total = static_cast<long long>(nc) * g.Cg * g.H * g.W;
      col2im_kernel<<<grid_for(total), 256, 0, c.stream()>>>(gcol.as<float>(), n0, nc, g.C, g.H, g.W, grp * g.Cg, g.Cg, g.kh, g.kw, g.OH, g.OW, p.sh,
                                                               p.sw, p.ph, p.pw, p.dh, p.dw, gx.ptr, np, g.P);
    }
  }
  gx.commit();
}

void conv2d_backward_weight(Context& c, const View& gyv, const View& xv, const ConvParams& p, const View& gwv) {
  const Geo g = geometry(xv, gwv, gyv, p);
  check_geometry("conv2dBackwardWeight", g, p);
  std::unique_ptr<Temp> tgy, tx;
  const float* gy = contiguous_f32(c, gyv, tgy, "conv2dBackwardWeight");
  const float* x = contiguous_f32(c, xv, tx, "conv2dBackwardWeight");
  OutF32 gw(c, gwv, false, "conv2dBackwardWeight");
  if (g.O == 0 || g.CK == 0) return gw.commit();
  if (g.N == 0 || g.P == 0) {
    cudaMemsetAsync(gw.ptr, 0, static_cast<size_t>(g.O) * g.CK * 4, c.stream());
    return gw.commit();
  }
  const ConvGeometry fg = full_geometry(g, p);
  if (cudnn_conv_backward_weight(c, fg, CudnnMode{p.tf32, p.cudnn_benchmark}, gy, x, gw.ptr)) return gw.commit();
  if (direct_conv_worth(fg)) {
    conv2d_backward_weight_direct(c, fg, gy, x, gw.ptr);
    return gw.commit();
  }
  const int chunk = chunk_images(g);
  Temp col(c, static_cast<size_t>(g.CK) * chunk * g.P * 4);
  // gy of a chunk, regrouped as [O, nc·P] so that the batch is part of the product's K.
  Temp gyt(c, static_cast<size_t>(g.O) * chunk * g.P * 4);
  for (int n0 = 0; n0 < g.N; n0 += chunk) {
    const int nc = g.N - n0 < chunk ? g.N - n0 : chunk;
    regroup(c, const_cast<float*>(gy), gyt.as<float>(), g, n0, nc, 0, g.O, true);
    const long long np = static_cast<long long>(nc) * g.P;
    for (int grp = 0; grp < p.groups; grp++) {
      launch_im2col(c, x, g, p, n0, nc, grp, col.as<float>(), np, g.P);
      GemmArgs a;
      a.batch = 1;
      a.M = g.Og;
      a.N = g.CK;
      a.K = static_cast<int>(np);
      a.A = gyt.as<float>() + static_cast<long long>(grp) * g.Og * np;
      a.sam = np;
      a.sak = 1;
      a.B = col.as<float>();  // colᵀ: (k = j, n = ck) at ck·np + j
      a.sbk = 1;
      a.sbn = np;
      a.C = gw.ptr + static_cast<long long>(grp) * g.Og * g.CK;
      a.scm = g.CK;
      a.accumulate = n0 > 0;
      a.tf32 = p.tf32;
      gemm(c, a);
    }
  }
  gw.commit();
}

}  // namespace kc
