// small_gemm.h's kernels for AVX2/FMA (8 floats per vector).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "small_gemm.h"

namespace kd {
namespace avx2 {
namespace {

struct S {
  using V = __m256;
  static constexpr int64_t W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float v) { return _mm256_set1_ps(v); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static float hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

#include "small_gemm_impl.h"

}  // namespace

// 16 vector registers: a 6×2 tile (12 accumulators, 2 B vectors, 1 broadcast) and a 4×3 dot tile.
void bcast(int64_t M, int64_t N, int64_t K, const float* a, int64_t ars, int64_t acs, const float* b, const int64_t* boff, float* c,
           int64_t ldc, const float* init, bool accumulate) {
  if (accumulate) bcast_impl<S, 6, true>(M, N, K, a, ars, acs, b, boff, c, ldc, init);
  else bcast_impl<S, 6, false>(M, N, K, a, ars, acs, b, boff, c, ldc, init);
}
void dot(int64_t M, int64_t N, int64_t segs, int64_t P, const float* a, int64_t as, int64_t lda, const float* b, int64_t bs,
         const int64_t* boff, float* c, int64_t ldc) {
  dot_impl<S, 4, 3>(M, N, segs, P, a, as, lda, b, bs, boff, c, ldc);
}

}  // namespace avx2
}  // namespace kd
