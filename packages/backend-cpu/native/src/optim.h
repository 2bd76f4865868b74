// Fused optimizer steps on dense float32 tensors, with the TypeScript kernels' exact arithmetic
// (float64 per element, state stored as float32 and re-read).
#pragma once
#include <cstdint>

namespace kd {

struct SgdArgs {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize, first_step;
};
void sgd_step(float* p, const float* g, float* buf, int64_t n, const SgdArgs& a);

struct AdamArgs {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled, amsgrad, maximize;
  double step;
};
void adam_step(float* p, const float* g, float* m, float* v, float* vmax, int64_t n, const AdamArgs& a);

}  // namespace kd
