#include "small_gemm.h"

#include "isa.h"

namespace kd {

int64_t small_gemm_pad() { return use_avx512() ? 32 : 16; }
const char* small_gemm_isa() { return use_avx512() ? "AVX-512" : "AVX2/FMA"; }

void small_gemm_bcast(int64_t M, int64_t N, int64_t K, const float* a, int64_t ars, int64_t acs, const float* b, const int64_t* boff,
                      float* c, int64_t ldc, const float* init, bool accumulate) {
  if (use_avx512()) avx512::bcast(M, N, K, a, ars, acs, b, boff, c, ldc, init, accumulate);
  else avx2::bcast(M, N, K, a, ars, acs, b, boff, c, ldc, init, accumulate);
}

void small_gemm_dot(int64_t M, int64_t N, int64_t S, int64_t P, const float* a, int64_t as, int64_t lda, const float* b, int64_t bs,
                    const int64_t* boff, float* c, int64_t ldc) {
  if (use_avx512()) avx512::dot(M, N, S, P, a, as, lda, b, bs, boff, c, ldc);
  else avx2::dot(M, N, S, P, a, as, lda, b, bs, boff, c, ldc);
}

}  // namespace kd
