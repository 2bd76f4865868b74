// conv2d forward and both backwards through im2col + sgemm, parallel over the batch.
#pragma once
#include <cstdint>

namespace kd {

struct ConvGeo {
  int64_t N, C, H, W;    // input
  int64_t O, G;          // output channels, groups
  int64_t kH, kW, oH, oW;
  int64_t sH, sW, pH, pW, dH, dW;
};

// x [N,C,H,W], w [O,C/G,kH,kW], bias [O] or null → y [N,O,oH,oW]; all dense row-major.
void conv2d_forward(const ConvGeo& g, const float* x, const float* w, const float* bias, float* y);
// gy [N,O,oH,oW], w → gx [N,C,H,W] (overwritten).
void conv2d_backward_input(const ConvGeo& g, const float* gy, const float* w, float* gx);
// gy, x → gw [O,C/G,kH,kW] (overwritten).
void conv2d_backward_weight(const ConvGeo& g, const float* gy, const float* x, float* gw);

}  // namespace kd
