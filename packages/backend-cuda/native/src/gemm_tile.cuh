// What the tiled GEMM kernels (gemm.cu's SIMT one, gemm_tf32.cu's tensor-core one) share: the K
// range of a split-K block, and how an element of C is written.
#pragma once

#include <cuda_runtime.h>

namespace kc {

// The K range [begin, end) of split `split` of `splits`, in whole steps of bk.
__device__ __forceinline__ void split_k_range(int K, int splits, int split, int bk, int& begin, int& end) {
  const int steps = (K + bk - 1) / bk;
  const int per_split = (steps + splits - 1) / splits;
  begin = split * per_split * bk;
  end = min(K, begin + per_split * bk);
}

// C[m][n] from a block's sum v: the biases join once (in split 0); a split-K partial sum is added
// atomically, else v is added to C (accumulate) or replaces it.
__device__ __forceinline__ void store_c(float* dst, float v, int m, int n, const float* row_bias, const float* col_bias, int split,
                                        int splits, int accumulate) {
  if (split == 0) v += (row_bias ? row_bias[m] : 0.f) + (col_bias ? col_bias[n] : 0.f);
  if (splits > 1) atomicAdd(dst, v);
  else if (accumulate) *dst += v;
  else *dst = v;
}

}  // namespace kc
