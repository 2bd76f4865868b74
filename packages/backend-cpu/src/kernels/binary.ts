/**
 * Elementwise binary ops. Core has already broadcast both operands to out.shape (stride 0 on
 * broadcast dims) and cast them to the compute dtype; a JS number is a scalar operand, which we
 * treat as a one-element array read with stride 0 so every op has a single code path.
 *
 * Comparisons and logicalAnd/logicalOr write 0/1 into a bool output. Int32 arithmetic wraps like
 * PyTorch's (two's complement): add/sub are exact in float64 and wrap in the Int32Array store,
 * mul uses Math.imul (a float64 product of two int32s can exceed 2^53), pow squares with imul.
 */
import { COMPARISON_OPS, type BinaryOp, type Operand, type View } from '@kindling/core';
import { dataOf } from '../buffer.js';
import { contiguousStridesOf, forEachRun, numelOf, type NumArray } from '../strided.js';
import { storeCast } from './cast.js';

export interface OperandRef {
  data: NumArray;
  offset: number;
  strides: readonly number[];
}

/** A view or a scalar as (array, offset, strides) over a shape of the given rank. */
export function operandRef(x: Operand, rank: number): OperandRef {
  if (typeof x === 'number') return { data: Float64Array.of(x), offset: 0, strides: new Array<number>(rank).fill(0) };
  return { data: dataOf(x), offset: x.offset, strides: x.strides };
}

/** Integer power with wrap-around, as C integer pow (PyTorch's integral kernel): negative exponents give 0 except for bases ±1. */
export function intPow(base: number, exp: number): number {
  if (exp < 0) {
    if (base === 1) return 1;
    if (base === -1) return exp % 2 === 0 ? 1 : -1;
    return 0;
  }
  let result = 1;
  let b = base | 0;
  let e = exp;
  while (e > 0) {
    if (e & 1) result = Math.imul(result, b);
    b = Math.imul(b, b);
    e = Math.floor(e / 2);
  }
  return result;
}

/** C's pow, which PyTorch computes with: unlike Math.pow, 1 ** NaN and (-1) ** ±Infinity are 1. */
export function cPow(base: number, exp: number): number {
  if (base === 1 || (base === -1 && (exp === Infinity || exp === -Infinity))) return 1;
  return Math.pow(base, exp);
}

type BinaryRun = (
  intMath: boolean,
  a: NumArray, ao: number, as: number,
  b: NumArray, bo: number, bs: number,
  y: NumArray, yo: number, ys: number, n: number,
) => void;

/** One run per op, its loop inside (see unary.ts); complete over core's BinaryOp or it does not compile. */
export const BINARY_RUNS = {
  add: (_intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = a[ao + i * as]! + b[bo + i * bs]!;
  },
  sub: (_intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = a[ao + i * as]! - b[bo + i * bs]!;
  },
  mul: (intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    if (intMath) for (let i = 0; i < n; i++) y[yo + i * ys] = Math.imul(a[ao + i * as]!, b[bo + i * bs]!);
    else for (let i = 0; i < n; i++) y[yo + i * ys] = a[ao + i * as]! * b[bo + i * bs]!;
  },
  div: (_intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    // Core casts integer division to float first; for an int32 output the store truncates.
    for (let i = 0; i < n; i++) y[yo + i * ys] = a[ao + i * as]! / b[bo + i * bs]!;
  },
  pow: (intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    if (intMath) for (let i = 0; i < n; i++) y[yo + i * ys] = intPow(a[ao + i * as]!, b[bo + i * bs]!);
    else for (let i = 0; i < n; i++) y[yo + i * ys] = cPow(a[ao + i * as]!, b[bo + i * bs]!);
  },
  maximum: (_intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    // Math.max propagates NaN, as torch.maximum does.
    for (let i = 0; i < n; i++) y[yo + i * ys] = Math.max(a[ao + i * as]!, b[bo + i * bs]!);
  },
  minimum: (_intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = Math.min(a[ao + i * as]!, b[bo + i * bs]!);
  },
  eq: (_intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = a[ao + i * as] === b[bo + i * bs] ? 1 : 0;
  },
  ne: (_intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = a[ao + i * as] !== b[bo + i * bs] ? 1 : 0;
  },
  lt: (_intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = a[ao + i * as]! < b[bo + i * bs]! ? 1 : 0;
  },
  le: (_intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = a[ao + i * as]! <= b[bo + i * bs]! ? 1 : 0;
  },
  gt: (_intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = a[ao + i * as]! > b[bo + i * bs]! ? 1 : 0;
  },
  ge: (_intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = a[ao + i * as]! >= b[bo + i * bs]! ? 1 : 0;
  },
  logicalAnd: (_intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    // `!== 0` rather than truthiness: NaN counts as true, as in PyTorch.
    for (let i = 0; i < n; i++) y[yo + i * ys] = a[ao + i * as] !== 0 && b[bo + i * bs] !== 0 ? 1 : 0;
  },
  logicalOr: (_intMath, a, ao, as, b, bo, bs, y, yo, ys, n) => {
    for (let i = 0; i < n; i++) y[yo + i * ys] = a[ao + i * as] !== 0 || b[bo + i * bs] !== 0 ? 1 : 0;
  },
} satisfies Record<BinaryOp, BinaryRun>;

function isIntegral(x: Operand): boolean {
  return typeof x === 'number' ? Number.isInteger(x) : x.dtype !== 'float32';
}

export function binary(op: BinaryOp, a: Operand, b: Operand, out: View): void {
  const rank = out.shape.length;
  const ar = operandRef(a, rank);
  const br = operandRef(b, rank);
  const intMath = out.dtype === 'int32' && isIntegral(a) && isIntegral(b);
  // A numeric op with a bool output (bool + bool is `or` in PyTorch) must store v != 0: stage in float64.
  if (out.dtype === 'bool' && !COMPARISON_OPS.has(op)) {
    const tmp = new Float64Array(numelOf(out.shape));
    forEachRun(out.shape, [ar.strides, br.strides, contiguousStridesOf(out.shape)], [ar.offset, br.offset, 0], (o, n, s) =>
      BINARY_RUNS[op](false, ar.data, o[0]!, s[0]!, br.data, o[1]!, s[1]!, tmp, o[2]!, s[2]!, n),
    );
    storeCast(tmp, out);
    return;
  }
  const yd = dataOf(out);
  forEachRun(out.shape, [ar.strides, br.strides, out.strides], [ar.offset, br.offset, out.offset], (o, n, s) =>
    BINARY_RUNS[op](intMath, ar.data, o[0]!, s[0]!, br.data, o[1]!, s[1]!, yd, o[2]!, s[2]!, n),
  );
}
