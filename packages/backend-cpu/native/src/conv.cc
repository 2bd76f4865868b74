// Layout of the work: the batch is split into one contiguous range of images per thread; each
// thread walks its range in chunks of `nb` images and, per chunk and group, builds one col
// matrix [Kc, nb·P] (Kc = C/G·kH·kW taps, P = oH·oW positions, image j in columns j·P..) so the
// GEMMs are wide enough for BLAS to run near peak even when P is small (LeNet: P = 100).
//
//   forward:          Y_chunk [Og, nb·P] = W_g [Og, Kc] · col                → scattered to y (+ bias)
//   backward input:   gcol [Kc, nb·P]    = W_gᵀ · GY_chunk [Og, nb·P]        → col2im into gx
//   backward weight:  gW_g [Og, Kc]     += GY_chunk · colᵀ   (fixed batch partitions summed in order: partition.h)
//
// 1×1 stride-1 unpadded convolutions use the image itself as the col matrix, one image at a time.
#include "conv.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#ifdef __AVX2__
#include "conv_direct.h"
#include "conv_flat.h"
#endif
#include "gemm.h"
#include "partition.h"
#include "scratch.h"
#include "simd.h"
#include "threadpool.h"

namespace kd {
namespace {

// Budget for one col matrix (per thread) and the width we aim for.
constexpr int64_t kColBytes = 8 << 20;
constexpr int64_t kTargetCols = 1024;

bool pointwise(const ConvGeo& g) {
  return g.kH == 1 && g.kW == 1 && g.sH == 1 && g.sW == 1 && g.pH == 0 && g.pW == 0;
}

// [lo, hi): output columns whose input column ow·s + shift lies in [0, size).
inline void valid_range(int64_t shift, int64_t s, int64_t size, int64_t o_size, int64_t& lo, int64_t& hi) {
  lo = shift >= 0 ? 0 : (-shift + s - 1) / s;
  int64_t last = size - 1 - shift;  // ow·s <= last
  hi = last < 0 ? 0 : std::min(o_size, last / s + 1);
  lo = std::min(lo, o_size);
  if (hi < lo) hi = lo;
}

// dst[0, n) += src[0, n), 8 wide with a scalar tail.
inline void add_run(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
#ifdef __AVX2__
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_add_ps(_mm256_loadu_ps(dst + i), _mm256_loadu_ps(src + i)));
#endif
  for (; i < n; i++) dst[i] += src[i];
}

// col[row·ldc + p] for the channels [0, Cg) of the image plane block at x.
void im2col(const ConvGeo& g, int64_t Cg, const float* x, float* col, int64_t ldc) {
  int64_t row = 0;
  for (int64_t c = 0; c < Cg; c++) {
    const float* plane = x + c * g.H * g.W;
    for (int64_t kh = 0; kh < g.kH; kh++) {
      for (int64_t kw = 0; kw < g.kW; kw++, row++) {
        const int64_t shiftW = kw * g.dW - g.pW;
        int64_t lo, hi;
        valid_range(shiftW, g.sW, g.W, g.oW, lo, hi);
        float* dst = col + row * ldc;
        for (int64_t oh = 0; oh < g.oH; oh++, dst += g.oW) {
          const int64_t ih = oh * g.sH - g.pH + kh * g.dH;
          if (ih < 0 || ih >= g.H || lo >= hi) {
            for (int64_t ow = 0; ow < g.oW; ow++) dst[ow] = 0.0f;
            continue;
          }
          const float* src = plane + ih * g.W + shiftW;
          for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0.0f;
          if (g.sW == 1) {
            copy_run(dst + lo, src + lo, hi - lo);
          } else {
            for (int64_t ow = lo; ow < hi; ow++) dst[ow] = src[ow * g.sW];
          }
          for (int64_t ow = hi; ow < g.oW; ow++) dst[ow] = 0.0f;
        }
      }
    }
  }
}

// gx (channels [0, Cg) of one image) += col2im(col).
void col2im(const ConvGeo& g, int64_t Cg, const float* col, int64_t ldc, float* gx) {
  int64_t row = 0;
  for (int64_t c = 0; c < Cg; c++) {
    float* plane = gx + c * g.H * g.W;
    for (int64_t kh = 0; kh < g.kH; kh++) {
      for (int64_t kw = 0; kw < g.kW; kw++, row++) {
        const int64_t shiftW = kw * g.dW - g.pW;
        int64_t lo, hi;
        valid_range(shiftW, g.sW, g.W, g.oW, lo, hi);
        if (lo >= hi) continue;
        const float* src = col + row * ldc;
        for (int64_t oh = 0; oh < g.oH; oh++, src += g.oW) {
          const int64_t ih = oh * g.sH - g.pH + kh * g.dH;
          if (ih < 0 || ih >= g.H) continue;
          float* dst = plane + ih * g.W + shiftW;
          if (g.sW == 1) {
            add_run(dst + lo, src + lo, hi - lo);
          } else {
            for (int64_t ow = lo; ow < hi; ow++) dst[ow * g.sW] += src[ow];
          }
        }
      }
    }
  }
}

struct Dims {
  int64_t Cg, Og, Kc, P, HW;
};

Dims dims_of(const ConvGeo& g) {
  Dims d;
  d.Cg = g.C / g.G;
  d.Og = g.O / g.G;
  d.Kc = d.Cg * g.kH * g.kW;
  d.P = g.oH * g.oW;
  d.HW = g.H * g.W;
  return d;
}

// Images per chunk for a thread that owns `span` images.
int64_t chunk_images(const Dims& d, int64_t span) {
  const int64_t per_image = std::max<int64_t>(1, d.Kc * d.P * static_cast<int64_t>(sizeof(float)));
  int64_t nb = std::min((kTargetCols + d.P - 1) / std::max<int64_t>(1, d.P), kColBytes / per_image);
  return std::max<int64_t>(1, std::min(nb, span));
}

// Runs body(lo, hi, tid) over images: split across the pool when the batch allows it, otherwise
// on this thread (the GEMMs then split themselves).
template <typename F>
void over_images(int64_t N, F&& body) {
  if (N >= pool_threads() && !in_parallel()) {
    parallel_for(N, 1, [&](int64_t lo, int64_t hi, int tid) { body(lo, hi, tid); });
  } else {
    body(0, N, 0);
  }
}

// A pointwise kernel (1×1, stride 1, no padding) needs no im2col: an image's group block is its
// own col matrix, so each pass is one GEMM per (image, group), which `gemm(n, gr)` runs.
template <typename F>
void over_image_groups(const ConvGeo& g, int64_t lo, int64_t hi, F&& gemm) {
  for (int64_t n = lo; n < hi; n++)
    for (int64_t gr = 0; gr < g.G; gr++) gemm(n, gr);
}

// The im2col paths take images in chunks (chunk_images) so that one GEMM covers several; all three
// walk them alike. Calls body(n0, cnt, ld, col, buf) per chunk of cnt images from n0 (ld = cnt·P
// columns) with this thread's scratch: col for [Kc, ld] and buf for [Og, ld].
template <typename F>
void over_chunks(const Dims& d, int64_t lo, int64_t hi, F&& body) {
  const int64_t nb = chunk_images(d, hi - lo);
  float* col = scratch(0, static_cast<size_t>(d.Kc * nb * d.P));
  float* buf = scratch(1, static_cast<size_t>(d.Og * nb * d.P));
  for (int64_t n0 = lo; n0 < hi; n0 += nb) {
    const int64_t cnt = std::min(nb, hi - n0);
    body(n0, cnt, cnt * d.P, col, buf);
  }
}

// Group gr's [Og, P] gradient blocks of images n0..n0+cnt as one [Og, ld] matrix (both backward
// passes multiply by it): gy itself for one image, else gathered into buf.
Mat gy_chunk(const ConvGeo& g, const Dims& d, const float* gy, int64_t n0, int64_t cnt, int64_t ld, int64_t gr, float* buf) {
  if (cnt == 1) return Mat{gy + (n0 * g.O + gr * d.Og) * d.P, d.P, 1};
  for (int64_t j = 0; j < cnt; j++)
    for (int64_t o = 0; o < d.Og; o++)
      std::memcpy(buf + o * ld + j * d.P, gy + ((n0 + j) * g.O + gr * d.Og + o) * d.P, sizeof(float) * d.P);
  return Mat{buf, ld, 1};
}

}  // namespace

