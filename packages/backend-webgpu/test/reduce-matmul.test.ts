/** Reductions (both kernel shapes, ties, NaN, empty) and batched matmul (transposes, broadcast batch, split-K, int32). */
import { describe, it } from 'vitest';
import type { ReduceOp } from '@kindling/core';
import { input, output, randint, randn, same, unavailable } from './helpers.js';

const OPS: ReduceOp[] = ['sum', 'max', 'min', 'argmax', 'argmin'];
const outDtype = (op: ReduceOp): 'int32' | 'float32' => (op === 'argmax' || op === 'argmin' ? 'int32' : 'float32');

describe.skipIf(!!unavailable)('webgpu: reduce', () => {
  for (const op of OPS) {
    it(`${op}: trailing dims of strided views, short (one thread per output) and long (a workgroup per output) extents`, async () => {
      await same(
        (be) => {
          const x = input(be, 'float32', randn(6 * 5 * 7, 1), [6, 5, 7]);
          const o1 = output(be, outDtype(op), [6, 5]);
          be.reduce(op, x, 1, o1);
          const o2 = output(be, outDtype(op), [6]);
          be.reduce(op, x, 2, o2);
          // reduce over a permuted view: [7, 6] reducing dims (5) of x.permute(2, 0, 1)
          const o3 = output(be, outDtype(op), [7, 6]);
          be.reduce(op, { ...x, shape: [7, 6, 5], strides: [1, 35, 7] }, 1, o3);
          const big = input(be, 'float32', randn(3 * 3000, 2), [3, 3000]);
          const o4 = output(be, outDtype(op), [3]);
          be.reduce(op, big, 1, o4);
          const o5 = output(be, outDtype(op), []);
          be.reduce(op, big, 2, o5);
          return [o1, o2, o3, o4, o5];
        },
        { rtol: 1e-5, atol: 1e-5 },
      );
    });
  }

  it('argmax/argmin take the first of tied values and the first NaN; max/min propagate NaN', async () => {
    const rows = [
      [1, 3, 3, 2, 3],
      [Number.NaN, 1, Number.NaN, 5, 5],
      [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
      [2, 2, 2, 2, 2],
      [0, 7, -1, 7, -1],
    ];
    const flat = rows.flat();
    const long = Array.from({ length: 12000 }, (_, i) => (i % 3000 === 7 ? 9 : i % 5)); // ties across threads
    for (const op of OPS) {
      await same((be) => {
        const x = input(be, 'float32', flat, [5, 5]);
        const o = output(be, outDtype(op), [5]);
        be.reduce(op, x, 1, o);
        const y = input(be, 'float32', long, [2, 6000]);
        const o2 = output(be, outDtype(op), [2]);
        be.reduce(op, y, 1, o2);
        return [o, o2];
      });
    }
  });

  it('int32 and bool inputs; empty reductions give 0 and ∓Infinity', async () => {
    for (const op of OPS) {
      await same((be) => {
        const xi = input(be, 'int32', randint(40, -100, 100, 3), [4, 10]);
        const o1 = output(be, op === 'sum' || op === 'max' || op === 'min' ? 'int32' : 'int32', [4]);
        be.reduce(op, xi, 1, o1);
        const xf = input(be, 'float32', [], [3, 0]);
        const o2 = output(be, outDtype(op), [3]);
        be.reduce(op, xf, 1, o2);
        return [o1, o2];
      });
    }
    await same((be) => {
      const b = input(be, 'bool', [1, 0, 1, 1, 0, 1], [2, 3]);
      const o = output(be, 'int32', [2]);
      be.reduce('sum', b, 1, o);
      return o;
    });
  });
});

describe.skipIf(!!unavailable)('webgpu: matmul', () => {
  const cases: [string, number, number, number, number][] = [
    ['1x1x1', 1, 1, 1, 1],
    ['odd sizes', 2, 37, 29, 41],
    ['one tile exactly', 1, 64, 16, 64],
    ['tall-skinny', 1, 130, 7, 3],
    ['long K (split-K)', 1, 5, 3000, 4],
  ];
  for (const [name, B, M, K, N] of cases) {
    it(`${name}: row-major, transposed operands and broadcast batch`, async () => {
      const ad = randn(B * M * K, 1);
      const bd = randn(B * K * N, 2);
      await same(
        (be) => {
          const a = input(be, 'float32', ad, [B, M, K]);
          const b = input(be, 'float32', bd, [B, K, N]);
          const o1 = output(be, 'float32', [B, M, N]);
          be.matmul(a, b, o1);
          // aᵀ stored as [B, K, M] and bᵀ as [B, N, K], read through transposed strides
          const at = input(be, 'float32', ad, [B, K, M]);
          const bt = input(be, 'float32', bd, [B, N, K]);
          const o2 = output(be, 'float32', [B, M, N]);
          be.matmul({ ...at, shape: [B, M, K], strides: [K * M, 1, M] }, { ...bt, shape: [B, K, N], strides: [N * K, 1, K] }, o2);
          // b shared by a batch of 3 (batch stride 0)
          const a3 = input(be, 'float32', randn(3 * M * K, 3), [3, M, K]);
          const o3 = output(be, 'float32', [3, M, N]);
          be.matmul(a3, { ...b, shape: [3, K, N], strides: [0, N, 1] }, o3);
          return [o1, o2, o3];
        },
        // f32 sums of K unit-variance products carry an error of ~eps·√K·(partial sums): scale atol with √K.
        { rtol: 1e-5, atol: 1e-5 * Math.max(1, Math.sqrt(K / 300)) },
      );
    });
  }
  it('int32 matmul wraps like the CPU backend', async () => {
    await same((be) => {
      const a = input(be, 'int32', randint(12, -9, 9, 4), [1, 3, 4]);
      const b = input(be, 'int32', randint(20, -9, 9, 5), [1, 4, 5]);
      const o = output(be, 'int32', [1, 3, 5]);
      be.matmul(a, b, o);
      return o;
    });
  });
});
