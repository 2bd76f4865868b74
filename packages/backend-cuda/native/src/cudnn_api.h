// The part of cuDNN's C API the convolutions use, declared here so that one build of the addon
// loads cuDNN at run time (dlopen) wherever a libcudnn exists (PyTorch's nvidia-cudnn wheel, a
// CUDA install) and still builds and loads where it is absent, as on the machines that build it.
//
// Only the legacy convolution entry points of cuDNN 8 and 9 are used; their signatures, enum values
// and result-struct layouts are the same in both. test/native/cudnn_host_check.cc compiles this
// header beside the real cudnn.h and checks every declaration against it.
//
// Host code only: nothing here needs a GPU or the CUDA compiler.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>

#include "conv_geometry.h"

// cuDNN's own opaque types, by their struct tags, so descriptor pointers keep their real types.
struct cudnnContext;
struct cudnnTensorStruct;
struct cudnnFilterStruct;
struct cudnnConvolutionStruct;

namespace kc {
namespace dnn {

using Handle = cudnnContext*;
using TensorDesc = cudnnTensorStruct*;
using FilterDesc = cudnnFilterStruct*;
using ConvDesc = cudnnConvolutionStruct*;

// Enum values (cudnnStatus_t, cudnnDataType_t, cudnnTensorFormat_t, cudnnConvolutionMode_t,
// cudnnMathType_t), passed as int as the C ABI does.
constexpr int kSuccess = 0;
constexpr int kFloat = 0;
constexpr int kNchw = 0;
constexpr int kCrossCorrelation = 1;
constexpr int kDefaultMath = 0;             // lets Ampere and later use TF32 tensor cores for FP32
constexpr int kTensorOpAllowConversion = 2;  // may also convert FP32 to FP16: never taken
constexpr int kFmaMath = 3;                  // FP32 FMA only

// cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t: the three share one layout.
struct AlgoPerf {
  int algo;
  int status;
  float time;
  size_t memory;
  int determinism;
  int mathType;
  int reserved[3];
};

// X(name, return type, parameter list): every entry point the addon resolves with dlsym.
#define KC_CUDNN_ENTRY_POINTS(X)                                                                                                  \
  X(cudnnGetVersion, size_t, (void))                                                                                             \
  X(cudnnGetErrorString, const char*, (int))                                                                                     \
  X(cudnnCreate, int, (Handle*))                                                                                                 \
  X(cudnnDestroy, int, (Handle))                                                                                                 \
  X(cudnnSetStream, int, (Handle, cudaStream_t))                                                                                 \
  X(cudnnCreateTensorDescriptor, int, (TensorDesc*))                                                                             \
  X(cudnnDestroyTensorDescriptor, int, (TensorDesc))                                                                             \
  X(cudnnSetTensor4dDescriptor, int, (TensorDesc, int, int, int, int, int, int))                                                 \
  X(cudnnGetTensor4dDescriptor, int, (TensorDesc, int*, int*, int*, int*, int*, int*, int*, int*, int*))                         \
  X(cudnnCreateFilterDescriptor, int, (FilterDesc*))                                                                             \
  X(cudnnDestroyFilterDescriptor, int, (FilterDesc))                                                                             \
  X(cudnnSetFilter4dDescriptor, int, (FilterDesc, int, int, int, int, int, int))                                                 \
  X(cudnnCreateConvolutionDescriptor, int, (ConvDesc*))                                                                          \
  X(cudnnDestroyConvolutionDescriptor, int, (ConvDesc))                                                                          \
  X(cudnnSetConvolution2dDescriptor, int, (ConvDesc, int, int, int, int, int, int, int, int))                                    \
  X(cudnnSetConvolutionGroupCount, int, (ConvDesc, int))                                                                         \
  X(cudnnSetConvolutionMathType, int, (ConvDesc, int))                                                                           \
  X(cudnnGetConvolution2dForwardOutputDim, int, (ConvDesc, TensorDesc, FilterDesc, int*, int*, int*, int*))                     \
  X(cudnnGetConvolutionForwardAlgorithm_v7, int, (Handle, TensorDesc, FilterDesc, ConvDesc, TensorDesc, int, int*, AlgoPerf*))   \
  X(cudnnGetConvolutionBackwardDataAlgorithm_v7, int, (Handle, FilterDesc, TensorDesc, ConvDesc, TensorDesc, int, int*, AlgoPerf*)) \
  X(cudnnGetConvolutionBackwardFilterAlgorithm_v7, int,                                                                          \
    (Handle, TensorDesc, TensorDesc, ConvDesc, FilterDesc, int, int*, AlgoPerf*))                                                \
  X(cudnnFindConvolutionForwardAlgorithmEx, int,                                                                                 \
    (Handle, TensorDesc, const void*, FilterDesc, const void*, ConvDesc, TensorDesc, void*, int, int*, AlgoPerf*, void*, size_t))    \
  X(cudnnFindConvolutionBackwardDataAlgorithmEx, int,                                                                            \
    (Handle, FilterDesc, const void*, TensorDesc, const void*, ConvDesc, TensorDesc, void*, int, int*, AlgoPerf*, void*, size_t))    \
  X(cudnnFindConvolutionBackwardFilterAlgorithmEx, int,                                                                          \
    (Handle, TensorDesc, const void*, TensorDesc, const void*, ConvDesc, FilterDesc, void*, int, int*, AlgoPerf*, void*, size_t))    \
  X(cudnnGetConvolutionForwardWorkspaceSize, int, (Handle, TensorDesc, FilterDesc, ConvDesc, TensorDesc, int, size_t*))           \
  X(cudnnGetConvolutionBackwardDataWorkspaceSize, int, (Handle, FilterDesc, TensorDesc, ConvDesc, TensorDesc, int, size_t*))      \
  X(cudnnGetConvolutionBackwardFilterWorkspaceSize, int, (Handle, TensorDesc, TensorDesc, ConvDesc, FilterDesc, int, size_t*))    \
  X(cudnnConvolutionForward, int,                                                                                                \
    (Handle, const void*, TensorDesc, const void*, FilterDesc, const void*, ConvDesc, int, void*, size_t, const void*, TensorDesc, \
     void*))                                                                                                                     \
  X(cudnnConvolutionBackwardData, int,                                                                                           \
    (Handle, const void*, FilterDesc, const void*, TensorDesc, const void*, ConvDesc, int, void*, size_t, const void*, TensorDesc, \
     void*))                                                                                                                     \
  X(cudnnConvolutionBackwardFilter, int,                                                                                         \
    (Handle, const void*, TensorDesc, const void*, TensorDesc, const void*, ConvDesc, int, void*, size_t, const void*, FilterDesc, \
     void*))                                                                                                                     \
  X(cudnnAddTensor, int, (Handle, const void*, TensorDesc, const void*, const void*, TensorDesc, void*))

struct Api {
#define KC_CUDNN_POINTER(name, ret, params) ret(*name) params = nullptr;
  KC_CUDNN_ENTRY_POINTS(KC_CUDNN_POINTER)
#undef KC_CUDNN_POINTER
  size_t version = 0;  // cudnnGetVersion(): major·10000 + minor·100 + patch from 9.0 on, major·1000 + … before
};

// Loads libcudnn once, unless KINDLING_CUDA_CUDNN is 0: $KINDLING_CUDNN_LIBRARY when set (and then
// only it), else libcudnn.so.9 or libcudnn.so.8 from the loader's search path. Returns null when it
// is absent, disabled or incomplete; status() says which, or which library is in use.
const Api* api();
const std::string& status();

// One load without caching (api()'s way in, and the host check's): the library at `path`, or the
// default names when path is null or empty. Fills `out` and returns true, or says in `status` why not.
bool load(const char* path, Api& out, std::string& status);

// "<function>: CUDNN_STATUS_…" for a failed call.
std::string error_text(const Api& a, const char* what, int status);

// A convolution's geometry (conv_geometry.h), which describe() turns into cuDNN descriptors.
using Geometry = ConvGeometry;

// The descriptors of one geometry: created by describe(), destroyed with the object.

struct Descriptors {
  const Api* a = nullptr;
  TensorDesc x = nullptr, y = nullptr, bias = nullptr;
  FilterDesc w = nullptr;
  ConvDesc conv = nullptr;
  Descriptors() = default;
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
  ~Descriptors();
};

// Fills `d` for geometry g in FP32 NCHW with the given math type (kFmaMath or kDefaultMath), and
// checks that cuDNN computes the same output size. Returns an empty string or the error.
std::string describe(const Api& a, const Geometry& g, int math, Descriptors& d);

}  // namespace dnn
}  // namespace kc
