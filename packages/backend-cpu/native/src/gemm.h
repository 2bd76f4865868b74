// Single-precision GEMM on strided operands, through OpenBLAS's cblas_sgemm (run single-threaded:
// the addon's pool does the splitting).
#pragma once
#include <cstdint>

namespace kd {

// A matrix operand: element (i, j) is at data[i * rs + j * cs].
struct Mat {
  const float* data;
  int64_t rs, cs;
};
struct MutMat {
  float* data;
  int64_t rs, cs;
};

// C = A·B, or C += A·B when `accumulate`; A is M×K, B is K×N, C is M×N. Any strides work
// (operands BLAS cannot take directly are packed first); C must not alias A or B.
// Splits the product over the pool unless called inside a parallel region.
void sgemm(int64_t M, int64_t N, int64_t K, Mat A, Mat B, MutMat C, bool accumulate);

// The same, never splitting (for callers that parallelise at a coarser grain).
void sgemm_serial(int64_t M, int64_t N, int64_t K, Mat A, Mat B, MutMat C, bool accumulate);

// OpenBLAS's own description (version, core) and thread setting.
const char* blas_config();
const char* blas_corename();
void blas_single_thread();

}  // namespace kd
