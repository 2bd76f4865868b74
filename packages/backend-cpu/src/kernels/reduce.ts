/**
 * Reductions over the trailing `reduceDims` dims: x.shape = [...out.shape, ...reduced].
 *
 * The reduced region is planned once — collapsed like any strided view into runs of `m` elements
 * at stride `t`, starting at precomputed relative offsets — and then each output element is a
 * couple of flat loops. Because runs are visited in row-major order, `run * m + i` is the flat
 * index into the reduced extent that argmax/argmin report.
 *
 * Semantics (PyTorch): sums accumulate in float64; max/min propagate NaN; argmax/argmin take the
 * first occurrence on ties and treat NaN as the extreme value (first NaN wins); empty reductions
 * give 0 for sum and ∓Infinity for max/min.
 */
import type { ReduceOp, View } from '@kindling/core';
import { dataOf } from '../buffer.js';
import { contiguousStridesOf, forEachRun, isContiguousView, type NumArray } from '../strided.js';

interface ReducePlan {
  /** Offsets of each run relative to the output element's base offset in x. */
  runs: number[];
  /** Run length and stride. */
  m: number;
  t: number;
  /** Total reduced extent (runs.length * m, or 0 when empty). */
  size: number;
}

function planReduction(shape: readonly number[], strides: readonly number[]): ReducePlan {
  const sizes: number[] = [];
  const st: number[] = [];
  let size = 1;
  for (let d = 0; d < shape.length; d++) size *= shape[d]!;
  if (size === 0) return { runs: [], m: 0, t: 0, size: 0 };
  for (let d = 0; d < shape.length; d++) {
    const s = shape[d]!;
    if (s === 1) continue;
    const last = sizes.length - 1;
    if (last >= 0 && st[last] === strides[d]! * s) {
      sizes[last] = sizes[last]! * s;
      st[last] = strides[d]!;
    } else {
      sizes.push(s);
      st.push(strides[d]!);
    }
  }
  if (sizes.length === 0) return { runs: [0], m: 1, t: 0, size: 1 };
  const nd = sizes.length - 1;
  // Expand the outer reduced dims into explicit run offsets, in row-major order.
  let runs: number[] = [0];
  for (let d = 0; d < nd; d++) {
    const k = sizes[d]!;
    const next: number[] = new Array(runs.length * k);
    for (let r = 0; r < runs.length; r++) for (let j = 0; j < k; j++) next[r * k + j] = runs[r]! + j * st[d]!;
    runs = next;
  }
  return { runs, m: sizes[nd]!, t: st[nd]!, size };
}

function sumAt(x: NumArray, base: number, p: ReducePlan): number {
  const { runs, m, t } = p;
  let acc = 0;
  for (let r = 0; r < runs.length; r++) {
    const o = base + runs[r]!;
    if (t === 1) for (let i = 0; i < m; i++) acc += x[o + i]!;
    else for (let i = 0; i < m; i++) acc += x[o + i * t]!;
  }
  return acc;
}

function maxAt(x: NumArray, base: number, p: ReducePlan): number {
  const { runs, m, t } = p;
  let best = -Infinity;
  for (let r = 0; r < runs.length; r++) {
    const o = base + runs[r]!;
    for (let i = 0; i < m; i++) {
      const v = x[o + i * t]!;
      if (v > best || v !== v) best = v; // once NaN, nothing compares greater: NaN sticks
    }
  }
  return best;
}

function minAt(x: NumArray, base: number, p: ReducePlan): number {
  const { runs, m, t } = p;
  let best = Infinity;
  for (let r = 0; r < runs.length; r++) {
    const o = base + runs[r]!;
    for (let i = 0; i < m; i++) {
      const v = x[o + i * t]!;
      if (v < best || v !== v) best = v;
    }
  }
  return best;
}

function argAt(x: NumArray, base: number, p: ReducePlan, isMax: boolean): number {
  const { runs, m, t } = p;
  let best = isMax ? -Infinity : Infinity;
  let idx = 0;
  for (let r = 0; r < runs.length; r++) {
    const o = base + runs[r]!;
    for (let i = 0; i < m; i++) {
      const v = x[o + i * t]!;
      // Strict comparison keeps the first of equal values; the first NaN wins and then sticks.
      if (best === best && (v !== v || (isMax ? v > best : v < best))) {
        best = v;
        idx = r * m + i;
      }
    }
  }
  return idx;
}

type ReduceRun = (xd: NumArray, xo: number, xs: number, yd: NumArray, yo: number, ys: number, n: number, plan: ReducePlan) => void;

/** One run of n outputs per op; complete over core's ReduceOp or it does not compile. */
export const REDUCE_RUNS = {
  sum: (xd, xo, xs, yd, yo, ys, n, plan) => {
    for (let i = 0; i < n; i++) yd[yo + i * ys] = sumAt(xd, xo + i * xs, plan);
  },
  max: (xd, xo, xs, yd, yo, ys, n, plan) => {
    for (let i = 0; i < n; i++) yd[yo + i * ys] = maxAt(xd, xo + i * xs, plan);
  },
  min: (xd, xo, xs, yd, yo, ys, n, plan) => {
    for (let i = 0; i < n; i++) yd[yo + i * ys] = minAt(xd, xo + i * xs, plan);
  },
  argmax: (xd, xo, xs, yd, yo, ys, n, plan) => {
    for (let i = 0; i < n; i++) yd[yo + i * ys] = argAt(xd, xo + i * xs, plan, true);
  },
  argmin: (xd, xo, xs, yd, yo, ys, n, plan) => {
    for (let i = 0; i < n; i++) yd[yo + i * ys] = argAt(xd, xo + i * xs, plan, false);
  },
} satisfies Record<ReduceOp, ReduceRun>;

export function reduce(op: ReduceOp, x: View, reduceDims: number, out: View): void {
  const xd = dataOf(x);
  const yd = dataOf(out);
  const keep = x.shape.length - reduceDims;
  const outShape = x.shape.slice(0, keep);
  const xOuterStrides = x.strides.slice(0, keep);
  // out.shape should equal the kept prefix; tolerate a contiguous out of another rank (keepdim-style).
  let outStrides: readonly number[];
  if (out.shape.length === keep) outStrides = out.strides;
  else if (isContiguousView(out)) outStrides = contiguousStridesOf(outShape);
  else throw new Error(`reduce: out shape [${out.shape.join(',')}] does not match the kept dims [${outShape.join(',')}] of x`);

  const plan = planReduction(x.shape.slice(keep), x.strides.slice(keep));
  forEachRun(outShape, [xOuterStrides, outStrides], [x.offset, out.offset], (o, n, s) => {
    const xo = o[0]!, xs = s[0]!, yo = o[1]!, ys = s[1]!;
    REDUCE_RUNS[op](xd, xo, xs, yd, yo, ys, n, plan);
  });
}
