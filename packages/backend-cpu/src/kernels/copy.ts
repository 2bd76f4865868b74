/**
 * Data movement: strided copy with dtype conversion, fill, and accumulate (copy's adjoint).
 *
 * Conversions follow PyTorch: float → int32 truncates toward zero (Int32Array assignment does
 * exactly that, via ToInt32), anything → bool is `x != 0` (so NaN → true), bool → number is 0/1.
 */
import type { View } from '@kindling/core';
import { dataOf } from '../buffer.js';
import { forEachRun, forEachRunPair, isContiguousView, numelOf } from '../strided.js';

export function copy(src: View, dst: View): void {
  const s = dataOf(src);
  const d = dataOf(dst);
  const toBool = dst.dtype === 'bool' && src.dtype !== 'bool';
  // Same dtype, both dense: one memcpy.
  if (!toBool && src.dtype === dst.dtype && isContiguousView(src) && isContiguousView(dst)) {
    const n = numelOf(dst.shape);
    d.set(s.subarray(src.offset, src.offset + n), dst.offset);
    return;
  }
  forEachRunPair(src, dst, (so, ss, dd, ds, n) => {
    if (toBool) {
      for (let i = 0; i < n; i++) d[dd + i * ds] = s[so + i * ss] !== 0 ? 1 : 0;
    } else if (ss === 1 && ds === 1) {
      for (let i = 0; i < n; i++) d[dd + i] = s[so + i]!;
    } else {
      for (let i = 0; i < n; i++) d[dd + i * ds] = s[so + i * ss]!;
    }
  });
}

/** Writes `value` (cast to dst's dtype) into every element of the view. */
export function fill(dst: View, value: number): void {
  const d = dataOf(dst);
  // Cast once: bool is value != 0; int32 truncation/wrapping happens in the typed-array store.
  const v = dst.dtype === 'bool' ? (value !== 0 ? 1 : 0) : value;
  if (isContiguousView(dst)) {
    d.fill(v, dst.offset, dst.offset + numelOf(dst.shape));
    return;
  }
  forEachRun(dst.shape, [dst.strides], [dst.offset], (o, n, st) => {
    const dd = o[0]!;
    const ds = st[0]!;
    for (let i = 0; i < n; i++) d[dd + i * ds] = v;
  });
}

/**
 * dst[i] += src[i]. dst may overlap itself (col2im windows, pooling grads): the loop is a plain
 * sequential read-modify-write per element, so when two logical indices alias one memory cell
 * both additions land. For a bool dst the sum saturates to true (PyTorch's bool add is `or`).
 */
export function accumulate(src: View, dst: View): void {
  const s = dataOf(src);
  const d = dataOf(dst);
  const toBool = dst.dtype === 'bool';
  forEachRunPair(src, dst, (so, ss, dd, ds, n) => {
    if (toBool) {
      for (let i = 0; i < n; i++) {
        const j = dd + i * ds;
        d[j] = d[j]! + s[so + i * ss]! !== 0 ? 1 : 0;
      }
    } else {
      for (let i = 0; i < n; i++) d[dd + i * ds] += s[so + i * ss]!;
    }
  });
}
