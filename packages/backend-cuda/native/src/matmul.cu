// matmul over views: a [B,M,K] · b [B,K,N] → out [B,M,N]. Operands whose matrices have no unit
// stride in either dim (rare: core makes one side dense) are made contiguous first.
#include <memory>

#include "gemm.h"
#include "kernels.h"

namespace kc {

void matmul(Context& c, const View& a, const View& b, const View& out) {
  if (a.nd != 3 || b.nd != 3 || out.nd != 3) throw Error("matmul: expected [B,M,K]·[B,K,N] views", true);
  if (a.dtype != F32 || b.dtype != F32 || out.dtype != F32) throw Error("matmul: cuda multiplies float32 tensors only");
  const int64_t M = a.shape[1], K = a.shape[2], N = b.shape[2], B = out.shape[0];
  if (b.shape[1] != K || out.shape[1] != M || out.shape[2] != N) throw Error("matmul: shapes do not agree", true);
  if (B * M * K >= (int64_t(1) << 31) || B * K * N >= (int64_t(1) << 31) || B * M * N >= (int64_t(1) << 31))
    throw Error("matmul: tensors of 2^31 or more elements are not supported on cuda", true);
  std::unique_ptr<Temp> ta, tb;
  GemmArgs g;
  g.batch = static_cast<int>(B);
  g.M = static_cast<int>(M);
  g.N = static_cast<int>(N);
  g.K = static_cast<int>(K);
  if (a.strides[2] == 1 || a.strides[1] == 1 || M == 1 || K == 1) {
    g.A = a.data<float>();
    g.sab = a.shape[0] == 1 ? 0 : a.strides[0];
    g.sam = M == 1 ? K : a.strides[1];
    g.sak = K == 1 ? (g.sam == 1 ? M : 1) : a.strides[2];
    if (M == 1 && K != 1 && a.strides[2] != 1) g.sam = 1;  // a row vector: unit stride in m is harmless
  } else {
    g.A = contiguous_f32(c, a, ta, "matmul");
    g.sab = a.shape[0] == 1 ? 0 : M * K;
    g.sam = K;
    g.sak = 1;
  }
  if (b.strides[2] == 1 || b.strides[1] == 1 || K == 1 || N == 1) {
    g.B = b.data<float>();
    g.sbb = b.shape[0] == 1 ? 0 : b.strides[0];
    g.sbk = K == 1 ? N : b.strides[1];
    g.sbn = N == 1 ? (g.sbk == 1 ? K : 1) : b.strides[2];
    if (K == 1 && N != 1 && b.strides[2] != 1) g.sbk = 1;
  } else {
    g.B = contiguous_f32(c, b, tb, "matmul");
    g.sbb = b.shape[0] == 1 ? 0 : K * N;
    g.sbk = N;
    g.sbn = 1;
  }
  OutF32 o(c, out, false, "matmul");
  g.C = o.ptr;
  g.scb = M * N;
  g.scm = N;
  gemm(c, g);
  o.commit();
}

void linear(Context& c, const View& x, const View& w, const View& bias, const View& out) {
  if (x.nd != 2 || w.nd != 2 || out.nd != 2 || x.dtype != F32 || w.dtype != F32 || out.dtype != F32)
    throw Error("linear: expected float32 x [M,K], weight [N,K] and out [M,N]");
  const int64_t M = x.shape[0], K = x.shape[1], N = w.shape[0];
  if (w.shape[1] != K || out.shape[0] != M || out.shape[1] != N || (bias.present() && (bias.numel() != N || bias.dtype != F32)))
    throw Error("linear: shapes do not agree", true);
  if (M * K >= (int64_t(1) << 31) || N * K >= (int64_t(1) << 31) || M * N >= (int64_t(1) << 31))
    throw Error("linear: tensors of 2^31 or more elements are not supported on cuda", true);
  std::unique_ptr<Temp> tx, tw, tb;
  GemmArgs g;
  g.M = static_cast<int>(M);
  g.N = static_cast<int>(N);
  g.K = static_cast<int>(K);
  g.A = contiguous_f32(c, x, tx, "linear");
  g.sam = K;
  g.sak = 1;
  g.B = contiguous_f32(c, w, tw, "linear");  // B(k, n) = w[n][k]
  g.sbk = 1;
  g.sbn = K;
  g.col_bias = contiguous_f32(c, bias, tb, "linear");
  OutF32 o(c, out, false, "linear");
  g.C = o.ptr;
  g.scm = N;
  gemm(c, g);
  o.commit();
}

}  // namespace kc
