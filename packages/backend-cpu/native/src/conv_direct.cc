#include "conv_direct.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "partition.h"
#include "scratch.h"
#include "threadpool.h"

namespace kd {
namespace {

struct Padded {
  int64_t Hp, Wp;  // padded plane size; Wp leaves room to read 8 columns past any output block
};

Padded padded_size(const ConvGeo& g) {
  const int64_t oW8 = (g.oW + 7) / 8 * 8;
  const int64_t Hp = g.H + 2 * g.pH;
  const int64_t Wp = std::max(g.W + 2 * g.pW, oW8 + (g.kW - 1) * g.dW) + 8;
  return {Hp, Wp};
}

// Copies channels [0, Cg) of one image into zero-padded planes [Cg, Hp, Wp].
void pad_image(const ConvGeo& g, int64_t Cg, const Padded& p, const float* x, float* xp) {
  std::fill(xp, xp + Cg * p.Hp * p.Wp, 0.0f);
  for (int64_t c = 0; c < Cg; c++)
    for (int64_t h = 0; h < g.H; h++)
      std::memcpy(xp + (c * p.Hp + h + g.pH) * p.Wp + g.pW, x + (c * g.H + h) * g.W, sizeof(float) * g.W);
}

// y[o0 .. o0+OB) rows of one image and group: acc over taps, 8 output columns at a time.
template <int OB>
void forward_block(const ConvGeo& g, int64_t Cg, const Padded& p, const float* xp, const float* w, const float* bias,
                   int64_t o0, float* y) {
  const int64_t taps = Cg * g.kH * g.kW;
  const int64_t P = g.oH * g.oW;
  alignas(32) float tail[8];
  for (int64_t oh = 0; oh < g.oH; oh++) {
    for (int64_t ob = 0; ob < g.oW; ob += 8) {
      __m256 acc[OB];
      for (int j = 0; j < OB; j++) acc[j] = _mm256_set1_ps(bias ? bias[o0 + j] : 0.0f);
      int64_t t = 0;
      for (int64_t c = 0; c < Cg; c++)
        for (int64_t kh = 0; kh < g.kH; kh++) {
          const float* row = xp + (c * p.Hp + oh + kh * g.dH) * p.Wp + ob;
          for (int64_t kw = 0; kw < g.kW; kw++, t++) {
            const __m256 xv = _mm256_loadu_ps(row + kw * g.dW);
            for (int j = 0; j < OB; j++) acc[j] = _mm256_fmadd_ps(_mm256_broadcast_ss(w + (o0 + j) * taps + t), xv, acc[j]);
          }
        }
      const int64_t n = std::min<int64_t>(8, g.oW - ob);
      for (int j = 0; j < OB; j++) {
        float* dst = y + (o0 + j) * P + oh * g.oW + ob;
        if (n == 8) {
          _mm256_storeu_ps(dst, acc[j]);
        } else {
          _mm256_store_ps(tail, acc[j]);
          std::memcpy(dst, tail, sizeof(float) * n);
        }
      }
    }
  }
}

// gw[o0 .. o0+OB) += Σ over one image's positions of gy ⊗ shifted input, gy given zero-padded to
// width oW8 (so the 8-wide blocks past oW add nothing).
template <int OB>
void weight_block(const ConvGeo& g, int64_t Cg, const Padded& p, const float* xp, const float* gyp, int64_t oW8, int64_t o0, float* gw) {
  const int64_t taps = Cg * g.kH * g.kW;
  for (int64_t c = 0; c < Cg; c++)
    for (int64_t kh = 0; kh < g.kH; kh++)
      for (int64_t kw = 0; kw < g.kW; kw++) {
        __m256 acc[OB];
        for (int j = 0; j < OB; j++) acc[j] = _mm256_setzero_ps();
        for (int64_t oh = 0; oh < g.oH; oh++) {
          const float* row = xp + (c * p.Hp + oh + kh * g.dH) * p.Wp + kw * g.dW;
          for (int64_t ob = 0; ob < oW8; ob += 8) {
            const __m256 xv = _mm256_loadu_ps(row + ob);
            for (int j = 0; j < OB; j++)
              acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(gyp + ((o0 + j) * g.oH + oh) * oW8 + ob), xv, acc[j]);
          }
        }
        const int64_t t = (c * g.kH + kh) * g.kW + kw;
        for (int j = 0; j < OB; j++) {
          __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[j]), _mm256_extractf128_ps(acc[j], 1));
          s = _mm_hadd_ps(s, s);
          s = _mm_hadd_ps(s, s);
          gw[(o0 + j) * taps + t] += _mm_cvtss_f32(s);
        }
      }
}

