#include "gemm.h"

#include <cblas.h>

#include <algorithm>
#include <vector>

#include "threadpool.h"

namespace kd {
namespace {

// How a rows×cols operand maps onto BLAS: transposed or not, and its leading dimension.
struct BlasLayout {
  bool ok;
  bool trans;
  int64_t ld;
};

// Row-major BLAS wants unit stride along columns (NoTrans, ld = row stride >= cols) or along
// rows (Trans, ld = column stride >= rows). Size-1 dims have meaningless strides.
BlasLayout layout_of(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  if ((cs == 1 || cols <= 1) && (rows <= 1 || rs >= std::max<int64_t>(1, cols))) {
    return {true, false, rows <= 1 ? std::max<int64_t>(1, cols) : rs};
  }
  if ((rs == 1 || rows <= 1) && (cols <= 1 || cs >= std::max<int64_t>(1, rows))) {
    return {true, true, cols <= 1 ? std::max<int64_t>(1, rows) : cs};
  }
  return {false, false, 0};
}

// Copies a strided operand into a dense row-major scratch matrix.
Mat pack(int64_t rows, int64_t cols, Mat src, std::vector<float>& buf) {
  buf.resize(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++) buf[i * cols + j] = src.data[i * src.rs + j * src.cs];
  return {buf.data(), cols, 1};
}

// C = A·B (+C) for a row-major C (unit column stride); A and B any layout.
void gemm_rowmajor_c(int64_t M, int64_t N, int64_t K, Mat A, Mat B, float* C, int64_t ldc, bool acc) {
  std::vector<float> pa, pb;
  BlasLayout la = layout_of(M, K, A.rs, A.cs);
  if (!la.ok) {
    A = pack(M, K, A, pa);
    la = layout_of(M, K, A.rs, A.cs);
  }
  BlasLayout lb = layout_of(K, N, B.rs, B.cs);
  if (!lb.ok) {
    B = pack(K, N, B, pb);
    lb = layout_of(K, N, B.rs, B.cs);
  }
  cblas_sgemm(CblasRowMajor, la.trans ? CblasTrans : CblasNoTrans, lb.trans ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), 1.0f, A.data, static_cast<int>(la.ld),
              B.data, static_cast<int>(lb.ld), acc ? 1.0f : 0.0f, C, static_cast<int>(ldc));
}

}  // namespace

void sgemm_serial(int64_t M, int64_t N, int64_t K, Mat A, Mat B, MutMat C, bool acc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!acc)
      for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) C.data[i * C.rs + j * C.cs] = 0.0f;
    return;
  }
  // C row-major: direct. C column-major: compute Cᵀ = Bᵀ·Aᵀ instead. Otherwise a scratch C.
  BlasLayout lc = layout_of(M, N, C.rs, C.cs);
  if (lc.ok && !lc.trans) {
    gemm_rowmajor_c(M, N, K, A, B, C.data, lc.ld, acc);
  } else if (lc.ok) {
    gemm_rowmajor_c(N, M, K, Mat{B.data, B.cs, B.rs}, Mat{A.data, A.cs, A.rs}, C.data, lc.ld, acc);
  } else {
    std::vector<float> tmp(static_cast<size_t>(M * N));
    gemm_rowmajor_c(M, N, K, A, B, tmp.data(), N, false);
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        float& c = C.data[i * C.rs + j * C.cs];
        c = acc ? c + tmp[i * N + j] : tmp[i * N + j];
      }
  }
}

void sgemm(int64_t M, int64_t N, int64_t K, Mat A, Mat B, MutMat C, bool acc) {
  // Below ~100 MFLOP (~0.8 ms on one core) splitting measured slower than one thread here (each
  // thread packs the shared operand again, and OpenBLAS's per-call setup is serialised).
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const int nt = pool_threads();
  if (nt <= 1 || in_parallel() || flops < 1e8 || std::max(M, N) < 64) {
    sgemm_serial(M, N, K, A, B, C, acc);
    return;
  }
  // Split the longer output dimension into nt blocks aligned to 16 (BLAS kernels' tile width).
  const bool split_n = N >= M;
  const int64_t len = split_n ? N : M;
  parallel_run(nt, [&](int tid, int n) {
    int64_t lo = (len * tid / n) / 16 * 16, hi = tid == n - 1 ? len : (len * (tid + 1) / n) / 16 * 16;
    if (lo >= hi) return;
    if (split_n) {
      sgemm_serial(M, hi - lo, K, A, Mat{B.data + lo * B.cs, B.rs, B.cs}, MutMat{C.data + lo * C.cs, C.rs, C.cs}, acc);
    } else {
      sgemm_serial(hi - lo, N, K, Mat{A.data + lo * A.rs, A.rs, A.cs}, B, MutMat{C.data + lo * C.rs, C.rs, C.cs}, acc);
    }
  });
}

const char* blas_config() { return openblas_get_config(); }
const char* blas_corename() { return openblas_get_corename(); }
void blas_single_thread() { openblas_set_num_threads(1); }

}  // namespace kd
