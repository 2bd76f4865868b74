// Direct convolutions for few channels (LeNet's kind): no column buffer and no GEMM. As a GEMM,
// such a layer is a product with M = O of 6 or 16 rows and K = C·kh·kw of 25 or 150, which leaves
// a 64×64 tile mostly idle, and its im2col writes K times the input. Here a thread owns one pixel
// and a group of 8 channels: the forward pass reads each input tap once for all 8 output
// channels, the input gradient reads each output-gradient tap once for all 8 input channels; the
// block's weights sit in shared memory, read as broadcasts. Neighbouring threads own neighbouring
// pixels, so reads and writes are coalesced.
#include "kindling_flags.h"
#include "kernels.h"
#include "strided.cuh"

namespace kc {
namespace {

constexpr int CB = 8;         // channels a thread computes
constexpr int kThreads = 128;
constexpr int kMaxWeights = 4096;  // floats of weights a block keeps in shared memory (16 KiB)

// out[n, o, oh, ow] (+ bias[o]) for o in one group of CB output channels (blockIdx.y) of one
// convolution group (blockIdx.z); threads over n·OH·OW.
__global__ void __launch_bounds__(kThreads) direct_forward_kernel(const float* __restrict__ x, const float* __restrict__ w,
                                                                  const float* __restrict__ bias, float* __restrict__ out, ConvGeometry g) {
  __shared__ float ws[kMaxWeights];
  const int Cg = g.C / g.groups, Og = g.O / g.groups;
  const int taps = g.kh * g.kw, CK = Cg * taps;
  const int grp = blockIdx.z, o0 = blockIdx.y * CB;
  const int oc = min(CB, Og - o0);  // channels in this block's group of CB
  // ws[(o·Cg + ci)·taps + t] for the block's CB output channels, zero past the oc that exist, so
  // that every thread computes all CB without a branch and only the stores are skipped.
  const float* wg = w + (static_cast<long long>(grp) * Og + o0) * CK;
  for (int i = threadIdx.x; i < CB * CK; i += blockDim.x) ws[i] = i < oc * CK ? wg[i] : 0.f;
  __syncthreads();
  const int P = g.OH * g.OW;
  const long long total = static_cast<long long>(g.N) * P;
  for (long long j = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; j < total; j += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int n = static_cast<int>(j / P), p = static_cast<int>(j % P);
    const int oh = p / g.OW, ow = p % g.OW;
    const int ih0 = oh * g.sh - g.ph, iw0 = ow * g.sw - g.pw;
    float acc[CB];
#pragma unroll
    for (int o = 0; o < CB; o++) acc[o] = (bias && o < oc) ? bias[grp * Og + o0 + o] : 0.f;
    const float* xn = x + (static_cast<long long>(n) * g.C + grp * Cg) * g.H * g.W;
    for (int ci = 0; ci < Cg; ci++) {
      const float* xc = xn + static_cast<long long>(ci) * g.H * g.W;
      for (int r = 0; r < g.kh; r++) {
        const int ih = ih0 + r * g.dh;
        if (ih < 0 || ih >= g.H) continue;
        for (int s = 0; s < g.kw; s++) {
          const int iw = iw0 + s * g.dw;
          if (iw < 0 || iw >= g.W) continue;
          const float v = xc[ih * g.W + iw];
          const float* wt = ws + ci * taps + r * g.kw + s;
#pragma unroll
          for (int o = 0; o < CB; o++) acc[o] = fmaf(v, wt[o * CK], acc[o]);
        }
      }
    }
    float* on = out + (static_cast<long long>(n) * g.O + grp * Og + o0) * P + p;
#pragma unroll
    for (int o = 0; o < CB; o++)
      if (o < oc) on[static_cast<long long>(o) * P] = acc[o];
  }
}

// gx[n, c, ih, iw] for c in one group of CB input channels (blockIdx.y) of one convolution group
// (blockIdx.z): the sum over output channels and the taps whose output position lies on the grid.
__global__ void __launch_bounds__(kThreads) direct_backward_input_kernel(const float* __restrict__ gy, const float* __restrict__ w,
                                                                         float* __restrict__ gx, ConvGeometry g) {
  __shared__ float ws[kMaxWeights];
  const int Cg = g.C / g.groups, Og = g.O / g.groups;
  const int taps = g.kh * g.kw, CK = Cg * taps;
  const int grp = blockIdx.z, c0 = blockIdx.y * CB;
  const int cc = min(CB, Cg - c0);
  // ws[(o·CB + ci)·taps + t]: every output channel's weights for the block's CB input channels,
  // zero past the cc that exist (as in the forward kernel).
  for (int i = threadIdx.x; i < Og * CB * taps; i += blockDim.x) {
    const int t = i % taps, ci = (i / taps) % CB, o = i / (taps * CB);
    ws[i] = ci < cc ? w[(static_cast<long long>(grp) * Og + o) * CK + (c0 + ci) * taps + t] : 0.f;
  }
  __syncthreads();
  const int HW = g.H * g.W, P = g.OH * g.OW;
  const long long total = static_cast<long long>(g.N) * HW;
  for (long long j = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; j < total; j += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int n = static_cast<int>(j / HW), q = static_cast<int>(j % HW);
    const int ih = q / g.W, iw = q % g.W;
    float acc[CB];
#pragma unroll
    for (int ci = 0; ci < CB; ci++) acc[ci] = 0.f;
    for (int r = 0; r < g.kh; r++) {
      const int th = ih + g.ph - r * g.dh;
      if (th < 0 || th % g.sh) continue;
      const int oh = th / g.sh;
      if (oh >= g.OH) continue;
      for (int s = 0; s < g.kw; s++) {
        const int tw = iw + g.pw - s * g.dw;
        if (tw < 0 || tw % g.sw) continue;
        const int ow = tw / g.sw;
        if (ow >= g.OW) continue;
        const float* gp = gy + (static_cast<long long>(n) * g.O + grp * Og) * P + oh * g.OW + ow;
        const float* wt = ws + r * g.kw + s;
        for (int o = 0; o < Og; o++) {
          const float v = gp[static_cast<long long>(o) * P];
#pragma unroll
          for (int ci = 0; ci < CB; ci++) acc[ci] = fmaf(v, wt[(o * CB + ci) * taps], acc[ci]);
        }
      }
    }
    float* gn = gx + (static_cast<long long>(n) * g.C + grp * Cg + c0) * HW + q;
#pragma unroll
    for (int ci = 0; ci < CB; ci++)
      if (ci < cc) gn[static_cast<long long>(ci) * HW] = acc[ci];
  }
}

// gw[o, ci, r, s] (+)= Σ over a slice of the n·OH·OW output pixels of gy[n, o, p] · x[n, ci, tap]:
// a thread per weight (blockIdx.x over the Og·Cg·kh·kw weights of group blockIdx.z), slices of
// pixels across blockIdx.y whose partial sums are added atomically into gw, zeroed first. Threads
// of a warp share o and read the same gy (a broadcast); their x taps lie close together (cached).
__global__ void __launch_bounds__(kThreads) direct_backward_weight_kernel(const float* __restrict__ gy, const float* __restrict__ x,
                                                                          float* __restrict__ gw, ConvGeometry g, int pixels_per_slice) {
  const int Cg = g.C / g.groups, Og = g.O / g.groups;
  const int taps = g.kh * g.kw, CK = Cg * taps;
  const int grp = blockIdx.z;
  const int e = blockIdx.x * blockDim.x + threadIdx.x;  // (o·Cg + ci)·taps + t within the group
  if (e >= Og * CK) return;
  const int t = e % taps, ci = (e / taps) % Cg, o = e / CK;
  const int r = t / g.kw, s = t % g.kw;
  const int P = g.OH * g.OW;
  const long long total = static_cast<long long>(g.N) * P;
  const long long j0 = static_cast<long long>(blockIdx.y) * pixels_per_slice;
  const long long j1 = min(total, j0 + pixels_per_slice);
  float acc = 0.f;
  if (j0 < j1) {
    // (n, oh, ow) of pixel j, stepped along without a division per pixel.
    int n = static_cast<int>(j0 / P), oh = static_cast<int>(j0 % P) / g.OW, ow = static_cast<int>(j0 % P) % g.OW;
    for (long long j = j0; j < j1; j++) {
      const int ih = oh * g.sh - g.ph + r * g.dh, iw = ow * g.sw - g.pw + s * g.dw;
      if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
        acc = fmaf(gy[(static_cast<long long>(n) * g.O + grp * Og + o) * P + oh * g.OW + ow],
                   x[((static_cast<long long>(n) * g.C + grp * Cg + ci) * g.H + ih) * g.W + iw], acc);
      if (++ow == g.OW) {
        ow = 0;
        if (++oh == g.OH) {
          oh = 0;
          n++;
        }
      }
    }
  }
  atomicAdd(gw + static_cast<long long>(grp) * Og * CK + e, acc);
}

unsigned pixel_blocks(long long pixels) {
  const long long b = (pixels + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 65535LL * 16 ? (b < 1 ? 1 : b) : 65535LL * 16);
}

}  // namespace

bool direct_conv_worth(const ConvGeometry& g) {
  static const bool enabled = kindling::flag_bool("KINDLING_CUDA_DIRECT_CONV", true);
  const int Cg = g.C / g.groups, Og = g.O / g.groups;
  const int CK = Cg * g.kh * g.kw;
  // Few output channels and a short reduction (LeNet: 6 and 16 channels over 25 and 150 taps);
  // both blocks' weight slices must fit in shared memory.
  return enabled && Og <= 32 && CK <= 256 && CB * CK <= kMaxWeights && Og * CB * g.kh * g.kw <= kMaxWeights;
}

void conv2d_direct(Context& c, const ConvGeometry& g, const float* x, const float* w, const float* bias, float* out) {
  const dim3 grid(pixel_blocks(static_cast<long long>(g.N) * g.OH * g.OW), (g.O / g.groups + CB - 1) / CB, g.groups);
  direct_forward_kernel<<<grid, kThreads, 0, c.stream()>>>(x, w, bias, out, g);
}

void conv2d_backward_weight_direct(Context& c, const ConvGeometry& g, const float* gy, const float* x, float* gw) {
  const int weights = (g.O / g.groups) * (g.C / g.groups) * g.kh * g.kw;
  const long long pixels = static_cast<long long>(g.N) * g.OH * g.OW;
  cudaMemsetAsync(gw, 0, static_cast<size_t>(weights) * g.groups * 4, c.stream());
  // About four blocks per SM in all, each thread summing at least 256 pixels.
  const int xblocks = (weights + kThreads - 1) / kThreads;
  long long slices = (4LL * c.props().multiProcessorCount + static_cast<long long>(xblocks) * g.groups - 1) / (static_cast<long long>(xblocks) * g.groups);
  const long long most = (pixels + 255) / 256;
  if (slices > most) slices = most;
  if (slices > 65535) slices = 65535;
  if (slices < 1) slices = 1;
  const int per = static_cast<int>((pixels + slices - 1) / slices);
  const dim3 grid(xblocks, static_cast<unsigned>((pixels + per - 1) / per), g.groups);
  direct_backward_weight_kernel<<<grid, kThreads, 0, c.stream()>>>(gy, x, gw, g, per);
}

void conv2d_backward_input_direct(Context& c, const ConvGeometry& g, const float* gy, const float* w, float* gx) {
  const dim3 grid(pixel_blocks(static_cast<long long>(g.N) * g.H * g.W), (g.C / g.groups + CB - 1) / CB, g.groups);
  direct_backward_input_kernel<<<grid, kThreads, 0, c.stream()>>>(gy, w, gx, g);
}

}  // namespace kc
