// Training-mode batch norm over x viewed as [N, C, L] (L = 1 for BatchNorm1d on [N, C]).
// Statistics: a block per channel, two passes (mean, then Σ(x−mean)², accumulated in double so
// they stay accurate when |mean| ≫ std); normalisation uses the biased variance and the running
// variance takes the unbiased one, as PyTorch does. Backward:
//   gradBias = Σ gy,  gradWeight = Σ gy·x̂,  gradIn = w·invstd/M · (M·gy − Σ gy − x̂·Σ gy·x̂).
#include <memory>

#include "kernels.h"
#include "strided.cuh"

namespace kc {
namespace {

constexpr int kThreads = 256;

__device__ double block_sum(double v) {
  __shared__ double part[kThreads / 32];
  for (int d = 16; d > 0; d >>= 1) v += __shfl_down_sync(0xffffffffu, v, d);
  const int lane = threadIdx.x % 32, w = threadIdx.x / 32;
  __syncthreads();
  if (lane == 0) part[w] = v;
  __syncthreads();
  double s = 0;
  if (threadIdx.x == 0)
    for (int i = 0; i < kThreads / 32; i++) s += part[i];
  return s;  // valid in thread 0
}

__global__ void bn_stats_kernel(const float* __restrict__ x, int N, int C, int L, float eps, float momentum, float* mean, float* invstd,
                                float* rm, float* rv, float* stats) {
  const int c = blockIdx.x;
  const long long M = static_cast<long long>(N) * L;
  __shared__ double shared_mean;
  double s = 0;
  for (long long i = threadIdx.x; i < M; i += blockDim.x) s += x[(i / L * C + c) * L + i % L];
  s = block_sum(s);
  if (threadIdx.x == 0) shared_mean = s / static_cast<double>(M);
  __syncthreads();
  const double mu = shared_mean;
  double ss = 0;
  for (long long i = threadIdx.x; i < M; i += blockDim.x) {
    const double d = x[(i / L * C + c) * L + i % L] - mu;
    ss += d * d;
  }
  ss = block_sum(ss);
  if (threadIdx.x == 0) {
    const double var = ss / static_cast<double>(M);
    const float is = static_cast<float>(1.0 / sqrt(var + eps));
    mean[c] = static_cast<float>(mu);
    invstd[c] = is;
    stats[2 * c] = static_cast<float>(mu);
    stats[2 * c + 1] = is;
    if (rm) rm[c] = (1.f - momentum) * rm[c] + momentum * static_cast<float>(mu);
    if (rv) {
      const double unbiased = M > 1 ? var * static_cast<double>(M) / static_cast<double>(M - 1) : INFINITY;
      rv[c] = (1.f - momentum) * rv[c] + momentum * static_cast<float>(unbiased);
    }
  }
}

__global__ void bn_normalize_kernel(const float* __restrict__ x, long long total, int C, int L, const float* __restrict__ stats,
                                    const float* __restrict__ w, const float* __restrict__ b, float* __restrict__ y) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total; i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int c = static_cast<int>((i / L) % C);
    const float scale = (w ? w[c] : 1.f) * stats[2 * c + 1];
    const float shift = (b ? b[c] : 0.f) - stats[2 * c] * scale;
    y[i] = x[i] * scale + shift;
  }
}

__global__ void bn_backward_sums_kernel(const float* __restrict__ gy, const float* __restrict__ x, int N, int C, int L, const float* __restrict__ mean,
                                        const float* __restrict__ invstd, float* sums, float* gw, float* gb) {
  const int c = blockIdx.x;
  const long long M = static_cast<long long>(N) * L;
  const float mu = mean[c], is = invstd[c];
  double s = 0, sx = 0;
  for (long long i = threadIdx.x; i < M; i += blockDim.x) {
    const long long k = (i / L * C + c) * L + i % L;
    const float g = gy[k];
    s += g;
    sx += static_cast<double>(g) * ((x[k] - mu) * is);
  }
  s = block_sum(s);
  __syncthreads();
  sx = block_sum(sx);
  if (threadIdx.x == 0) {
    sums[2 * c] = static_cast<float>(s);
    sums[2 * c + 1] = static_cast<float>(sx);
    if (gb) gb[c] = static_cast<float>(s);
    if (gw) gw[c] = static_cast<float>(sx);
  }
}

