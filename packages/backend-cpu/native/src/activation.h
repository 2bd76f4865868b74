// Activation backward from the saved output, one pass (FusedKernels.activationBackward).
#pragma once
#include <cstdint>

namespace kd {

// Codes shared with src/native/addon.ts (keep in sync).
enum ActivationCode : int { A_SIGMOID = 0, A_TANH = 1, A_RELU = 2, A_COUNT };

// gx[i] = gy[i] · f'(y[i]) over n dense elements: sigmoid y·(1−y), tanh 1−y², relu [y > 0].
// Rounded like core's decomposition (float32 after every operation, no fused multiply-add: this
// file is compiled with -ffp-contract=off). False for an unknown op.
bool activation_backward(int op, const float* y, const float* gy, float* gx, int64_t n);

}  // namespace kd
