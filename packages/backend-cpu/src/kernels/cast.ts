/** Storing float64 scratch results into a typed output view with PyTorch's casting rules. */
import type { View } from '@kindling/core';
import { dataOf } from '../buffer.js';
import { contiguousStridesOf, forEachRun } from '../strided.js';

/** out[i] = cast(src[i]) where src is contiguous over out.shape; bool outputs store v != 0. */
export function storeCast(src: Float64Array, out: View): void {
  const d = dataOf(out);
  const toBool = out.dtype === 'bool';
  forEachRun(out.shape, [contiguousStridesOf(out.shape), out.strides], [0, out.offset], (o, n, s) => {
    const so = o[0]!;
    const ss = s[0]!;
    const dd = o[1]!;
    const ds = s[1]!;
    if (toBool) for (let i = 0; i < n; i++) d[dd + i * ds] = src[so + i * ss] !== 0 ? 1 : 0;
    else for (let i = 0; i < n; i++) d[dd + i * ds] = src[so + i * ss]!;
  });
}
