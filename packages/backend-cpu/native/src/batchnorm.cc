#include "batchnorm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "threadpool.h"

namespace kd {
namespace {

// Sums over one channel's N runs of L contiguous elements, in float64 with four independent
// accumulators (a fixed order, so the result does not depend on the thread count; four lanes
// let the compiler vectorise without -ffast-math's licence to reorder).
template <typename F>
double channel_sum(int64_t N, int64_t C, int64_t L, int64_t c, F&& term) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (int64_t n = 0; n < N; n++) {
    const int64_t o = (n * C + c) * L;
    int64_t l = 0;
    for (; l + 4 <= L; l += 4) {
      s0 += term(o + l);
      s1 += term(o + l + 1);
      s2 += term(o + l + 2);
      s3 += term(o + l + 3);
    }
    for (; l < L; l++) s0 += term(o + l);
  }
  return (s0 + s1) + (s2 + s3);
}

// Channels are independent: one task per channel (LeNet's 6 and 16, BatchNorm1d's 84–120).
template <typename F>
void per_channel(int64_t C, int64_t N, int64_t L, F&& body) {
  // Split finer than per channel only pays when a channel is large; the pool's grain is channels.
  const int64_t grain = N * L >= (1 << 14) ? 1 : std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, N * L));
  parallel_for(C, grain, [&](int64_t lo, int64_t hi, int) {
    for (int64_t c = lo; c < hi; c++) body(c);
  });
}

}  // namespace

void batch_norm_train(const float* x, const float* w, const float* b, float* y, float* mean, float* invstd,
                      double* mean64, double* var64, int64_t N, int64_t C, int64_t L, double eps) {
  const double M = static_cast<double>(N * L);
  per_channel(C, N, L, [&](int64_t c) {
    const double mu = channel_sum(N, C, L, c, [&](int64_t i) { return static_cast<double>(x[i]); }) / M;
    const double var = channel_sum(N, C, L, c, [&](int64_t i) {
                         const double d = static_cast<double>(x[i]) - mu;
                         return d * d;
                       }) / M;
    const double is = 1 / std::sqrt(var + eps);
    const double scale = (w ? w[c] : 1.0) * is;
    const double shift = (b ? b[c] : 0.0) - mu * scale;
    for (int64_t n = 0; n < N; n++) {
      const int64_t o = (n * C + c) * L;
      for (int64_t l = 0; l < L; l++) y[o + l] = static_cast<float>(x[o + l] * scale + shift);
    }
    mean64[c] = mu;
    var64[c] = var;
    mean[c] = static_cast<float>(mu);
    invstd[c] = static_cast<float>(is);
  });
}

void batch_norm_backward(const float* gy, const float* x, const float* w, const float* mean, const float* invstd,
                         float* gx, float* gw, float* gb, int64_t N, int64_t C, int64_t L) {
  const double M = static_cast<double>(N * L);
  per_channel(C, N, L, [&](int64_t c) {
    const double mu = mean[c];
    const double is = invstd[c];
    const double sum_gy = channel_sum(N, C, L, c, [&](int64_t i) { return static_cast<double>(gy[i]); });
    const double sum_gy_xhat = channel_sum(N, C, L, c, [&](int64_t i) { return gy[i] * (x[i] - mu) * is; });
    const double k = (w ? w[c] : 1.0) * is / M;
    for (int64_t n = 0; n < N; n++) {
      const int64_t o = (n * C + c) * L;
      for (int64_t l = 0; l < L; l++) {
        const double xhat = (x[o + l] - mu) * is;
        gx[o + l] = static_cast<float>(k * (M * gy[o + l] - sum_gy - xhat * sum_gy_xhat));
      }
    }
    if (gw) gw[c] = static_cast<float>(sum_gy_xhat);
    if (gb) gb[c] = static_cast<float>(sum_gy);
  });
}

}  // namespace kd
