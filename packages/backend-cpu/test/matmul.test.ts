import { describe, expect, it } from 'vitest';
import type { View } from '@kindling/core';
import { CpuBackend } from '../src/index.js';
import { F32_U, be, empty, expectClose, expectWithin, f32, makeView, portable, randn, readView, rng } from './helpers.js';

/** float64 reference over logical views: a [B,M,K], b [B,K,N]. */
function naiveMatmul(a: View, b: View): number[] {
  return naiveWithBound(a, b).out;
}

/** The float64 product and, per element, Σ|a·b| (for the float32 accumulation error bound). */
function naiveWithBound(a: View, b: View): { out: number[]; abs: number[] } {
  const av = readView(a);
  const bv = readView(b);
  const [B, M, K] = a.shape as [number, number, number];
  const N = b.shape[2]!;
  const out: number[] = [];
  const abs: number[] = [];
  for (let t = 0; t < B; t++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        let sa = 0;
        for (let k = 0; k < K; k++) {
          const p = av[(t * M + i) * K + k]! * bv[(t * K + k) * N + j]!;
          s += p;
          sa += Math.abs(p);
        }
        out.push(s);
        abs.push(sa);
      }
  return { out, abs };
}

/** A [B,R,C] operand stored row-major or transposed (storage [B,C,R]); batch stride 0 when `shared`. */
function operand(B: number, R: number, C: number, transposed: boolean, shared: boolean, r: () => number): View {
  const per = R * C;
  const data = f32(randn(shared ? per : B * per, r));
  const bs = shared ? 0 : per;
  return transposed ? makeView('float32', data, [B, R, C], [bs, 1, R]) : makeView('float32', data, [B, R, C], [bs, C, 1]);
}

describe('matmul', () => {
  const r = rng(6);
  const sizes: [number, number, number, number][] = [
    [1, 1, 1, 1], [1, 3, 5, 7], [2, 4, 4, 4], [3, 17, 9, 13], [1, 67, 300, 45], [2, 5, 1, 6], [1, 1, 600, 3], [1, 130, 70, 2100],
  ];
  // The portable GEMM accumulates in float64 (tight tolerance); the native one in float32 like
  // PyTorch's BLAS, checked against the float32 error bound K·u·Σ|a·b|.
  const backends: [string, CpuBackend][] = [['portable', portable], ...(be.isNative ? [['native', be] as [string, CpuBackend]] : [])];
  for (const [path, backend] of backends) {
    for (const [B, M, K, N] of sizes) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          it(`${path}: [${B},${M},${K}]·[${B},${K},${N}] a${ta ? 'ᵀ' : ''} b${tb ? 'ᵀ' : ''}`, () => {
            const a = operand(B, M, K, ta, false, r);
            const b = operand(B, K, N, tb, false, r);
            const out = empty('float32', [B, M, N]);
            backend.matmul(a, b, out);
            const ref = naiveWithBound(a, b);
            if (path === 'portable') expectClose(readView(out), ref.out, 1e-5, 1e-5);
            else expectWithin(readView(out), ref.out, ref.out.map((e, i) => 1e-5 + 1e-5 * Math.abs(e) + K * F32_U * ref.abs[i]!));
          });
        }
      }
    }
  }

  it('broadcasts batch strides of 0 on either side', () => {
    for (const [sa, sb] of [[true, false], [false, true], [true, true]] as const) {
      const a = operand(4, 6, 10, false, sa, r);
      const b = operand(4, 10, 5, true, sb, r);
      const out = empty('float32', [4, 6, 5]);
      be.matmul(a, b, out);
      expectClose(readView(out), naiveMatmul(a, b), 1e-5, 1e-5);
    }
  });

  it('handles K = 0 and writes into a strided output', () => {
    const a = makeView('float32', [0], [1, 2, 0], [0, 0, 1]);
    const b = makeView('float32', [0], [1, 0, 3], [0, 3, 1]);
    const out = makeView('float32', new Array(6).fill(9), [1, 2, 3]);
    be.matmul(a, b, out);
    expect(readView(out)).toEqual([0, 0, 0, 0, 0, 0]);
    // out transposed: [1,2,3] view over [1,3,2] storage
    const a2 = operand(1, 2, 4, false, false, r);
    const b2 = operand(1, 4, 3, false, false, r);
    const o2 = makeView('float32', new Array(6).fill(0), [1, 2, 3], [6, 1, 2]);
    be.matmul(a2, b2, o2);
    expectClose(readView(o2), naiveMatmul(a2, b2), 1e-5, 1e-5);
  });

  it('multiplies int32 with wrap-around', () => {
    const a = makeView('int32', [1, 2, 3, 4, 5, 6], [1, 2, 3]);
    const b = makeView('int32', [7, 8, 9, 10, 11, 12], [1, 3, 2]);
    const out = empty('int32', [1, 2, 2]);
    be.matmul(a, b, out);
    expect(readView(out)).toEqual([58, 64, 139, 154]);
    const big = makeView('int32', [65536, 65536], [1, 1, 2]);
    const o1 = empty('int32', [1, 1, 1]);
    be.matmul(big, makeView('int32', [65536, 65536], [1, 2, 1]), o1);
    expect(readView(o1)).toEqual([0]);
  });
});
