// max / average pooling over [planes, H, W] → [planes, oH, oW], parallel over planes. The window
// of each output row and column comes precomputed from TypeScript (pool-geometry.ts) as
// (lo, hi, padded) triples: taps [lo, hi) are in bounds, `padded` counts taps before the end of
// the right/bottom padding (the count_include_pad divisor).
#pragma once
#include <cstdint>

namespace kd {

struct PoolGeo {
  int64_t planes, H, W, oH, oW;
  int64_t sH, sW, pH, pW, dH, dW;
  const int32_t* hwin;  // 3·oH
  const int32_t* wwin;  // 3·oW
};

void maxpool_forward(const PoolGeo& g, const float* x, float* y, int32_t* idx);
// gx += scatter(gy at idx); returns false (and leaves gx partly updated) on an index outside H·W.
bool maxpool_backward(const PoolGeo& g, const float* gy, const int32_t* idx, float* gx, int32_t* bad);
// divisor_override > 0 wins; else count_include_pad uses the padded window, else in-bounds taps.
void avgpool_forward(const PoolGeo& g, double divisor_override, bool count_include_pad, const float* x, float* y);
// gx += spread gy; `gx_is_zero` (core zero-fills gradIn) lets exactly tiling windows store instead.
void avgpool_backward(const PoolGeo& g, double divisor_override, bool count_include_pad, const float* gy, float* gx, bool gx_is_zero);

}  // namespace kd
