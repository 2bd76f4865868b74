// Tiled SGEMM: a 128×128 (8×8 per thread) and a 64×64 (4×4 per thread) tile shape with K steps of
// 8 through shared memory, templated on which dim of A and B is unit-stride so that global loads
// are coalesced whichever way an operand is transposed. Small products that leave most SMs idle
// split K across blocks and add their partial sums atomically. cuBLAS, when a libcublas can be
// loaded, takes every product it can describe (all but the bias epilogue).
#include <cstdint>
#include <string>

#include "context.h"
#include "cublas_loader.h"
#include "kindling_flags.h"
#include "gemm.h"
#include "gemm_tile.cuh"

namespace kc {
namespace {

constexpr int BK = 8;

template <int BM, int BN, int TM, int TN, bool A_KCONTIG, bool B_NCONTIG>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    sgemm_kernel(int M, int N, int K, int splits, const float* __restrict__ A, long long sab, long long sam, long long sak,
                 const float* __restrict__ Bm, long long sbb, long long sbk, long long sbn, float* __restrict__ C, long long scb,
                 long long scm, const float* __restrict__ row_bias, const float* __restrict__ col_bias, int accumulate) {
  constexpr int THREADS = (BM / TM) * (BN / TN);
  constexpr int A_PER = BM * BK / THREADS;
  constexpr int B_PER = BN * BK / THREADS;
  __shared__ float As[BK][BM];
  __shared__ float Bs[BK][BN];

  const int tid = threadIdx.x;
  const BlockTile tile = block_tile(K, splits, BM, BN, BK);
  const float* Ab = A + tile.b * sab;
  const float* Bb = Bm + tile.b * sbb;
  const int tx = tid % (BN / TN), ty = tid / (BN / TN);

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; i++)
#pragma unroll
    for (int j = 0; j < TN; j++) acc[i][j] = 0.f;