void conv2d_forward(const ConvGeo& g, const float* x, const float* w, const float* bias, float* y) {
#ifdef __AVX2__  // the flat and direct kernels are AVX2 code; the baseline build takes im2col + GEMM
  if (conv_flat_eligible(g)) {
    conv2d_forward_flat(g, x, w, bias, y);
    return;
  }
  if (conv_direct_eligible(g)) {
    conv2d_forward_direct(g, x, w, bias, y);
    return;
  }
#endif
  const Dims d = dims_of(g);
  over_images(g.N, [&](int64_t lo, int64_t hi, int) {
    if (pointwise(g)) {
      over_image_groups(g, lo, hi, [&](int64_t n, int64_t gr) {
        sgemm(d.Og, d.P, d.Kc, Mat{w + gr * d.Og * d.Kc, d.Kc, 1}, Mat{x + (n * g.C + gr * d.Cg) * d.HW, d.P, 1},
              MutMat{y + (n * g.O + gr * d.Og) * d.P, d.P, 1}, false);
      });
    } else {
      over_chunks(d, lo, hi, [&](int64_t n0, int64_t cnt, int64_t ld, float* col, float* tmp) {
        for (int64_t gr = 0; gr < g.G; gr++) {
          for (int64_t j = 0; j < cnt; j++) im2col(g, d.Cg, x + ((n0 + j) * g.C + gr * d.Cg) * d.HW, col + j * d.P, ld);
          if (cnt == 1) {
            sgemm(d.Og, d.P, d.Kc, Mat{w + gr * d.Og * d.Kc, d.Kc, 1}, Mat{col, ld, 1},
                 MutMat{y + (n0 * g.O + gr * d.Og) * d.P, d.P, 1}, false);
          } else {
            sgemm(d.Og, ld, d.Kc, Mat{w + gr * d.Og * d.Kc, d.Kc, 1}, Mat{col, ld, 1}, MutMat{tmp, ld, 1}, false);
            for (int64_t j = 0; j < cnt; j++)
              for (int64_t o = 0; o < d.Og; o++)
                std::memcpy(y + ((n0 + j) * g.O + gr * d.Og + o) * d.P, tmp + o * ld + j * d.P, sizeof(float) * d.P);
          }
        }
      });
    }
    if (bias) {
      for (int64_t n = lo; n < hi; n++)
        for (int64_t o = 0; o < g.O; o++) {
          float* row = y + (n * g.O + o) * d.P;
          const float b = bias[o];
          for (int64_t i = 0; i < d.P; i++) row[i] += b;
        }
    }
  });
}

