// Checks native/src/cublas_loader.h against a real cuBLAS without a GPU: at compile time every
// declared entry point against cublas_v2.h (see abi_check.h) and the enum values; at run time it
// prints the entry points' names, one a line, for test/vendor-host.test.ts to find each among the
// library's exported symbols (loading libcublas would need its 540 MB cublasLt beside it).
#include <cublas_v2.h>

#include <cstdio>

#include "abi_check.h"
#include "cublas_loader.h"

namespace blas = kc::blas;

static_assert(CUBLAS_STATUS_SUCCESS == blas::kSuccess, "cublasStatus_t");
static_assert(CUBLAS_OP_N == blas::kOpN && CUBLAS_OP_T == blas::kOpT, "cublasOperation_t");
static_assert(CUBLAS_DEFAULT_MATH == blas::kDefaultMath && CUBLAS_TF32_TENSOR_OP_MATH == blas::kTf32Math, "cublasMath_t");

namespace blas_check {
using namespace kc::blas;
KC_CUBLAS_ENTRY_POINTS(KC_CHECK_ENTRY)
}  // namespace blas_check

int main() {
#define KC_PRINT_NAME(name, ret, params) std::puts(#name);
  KC_CUBLAS_ENTRY_POINTS(KC_PRINT_NAME)
#undef KC_PRINT_NAME
  return 0;
}
