// Products on tensor cores (sm_80 and later), for hosts where cuBLAS is absent: a 128×128 block
// tile with K steps of 32 through shared memory, eight warps as 2 (m) × 4 (n), each warp a 64×32
// tile of 4×2 WMMA m16n16k8 TF32 fragments. Operands are read through strides (as gemm.cu's
// kernel); sums stay FP32. The epilogue (bias, accumulate, split-K partial sums) matches gemm.cu's.
// Two blocks per SM (128 registers a thread) hide more of the single-buffered loads' latency.
//
// Two precisions:
//  - TF32 (a convolution's product when the backend's allowTF32 is on): operands rounded to TF32
//    once, as they are stored to shared memory;
//  - 3xTF32 (FP32 products, with KINDLING_CUDA_FP32_TENSOR_CORES=1): each operand x is split into
//    hi = tf32(x) and lo = tf32(x − hi), and a·b ≈ a_lo·b_hi + a_hi·b_lo + a_hi·b_hi. The dropped
//    a_lo·b_lo is below FP32's rounding, so results are as accurate as FP32's (checked by the
//    conformance and cuda-vs-cpu tolerances), for three tensor-core products instead of one.
#include <mma.h>

#include "context.h"
#include "gemm.h"
#include "gemm_tile.cuh"

namespace kc {
namespace {

constexpr int BM = 128, BN = 128, BK = 32;
constexpr int LDA = BK + 4, LDB = BN + 4, LDC = 20;  // padded rows; each a multiple of 4 floats, as WMMA needs
constexpr int THREADS = 256;

template <bool A_KCONTIG, bool B_NCONTIG, bool SPLIT3>
__global__ void __launch_bounds__(THREADS, 2)
    tf32_gemm_kernel(int M, int N, int K, int splits, const float* __restrict__ A, long long sab, long long sam, long long sak,
                     const float* __restrict__ Bm, long long sbb, long long sbk, long long sbn, float* __restrict__ C, long long scb,
                     long long scm, const float* __restrict__ row_bias, const float* __restrict__ col_bias, int accumulate) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  // No TF32 tensor cores before Ampere: gemm_tf32() never launches this there.
#else
  using namespace nvcuda;
  // 256-bit aligned, as WMMA loads and stores need; 45 KiB in all, under the 48 KiB static limit.
  __shared__ __align__(32) float As[BM * LDA];  // [m][k]
  __shared__ __align__(32) float Bs[BK * LDB];  // [k][n]
  __shared__ __align__(32) float Cs[THREADS / 32][16 * LDC];  // each warp's epilogue staging

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int wm = warp / 4, wn = warp % 4;  // the warp's 64×32 tile: rows wm·64, columns wn·32
  const BlockTile tile = block_tile(K, splits, BM, BN, BK);
  const float* Ab = A + tile.b * sab;
  const float* Bb = Bm + tile.b * sbb;

  wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[4][2];
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.f);

