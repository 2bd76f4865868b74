/**
 * Layout helpers every backend's kernels share: contiguity of a view and dim collapsing, the step
 * that turns an N-d strided walk over several operands into the fewest loops (a contiguous walk of
 * any rank becomes one flat loop).
 */
import { isContiguous } from '../shape.js';
import type { View } from '../backend.js';

export function isContiguousView(v: View): boolean {
  return isContiguous(v.shape, v.strides);
}

/** `shape` walked by k operands after collapsing; `strides[j]` are operand j's strides over `sizes`. */
export interface CollapsedDims {
  sizes: number[];
  strides: number[][];
  /** Elements of the walk (0 when some dim is 0; then `sizes` is empty). */
  numel: number;
}

/**
 * Drops size-1 dims and merges each dim into the previous kept one wherever every operand is
 * contiguous across the pair (previous stride = stride × size). Row-major order of the logical
 * index is kept, so element i of the collapsed walk is element i of the original.
 */
export function collapseDims(shape: readonly number[], strides: readonly (readonly number[])[]): CollapsedDims {
  const k = strides.length;
  const sizes: number[] = [];
  const st: number[][] = strides.map(() => []);
  let numel = 1;
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    numel *= size;
    if (size === 0) return { sizes: [], strides: strides.map(() => []), numel: 0 };
    if (size === 1) continue;
    const last = sizes.length - 1;
    let merge = last >= 0;
    for (let j = 0; merge && j < k; j++) if (st[j]![last] !== strides[j]![d]! * size) merge = false;
    if (merge) {
      sizes[last] = sizes[last]! * size;
      for (let j = 0; j < k; j++) st[j]![last] = strides[j]![d]!;
    } else {
      sizes.push(size);
      for (let j = 0; j < k; j++) st[j]!.push(strides[j]![d]!);
    }
  }
  return { sizes, strides: st, numel };
}
