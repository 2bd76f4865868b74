import { describe, expect, it } from 'vitest';
import type { BinaryOp, UnaryOp } from '@kindling/core';
import { be, empty, expectClose, f32, makeView, randn, readView, rng } from './helpers.js';

/** float64 erf by its everywhere-convergent positive series: 2/√π·e^{-x²}·Σ (2x²)^n·x / (2n+1)!!. */
function erf64(x: number): number {
  const ax = Math.abs(x);
  if (ax > 6) return Math.sign(x);
  let term = ax;
  let sum = ax;
  for (let n = 1; n < 400; n++) {
    term *= (2 * ax * ax) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
}

const UNARY_REF: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  reciprocal: (x) => 1 / x,
  square: (x) => x * x,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  relu: (x) => (Number.isNaN(x) ? x : Math.max(x, 0)),
  erf: erf64,
  floor: Math.floor,
  ceil: Math.ceil,
  round: (x) => {
    const f = Math.floor(x);
    const d = x - f;
    return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  },
  logicalNot: (x) => (x === 0 ? 1 : 0),
};

describe('unary', () => {
  const r = rng(1);
  const base = f32([...randn(60, r).map((v) => v * 3), 0, -0, 0.5, 1.5, 2.5, -0.5, -2.5, 1e-3, 40, -40, 100, -100]);

  for (const op of Object.keys(UNARY_REF) as UnaryOp[]) {
    it(`${op} matches a float64 reference on a strided view`, () => {
      // Domain-restricted inputs for log/sqrt/rsqrt; a transposed 2-d view so the strided path runs.
      const vals = op === 'log' || op === 'sqrt' || op === 'rsqrt' ? base.map((v) => Math.abs(v) + 1e-3) : base;
      const data = f32(vals);
      const rows = 2;
      const cols = data.length / rows;
      const x = makeView('float32', data, [cols, rows], [1, cols]); // transpose of [rows, cols]
      const outDtype = op === 'logicalNot' ? 'bool' : 'float32';
      const out = empty(outDtype, [cols, rows]);
      be.unary(op, x, out);
      const input = readView(x);
      const expected = input.map(UNARY_REF[op]);
      expectClose(readView(out), f32(expected), 2e-7, op === 'erf' ? 1e-7 : 1e-30);
    });
  }

  it('erf is within 1e-7 absolute of a float64 series on a dense grid', () => {
    const xs: number[] = [];
    for (let x = -6; x <= 6; x += 0.001) xs.push(x);
    const xv = f32(xs);
    const x = makeView('float32', xv, [xv.length]);
    const out = empty('float32', [xv.length]);
    be.unary('erf', x, out);
    const got = readView(out);
    let worst = 0;
    for (let i = 0; i < xv.length; i++) worst = Math.max(worst, Math.abs(got[i]! - erf64(xv[i]!)));
    expect(worst).toBeLessThan(1e-7);
    // Relative accuracy near 0, where 1 - erfc would fail.
    const small = makeView('float32', [1e-6, -3e-5, 1e-20], [3]);
    const so = empty('float32', [3]);
    be.unary('erf', small, so);
    expectClose(readView(so), f32([1e-6, -3e-5, 1e-20].map((v) => erf64(Math.fround(v)))), 1e-6, 0);
  });

  it('handles the edge cases PyTorch defines', () => {
    const x = makeView('float32', [NaN, 0, -0, Infinity, -Infinity, 0.5, 1.5, 2.5, -1.5, -2.5], [10]);
    const run = (op: UnaryOp) => {
      const out = empty('float32', [10]);
      be.unary(op, x, out);
      return readView(out);
    };
    expect(run('relu')[0]).toBeNaN();
    expect(run('relu').slice(1, 6)).toEqual([0, 0, Infinity, 0, 0.5]); // -0 → +0, -inf → 0
    expect(run('sign').slice(0, 5)).toEqual([0, 0, 0, 1, -1]); // torch.sign(nan) == 0
    expect(run('round').slice(5)).toEqual([0, 2, 2, -2, -2]);
    expect(run('sigmoid').slice(3, 5)).toEqual([1, 0]);
    expect(run('erf').slice(3, 5)).toEqual([1, -1]);
    // sigmoid stays finite and accurate for large |x|.
    const big = makeView('float32', [-100, -30, 30, 100], [4]);
    const so = empty('float32', [4]);
    be.unary('sigmoid', big, so);
    expectClose(readView(so), f32([Math.exp(-100), Math.exp(-30) / (1 + Math.exp(-30)), 1 / (1 + Math.exp(-30)), 1]), 1e-6, 0);
  });

  it('works on int32 and into bool outputs', () => {
    const x = makeView('int32', [-3, 0, 5, -2147483648], [4]);
    const out = empty('int32', [4]);
    be.unary('abs', x, out);
    expect(readView(out)).toEqual([3, 0, 5, -2147483648]); // wraps like torch
    const bo = empty('bool', [4]);
    be.unary('abs', x, bo);
    expect(readView(bo)).toEqual([1, 0, 1, 1]);
  });
});