  for (int k0 = tile.kbeg; k0 < tile.kend; k0 += BK) {
    // Each thread stores 16 elements of each tile; consecutive threads read consecutive addresses
    // along whichever dim of the operand is unit-stride.
#pragma unroll 4
    for (int j = 0; j < BM * BK / THREADS; j++) {
      const int e = tid + j * THREADS;
      const int m = A_KCONTIG ? e / BK : e % BM;
      const int k = A_KCONTIG ? e % BK : e / BM;
      const int gm = tile.m0 + m, gk = k0 + k;
      const float v = (gm < M && gk < tile.kend) ? Ab[gm * sam + gk * sak] : 0.f;
      As[m * LDA + k] = SPLIT3 ? v : wmma::__float_to_tf32(v);
    }
#pragma unroll 4
    for (int j = 0; j < BN * BK / THREADS; j++) {
      const int e = tid + j * THREADS;
      const int n = B_NCONTIG ? e % BN : e / BK;
      const int k = B_NCONTIG ? e / BN : e % BK;
      const int gn = tile.n0 + n, gk = k0 + k;
      const float v = (gn < N && gk < tile.kend) ? Bb[gk * sbk + gn * sbn] : 0.f;
      Bs[k * LDB + n] = SPLIT3 ? v : wmma::__float_to_tf32(v);
    }
    __syncthreads();
    if (SPLIT3) {
      // B's hi and lo parts for the warp's two columns, then A's row by row (fewer live registers).
#pragma unroll
      for (int kk = 0; kk < BK; kk += 8) {
        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> bh[2], bl[2];
#pragma unroll
        for (int j = 0; j < 2; j++) {
          wmma::load_matrix_sync(bh[j], Bs + kk * LDB + wn * 32 + j * 16, LDB);
#pragma unroll
          for (int t = 0; t < bh[j].num_elements; t++) {
            const float v = bh[j].x[t], hi = wmma::__float_to_tf32(v);
            bh[j].x[t] = hi;
            bl[j].x[t] = wmma::__float_to_tf32(v - hi);
          }
        }
#pragma unroll
        for (int i = 0; i < 4; i++) {
          wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> ah, al;
          wmma::load_matrix_sync(ah, As + (wm * 64 + i * 16) * LDA + kk, LDA);
#pragma unroll
          for (int t = 0; t < ah.num_elements; t++) {
            const float v = ah.x[t], hi = wmma::__float_to_tf32(v);
            ah.x[t] = hi;
            al.x[t] = wmma::__float_to_tf32(v - hi);
          }
#pragma unroll
          for (int j = 0; j < 2; j++) {  // the small terms first, so the large one does not swamp them
            wmma::mma_sync(acc[i][j], al, bh[j], acc[i][j]);
            wmma::mma_sync(acc[i][j], ah, bl[j], acc[i][j]);
            wmma::mma_sync(acc[i][j], ah, bh[j], acc[i][j]);
          }
        }
      }
      __syncthreads();
      continue;
    }
#pragma unroll
    for (int kk = 0; kk < BK; kk += 8) {
      wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> af[4];
      wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> bf[2];
#pragma unroll
      for (int i = 0; i < 4; i++) wmma::load_matrix_sync(af[i], As + (wm * 64 + i * 16) * LDA + kk, LDA);
#pragma unroll
      for (int j = 0; j < 2; j++) wmma::load_matrix_sync(bf[j], Bs + kk * LDB + wn * 32 + j * 16, LDB);
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], af[i], bf[j], acc[i][j]);
    }
    __syncthreads();
  }

  // Epilogue: each fragment goes through the warp's staging tile, then each lane writes 8 of its
  // 256 elements (store_c: the bias, accumulate and split-K rules of gemm.cu's kernel too).
  float* Cb = C + tile.b * scb;
  float* stage = Cs[warp];
#pragma unroll
  for (int i = 0; i < 4; i++) {
#pragma unroll
    for (int j = 0; j < 2; j++) {
      wmma::store_matrix_sync(stage, acc[i][j], LDC, wmma::mem_row_major);
      __syncwarp();
#pragma unroll
      for (int t = 0; t < 8; t++) {
        const int e = lane + t * 32;
        const int r = e / 16, cidx = e % 16;
        const int gm = tile.m0 + wm * 64 + i * 16 + r, gn = tile.n0 + wn * 32 + j * 16 + cidx;
        if (gm < M && gn < N) store_c(Cb + gm * scm + gn, stage[r * LDC + cidx], gm, gn, row_bias, col_bias, tile.split, splits, accumulate);
      }
      __syncwarp();  // every lane has read the staging tile before the next fragment overwrites it
    }
  }
#endif
}

}  // namespace

bool gemm_tensor_cores(Context& c, const GemmArgs& g, int splits, bool split3) {
  if (c.props().major < 8) return false;
  const dim3 grid((g.N + BN - 1) / BN, (g.M + BM - 1) / BM, g.batch * splits);
  const bool a_k = g.sak == 1, b_n = g.sbn == 1;
#define KC_LAUNCH(AK, BN_, S3)                                                                                                            \
  tf32_gemm_kernel<AK, BN_, S3><<<grid, THREADS, 0, c.stream()>>>(g.M, g.N, g.K, splits, g.A, g.sab, g.sam, g.sak, g.B, g.sbb, g.sbk, g.sbn, \
                                                                   g.C, g.scb, g.scm, g.row_bias, g.col_bias, g.accumulate ? 1 : 0)
#define KC_LAUNCH_AB(S3)                    \
  if (a_k && b_n) KC_LAUNCH(true, true, S3); \
  else if (a_k) KC_LAUNCH(true, false, S3);  \
  else if (b_n) KC_LAUNCH(false, true, S3);  \
  else KC_LAUNCH(false, false, S3);
  if (split3) {
    KC_LAUNCH_AB(true)
  } else {
    KC_LAUNCH_AB(false)
  }
#undef KC_LAUNCH_AB
#undef KC_LAUNCH
  return true;
}

}  // namespace kc