void conv2d_backward_input(const ConvGeo& g, const float* gy, const float* w, float* gx) {
#ifdef __AVX2__
  if (conv_flat_eligible(g) && conv2d_backward_input_flat(g, gy, w, gx)) return;
#endif
  const Dims d = dims_of(g);
  over_images(g.N, [&](int64_t lo, int64_t hi, int) {
    if (pointwise(g)) {
      // W_gᵀ: element (k, o) of [Kc, Og] is w[(g·Og + o)·Kc + k].
      over_image_groups(g, lo, hi, [&](int64_t n, int64_t gr) {
        sgemm(d.Kc, d.P, d.Og, Mat{w + gr * d.Og * d.Kc, 1, d.Kc}, Mat{gy + (n * g.O + gr * d.Og) * d.P, d.P, 1},
              MutMat{gx + (n * g.C + gr * d.Cg) * d.HW, d.P, 1}, false);
      });
      return;
    }
    std::memset(gx + lo * g.C * d.HW, 0, sizeof(float) * (hi - lo) * g.C * d.HW);
    over_chunks(d, lo, hi, [&](int64_t n0, int64_t cnt, int64_t ld, float* col, float* gyc) {
      for (int64_t gr = 0; gr < g.G; gr++) {
        const Mat GY = gy_chunk(g, d, gy, n0, cnt, ld, gr, gyc);
        sgemm(d.Kc, ld, d.Og, Mat{w + gr * d.Og * d.Kc, 1, d.Kc}, GY, MutMat{col, ld, 1}, false);
        for (int64_t j = 0; j < cnt; j++) col2im(g, d.Cg, col + j * d.P, ld, gx + ((n0 + j) * g.C + gr * d.Cg) * d.HW);
      }
    });
  });
}

void conv2d_backward_weight(const ConvGeo& g, const float* gy, const float* x, float* gw) {
#ifdef __AVX2__
  if (conv_flat_eligible(g)) {
    conv2d_backward_weight_flat(g, gy, x, gw);
    return;
  }
  if (conv_direct_eligible(g)) {
    conv2d_backward_weight_direct(g, gy, x, gw);
    return;
  }
#endif
  const Dims d = dims_of(g);
  partitioned_sum(g.N, g.O * d.Kc, gw, [&](int64_t lo, int64_t hi, float* acc) {
    if (pointwise(g)) {
      over_image_groups(g, lo, hi, [&](int64_t n, int64_t gr) {
        sgemm(d.Og, d.Kc, d.P, Mat{gy + (n * g.O + gr * d.Og) * d.P, d.P, 1}, Mat{x + (n * g.C + gr * d.Cg) * d.HW, 1, d.P},
              MutMat{acc + gr * d.Og * d.Kc, d.Kc, 1}, true);
      });
      return;
    }
    over_chunks(d, lo, hi, [&](int64_t n0, int64_t cnt, int64_t ld, float* col, float* gyc) {
      for (int64_t gr = 0; gr < g.G; gr++) {
        for (int64_t j = 0; j < cnt; j++) im2col(g, d.Cg, x + ((n0 + j) * g.C + gr * d.Cg) * d.HW, col + j * d.P, ld);
        const Mat GY = gy_chunk(g, d, gy, n0, cnt, ld, gr, gyc);
        // colᵀ: element (p, k) of [ld, Kc] is col[k·ld + p].
        sgemm(d.Og, d.Kc, ld, GY, Mat{col, 1, ld}, MutMat{acc + gr * d.Og * d.Kc, d.Kc, 1}, true);
      }
    });
  });
}

}  // namespace kd
