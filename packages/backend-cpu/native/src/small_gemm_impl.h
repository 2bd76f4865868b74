// The kernels of small_gemm.h, written once over a SIMD type S (small_gemm_avx2.cc and
// small_gemm_avx512.cc include this file inside their own namespaces).
//
// bcast: an MR×NV tile of accumulators (MR rows, NV vectors of columns) stays in registers for the
// whole k loop; per k, NV loads of B and MR broadcasts of A feed MR·NV fused multiply-adds.
// dot: an MO×MK tile of vector accumulators runs along p over every segment; each is summed
// across its lanes once, at the end.

template <class S, int MR, int NV, bool ACC>
inline void bcast_tile(int64_t K, const float* a, int64_t ars, int64_t acs, const float* b, const int64_t* boff, float* c, int64_t ldc,
                       const float* init) {
  typename S::V acc[MR][NV];
  for (int m = 0; m < MR; m++) {
    const typename S::V v = init ? S::set1(init[m]) : S::zero();
    for (int j = 0; j < NV; j++) acc[m][j] = v;
  }
  for (int64_t k = 0; k < K; k++) {
    const float* bk = b + boff[k];
    typename S::V bv[NV];
    for (int j = 0; j < NV; j++) bv[j] = S::load(bk + j * S::W);
    const float* ak = a + k * acs;
    for (int m = 0; m < MR; m++) {
      const typename S::V av = S::set1(ak[m * ars]);
      for (int j = 0; j < NV; j++) acc[m][j] = S::fma(av, bv[j], acc[m][j]);
    }
  }
  for (int m = 0; m < MR; m++)
    for (int j = 0; j < NV; j++) {
      float* cp = c + m * ldc + j * S::W;
      S::store(cp, ACC ? S::add(S::load(cp), acc[m][j]) : acc[m][j]);
    }
}

template <class S, int MR, bool ACC>
inline void bcast_rows(int64_t N, int64_t K, const float* a, int64_t ars, int64_t acs, const float* b, const int64_t* boff, float* c,
                       int64_t ldc, const float* init) {
  constexpr int64_t step = 2 * S::W;
  int64_t n = 0;
  for (; n + step <= N; n += step) bcast_tile<S, MR, 2, ACC>(K, a, ars, acs, b + n, boff, c + n, ldc, init);
  for (; n < N; n += S::W) bcast_tile<S, MR, 1, ACC>(K, a, ars, acs, b + n, boff, c + n, ldc, init);
}

template <class S, int MRMAX, bool ACC>
void bcast_impl(int64_t M, int64_t N, int64_t K, const float* a, int64_t ars, int64_t acs, const float* b, const int64_t* boff, float* c,
                int64_t ldc, const float* init) {
  // Column panels (K rows × 256 floats of B) stay in L1/L2 while every row block of A passes over them.
  constexpr int64_t kPanel = 256;
  for (int64_t n0 = 0; n0 < N; n0 += kPanel) {
    const int64_t nn = std::min<int64_t>(kPanel, N - n0);
    int64_t m = 0;
    for (; m + MRMAX <= M; m += MRMAX)
      bcast_rows<S, MRMAX, ACC>(nn, K, a + m * ars, ars, acs, b + n0, boff, c + m * ldc + n0, ldc, init ? init + m : nullptr);
    const float* am = a + m * ars;
    float* cm = c + m * ldc + n0;
    const float* im = init ? init + m : nullptr;
    switch (M - m) {
      case 0: break;
      case 1: bcast_rows<S, 1, ACC>(nn, K, am, ars, acs, b + n0, boff, cm, ldc, im); break;
      case 2: bcast_rows<S, 2, ACC>(nn, K, am, ars, acs, b + n0, boff, cm, ldc, im); break;
      case 3: bcast_rows<S, 3, ACC>(nn, K, am, ars, acs, b + n0, boff, cm, ldc, im); break;
      case 4: bcast_rows<S, 4, ACC>(nn, K, am, ars, acs, b + n0, boff, cm, ldc, im); break;
      case 5: bcast_rows<S, 5, ACC>(nn, K, am, ars, acs, b + n0, boff, cm, ldc, im); break;
      case 6: bcast_rows<S, 6, ACC>(nn, K, am, ars, acs, b + n0, boff, cm, ldc, im); break;
      default: bcast_rows<S, 7, ACC>(nn, K, am, ars, acs, b + n0, boff, cm, ldc, im); break;  // MRMAX is at most 8
    }
  }
}

template <class S, int MO, int MK>
inline void dot_tile(int64_t segs, int64_t P, const float* a, int64_t as, int64_t lda, const float* b, int64_t bs, const int64_t* boff,
                     float* c, int64_t ldc) {
  // Two-level sums for accuracy: each segment's products go into fresh register accumulators,
  // which are then added to running totals (kept in L1), so no float32 chain runs longer than one
  // segment (an image: LeNet's first layer, 56 vector steps) plus the number of segments.
  typename S::V total[MO][MK];
  for (int i = 0; i < MO; i++)
    for (int j = 0; j < MK; j++) total[i][j] = S::zero();
  for (int64_t s = 0; s < segs; s++) {
    const float* as_ = a + s * as;
    const float* bs_ = b + s * bs;
    typename S::V acc[MO][MK];
    for (int i = 0; i < MO; i++)
      for (int j = 0; j < MK; j++) acc[i][j] = S::zero();
    for (int64_t p = 0; p < P; p += S::W) {
      typename S::V bv[MK];
      for (int j = 0; j < MK; j++) bv[j] = S::load(bs_ + boff[j] + p);
      for (int i = 0; i < MO; i++) {
        const typename S::V av = S::load(as_ + i * lda + p);
        for (int j = 0; j < MK; j++) acc[i][j] = S::fma(av, bv[j], acc[i][j]);
      }
    }
    for (int i = 0; i < MO; i++)
      for (int j = 0; j < MK; j++) total[i][j] = S::add(total[i][j], acc[i][j]);
  }
  for (int i = 0; i < MO; i++)
    for (int j = 0; j < MK; j++) c[i * ldc + j] += S::hsum(total[i][j]);
}

template <class S, int MO, int MK>
inline void dot_cols(int64_t N, int64_t segs, int64_t P, const float* a, int64_t as, int64_t lda, const float* b, int64_t bs,
                     const int64_t* boff, float* c, int64_t ldc) {
  int64_t j = 0;
  for (; j + MK <= N; j += MK) dot_tile<S, MO, MK>(segs, P, a, as, lda, b, bs, boff + j, c + j, ldc);
  for (; j < N; j++) dot_tile<S, MO, 1>(segs, P, a, as, lda, b, bs, boff + j, c + j, ldc);
}

template <class S, int MO, int MK>
void dot_impl(int64_t M, int64_t N, int64_t segs, int64_t P, const float* a, int64_t as, int64_t lda, const float* b, int64_t bs,
              const int64_t* boff, float* c, int64_t ldc) {
  int64_t i = 0;
  for (; i + MO <= M; i += MO) dot_cols<S, MO, MK>(N, segs, P, a + i * lda, as, lda, b, bs, boff, c + i * ldc, ldc);
  for (; i < M; i++) dot_cols<S, 1, MK>(N, segs, P, a + i * lda, as, lda, b, bs, boff, c + i * ldc, ldc);
}
