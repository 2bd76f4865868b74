#include "pool2d.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "threadpool.h"

namespace kd {
namespace {

constexpr int64_t kGrainElems = 1 << 14;  // output elements per thread at least

int64_t plane_grain(const PoolGeo& g) {
  const int64_t per = std::max<int64_t>(1, g.oH * g.oW);
  return std::max<int64_t>(1, kGrainElems / per);
}

// The general kernels (any window) walk alike: planes split across the pool, then every output
// with its row and column windows ([lo, hi, padded] taps, see PoolGeo). Calls
// f(xo, yo, hw, ww, hs, ws): the plane's input offset, the output's offset, the windows, and the
// input coordinates of tap (0, 0). A template, so each kernel's body is inlined into the loops.
template <typename F>
void over_windows(const PoolGeo& g, F&& f) {
  parallel_for(g.planes, plane_grain(g), [&](int64_t lo, int64_t hi, int) {
    for (int64_t plane = lo; plane < hi; plane++) {
      const int64_t xo = plane * g.H * g.W;
      const int64_t yo = plane * g.oH * g.oW;
      for (int64_t oh = 0; oh < g.oH; oh++) {
        const int32_t* hw = g.hwin + 3 * oh;
        const int64_t hs = oh * g.sH - g.pH;
        for (int64_t ow = 0; ow < g.oW; ow++) f(xo, yo + oh * g.oW + ow, hw, g.wwin + 3 * ow, hs, ow * g.sW - g.pW);
      }
    }
  });
}

inline double divisor(const int32_t* hw, const int32_t* ww, double over, bool include_pad) {
  if (over > 0) return over;
  if (include_pad) return static_cast<double>(hw[2]) * ww[2];
  return static_cast<double>(hw[1] - hw[0]) * (ww[1] - ww[0]);
}

// 2×2 windows at stride 2 that all lie fully inside the input (LeNet's pooling): the general
// loops spend more on window bookkeeping than on the four adds, so this case gets its own.
bool is_2x2_full(const PoolGeo& g) {
  if (g.sH != 2 || g.sW != 2 || g.pH != 0 || g.pW != 0 || g.dH != 1 || g.dW != 1) return false;
  if (2 * g.oH > g.H || 2 * g.oW > g.W) return false;
  for (int64_t o = 0; o < g.oH; o++)
    if (g.hwin[3 * o] != 0 || g.hwin[3 * o + 1] != 2) return false;
  for (int64_t o = 0; o < g.oW; o++)
    if (g.wwin[3 * o] != 0 || g.wwin[3 * o + 1] != 2) return false;
  return true;
}

// True when every window has all kH×kW taps inside the input (no padding reached).
bool all_full(const PoolGeo& g, int64_t kH, int64_t kW) {
  for (int64_t o = 0; o < g.oH; o++)
    if (g.hwin[3 * o] != 0 || g.hwin[3 * o + 1] != kH) return false;
  for (int64_t o = 0; o < g.oW; o++)
    if (g.wwin[3 * o] != 0 || g.wwin[3 * o + 1] != kW) return false;
  return true;
}

// Max pooling with a compile-time K×K window that is always full: fully unrolled taps, in the
// same order and with the same NaN rule as the general loop, so results and indices are identical.
template <int K>
void maxpool_full(const PoolGeo& g, const float* x, float* y, int32_t* idx) {
  parallel_for(g.planes, plane_grain(g), [&](int64_t lo, int64_t hi, int) {
    for (int64_t plane = lo; plane < hi; plane++) {
      const float* X = x + plane * g.H * g.W;
      float* Y = y + plane * g.oH * g.oW;
      int32_t* I = idx + plane * g.oH * g.oW;
      for (int64_t oh = 0; oh < g.oH; oh++) {
        const int64_t hs = oh * g.sH - g.pH;
        for (int64_t ow = 0; ow < g.oW; ow++) {
          const int64_t base = hs * g.W + ow * g.sW - g.pW;
          int64_t max_idx = base;
          float max_val = -std::numeric_limits<float>::infinity();
          for (int th = 0; th < K; th++)
            for (int tw = 0; tw < K; tw++) {
              const int64_t i = base + th * g.dH * g.W + tw * g.dW;
              const float v = X[i];
              if (v > max_val || v != v) {
                max_val = v;
                max_idx = i;
              }
            }
          Y[oh * g.oW + ow] = max_val;
          I[oh * g.oW + ow] = static_cast<int32_t>(max_idx);
        }
      }
    }
  });
}

}  // namespace

void maxpool_forward(const PoolGeo& g, const float* x, float* y, int32_t* idx) {
  if (all_full(g, 3, 3)) {
    maxpool_full<3>(g, x, y, idx);
    return;
  }
  if (all_full(g, 2, 2)) {
    maxpool_full<2>(g, x, y, idx);
    return;
  }
  over_windows(g, [&](int64_t xo, int64_t yo, const int32_t* hw, const int32_t* ww, int64_t hs, int64_t ws) {
    const float* X = x + xo;
    // PyTorch starts from the first in-bounds tap, so an all -inf window still points inside it.
    int64_t max_idx = (hs + hw[0] * g.dH) * g.W + (ws + ww[0] * g.dW);
    float max_val = -std::numeric_limits<float>::infinity();
    for (int64_t th = hw[0]; th < hw[1]; th++) {
      const int64_t row = (hs + th * g.dH) * g.W + ws;
      for (int64_t tw = ww[0]; tw < ww[1]; tw++) {
        const int64_t i = row + tw * g.dW;
        const float v = X[i];
        if (v > max_val || std::isnan(v)) {
          max_val = v;
          max_idx = i;
        }
      }
    }
    y[yo] = max_val;
    idx[yo] = static_cast<int32_t>(max_idx);
  });
}

bool maxpool_backward(const PoolGeo& g, const float* gy, const int32_t* idx, float* gx, int32_t* bad) {
  const int64_t HW = g.H * g.W, P = g.oH * g.oW;
  std::atomic<bool> ok{true};
  std::atomic<int32_t> bad_idx{0};
  parallel_for(g.planes, plane_grain(g), [&](int64_t lo, int64_t hi, int) {
    for (int64_t plane = lo; plane < hi; plane++) {
      float* GX = gx + plane * HW;
      const float* GY = gy + plane * P;
      const int32_t* I = idx + plane * P;
      for (int64_t i = 0; i < P; i++) {
        const int32_t j = I[i];
        if (j < 0 || j >= HW) {
          ok.store(false);
          bad_idx.store(j);
          return;
        }
        GX[j] += GY[i];
      }
    }
  });
  *bad = bad_idx.load();
  return ok.load();
}

void avgpool_forward(const PoolGeo& g, double over, bool include_pad, const float* x, float* y) {
  if (is_2x2_full(g)) {
    const double div = over > 0 ? over : 4.0;  // full windows: padded and in-bounds counts are both 4
    parallel_for(g.planes, plane_grain(g), [&](int64_t lo, int64_t hi, int) {
      for (int64_t plane = lo; plane < hi; plane++) {
        const float* X = x + plane * g.H * g.W;
        float* Y = y + plane * g.oH * g.oW;
        for (int64_t oh = 0; oh < g.oH; oh++) {
          const float* r0 = X + 2 * oh * g.W;
          const float* r1 = r0 + g.W;
          float* out = Y + oh * g.oW;
          for (int64_t ow = 0; ow < g.oW; ow++) {
            const double sum = (static_cast<double>(r0[2 * ow]) + r0[2 * ow + 1]) + r1[2 * ow] + r1[2 * ow + 1];
            out[ow] = static_cast<float>(sum / div);
          }
        }
      }
    });
    return;
  }
  over_windows(g, [&](int64_t xo, int64_t yo, const int32_t* hw, const int32_t* ww, int64_t hs, int64_t ws) {
    if (hw[0] >= hw[1] || ww[0] >= ww[1]) {
      y[yo] = 0.0f;
      return;
    }
    double sum = 0;
    for (int64_t th = hw[0]; th < hw[1]; th++) {
      const float* row = x + xo + (hs + th * g.dH) * g.W + ws;
      for (int64_t tw = ww[0]; tw < ww[1]; tw++) sum += row[tw * g.dW];
    }
    y[yo] = static_cast<float>(sum / divisor(hw, ww, over, include_pad));
  });
}

void avgpool_backward(const PoolGeo& g, double over, bool include_pad, const float* gy, float* gx, bool gx_is_zero) {
  if (is_2x2_full(g)) {
    const double div = over > 0 ? over : 4.0;
    const bool exact = gx_is_zero && 2 * g.oH == g.H && 2 * g.oW == g.W;
    parallel_for(g.planes, plane_grain(g), [&](int64_t lo, int64_t hi, int) {
      for (int64_t plane = lo; plane < hi; plane++) {
        float* GX = gx + plane * g.H * g.W;
        const float* GY = gy + plane * g.oH * g.oW;
        for (int64_t oh = 0; oh < g.oH; oh++) {
          float* r0 = GX + 2 * oh * g.W;
          float* r1 = r0 + g.W;
          const float* in = GY + oh * g.oW;
          if (exact) {
            // The windows tile gx exactly and core zero-fills it: each element gets exactly one
            // contribution, so store it instead of reading the zeros back (one pass less over gx).
            for (int64_t ow = 0; ow < g.oW; ow++) {
              const float v = static_cast<float>(in[ow] / div);
              r0[2 * ow] = v;
              r0[2 * ow + 1] = v;
              r1[2 * ow] = v;
              r1[2 * ow + 1] = v;
            }
            continue;
          }
          for (int64_t ow = 0; ow < g.oW; ow++) {
            const double v = in[ow] / div;
            r0[2 * ow] = static_cast<float>(r0[2 * ow] + v);
            r0[2 * ow + 1] = static_cast<float>(r0[2 * ow + 1] + v);
            r1[2 * ow] = static_cast<float>(r1[2 * ow] + v);
            r1[2 * ow + 1] = static_cast<float>(r1[2 * ow + 1] + v);
          }
        }
      }
    });
    return;
  }
  over_windows(g, [&](int64_t xo, int64_t yo, const int32_t* hw, const int32_t* ww, int64_t hs, int64_t ws) {
    if (hw[0] >= hw[1] || ww[0] >= ww[1]) return;
    const double v = gy[yo] / divisor(hw, ww, over, include_pad);
    for (int64_t th = hw[0]; th < hw[1]; th++) {
      float* row = gx + xo + (hs + th * g.dH) * g.W + ws;
      for (int64_t tw = ww[0]; tw < ww[1]; tw++) row[tw * g.dW] = static_cast<float>(row[tw * g.dW] + v);
    }
  });
}

}  // namespace kd
