#include "conv_flat.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "partition.h"
#include "scratch.h"
#include "simd.h"
#include "small_gemm.h"
#include "threadpool.h"

namespace kd {
namespace {

struct Flat {
  int64_t Cg, Og, Kc, Hp, Wp;
  int64_t Nq;   // flat output positions computed per image: oH·Wp rounded up to the kernels' multiple
  int64_t PS;   // padded plane stride: every element the shifted rows read lies inside it
  std::vector<int64_t> off;  // per tap (c, kh, kw): c·PS + kh·dH·Wp + kw·dW
};

inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }


Flat flat_of(const ConvGeo& g) {
  Flat f;
  f.Cg = g.C / g.G;
  f.Og = g.O / g.G;
  f.Kc = f.Cg * g.kH * g.kW;
  f.Hp = g.H + 2 * g.pH;
  f.Wp = g.W + 2 * g.pW;
  f.Nq = round_up(g.oH * f.Wp, small_gemm_pad());
  const int64_t reach = (g.kH - 1) * g.dH * f.Wp + (g.kW - 1) * g.dW;
  f.PS = round_up(std::max(f.Hp * f.Wp, f.Nq + reach), 16);
  f.off.resize(static_cast<size_t>(f.Kc));
  int64_t k = 0;
  for (int64_t c = 0; c < f.Cg; c++)
    for (int64_t kh = 0; kh < g.kH; kh++)
      for (int64_t kw = 0; kw < g.kW; kw++) f.off[static_cast<size_t>(k++)] = c * f.PS + kh * g.dH * f.Wp + kw * g.dW;
  return f;
}

// Channels [0, Cg) of one image into zero-padded planes xp[Cg][PS].
void pad_image(const ConvGeo& g, const Flat& f, const float* x, float* xp) {
  if (g.pH == 0 && g.pW == 0) {
    const int64_t HW = g.H * g.W;
    for (int64_t c = 0; c < f.Cg; c++) {
      std::memcpy(xp + c * f.PS, x + c * HW, sizeof(float) * HW);
      std::memset(xp + c * f.PS + HW, 0, sizeof(float) * (f.PS - HW));
    }
    return;
  }
  std::memset(xp, 0, sizeof(float) * f.Cg * f.PS);
  for (int64_t c = 0; c < f.Cg; c++)
    for (int64_t h = 0; h < g.H; h++) copy_run(xp + c * f.PS + (h + g.pH) * f.Wp + g.pW, x + (c * g.H + h) * g.W, g.W);
}

// gradOut of one image and group, [Og][oH][oW], laid out as gy'[Og][Nq] with row stride Wp
// (zeros in the dropped columns and past oH·Wp).
void spread_grad(const ConvGeo& g, const Flat& f, const float* gy, float* gyw) {
  for (int64_t o = 0; o < f.Og; o++) {
    float* dst = gyw + o * f.Nq;
    const float* src = gy + o * g.oH * g.oW;
    if (f.Wp == g.oW) {
      std::memcpy(dst, src, sizeof(float) * g.oH * g.oW);
    } else {
      for (int64_t oh = 0; oh < g.oH; oh++) {
        copy_run(dst + oh * f.Wp, src + oh * g.oW, g.oW);
        std::memset(dst + oh * f.Wp + g.oW, 0, sizeof(float) * (f.Wp - g.oW));
      }
    }
    std::memset(dst + g.oH * f.Wp, 0, sizeof(float) * (f.Nq - g.oH * f.Wp));
  }
}

}  // namespace

bool conv_flat_eligible(const ConvGeo& g) {
  const int64_t Og = g.O / g.G, Kc = (g.C / g.G) * g.kH * g.kW, Wp = g.W + 2 * g.pW;
  // Few output channels (the bcast tile's rows) and taps; at most half of the columns dropped.
  return g.sH == 1 && g.sW == 1 && Og <= 32 && Kc <= 1024 && g.oW >= 1 && g.oH >= 1 && Wp <= 2 * g.oW;
}

void conv2d_forward_flat(const ConvGeo& g, const float* x, const float* w, const float* bias, float* y) {
  const Flat f = flat_of(g);
  const int64_t P = g.oH * g.oW;
  parallel_for(g.N, 1, [&](int64_t lo, int64_t hi, int) {
    float* xp = scratch(0, static_cast<size_t>(f.Cg * f.PS));
    float* out = scratch(1, static_cast<size_t>(f.Og * f.Nq));
    for (int64_t n = lo; n < hi; n++)
      for (int64_t gr = 0; gr < g.G; gr++) {
        pad_image(g, f, x + (n * g.C + gr * f.Cg) * g.H * g.W, xp);
        // The bias starts the accumulators: no separate pass over y.
        small_gemm_bcast(f.Og, f.Nq, f.Kc, w + gr * f.Og * f.Kc, f.Kc, 1, xp, f.off.data(), out, f.Nq, bias ? bias + gr * f.Og : nullptr);
        float* yg = y + (n * g.O + gr * f.Og) * P;
        for (int64_t o = 0; o < f.Og; o++) {
          if (f.Wp == g.oW) {
            std::memcpy(yg + o * P, out + o * f.Nq, sizeof(float) * P);
          } else {
            for (int64_t oh = 0; oh < g.oH; oh++) copy_run(yg + o * P + oh * g.oW, out + o * f.Nq + oh * f.Wp, g.oW);
          }
        }
      }
  });
}

