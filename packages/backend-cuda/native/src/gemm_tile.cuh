// What the tiled GEMM kernels (gemm.cu's SIMT one, gemm_tf32.cu's tensor-core one) share: which
// tile and K range a block works on, and how an element of C is written.
#pragma once

#include <cuda_runtime.h>

namespace kc {

// What one block of a GEMM grid works on (x: column tiles, y: row tiles, z: batch × split-K): its
// batch b, its split, its tile's origin, and its K range [kbeg, kend) in whole steps of bk.
struct BlockTile {
  int b, split, m0, n0, kbeg, kend;
};
__device__ __forceinline__ BlockTile block_tile(int K, int splits, int bm, int bn, int bk) {
  BlockTile t;
  t.b = blockIdx.z / splits;
  t.split = blockIdx.z % splits;
  t.m0 = blockIdx.y * bm;
  t.n0 = blockIdx.x * bn;
  const int steps = (K + bk - 1) / bk;
  const int per_split = (steps + splits - 1) / splits;
  t.kbeg = t.split * per_split * bk;
  t.kend = min(K, t.kbeg + per_split * bk);
  return t;
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
