#include "reduce.h"

#include <algorithm>
#include <vector>

#include "simd.h"
#include "strided.h"
#include "threadpool.h"

namespace kd {
namespace {

constexpr int64_t kGrain = 1 << 15;

// Σ x[0..n) with unit stride, in float64 (four 4-lane accumulators).
double sum_contiguous(const float* x, int64_t n) {
#ifndef __AVX2__
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += x[i];
  return s;
#else
  __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(v0)));
    a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(v0, 1)));
    a2 = _mm256_add_pd(a2, _mm256_cvtps_pd(_mm256_castps256_ps128(v1)));
    a3 = _mm256_add_pd(a3, _mm256_cvtps_pd(_mm256_extractf128_ps(v1, 1)));
  }
  double s = hsum256d(_mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)));
  for (; i < n; i++) s += x[i];
  return s;
#endif
}

double sum_range(const Plan& red, const float* x, int64_t base, int64_t lo, int64_t hi) {
  double s = 0;
  for_runs(red, lo, hi, [&](const int64_t* off, int64_t n, const int64_t* in) {
    const float* p = x + base + off[0];
    if (in[0] == 1) {
      s += sum_contiguous(p, n);
    } else {
      for (int64_t i = 0; i < n; i++) s += p[i * in[0]];
    }
  });
  return s;
}

}  // namespace

bool reduce_sum_f32(const ReduceGeo& g, const float* x, float* out) {
  Plan kept, red;
  const int64_t* ks[2] = {g.x_kept_strides, g.out_strides};
  const int64_t koff[2] = {g.x_offset, g.out_offset};
  const int64_t* rs[1] = {g.x_red_strides};
  const int64_t roff[1] = {0};
  if (!make_plan(g.nk, g.kept_shape, 2, ks, koff, kept) || !make_plan(g.nr, g.red_shape, 1, rs, roff, red)) return false;
  if (kept.total == 0) return true;
  if (kept.total == 1 && red.total >= 2 * kGrain && pool_threads() > 1) {
    // One output: fixed slices of the reduced range summed in parallel, then added in slice order
    // (the same result whichever thread took which slice).
    const int64_t slices = std::min<int64_t>(16, red.total / kGrain);
    std::vector<double> partial(static_cast<size_t>(slices), 0.0);
    parallel_for(slices, 1, [&](int64_t lo, int64_t hi, int) {
      for (int64_t c = lo; c < hi; c++) partial[c] = sum_range(red, x, kept.offset[0], red.total * c / slices, red.total * (c + 1) / slices);
    });
    double s = 0;
    for (double v : partial) s += v;
    out[kept.offset[1]] = static_cast<float>(s);
    return true;
  }
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, red.total));
  parallel_for(kept.total, grain, [&](int64_t lo, int64_t hi, int) {
    for_runs(kept, lo, hi, [&](const int64_t* off, int64_t n, const int64_t* in) {
      for (int64_t i = 0; i < n; i++) out[off[1] + i * in[1]] = static_cast<float>(sum_range(red, x, off[0] + i * in[0], 0, red.total));
    });
  });
  return true;
}

}  // namespace kd
