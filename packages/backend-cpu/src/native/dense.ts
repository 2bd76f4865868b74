/**
 * Dense (contiguous, row-major) access to views for the native kernels: the view's own array and
 * offset when it is contiguous (zero copy, where strided.ts's helpers would make a subarray),
 * else strided.ts's packed copy at offset 0. Outputs that are not contiguous are computed into
 * scratch and scattered back.
 */
import type { View } from '@kindling/core';
import { F32, I32, typedOf, type DenseKind } from '../buffer.js';
import { contiguous, isContiguousView, withContiguousOut } from '../strided.js';

/** A typed array and the element offset the kernel starts at. */
export interface Dense<A extends Float32Array | Int32Array> {
  data: A;
  offset: number;
}
export type DenseF32 = Dense<Float32Array>;
export type DenseI32 = Dense<Int32Array>;

function dense<A extends Float32Array | Int32Array>(v: View, op: string, kind: DenseKind<A>): Dense<A> {
  const d = typedOf(v, op, kind);
  return isContiguousView(v) ? { data: d, offset: v.offset } : { data: contiguous(v, op, kind), offset: 0 };
}

function withDenseOut<A extends Float32Array | Int32Array>(out: View, op: string, kind: DenseKind<A>, preload: boolean, fn: (dst: Dense<A>) => void): void {
  const d = typedOf(out, op, kind, 'output');
  if (isContiguousView(out)) fn({ data: d, offset: out.offset });
  else withContiguousOut(out, op, kind, preload, (tmp) => fn({ data: tmp, offset: 0 }));
}

// The per-kind entry points native/kernels.ts calls: each only names its array kind.
export const denseF32 = (v: View, op: string): DenseF32 => dense(v, op, F32);
export const denseI32 = (v: View, op: string): DenseI32 => dense(v, op, I32);
/** Runs fn on a dense stand-in for `out` (preloaded with its values when `preload`), then writes back. */
export const withDenseOutF32 = (out: View, op: string, preload: boolean, fn: (dst: DenseF32) => void): void => withDenseOut(out, op, F32, preload, fn);
/** withDenseOutF32 for int32 outputs (pooling indices), which are written whole. */
export const withDenseOutI32 = (out: View, op: string, fn: (dst: DenseI32) => void): void => withDenseOut(out, op, I32, false, fn);
