// small_gemm.h's kernels for AVX-512 (16 floats per vector). Only called after the dispatcher in
// small_gemm.cc has checked that the CPU and the OS support AVX-512F.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "small_gemm.h"

namespace kd {
namespace avx512 {
namespace {

struct S {
  using V = __m512;
  static constexpr int64_t W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float v) { return _mm512_set1_ps(v); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static float hsum(V v) {
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

#include "small_gemm_impl.h"

}  // namespace

// 32 vector registers: an 8×2 tile (16 accumulators) and a 4×6 dot tile (24 accumulators).
void bcast(int64_t M, int64_t N, int64_t K, const float* a, int64_t ars, int64_t acs, const float* b, const int64_t* boff, float* c,
           int64_t ldc, const float* init, bool accumulate) {
  if (accumulate) bcast_impl<S, 8, true>(M, N, K, a, ars, acs, b, boff, c, ldc, init);
  else bcast_impl<S, 8, false>(M, N, K, a, ars, acs, b, boff, c, ldc, init);
}
void dot(int64_t M, int64_t N, int64_t segs, int64_t P, const float* a, int64_t as, int64_t lda, const float* b, int64_t bs,
         const int64_t* boff, float* c, int64_t ldc) {
  dot_impl<S, 4, 6>(M, N, segs, P, a, as, lda, b, bs, boff, c, ldc);
}

}  // namespace avx512
}  // namespace kd
