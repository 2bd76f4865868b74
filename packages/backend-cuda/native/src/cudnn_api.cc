#include "cudnn_api.h"

#include <dlfcn.h>

#include "dynlib.h"

namespace kc {
namespace dnn {
namespace {

const LibrarySpec kSpec{"cuDNN", "libcudnn", "KINDLING_CUDA_CUDNN", "KINDLING_CUDNN_LIBRARY", {"libcudnn.so.9", "libcudnn.so.8"},
                        "own im2col kernels"};

LoadedLibrary<Api>& loaded() {
  static LoadedLibrary<Api> l = load_unless_disabled<Api>(kSpec, load);
  return l;
}

}  // namespace

bool load(const char* path, Api& out, std::string& status) {
  Api a;
  std::string used;
#define KC_CUDNN_SYMBOL(name, ret, params) Symbol{#name, reinterpret_cast<void**>(&a.name)},
  void* lib = open_api(kSpec, path, {KC_CUDNN_ENTRY_POINTS(KC_CUDNN_SYMBOL)}, used, status);
#undef KC_CUDNN_SYMBOL
  if (!lib) return false;
  a.version = a.cudnnGetVersion();
  if (a.version < 8000) {
    status = std::string(kSpec.fallback) + " (" + used + " is cuDNN " + std::to_string(a.version) + "; 8 or later is needed)";
    dlclose(lib);
    return false;
  }
  // The library stays loaded for the life of the process, as PyTorch keeps it.
  const size_t major = a.version >= 90000 ? a.version / 10000 : a.version / 1000;
  const size_t minor = a.version >= 90000 ? a.version / 100 % 100 : a.version / 100 % 10;
  status = "cuDNN " + std::to_string(major) + "." + std::to_string(minor) + " (" + used + ", loaded at run time)";
  out = a;
  return true;
}

const Api* api() {
  const auto& l = loaded();
  return l.ok ? &l.api : nullptr;
}

const std::string& status() { return loaded().status; }

std::string error_text(const Api& a, const char* what, int s) {
  const char* name = a.cudnnGetErrorString ? a.cudnnGetErrorString(s) : nullptr;
  return std::string(what) + ": " + (name ? name : "cuDNN status") + " (" + std::to_string(s) + ")";
}

Descriptors::~Descriptors() {
  if (!a) return;
  if (x) a->cudnnDestroyTensorDescriptor(x);
  if (y) a->cudnnDestroyTensorDescriptor(y);
  if (bias) a->cudnnDestroyTensorDescriptor(bias);
  if (w) a->cudnnDestroyFilterDescriptor(w);
  if (conv) a->cudnnDestroyConvolutionDescriptor(conv);
}

std::string describe(const Api& a, const Geometry& g, int math, Descriptors& d) {
  d.a = &a;
  int s;
#define KC_CUDNN_TRY(call)                                  \
  if ((s = a.call) != kSuccess) return error_text(a, #call, s);
  KC_CUDNN_TRY(cudnnCreateTensorDescriptor(&d.x));
  KC_CUDNN_TRY(cudnnCreateTensorDescriptor(&d.y));
  KC_CUDNN_TRY(cudnnCreateTensorDescriptor(&d.bias));
  KC_CUDNN_TRY(cudnnCreateFilterDescriptor(&d.w));
  KC_CUDNN_TRY(cudnnCreateConvolutionDescriptor(&d.conv));
  KC_CUDNN_TRY(cudnnSetTensor4dDescriptor(d.x, kNchw, kFloat, g.N, g.C, g.H, g.W));
  KC_CUDNN_TRY(cudnnSetTensor4dDescriptor(d.y, kNchw, kFloat, g.N, g.O, g.OH, g.OW));
  KC_CUDNN_TRY(cudnnSetTensor4dDescriptor(d.bias, kNchw, kFloat, 1, g.O, 1, 1));
  KC_CUDNN_TRY(cudnnSetFilter4dDescriptor(d.w, kFloat, kNchw, g.O, g.C / g.groups, g.kh, g.kw));
  // PyTorch's conv2d is a cross-correlation: no kernel flip.
  KC_CUDNN_TRY(cudnnSetConvolution2dDescriptor(d.conv, g.ph, g.pw, g.sh, g.sw, g.dh, g.dw, kCrossCorrelation, kFloat));
  KC_CUDNN_TRY(cudnnSetConvolutionGroupCount(d.conv, g.groups));
  KC_CUDNN_TRY(cudnnSetConvolutionMathType(d.conv, math));
  int n = 0, o = 0, oh = 0, ow = 0;
  KC_CUDNN_TRY(cudnnGetConvolution2dForwardOutputDim(d.conv, d.x, d.w, &n, &o, &oh, &ow));
#undef KC_CUDNN_TRY
  if (n != g.N || o != g.O || oh != g.OH || ow != g.OW)
    return "cuDNN computes an output of [" + std::to_string(n) + ", " + std::to_string(o) + ", " + std::to_string(oh) + ", " +
           std::to_string(ow) + "] where ours is [" + std::to_string(g.N) + ", " + std::to_string(g.O) + ", " + std::to_string(g.OH) +
           ", " + std::to_string(g.OW) + "]";
  return "";
}

}  // namespace dnn
}  // namespace kc
