// Convolutions through cuDNN, loaded at run time (cudnn_api.h), as PyTorch runs them: for each
// geometry and pass the fastest algorithm measured on first use (benchmark, as
// torch.backends.cudnn.benchmark = True) or cuDNN's heuristic first choice, FP32 FMA math unless tf32
// (the backend's allowTF32, torch.backends.cudnn.allow_tf32). Each entry returns
// false, having done nothing, when cuDNN is absent or disabled, when the pass is too small to gain
// from it (vendor_library_min_flops() in context.h), or when cuDNN offers no algorithm for it:
// conv.cu then runs its own im2col kernels.
#pragma once

#include <string>

#include "cudnn_api.h"

namespace kc {

class Context;

// How the backend lets cuDNN run: TF32 tensor cores allowed (allowTF32), algorithms chosen by timing
// them (cudnnBenchmark) rather than by cuDNN's heuristics.
struct CudnnMode {
  bool tf32;
  bool benchmark;
};

bool cudnn_conv_forward(Context& c, const dnn::Geometry& g, const CudnnMode& m, const float* x, const float* w, const float* bias, float* y);
bool cudnn_conv_backward_input(Context& c, const dnn::Geometry& g, const CudnnMode& m, const float* gy, const float* w, float* gx);
bool cudnn_conv_backward_weight(Context& c, const dnn::Geometry& g, const CudnnMode& m, const float* gy, const float* x, float* gw);

// A context's cuDNN handle and plans; created on its first cuDNN convolution.
class CudnnState;
void cudnn_state_destroy(CudnnState* s);
// What runs the convolutions of this context: cuDNN and its version, or why our kernels do.
std::string cudnn_conv_status(const Context& c);

}  // namespace kc
