/**
 * The fused kernels added for nn.Linear and for activation gradients, on both CPU paths:
 * activationBackward must equal core's decomposition to the bit (sigmoid g·(y·(1−y)), tanh
 * g·(1−y²), relu g·[y>0], every step rounded to float32), special values included; linear must
 * match a float64 reference of x·Wᵀ + b, with and without bias, on empty and degenerate shapes.
 */
import { describe, expect, it } from 'vitest';
import type { ActivationOp, View } from '@kindling/core';
import { CpuBackend } from '../src/index.js';
import { contiguousStrides, expectClose, makeView, numel, randn, readView, rng } from './helpers.js';

const native = new CpuBackend({ native: true });
const portable = new CpuBackend({ native: false });
const paths: [string, CpuBackend][] = [['portable', portable]];
if (native.isNative) paths.push(['native', native]);
const r = rng(77);

function view(data: ArrayLike<number>, shape: number[]): View {
  return makeView('float32', data, shape, contiguousStrides(shape), 0, numel(shape));
}
function out(shape: number[]): View {
  return { buffer: portable.alloc('float32', numel(shape)), dtype: 'float32', shape, strides: contiguousStrides(shape), offset: 0 };
}

/** The decomposition core runs without the kernel, in float32 steps. */
function reference(op: ActivationOp, y: ArrayLike<number>, g: ArrayLike<number>): Float32Array {
  const f = Math.fround;
  const res = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const v = f(y[i]!), gi = f(g[i]!);
    res[i] = op === 'sigmoid' ? gi * f(v * f(1 - v)) : op === 'tanh' ? gi * f(1 - f(v * v)) : gi * (v > 0 ? 1 : 0);
  }
  return res;
}

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  const fa = Float32Array.from(a), fb = Float32Array.from(b);
  const ua = new Uint32Array(fa.buffer), ub = new Uint32Array(fb.buffer);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i] && !(Number.isNaN(fa[i]) && Number.isNaN(fb[i]))) throw new Error(`element ${i}: ${fa[i]} != ${fb[i]}`);
  }
}

describe('activationBackward', () => {
  // Sizes: a tail shorter than one vector, and one large enough to be split across threads.
  for (const n of [13, 300_001]) {
    for (const [name, be] of paths) {
      for (const op of ['sigmoid', 'tanh', 'relu'] as const) {
        it(`${op} on ${n} elements matches the decomposition bit for bit (${name})`, () => {
          const y = randn(n, r).map((v) => (op === 'relu' ? Math.max(0, v) : op === 'sigmoid' ? 1 / (1 + Math.exp(-v)) : Math.tanh(v)));
          const g = randn(n, r);
          const special = [0, -0, NaN, Infinity, -Infinity, 1, -1, 1e-40, 0.5];
          special.forEach((s, i) => {
            y[i % n] = s;
            g[(i + 3) % n] = s;
          });
          const o = out([n]);
          be.activationBackward!(op, view(y, [n]), view(g, [n]), o);
          sameBits(readView(o), reference(op, y, g));
        });
      }
    }
  }

  it('takes strided views (the portable fallback packs them)', () => {
    for (const [, be] of paths) {
      const y = makeView('float32', [0.1, 9, 0.2, 9, 0.3, 9, 0.4, 9], [2, 2], [4, 2], 0, 8);
      const g = view([1, 2, 3, 4], [2, 2]);
      const o = out([2, 2]);
      be.activationBackward!('sigmoid', y, g, o);
      sameBits(readView(o), reference('sigmoid', [0.1, 0.2, 0.3, 0.4], [1, 2, 3, 4]));
    }
  });
});

describe('linear', () => {
  function ref(x: number[], w: number[], b: number[] | null, M: number, N: number, K: number): number[] {
    const res: number[] = [];
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = b ? b[j]! : 0;
        for (let k = 0; k < K; k++) s += Math.fround(x[i * K + k]!) * Math.fround(w[j * K + k]!);
        res.push(s);
      }
    return res;
  }
  const shapes: [number, number, number][] = [[256, 120, 400], [7, 3, 5], [1, 10, 84], [33, 1, 17], [0, 4, 3], [5, 4, 0]];
  for (const [M, N, K] of shapes) {
    for (const bias of [true, false]) {
      for (const [name, be] of paths) {
        it(`[${M},${K}]·[${N},${K}]ᵀ${bias ? ' + b' : ''} (${name})`, () => {
          const x = randn(M * K, r), w = randn(N * K, r), b = bias ? randn(N, r) : null;
          const o = out([M, N]);
          be.linear!(view(x, [M, K]), view(w, [N, K]), b ? view(b, [N]) : null, o);
          expectClose(readView(o), ref(x, w, b, M, N, K), 1e-4, 1e-4 * Math.sqrt(K + 1));
        });
      }
    }
  }
});