const BINARY_REF: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: Math.max,
  minimum: Math.min,
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
  logicalAnd: (a, b) => +(a !== 0 && b !== 0),
  logicalOr: (a, b) => +(a !== 0 || b !== 0),
};
const BOOL_OPS = new Set<BinaryOp>(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr']);

describe('binary', () => {
  const r = rng(2);
  // a: [3,4,5] transposed storage; b: [4,1] broadcast to [3,4,5] (strides [0,1,0]); exact ties included.
  const aData = f32(randn(60, r).map((v) => Math.round(v * 4) / 4));
  const bData = f32([0.5, -0.25, 0, 1]);
  const shape = [3, 4, 5];
  const a = makeView('float32', aData, shape, [1, 3, 12]); // element [i,j,k] at i + 3j + 12k
  const b = makeView('float32', bData, shape, [0, 1, 0]);

  for (const op of Object.keys(BINARY_REF) as BinaryOp[]) {
    it(`${op} on strided and broadcast operands`, () => {
      const isBool = BOOL_OPS.has(op);
      const out = empty(isBool ? 'bool' : 'float32', shape);
      const aa = op === 'pow' ? makeView('float32', aData.map(Math.abs), shape, [1, 3, 12]) : a;
      be.binary(op, aa, b, out);
      const av = readView(aa);
      const bv = readView(b);
      const expected = av.map((x, i) => BINARY_REF[op](x, bv[i]!));
      expectClose(readView(out), f32(expected), 1e-6, 0);
    });
  }

  it('takes scalar operands on either side', () => {
    const x = makeView('float32', [1, 2, 3, 4], [2, 2]);
    const out = empty('float32', [2, 2]);
    be.binary('sub', 10, x, out);
    expect(readView(out)).toEqual([9, 8, 7, 6]);
    be.binary('pow', x, 2, out);
    expect(readView(out)).toEqual([1, 4, 9, 16]);
    const cmp = empty('bool', [2, 2]);
    be.binary('ge', x, 2.5, cmp);
    expect(readView(cmp)).toEqual([0, 0, 1, 1]);
  });

  it('propagates NaN through maximum/minimum and compares NaN as unordered', () => {
    const x = makeView('float32', [NaN, 1, NaN], [3]);
    const y = makeView('float32', [0, NaN, NaN], [3]);
    const out = empty('float32', [3]);
    be.binary('maximum', x, y, out);
    expect(readView(out).every(Number.isNaN)).toBe(true);
    const ne = empty('bool', [3]);
    be.binary('ne', x, y, ne);
    expect(readView(ne)).toEqual([1, 1, 1]);
    be.binary('logicalAnd', x, 1, ne);
    expect(readView(ne)).toEqual([1, 1, 1]); // NaN is truthy
  });

  it('wraps int32 arithmetic like two\'s complement and keeps bool results 0/1', () => {
    const a = makeView('int32', [2147483647, 65536, -7, 3], [4]);
    const b = makeView('int32', [1, 65536, 2, 5], [4]);
    const out = empty('int32', [4]);
    be.binary('add', a, b, out);
    expect(readView(out)).toEqual([-2147483648, 131072, -5, 8]);
    be.binary('mul', a, b, out);
    expect(readView(out)).toEqual([2147483647, 0, -14, 15]);
    be.binary('pow', a, b, out);
    expect(readView(out)).toEqual([2147483647, 0, 49, 243]);
    const p = makeView('bool', [1, 1, 0, 0], [4]);
    const q = makeView('bool', [1, 0, 1, 0], [4]);
    const bo = empty('bool', [4]);
    be.binary('add', p, q, bo);
    expect(readView(bo)).toEqual([1, 1, 1, 0]);
    be.binary('mul', p, q, bo);
    expect(readView(bo)).toEqual([1, 0, 0, 0]);
  });
});

describe('where', () => {
  it('selects between broadcast views and scalars', () => {
    const cond = makeView('bool', [1, 0, 1], [2, 3], [0, 1]);
    const a = makeView('float32', [10, 20], [2, 3], [1, 0]);
    const out = empty('float32', [2, 3]);
    be.where(cond, a, -1, out);
    expect(readView(out)).toEqual([10, -1, 10, 20, -1, 20]);
    be.where(cond, 7, a, out);
    expect(readView(out)).toEqual([7, 10, 7, 7, 20, 7]);
  });
});
