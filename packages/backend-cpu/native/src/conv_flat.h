// Stride-1 convolutions with few output channels and taps (LeNet's two layers) without im2col.
//
// With the input plane zero-padded to width Wp and the output positions numbered q = oh·Wp + ow'
// (ow' running over the whole padded width, the columns past oW being computed and dropped), the
// input element under tap (c, kh, kw) of position q is plane_c[q + kh·dH·Wp + kw·dW]: every
// im2col row is the padded plane itself, shifted. The three products then run in small_gemm.h's
// kernels with row offsets instead of a copied col matrix:
//
//   forward:         y'[o][q]  = bias[o] + Σ_k W[o][k] · xp[off_k + q]          (bcast)
//   backward weight: gW[o][k] += Σ_images Σ_q gy'[o][q] · xp[off_k + q]         (dot; gy' zero past oW)
//   backward input:  gcol[k][q] = Σ_o W[o][k] · gy'[o][q], then gxp[off_k + q] += gcol[k][q]
//
// (Wp − oW)/Wp of the work is spent on dropped columns (29% for LeNet's second layer), far less
// than im2col's copying of 10-float rows cost. Weight-gradient sums use fixed batch partitions
// (partition.h), so results do not depend on thread timing.
#pragma once
#include "conv.h"

namespace kd {

bool conv_flat_eligible(const ConvGeo& g);
// Same contracts as conv2d_forward / conv2d_backward_weight (dense, outputs overwritten).
void conv2d_forward_flat(const ConvGeo& g, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_weight_flat(const ConvGeo& g, const float* gy, const float* x, float* gw);
// False (gx untouched) when the weight holds a non-finite value: the dropped columns would then
// add 0·inf = NaN where the exact sum has none, so the caller takes the im2col path.
bool conv2d_backward_input_flat(const ConvGeo& g, const float* gy, const float* w, float* gx);

}  // namespace kd