// Dispatches a block of `ob` (1..8) output channels to the matching instantiation.
template <template <int> class K, typename... A>
void by_block(int ob, A&&... args) {
  switch (ob) {
    case 8: K<8>::run(args...); break;
    case 7: K<7>::run(args...); break;
    case 6: K<6>::run(args...); break;
    case 5: K<5>::run(args...); break;
    case 4: K<4>::run(args...); break;
    case 3: K<3>::run(args...); break;
    case 2: K<2>::run(args...); break;
    default: K<1>::run(args...); break;
  }
}
template <int OB>
struct Fwd {
  template <typename... A>
  static void run(A... a) { forward_block<OB>(a...); }
};
template <int OB>
struct Wgt {
  template <typename... A>
  static void run(A... a) { weight_block<OB>(a...); }
};

}  // namespace

bool conv_direct_eligible(const ConvGeo& g) {
  return g.sH == 1 && g.sW == 1 && (g.C / g.G) * g.kH * g.kW <= 64 && g.oW >= 8;
}

void conv2d_forward_direct(const ConvGeo& g, const float* x, const float* w, const float* bias, float* y) {
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, taps = Cg * g.kH * g.kW, P = g.oH * g.oW;
  const Padded p = padded_size(g);
  parallel_for(g.N, 1, [&](int64_t lo, int64_t hi, int) {
    float* xp = scratch(0, static_cast<size_t>(Cg * p.Hp * p.Wp));
    for (int64_t n = lo; n < hi; n++)
      for (int64_t gr = 0; gr < g.G; gr++) {
        pad_image(g, Cg, p, x + (n * g.C + gr * Cg) * g.H * g.W, xp);
        const float* wg = w + gr * Og * taps;
        const float* bg = bias ? bias + gr * Og : nullptr;
        float* yg = y + (n * g.O + gr * Og) * P;
        for (int64_t o0 = 0; o0 < Og; o0 += 8)
          by_block<Fwd>(static_cast<int>(std::min<int64_t>(8, Og - o0)), g, Cg, p, static_cast<const float*>(xp), wg, bg, o0, yg);
      }
  });
}

void conv2d_backward_weight_direct(const ConvGeo& g, const float* gy, const float* x, float* gw) {
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, taps = Cg * g.kH * g.kW, P = g.oH * g.oW;
  const int64_t oW8 = (g.oW + 7) / 8 * 8;
  const int64_t wsize = g.O * taps;
  const Padded p = padded_size(g);
  partitioned_sum(g.N, wsize, gw, [&](int64_t lo, int64_t hi, float* acc) {
    float* xp = scratch(0, static_cast<size_t>(Cg * p.Hp * p.Wp));
    float* gyp = scratch(1, static_cast<size_t>(Og * g.oH * oW8));
    std::fill(gyp, gyp + Og * g.oH * oW8, 0.0f);  // the columns past oW must stay 0
    for (int64_t n = lo; n < hi; n++)
      for (int64_t gr = 0; gr < g.G; gr++) {
        pad_image(g, Cg, p, x + (n * g.C + gr * Cg) * g.H * g.W, xp);
        const float* gyg = gy + (n * g.O + gr * Og) * P;
        for (int64_t o = 0; o < Og; o++)
          for (int64_t oh = 0; oh < g.oH; oh++)
            std::memcpy(gyp + (o * g.oH + oh) * oW8, gyg + (o * g.oH + oh) * g.oW, sizeof(float) * g.oW);
        float* gwg = acc + gr * Og * taps;
        for (int64_t o0 = 0; o0 < Og; o0 += 4)
          by_block<Wgt>(static_cast<int>(std::min<int64_t>(4, Og - o0)), g, Cg, p, static_cast<const float*>(xp),
                        static_cast<const float*>(gyp), oW8, o0, gwg);
      }
  });
}

}  // namespace kd
