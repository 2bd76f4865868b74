/**
 * Batched matmul: a [B,M,K] · b [B,K,N] → out [B,M,N]. Batch strides may be 0 (broadcast).
 * float32 goes through the packed sgemm; int32 through a simple wrapping loop.
 */
import type { View } from '@kindling/core';
import { dataOf } from '../buffer.js';
import { igemm, sgemm } from './gemm.js';

export function matmul(a: View, b: View, out: View): void {
  if (a.shape.length !== 3 || b.shape.length !== 3 || out.shape.length !== 3) {
    throw new Error(`matmul: expected 3-d views [B,M,K]·[B,K,N]→[B,M,N], got [${a.shape.join(',')}], [${b.shape.join(',')}], [${out.shape.join(',')}]`);
  }
  const [Bt, M, K] = a.shape as [number, number, number];
  const N = b.shape[2]!;
  const A = dataOf(a);
  const Bd = dataOf(b);
  const C = dataOf(out);
  const [aBs, aRs, aCs] = a.strides as [number, number, number];
  const [bBs, bRs, bCs] = b.strides as [number, number, number];
  const [cBs, cRs, cCs] = out.strides as [number, number, number];

  if (C instanceof Float32Array) {
    if (!(A instanceof Float32Array) || !(Bd instanceof Float32Array)) {
      throw new TypeError(`matmul: float32 output needs float32 operands, got ${a.dtype} and ${b.dtype}`);
    }
    // A shared right operand (nn.Linear on a batch) with evenly spaced rows of a and out: fold the
    // batch into M so B is packed once instead of once per batch.
    if (Bt > 1 && bBs === 0 && aBs === M * aRs && cBs === M * cRs) {
      sgemm(Bt * M, N, K, A, a.offset, aRs, aCs, Bd, b.offset, bRs, bCs, C, out.offset, cRs, cCs, false);
      return;
    }
    for (let i = 0; i < Bt; i++) {
      sgemm(M, N, K, A, a.offset + i * aBs, aRs, aCs, Bd, b.offset + i * bBs, bRs, bCs, C, out.offset + i * cBs, cRs, cCs, false);
    }
    return;
  }
  if (C instanceof Int32Array) {
    if (A instanceof Float32Array || Bd instanceof Float32Array) {
      throw new TypeError(`matmul: int32 output needs integer operands, got ${a.dtype} and ${b.dtype}`);
    }
    for (let i = 0; i < Bt; i++) {
      igemm(M, N, K, A as Int32Array | Uint8Array, a.offset + i * aBs, aRs, aCs, Bd as Int32Array | Uint8Array, b.offset + i * bBs, bRs, bCs, C, out.offset + i * cBs, cRs, cCs);
    }
    return;
  }
  throw new TypeError(`matmul: unsupported output dtype ${out.dtype}`);
}