__global__ void bn_backward_input_kernel(const float* __restrict__ gy, const float* __restrict__ x, long long total, int C, int L, long long M,
                                         const float* __restrict__ w, const float* __restrict__ mean, const float* __restrict__ invstd,
                                         const float* __restrict__ sums, float* __restrict__ gx) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total; i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int c = static_cast<int>((i / L) % C);
    const float is = invstd[c];
    const float xhat = (x[i] - mean[c]) * is;
    const float k = (w ? w[c] : 1.f) * is / static_cast<float>(M);
    gx[i] = k * (static_cast<float>(M) * gy[i] - sums[2 * c] - xhat * sums[2 * c + 1]);
  }
}

void ncl(const View& x, int& N, int& C, int& L) {
  N = x.nd > 0 ? static_cast<int>(x.shape[0]) : 1;
  C = x.nd > 1 ? static_cast<int>(x.shape[1]) : 1;
  long long l = 1;
  for (int d = 2; d < x.nd; d++) l *= x.shape[d];
  L = static_cast<int>(l);
  if (static_cast<long long>(N) * C * L >= (1LL << 31)) throw Error("batchNorm: tensors of 2^31 or more elements are not supported on cuda", true);
}

}  // namespace

void batch_norm_train(Context& c, const View& xv, const View& wv, const View& bv, const View& rmv, const View& rvv, double momentum, double eps,
                      const View& outv, const View& meanv, const View& invstdv) {
  int N, C, L;
  ncl(xv, N, C, L);
  std::unique_ptr<Temp> tx, tw, tb;
  const float* x = contiguous_f32(c, xv, tx, "batchNormTrain");
  const float* w = contiguous_f32(c, wv, tw, "batchNormTrain");
  const float* b = contiguous_f32(c, bv, tb, "batchNormTrain");
  OutF32 out(c, outv, false, "batchNormTrain"), mean(c, meanv, false, "batchNormTrain"), invstd(c, invstdv, false, "batchNormTrain");
  OutF32 rm(c, rmv, true, "batchNormTrain"), rv(c, rvv, true, "batchNormTrain");
  if (C > 0) {
    Temp stats(c, static_cast<size_t>(C) * 2 * 4);
    bn_stats_kernel<<<C, kThreads, 0, c.stream()>>>(x, N, C, L, static_cast<float>(eps), static_cast<float>(momentum), mean.ptr, invstd.ptr, rm.ptr, rv.ptr,
                                                   stats.as<float>());
    const long long total = static_cast<long long>(N) * C * L;
    if (total > 0) bn_normalize_kernel<<<grid_for(total), 256, 0, c.stream()>>>(x, total, C, L, stats.as<float>(), w, b, out.ptr);
  }
  out.commit();
  mean.commit();
  invstd.commit();
  rm.commit();
  rv.commit();
}

void batch_norm_backward(Context& c, const View& gyv, const View& xv, const View& wv, const View& meanv, const View& invstdv, const View& gxv,
                         const View& gwv, const View& gbv) {
  int N, C, L;
  ncl(xv, N, C, L);
  std::unique_ptr<Temp> tg, tx, tw, tm, ti;
  const float* gy = contiguous_f32(c, gyv, tg, "batchNormBackward");
  const float* x = contiguous_f32(c, xv, tx, "batchNormBackward");
  const float* w = contiguous_f32(c, wv, tw, "batchNormBackward");
  const float* mean = contiguous_f32(c, meanv, tm, "batchNormBackward");
  const float* invstd = contiguous_f32(c, invstdv, ti, "batchNormBackward");
  OutF32 gx(c, gxv, false, "batchNormBackward"), gw(c, gwv, false, "batchNormBackward"), gb(c, gbv, false, "batchNormBackward");
  if (C > 0) {
    Temp sums(c, static_cast<size_t>(C) * 2 * 4);
    bn_backward_sums_kernel<<<C, kThreads, 0, c.stream()>>>(gy, x, N, C, L, mean, invstd, sums.as<float>(), gw.ptr, gb.ptr);
    const long long total = static_cast<long long>(N) * C * L;
    if (total > 0 && gx.ptr)
      bn_backward_input_kernel<<<grid_for(total), 256, 0, c.stream()>>>(gy, x, total, C, L, static_cast<long long>(N) * L, w, mean, invstd, sums.as<float>(), gx.ptr);
  }
  gx.commit();
  gw.commit();
  gb.commit();
}

}  // namespace kc
