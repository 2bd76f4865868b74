/**
 * Elementwise unary ops over a strided input. Values are computed in float64 and rounded once on
 * store, so float32 results are correctly rounded wherever the float64 function is.
 */
import type { UnaryOp, View } from '@kindling/core';
import { dataOf } from '../buffer.js';
import { contiguousStridesOf, forEachRun, forEachRunPair, numelOf, type NumArray } from '../strided.js';
import { erf, relu, roundHalfEven, sigmoid, sign } from './scalar-math.js';
import { storeCast } from './cast.js';

type UnaryRun = (x: NumArray, xo: number, xs: number, y: NumArray, yo: number, ys: number, n: number) => void;

/**
 * One run per op: y[yo + i*ys] = op(x[xo + i*xs]) for i < n. Each op has its own loop (the
 * dispatch sits outside it), and the table is complete: an op added to core's table without a
 * kernel here does not compile.
 */
export const UNARY_RUNS = {
  neg: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = -x[xo + i * xs]!;
  },
  abs: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = Math.abs(x[xo + i * xs]!);
  },
  sign: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = sign(x[xo + i * xs]!);
  },
  exp: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = Math.exp(x[xo + i * xs]!);
  },
  log: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = Math.log(x[xo + i * xs]!);
  },
  sqrt: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = Math.sqrt(x[xo + i * xs]!);
  },
  rsqrt: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = 1 / Math.sqrt(x[xo + i * xs]!);
  },
  reciprocal: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = 1 / x[xo + i * xs]!;
  },
  square: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) {
      const v = x[xo + i * xs]!;
      y[yo + i * ys] = v * v;
    }
  },
  sin: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = Math.sin(x[xo + i * xs]!);
  },
  cos: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = Math.cos(x[xo + i * xs]!);
  },
  tanh: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = Math.tanh(x[xo + i * xs]!);
  },
  sigmoid: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = sigmoid(x[xo + i * xs]!);
  },
  relu: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = relu(x[xo + i * xs]!);
  },
  erf: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = erf(x[xo + i * xs]!);
  },
  floor: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = Math.floor(x[xo + i * xs]!);
  },
  ceil: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = Math.ceil(x[xo + i * xs]!);
  },
  round: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = roundHalfEven(x[xo + i * xs]!);
  },
  logicalNot: (x, xo, xs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = x[xo + i * xs] === 0 ? 1 : 0;
  },
} satisfies Record<UnaryOp, UnaryRun>;

/**
 * relu on float32 → float32 through the bit patterns: keep the word when the sign bit is clear or
 * the value is NaN, else write +0. Branch-free, so random-sign activations cost no mispredictions
 * (about 10x faster than `x > 0 ? x : 0` in V8 on such data).
 */
function reluBits(x: Int32Array, xo: number, xs: number, y: Int32Array, yo: number, ys: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const b = x[xo + i * xs]!;
    const nan = (((b & 0x7fffffff) - 0x7f800001) >>> 31) ^ 1; // 1 iff exponent all ones and mantissa ≠ 0
    const keep = ((b >>> 31) ^ 1) | nan;
    y[yo + i * ys] = b & -keep;
  }
}

export function unary(op: UnaryOp, x: View, out: View): void {
  const xd = dataOf(x);
  const yd = dataOf(out);
  if (op === 'relu' && xd instanceof Float32Array && yd instanceof Float32Array) {
    const xi = new Int32Array(xd.buffer, xd.byteOffset, xd.length);
    const yi = new Int32Array(yd.buffer, yd.byteOffset, yd.length);
    forEachRunPair(x, out, (xo, xs, yo, ys, n) => reluBits(xi, xo, xs, yi, yo, ys, n));
    return;
  }
  // A bool output of a numeric op (e.g. abs of a bool) must store `v != 0`, which a Uint8Array
  // store would not do (0.5 → 0, 256 → 0): compute into float64 scratch, then cast.
  if (out.dtype === 'bool' && op !== 'logicalNot') {
    const tmp = new Float64Array(numelOf(out.shape));
    const cs = contiguousStridesOf(out.shape);
    forEachRun(out.shape, [x.strides, cs], [x.offset, 0], (o, n, s) => UNARY_RUNS[op](xd, o[0]!, s[0]!, tmp, o[1]!, s[1]!, n));
    storeCast(tmp, out);
    return;
  }
  forEachRunPair(x, out, (xo, xs, yo, ys, n) => UNARY_RUNS[op](xd, xo, xs, yd, yo, ys, n));
}
