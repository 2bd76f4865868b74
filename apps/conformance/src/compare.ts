import type { Tensor } from '@kindling/core';
import { type GoldenTensor, kindlingDType } from './golden.js';

export interface Mismatch {
  what: string;
  message: string;
  maxAbs: number;
  maxRel: number;
}

/**
 * allclose as numpy/torch define it: |a − e| ≤ atol + rtol·|e| for every element; shapes and
 * dtypes must match exactly (int64 in the golden file is int32 here); ints and bools exactly.
 */
export async function compareTensor(what: string, actual: Tensor, expected: GoldenTensor, tol: { rtol: number; atol: number }): Promise<Mismatch | null> {
  const shapeOk = actual.shape.length === expected.shape.length && actual.shape.every((d, i) => d === expected.shape[i]);
  if (!shapeOk) return { what, message: `shape [${actual.shape}] != expected [${expected.shape}]`, maxAbs: NaN, maxRel: NaN };
  if (actual.dtype !== kindlingDType(expected.dtype)) {
    return { what, message: `dtype ${actual.dtype} != expected ${expected.dtype}`, maxAbs: NaN, maxRel: NaN };
  }
  const a = await actual.data();
  const exact = expected.dtype !== 'float32';
  let maxAbs = 0;
  let maxRel = 0;
  let bad = 0;
  let firstBad = -1;
  for (let i = 0; i < a.length; i++) {
    // The JSON holds the shortest decimal of each float32: fround gives back the exact bits.
    const e = exact ? expected.data[i]! : Math.fround(expected.data[i]!);
    const v = a[i]!;
    const diff = Math.abs(v - e);
    const sameNonFinite = (Number.isNaN(v) && Number.isNaN(e)) || (v === e && !Number.isFinite(e));
    if (sameNonFinite) continue;
    if (!(diff <= (exact ? 0 : tol.atol + tol.rtol * Math.abs(e)))) {
      bad++;
      if (firstBad < 0) firstBad = i;
    }
    if (Number.isFinite(diff)) {
      maxAbs = Math.max(maxAbs, diff);
      if (e !== 0) maxRel = Math.max(maxRel, diff / Math.abs(e));
    } else maxAbs = Infinity;
  }
  if (bad === 0) return null;
  return {
    what,
    message: `${bad}/${a.length} elements off (first at ${firstBad}: got ${a[firstBad]}, expected ${expected.data[firstBad]})`,
    maxAbs,
    maxRel,
  };
}
