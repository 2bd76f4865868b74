/**
 * nn.Linear's forward in one call (FusedKernels.linear): out [M,N] = x [M,K] · weightᵀ + bias,
 * through the packed sgemm with the weight read transposed in place (no copy) and the bias
 * written first, so the product accumulates onto it.
 */
import type { View } from '@kindling/core';
import { contiguousF32, withContiguousOutF32 } from '../strided.js';
import { sgemm } from './gemm.js';

export function linear(x: View, weight: View, bias: View | null, out: View): void {
  if (x.shape.length !== 2 || weight.shape.length !== 2 || out.shape.length !== 2) {
    throw new RangeError(`linear: expected x [M,K], weight [N,K], out [M,N], got [${x.shape.join(',')}], [${weight.shape.join(',')}], [${out.shape.join(',')}]`);
  }
  const [M, K] = x.shape as [number, number];
  const N = weight.shape[0]!;
  if (weight.shape[1] !== K || out.shape[0] !== M || out.shape[1] !== N || (bias && (bias.shape.length !== 1 || bias.shape[0] !== N))) {
    throw new RangeError(`linear: shapes x [${x.shape.join(',')}], weight [${weight.shape.join(',')}], bias [${bias?.shape.join(',') ?? ''}], out [${out.shape.join(',')}] do not match`);
  }
  const X = contiguousF32(x, 'linear');
  const W = contiguousF32(weight, 'linear');
  const B = bias ? contiguousF32(bias, 'linear') : null;
  withContiguousOutF32(out, 'linear', false, (Y) => {
    if (B) for (let i = 0; i < M; i++) Y.set(B, i * N);
    // Wᵀ as a [K, N] operand: element (k, n) is W[n·K + k].
    sgemm(M, N, K, X, 0, K, 1, W, 0, 1, K, Y, 0, N, 1, B !== null);
  });
}
