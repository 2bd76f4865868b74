// The part of cuBLAS's C API the matrix products use, declared here so that one build of the addon
// loads cuBLAS at run time (dlopen) wherever a libcublas exists (PyTorch's nvidia-cublas wheel, a
// CUDA install) and still builds and loads where it is absent. The signatures and enum values are
// those of cuBLAS 12 and 13; test/native/cublas_host_check.cc checks them against cublas_v2.h.
//
// Host code only: nothing here needs a GPU or the CUDA compiler.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

struct cublasContext;  // cuBLAS's own opaque handle type, by its struct tag

namespace kc {
namespace blas {

using Handle = cublasContext*;

// Enum values (cublasStatus_t, cublasOperation_t, cublasMath_t), passed as int as the C ABI does.
constexpr int kSuccess = 0;
constexpr int kOpN = 0, kOpT = 1;
constexpr int kDefaultMath = 0;  // full FP32
constexpr int kTf32Math = 3;     // CUBLAS_TF32_TENSOR_OP_MATH

// X(name, return type, parameter list): every entry point the addon resolves with dlsym.
#define KC_CUBLAS_ENTRY_POINTS(X)                                                                                              \
  X(cublasCreate_v2, int, (Handle*))                                                                                           \
  X(cublasDestroy_v2, int, (Handle))                                                                                           \
  X(cublasSetStream_v2, int, (Handle, cudaStream_t))                                                                           \
  X(cublasSetMathMode, int, (Handle, int))                                                                                     \
  X(cublasSgemmStridedBatched, int,                                                                                            \
    (Handle, int, int, int, int, int, const float*, const float*, int, long long, const float*, int, long long, const float*, \
     float*, int, long long, int))

struct Api {
#define KC_CUBLAS_POINTER(name, ret, params) ret(*name) params = nullptr;
  KC_CUBLAS_ENTRY_POINTS(KC_CUBLAS_POINTER)
#undef KC_CUBLAS_POINTER
};

// Loads libcublas once, unless KINDLING_CUDA_CUBLAS is 0: $KINDLING_CUBLAS_LIBRARY when set (and
// then only it), else libcublas.so.13, .so.12 or .so from the loader's search path. Returns null
// when it is absent, disabled or incomplete; status() says which, or which library is in use.
const Api* api();
const std::string& status();

// One load without caching (api()'s way in): the library at `path`, or the default names when path
// is null or empty. Fills `out` and returns true, or says in `status` why not.
bool load(const char* path, Api& out, std::string& status);

}  // namespace blas
}  // namespace kc
