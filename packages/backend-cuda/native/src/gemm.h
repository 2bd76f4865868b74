// Batched single-precision matrix products for matmul and the convolutions:
//   C[b] (M×N) = A[b] (M×K) · B[b] (K×N)  (+ C[b] when accumulate) (+ row_bias[m]) (+ col_bias[n])
// A and B are read through strides (a transposed operand is just other strides; a batch stride of
// 0 broadcasts); C has unit column stride. Our own tiled kernels always work; when a libcublas can
// be loaded at run time (cublas_loader.h) and KINDLING_CUDA_CUBLAS is not 0, cuBLAS runs the
// products whose operands it can describe.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace kc {

class Context;

struct GemmArgs {
  int batch = 1, M = 0, N = 0, K = 0;
  const float* A = nullptr;
  int64_t sab = 0, sam = 0, sak = 0;
  const float* B = nullptr;
  int64_t sbb = 0, sbk = 0, sbn = 0;
  float* C = nullptr;
  int64_t scb = 0, scm = 0;
  const float* row_bias = nullptr;
  bool accumulate = false;
  // Added to every row (bias[n]), as nn.Linear's bias on [M, N] outputs.
  const float* col_bias = nullptr;
  // TF32 tensor cores allowed (a convolution's product when the backend's allowTF32 is on, as
  // PyTorch's torch.backends.cudnn.allow_tf32). Plain matmuls are always full FP32.
  bool tf32 = false;
};

void gemm(Context& c, const GemmArgs& g);

// gemm()'s tensor-core path (gemm_tf32.cu): TF32 products, or FP32-accurate ones as 3xTF32 when
// split3; K split `splits` ways (C already zeroed when splits > 1 and not accumulating). False when
// the device has no TF32 tensor cores (before sm_80).
bool gemm_tensor_cores(Context& c, const GemmArgs& g, int splits, bool split3);

// cuBLAS handle management (null when no libcublas could be loaded, or it is disabled).
void* gemm_cublas_create(cudaStream_t stream);
void gemm_cublas_destroy(void* handle);
const char* gemm_cublas_status();

}  // namespace kc
