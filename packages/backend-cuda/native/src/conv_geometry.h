// One 2-d convolution's geometry: NCHW input [N, C, H, W], weight [O, C/groups, kh, kw], output
// [N, O, OH, OW], with stride, padding and dilation per axis. Shared by the addon's own kernels
// (conv.cu, conv_direct.cu) and the cuDNN descriptors (cudnn_api.h); host code only.
#pragma once

namespace kc {

struct ConvGeometry {
  int N, C, H, W, O, kh, kw, OH, OW;
  int sh, sw, ph, pw, dh, dw, groups;
};

}  // namespace kc
