// Register-blocked GEMM kernels for the skinny products of small convolutions (LeNet: 6 and 16
// output channels, 25 and 150 taps), where OpenBLAS spends more time packing operands and handling
// edge tiles than multiplying. The rows of B are given as offsets from one base pointer, so a
// convolution's "im2col" rows can be shifted views of the input plane itself (conv_flat.cc):
//
//   bcast:  C[m][n] (+)= init[m] + Σ_k A(m,k) · b[boff[k] + n]         (A broadcast, any layout)
//   dot:    C[m][j] += Σ_s Σ_p a[s·as + m·lda + p] · b[s·bs + boff[j] + p]   (summed across lanes at the end)
//
// Compiled twice from small_gemm_impl.h, for AVX2/FMA and for AVX-512 (chosen at run time when the
// CPU and the OS support it; KINDLING_CPU_AVX512=0 keeps AVX2). Columns n and p go in whole vectors:
// N and P must be multiples of small_gemm_pad(), and every element read must exist.
#pragma once
#include <cstdint>

namespace kd {

// The column multiple every call needs: 16 (AVX2) or 32 (AVX-512).
int64_t small_gemm_pad();
// "AVX-512" or "AVX2/FMA": what the kernels run.
const char* small_gemm_isa();

// A(m,k) = a[m·ars + k·acs]; C row m at c + m·ldc; init: per-row start values (a bias) or null for 0.
// With `accumulate`, each result (the sum computed on its own, then rounded) is added to C's value.
void small_gemm_bcast(int64_t M, int64_t N, int64_t K, const float* a, int64_t ars, int64_t acs, const float* b, const int64_t* boff,
                      float* c, int64_t ldc, const float* init, bool accumulate = false);

// S segments (images) of P columns each; M×N results added into C (row m at c + m·ldc).
void small_gemm_dot(int64_t M, int64_t N, int64_t S, int64_t P, const float* a, int64_t as, int64_t lda, const float* b, int64_t bs,
                    const int64_t* boff, float* c, int64_t ldc);

// Per-ISA entry points (small_gemm_avx2.cc, small_gemm_avx512.cc).
#define KD_SMALL_GEMM_DECL                                                                                                        \
  void bcast(int64_t M, int64_t N, int64_t K, const float* a, int64_t ars, int64_t acs, const float* b, const int64_t* boff, float* c, \
             int64_t ldc, const float* init, bool accumulate);                                                                     \
  void dot(int64_t M, int64_t N, int64_t S, int64_t P, const float* a, int64_t as, int64_t lda, const float* b, int64_t bs,        \
           const int64_t* boff, float* c, int64_t ldc);
namespace avx2 {
KD_SMALL_GEMM_DECL
}  // namespace avx2
namespace avx512 {
KD_SMALL_GEMM_DECL
}  // namespace avx512
#undef KD_SMALL_GEMM_DECL

}  // namespace kd
