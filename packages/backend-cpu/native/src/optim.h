// Fused optimizer steps on dense float32 tensors, with the TypeScript kernels' exact arithmetic
// (float64 per element, state stored as float32 and re-read).
#pragma once
#include <cstdint>

#include "kindling_packed.h"

namespace kd {

using SgdArgs = kindling::SgdHyper<double>;
void sgd_step(float* p, const float* g, float* buf, int64_t n, const SgdArgs& a);

using AdamArgs = kindling::AdamHyper<double>;
void adam_step(float* p, const float* g, float* m, float* v, float* vmax, int64_t n, const AdamArgs& a);

}  // namespace kd
