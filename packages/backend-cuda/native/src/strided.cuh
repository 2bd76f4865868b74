// Strided indexing shared by every elementwise-shaped kernel. The host collapses the output shape
// and K operands' strides together (dropping size-1 dims, merging dims that are contiguous in every
// operand), so most launches see one or two dims; the device turns a linear output index into K
// element offsets with a few divisions.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "common.h"

namespace kc {

template <int K>
struct Indexer {
  int nd;
  int shape[kMaxDims];
  int strides[K][kMaxDims];
  int offset[K];
};

// Builds an indexer over `shape` for K operands (strides[k] null for a scalar: stride 0 everywhere).
template <int K>
Indexer<K> make_indexer(int nd, const int64_t* shape, const int64_t* const (&strides)[K], const int64_t (&offsets)[K]) {
  Indexer<K> ix{};
  int n = 0;
  int64_t sh[kMaxDims];
  int64_t st[K][kMaxDims];
  for (int d = 0; d < nd; d++) {
    if (shape[d] == 1) continue;
    if (n > 0) {
      bool merge = true;
      for (int k = 0; k < K; k++) {
        const int64_t s = strides[k] ? strides[k][d] : 0;
        if (st[k][n - 1] != s * shape[d]) merge = false;
      }
      if (merge) {
        sh[n - 1] *= shape[d];
        for (int k = 0; k < K; k++) st[k][n - 1] = strides[k] ? strides[k][d] : 0;
        continue;
      }
    }
    sh[n] = shape[d];
    for (int k = 0; k < K; k++) st[k][n] = strides[k] ? strides[k][d] : 0;
    n++;
  }
  if (n == 0) {
    sh[0] = 1;
    for (int k = 0; k < K; k++) st[k][0] = 0;
    n = 1;
  }
  ix.nd = n;
  for (int d = 0; d < n; d++) {
    ix.shape[d] = static_cast<int>(sh[d]);
    for (int k = 0; k < K; k++) ix.strides[k][d] = static_cast<int>(st[k][d]);
  }
  for (int k = 0; k < K; k++) ix.offset[k] = static_cast<int>(offsets[k]);
  return ix;
}

template <int K>
__device__ __forceinline__ void index_offsets(const Indexer<K>& ix, int i, int (&o)[K]) {
#pragma unroll
  for (int k = 0; k < K; k++) o[k] = ix.offset[k];
  if (ix.nd == 1) {
#pragma unroll
    for (int k = 0; k < K; k++) o[k] += i * ix.strides[k][0];
    return;
  }
  for (int d = ix.nd - 1; d >= 0; d--) {
    const int s = ix.shape[d];
    const int c = i % s;
    i /= s;
#pragma unroll
    for (int k = 0; k < K; k++) o[k] += c * ix.strides[k][d];
  }
}

// Values of any dtype read as the compute type C; stores cast back (bool stores v != 0).
template <typename C>
__device__ __forceinline__ C load_as(const void* p, int dt, int off) {
  if (dt == F32) return static_cast<C>(static_cast<const float*>(p)[off]);
  if (dt == I32) return static_cast<C>(static_cast<const int*>(p)[off]);
  return static_cast<C>(static_cast<const uint8_t*>(p)[off]);
}

template <typename C>
__device__ __forceinline__ void store_as(void* p, int dt, int off, C v) {
  if (dt == F32) static_cast<float*>(p)[off] = static_cast<float>(v);
  else if (dt == I32) static_cast<int*>(p)[off] = static_cast<int>(v);
  else static_cast<uint8_t*>(p)[off] = v != C(0) ? 1 : 0;
}

// Grid size for a grid-stride loop over n elements (every kernel loops, so the cap only bounds
// how many blocks are resident at once).
inline unsigned grid_for(long long n, int block = 256) {
  long long b = (n + block - 1) / block;
  if (b > 65535LL * 16) b = 65535LL * 16;
  return static_cast<unsigned>(b < 1 ? 1 : b);
}

// Threads for a block that cooperates on n items: a power of two from 32 to 256.
inline int block_threads(long long n) { return n >= 256 ? 256 : n >= 128 ? 128 : n >= 64 ? 64 : 32; }

// The flat element count of a launch, checked against the int32 indexing of the kernels.
inline int checked_numel(const View& v, const char* op) {
  const int64_t n = v.numel();
  if (n >= (int64_t(1) << 31)) throw Error(std::string(op) + ": tensors of 2^31 or more elements are not supported on cuda", true);
  return static_cast<int>(n);
}

}  // namespace kc
