/**
 * torch.gather and torch.Tensor.scatter_add_ along `axis`. index is int32 with x's rank; the
 * iteration runs over index's shape. The operand indexed by `index` is read with stride 0 on
 * `axis` (its base offset then moves by index·stride), everything else is a plain strided walk.
 * Core validates shapes; we still refuse to touch memory through an out-of-range index.
 */
import type { View } from '@kindling/core';
import { dataOf } from '../buffer.js';
import { forEachRun } from '../strided.js';

function axisStrides(strides: readonly number[], axis: number): number[] {
  const s = strides.slice();
  s[axis] = 0;
  return s;
}

function outOfRange(op: string, idx: number, axis: number, size: number): RangeError {
  return new RangeError(`${op}: index ${idx} is out of bounds for dimension ${axis} with size ${size}`);
}

/** out[..., j, ...] = x[..., index[..., j, ...], ...] with j on `axis`; out has index's shape. */
export function gather(x: View, axis: number, index: View, out: View): void {
  const xd = dataOf(x);
  const id = dataOf(index);
  const od = dataOf(out);
  const size = x.shape[axis]!;
  const step = x.strides[axis]!;
  forEachRun(index.shape, [index.strides, axisStrides(x.strides, axis), out.strides], [index.offset, x.offset, out.offset], (o, n, s) => {
    const io = o[0]!, is = s[0]!, xo = o[1]!, xs = s[1]!, oo = o[2]!, os = s[2]!;
    for (let i = 0; i < n; i++) {
      const k = id[io + i * is]!;
      if (k < 0 || k >= size) throw outOfRange('gather', k, axis, size);
      od[oo + i * os] = xd[xo + i * xs + k * step]!;
    }
  });
}

/** dst[..., index[..., j, ...], ...] += src[..., j, ...]; a sequential loop, so repeated indices all add. */
export function scatterAdd(dst: View, axis: number, index: View, src: View): void {
  const dd = dataOf(dst);
  const id = dataOf(index);
  const sd = dataOf(src);
  const size = dst.shape[axis]!;
  const step = dst.strides[axis]!;
  const toBool = dst.dtype === 'bool';
  forEachRun(index.shape, [index.strides, src.strides, axisStrides(dst.strides, axis)], [index.offset, src.offset, dst.offset], (o, n, s) => {
    const io = o[0]!, is = s[0]!, so = o[1]!, ss = s[1]!, dOff = o[2]!, ds = s[2]!;
    for (let i = 0; i < n; i++) {
      const k = id[io + i * is]!;
      if (k < 0 || k >= size) throw outOfRange('scatterAdd', k, axis, size);
      const j = dOff + i * ds + k * step;
      if (toBool) dd[j] = dd[j]! + sd[so + i * ss]! !== 0 ? 1 : 0;
      else dd[j] += sd[so + i * ss]!;
    }
  });
}
