// Activation backward from the saved output, one pass (FusedKernels.activationBackward).
#pragma once
#include <cstdint>

// ActivationOp codes: generated from core's op table by scripts/build-native.mjs.
#include "kindling_ops.h"

namespace kd {

// gx[i] = gy[i] · f'(y[i]) over n dense elements: sigmoid y·(1−y), tanh 1−y², relu [y > 0].
// Rounded like core's decomposition (float32 after every operation, no fused multiply-add: this
// file is compiled with -ffp-contract=off). False for an unknown op.
bool activation_backward(int op, const float* y, const float* gy, float* gx, int64_t n);

}  // namespace kd
