// Direct (im2col-free) stride-1 convolution for layers with few taps per output (Cg·kH·kW <= 64,
// LeNet's first layer): the col matrix of such a layer is as large as the work on it, so building
// it costs more than the arithmetic. Vectorised over 8 output columns, blocked over up to 8
// output channels that share each input load.
#pragma once
#include "conv.h"

namespace kd {

bool conv_direct_eligible(const ConvGeo& g);
// Same contracts as conv2d_forward / conv2d_backward_weight (dense, outputs overwritten).
void conv2d_forward_direct(const ConvGeo& g, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_weight_direct(const ConvGeo& g, const float* gy, const float* x, float* gw);

}  // namespace kd
