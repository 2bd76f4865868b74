// Training-mode batch norm and its backward over a dense float32 x viewed as [N, C, L]
// (FusedKernels.batchNormTrain / batchNormBackward; the TypeScript kernels in
// src/kernels/batchnorm.ts are the reference with the same arithmetic).
#pragma once
#include <cstdint>

namespace kd {

// Per channel: mean and biased variance in float64 (two passes: mean, then Σ(x−mean)²), then
// y = x·scale + shift with scale = w·invstd, shift = b − mean·scale. Writes y, mean[C] and
// invstd[C] (float32) and the float64 statistics to mean64/var64 for the running-stat update.
// w and b may be null (affine=False).
void batch_norm_train(const float* x, const float* w, const float* b, float* y, float* mean, float* invstd,
                      double* mean64, double* var64, int64_t N, int64_t C, int64_t L, double eps);

// gradBias = Σ gy, gradWeight = Σ gy·x̂, gradIn = w·invstd/M · (M·gy − Σ gy − x̂·Σ gy·x̂), with
// x̂ = (x − mean)·invstd and M = N·L. w, gw and gb may be null.
void batch_norm_backward(const float* gy, const float* x, const float* w, const float* mean, const float* invstd,
                         float* gx, float* gw, float* gb, int64_t N, int64_t C, int64_t L);

}  // namespace kd
