/**
 * Dense (contiguous, row-major) access to views for the native kernels: the view's own array and
 * offset when it is contiguous (zero copy), else a packed copy at offset 0. Outputs that are not
 * contiguous are computed into scratch and scattered back.
 */
import type { View } from '@kindling/core';
import { dataOf } from '../buffer.js';
import { isContiguousView, numelOf, packStrided, unpackStrided } from '../strided.js';

export interface DenseF32 {
  data: Float32Array;
  offset: number;
}
export interface DenseI32 {
  data: Int32Array;
  offset: number;
}

export function denseF32(v: View, op: string): DenseF32 {
  const d = dataOf(v);
  if (!(d instanceof Float32Array)) throw new TypeError(`${op}: expected a float32 tensor, got ${v.dtype}`);
  if (isContiguousView(v)) return { data: d, offset: v.offset };
  const out = new Float32Array(numelOf(v.shape));
  packStrided(d, v.offset, v.shape, v.strides, out);
  return { data: out, offset: 0 };
}

export function denseI32(v: View, op: string): DenseI32 {
  const d = dataOf(v);
  if (!(d instanceof Int32Array)) throw new TypeError(`${op}: expected an int32 tensor, got ${v.dtype}`);
  if (isContiguousView(v)) return { data: d, offset: v.offset };
  const out = new Int32Array(numelOf(v.shape));
  packStrided(d, v.offset, v.shape, v.strides, out);
  return { data: out, offset: 0 };
}

/** Runs fn on a dense stand-in for `out` (preloaded with its values when `preload`), then writes back. */
export function withDenseOutF32(out: View, op: string, preload: boolean, fn: (dst: DenseF32) => void): void {
  const d = dataOf(out);
  if (!(d instanceof Float32Array)) throw new TypeError(`${op}: expected a float32 output, got ${out.dtype}`);
  if (isContiguousView(out)) {
    fn({ data: d, offset: out.offset });
    return;
  }
  const tmp = new Float32Array(numelOf(out.shape));
  if (preload) packStrided(d, out.offset, out.shape, out.strides, tmp);
  fn({ data: tmp, offset: 0 });
  unpackStrided(tmp, d, out.offset, out.shape, out.strides);
}

export function withDenseOutI32(out: View, op: string, fn: (dst: DenseI32) => void): void {
  const d = dataOf(out);
  if (!(d instanceof Int32Array)) throw new TypeError(`${op}: expected an int32 output, got ${out.dtype}`);
  if (isContiguousView(out)) {
    fn({ data: d, offset: out.offset });
    return;
  }
  const tmp = new Int32Array(numelOf(out.shape));
  fn({ data: tmp, offset: 0 });
  unpackStrided(tmp, d, out.offset, out.shape, out.strides);
}