void conv2d_backward_weight_flat(const ConvGeo& g, const float* gy, const float* x, float* gw) {
  const Flat f = flat_of(g);
  const int64_t P = g.oH * g.oW;
  const int64_t XS = f.Cg * f.PS, GS = f.Og * f.Nq;
  // Images per batch of the dot kernel: its accumulators are summed across lanes once per batch.
  const int64_t nb = std::max<int64_t>(1, std::min<int64_t>(16, (256 << 10) / (sizeof(float) * (XS + GS))));
  partitioned_sum(g.N, g.O * f.Kc, gw, [&](int64_t lo, int64_t hi, float* acc) {
    float* xp = scratch(0, static_cast<size_t>(nb * XS));
    float* gyw = scratch(1, static_cast<size_t>(nb * GS));
    for (int64_t n0 = lo; n0 < hi; n0 += nb) {
      const int64_t cnt = std::min(nb, hi - n0);
      for (int64_t gr = 0; gr < g.G; gr++) {
        for (int64_t j = 0; j < cnt; j++) {
          pad_image(g, f, x + ((n0 + j) * g.C + gr * f.Cg) * g.H * g.W, xp + j * XS);
          spread_grad(g, f, gy + ((n0 + j) * g.O + gr * f.Og) * P, gyw + j * GS);
        }
        small_gemm_dot(f.Og, f.Kc, cnt, f.Nq, gyw, GS, f.Nq, xp, XS, f.off.data(), acc + gr * f.Og * f.Kc, f.Kc);
      }
    }
  });
}

bool conv2d_backward_input_flat(const ConvGeo& g, const float* gy, const float* w, float* gx) {
  for (int64_t i = 0, n = g.O * (g.C / g.G) * g.kH * g.kW; i < n; i++)
    if (!std::isfinite(w[i])) return false;
  const Flat f = flat_of(g);
  const int64_t P = g.oH * g.oW;
  std::vector<int64_t> goff(static_cast<size_t>(f.Og));
  for (int64_t o = 0; o < f.Og; o++) goff[static_cast<size_t>(o)] = o * f.Nq;
  parallel_for(g.N, 1, [&](int64_t lo, int64_t hi, int) {
    float* gyw = scratch(0, static_cast<size_t>(f.Og * f.Nq));
    float* gxp = scratch(1, static_cast<size_t>(f.Cg * f.PS));
    const int64_t Nq = f.Nq, PS = f.PS, Cg = f.Cg, KK = g.kH * g.kW;
    for (int64_t n = lo; n < hi; n++)
      for (int64_t gr = 0; gr < g.G; gr++) {
        spread_grad(g, f, gy + (n * g.O + gr * f.Og) * P, gyw);
        std::memset(gxp, 0, sizeof(float) * Cg * PS);
        // One kernel tap (kh, kw) at a time, for every channel: the rows of gcol = W(·, c, kh, kw)ᵀ · gy'
        // (A(c, o) = w[(g·Og + o)·Kc + c·kH·kW + kh·kW + kw]) are added straight into the padded
        // planes at the tap's shift (col2im as the kernel's store: no gcol buffer). A tap's Cg rows
        // land in different planes, and consecutive taps of one plane are a whole call apart, so no
        // add reads back a store still in flight.
        for (int64_t kh = 0; kh < g.kH; kh++)
          for (int64_t kw = 0; kw < g.kW; kw++)
            small_gemm_bcast(Cg, Nq, f.Og, w + gr * f.Og * f.Kc + kh * g.kW + kw, KK, f.Kc, gyw, goff.data(),
                             gxp + kh * g.dH * f.Wp + kw * g.dW, PS, nullptr, true);
        float* gxg = gx + (n * g.C + gr * f.Cg) * g.H * g.W;
        for (int64_t c = 0; c < f.Cg; c++)
          for (int64_t h = 0; h < g.H; h++) copy_run(gxg + (c * g.H + h) * g.W, gxp + c * f.PS + (h + g.pH) * f.Wp + g.pW, g.W);
      }
  });
  return true;
}

}  // namespace kd