  for (int k0 = tile.kbeg; k0 < tile.kend; k0 += BK) {
#pragma unroll
    for (int j = 0; j < A_PER; j++) {
      const int e = tid + j * THREADS;
      const int m = A_KCONTIG ? e / BK : e % BM;
      const int k = A_KCONTIG ? e % BK : e / BM;
      const int gm = tile.m0 + m, gk = k0 + k;
      As[k][m] = (gm < M && gk < tile.kend) ? Ab[gm * sam + gk * sak] : 0.f;
    }
#pragma unroll
    for (int j = 0; j < B_PER; j++) {
      const int e = tid + j * THREADS;
      const int n = B_NCONTIG ? e % BN : e / BK;
      const int k = B_NCONTIG ? e / BN : e % BK;
      const int gn = tile.n0 + n, gk = k0 + k;
      Bs[k][n] = (gn < N && gk < tile.kend) ? Bb[gk * sbk + gn * sbn] : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < BK; k++) {
      float a[TM], bv[TN];
#pragma unroll
      for (int i = 0; i < TM; i++) a[i] = As[k][ty * TM + i];
#pragma unroll
      for (int j = 0; j < TN; j++) bv[j] = Bs[k][tx * TN + j];
#pragma unroll
      for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = fmaf(a[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }

  float* Cb = C + tile.b * scb;
#pragma unroll
  for (int i = 0; i < TM; i++) {
    const int gm = tile.m0 + ty * TM + i;
    if (gm >= M) continue;
#pragma unroll
    for (int j = 0; j < TN; j++) {
      const int gn = tile.n0 + tx * TN + j;
      if (gn < N) store_c(Cb + gm * scm + gn, acc[i][j], gm, gn, row_bias, col_bias, tile.split, splits, accumulate);
    }
  }
}

// C[b][m][n] = row_bias[m] (or 0): the start of split-K partial sums, or of a cuBLAS product with a bias.
__global__ void init_c_kernel(int batch, int M, int N, float* C, long long scb, long long scm, const float* row_bias, const float* col_bias) {
  const long long total = static_cast<long long>(batch) * M * N;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total; i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int n = static_cast<int>(i % N);
    const long long r = i / N;
    const int m = static_cast<int>(r % M);
    const int b = static_cast<int>(r / M);
    C[b * scb + m * scm + n] = (row_bias ? row_bias[m] : 0.f) + (col_bias ? col_bias[n] : 0.f);
  }
}

template <int BM, int BN, int TM, int TN>
void launch_tiles(Context& c, const GemmArgs& g, int splits) {
  const dim3 grid((g.N + BN - 1) / BN, (g.M + BM - 1) / BM, g.batch * splits);
  const int threads = (BM / TM) * (BN / TN);
  const bool a_k = g.sak == 1, b_n = g.sbn == 1;
#define KC_LAUNCH(AK, BN_)                                                                                                    \
  sgemm_kernel<BM, BN, TM, TN, AK, BN_><<<grid, threads, 0, c.stream()>>>(g.M, g.N, g.K, splits, g.A, g.sab, g.sam, g.sak, g.B, \
                                                                           g.sbb, g.sbk, g.sbn, g.C, g.scb, g.scm, g.row_bias,  \
                                                                           g.col_bias, g.accumulate ? 1 : 0)
  if (a_k && b_n) KC_LAUNCH(true, true);
  else if (a_k) KC_LAUNCH(true, false);
  else if (b_n) KC_LAUNCH(false, true);
  else KC_LAUNCH(false, false);
#undef KC_LAUNCH
}

// Small products (LeNet's) run faster in our kernels, which have no per-call setup (on an H200:
// LeNet 1.37 ms a step with ours, 1.42 with cuBLAS for every product).
bool worth_cublas(const GemmArgs& g) {
  return 2.0 * g.batch * g.M * g.N * static_cast<double>(g.K) >= vendor_library_min_flops();
}

// cuBLAS is column-major: row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ. A row-major operand
// (unit column stride) is a column-major transpose with the row stride as leading dimension.
bool gemm_cublas(Context& c, const GemmArgs& g) {
  const blas::Api* cb = blas::api();
  void* h = c.cublas();
  if (!h || !cb || g.row_bias || g.col_bias) return false;  // bias epilogues are our kernel's
  if (!worth_cublas(g)) return false;
  const bool a_row = g.sak == 1, b_row = g.sbn == 1;
  if ((!a_row && g.sam != 1) || (!b_row && g.sbk != 1)) return false;
  const long long lda = a_row ? (g.M == 1 ? g.K : g.sam) : (g.K == 1 ? g.M : g.sak);
  const long long ldb = b_row ? (g.K == 1 ? g.N : g.sbk) : (g.N == 1 ? g.K : g.sbn);
  if (lda < (a_row ? g.K : g.M) || ldb < (b_row ? g.N : g.K) || g.scm < g.N || lda > INT32_MAX || ldb > INT32_MAX) return false;
  if (g.batch > 1 && g.scb < static_cast<long long>(g.M) * g.scm) return false;
  const float alpha = 1.f, beta = g.accumulate ? 1.f : 0.f;
  const auto handle = static_cast<blas::Handle>(h);
  cb->cublasSetMathMode(handle, g.tf32 ? blas::kTf32Math : blas::kDefaultMath);
  const int s = cb->cublasSgemmStridedBatched(handle, b_row ? blas::kOpN : blas::kOpT, a_row ? blas::kOpN : blas::kOpT, g.N, g.M, g.K, &alpha,
                                              g.B, static_cast<int>(ldb), g.sbb, g.A, static_cast<int>(lda), g.sab, &beta, g.C,
                                              static_cast<int>(g.scm), g.scb, g.batch);
  if (s != 0) throw Error(std::string("cuda matmul: cuBLAS failed (status ") + std::to_string(s) + ")");
  return true;
}

}  // namespace

void* gemm_cublas_create(cudaStream_t stream) {
  const blas::Api* cb = blas::api();
  if (!cb) return nullptr;
  blas::Handle h = nullptr;
  if (cb->cublasCreate_v2(&h) != blas::kSuccess || !h) return nullptr;
  if (cb->cublasSetStream_v2(h, stream) != blas::kSuccess) {  // a handle on another stream would race ours
    cb->cublasDestroy_v2(h);
    return nullptr;
  }
  // Full FP32 products, as PyTorch's default (torch.backends.cuda.matmul.allow_tf32 = False).
  cb->cublasSetMathMode(h, blas::kDefaultMath);
  return h;
}

void gemm_cublas_destroy(void* handle) {
  if (handle && blas::api()) blas::api()->cublasDestroy_v2(static_cast<blas::Handle>(handle));
}

const char* gemm_cublas_status() { return blas::status().c_str(); }

void gemm(Context& c, const GemmArgs& g0) {
  if (g0.M == 0 || g0.N == 0 || g0.batch == 0) return;
  GemmArgs g = g0;
  // With cuBLAS (no epilogues) or an empty K, the bias is written first and the product added.
  const bool bias = g.row_bias || g.col_bias;
  if (bias && (g.K == 0 || (c.cublas() && worth_cublas(g)))) {
    if (!g.accumulate) {
      init_c_kernel<<<256, 256, 0, c.stream()>>>(g.batch, g.M, g.N, g.C, g.scb, g.scm, g.row_bias, g.col_bias);
    } else {
      GemmArgs b = g;
      b.K = 0;
      launch_tiles<64, 64, 4, 4>(c, b, 1);  // adds the biases to C
    }
    g.row_bias = nullptr;
    g.col_bias = nullptr;
    g.accumulate = true;
  }
  if (g.K == 0) {
    if (!g.accumulate) init_c_kernel<<<256, 256, 0, c.stream()>>>(g.batch, g.M, g.N, g.C, g.scb, g.scm, nullptr, nullptr);
    return;
  }
  if (gemm_cublas(c, g)) return;
  const int sms = c.props().multiProcessorCount;
  // How many ways to split K so that a product of few tiles still fills the SMs (about two blocks
  // each), keeping at least min_k of K per split; C is zeroed for the partial sums to add into.
  auto split_k = [&](int tile, int min_k) {
    const long long tiles = static_cast<long long>(g.batch) * ((g.M + tile - 1) / tile) * ((g.N + tile - 1) / tile);
    int splits = 1;
    if (tiles < 2LL * sms && g.K >= 2 * min_k) {
      const long long want = (2LL * sms + tiles - 1) / tiles;
      const long long most = g.K / min_k;
      splits = static_cast<int>(want < most ? want : most);
      if (static_cast<long long>(g.batch) * splits > 65535) splits = 65535 / g.batch;
      if (splits < 1) splits = 1;
    }
    if (splits > 1 && !g.accumulate) init_c_kernel<<<256, 256, 0, c.stream()>>>(g.batch, g.M, g.N, g.C, g.scb, g.scm, nullptr, nullptr);
    return splits;
  };
  // Tensor cores (gemm_tf32.cu): TF32 for products allowed it; FP32 ones as 3xTF32 when
  // KINDLING_CUDA_FP32_TENSOR_CORES=1. 128×128 tiles, ≥ 8 K-steps of 32 a split.
  static const bool fp32_on_tensor_cores = kindling::flag_bool("KINDLING_CUDA_FP32_TENSOR_CORES", false);
  if ((g.tf32 || fp32_on_tensor_cores) && c.props().major >= 8 && gemm_tensor_cores(c, g, split_k(128, 256), !g.tf32)) return;
  const long long tiles128 = static_cast<long long>(g.batch) * ((g.M + 127) / 128) * ((g.N + 127) / 128);
  if (tiles128 >= sms) {
    launch_tiles<128, 128, 8, 8>(c, g, 1);
    return;
  }
  launch_tiles<64, 64, 4, 4>(c, g, split_k(64, 128));  // ≥ 16 K-steps of 8 a split
}

}  // namespace kc
