/**
 * The one strided-iteration helper every kernel shares.
 *
 * An N-d strided view is walked as a set of 1-d "runs": the dims are first collapsed (size-1 dims
 * dropped, neighbouring dims merged wherever every operand is contiguous across them), the last
 * collapsed dim becomes a tight inner loop that the kernel writes itself, and an odometer over the
 * remaining outer dims advances each operand's base offset incrementally. When all operands are
 * contiguous everything collapses into a single run, so the common case is one flat loop.
 *
 * Kernels keep their inner loops specialised per op (a `switch` outside the loop, never a callback
 * per element), which is what keeps them fast in V8.
 */
import { contiguousStrides as contiguousStridesOf, isContiguous, numel as numelOf, type View } from '@kindling/core';
import { collapseDims, isContiguousView } from '@kindling/core/backend';
import { F32, I32, typedOf, type DenseKind } from './buffer.js';

/** Arrays kernels read and write. Float64Array appears for scalars and float64 scratch. */
export type NumArray = Float32Array | Int32Array | Uint8Array | Float64Array;

/** Called once per run: base offset of each operand, run length, and each operand's stride within the run. */
export type RunBody = (offsets: readonly number[], n: number, inner: readonly number[]) => void;

// Shape arithmetic and layout helpers are core's (one definition for every backend), under the names the kernels use.
export { numelOf, contiguousStridesOf, isContiguous as isContiguousLayout, isContiguousView };

/**
 * Iterates `shape` for k operands, each with its own strides over that shape and base offset.
 * Order is row-major over the logical index, so sequential read-modify-write kernels (accumulate
 * into a self-overlapping view) see every update land.
 */
export function forEachRun(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  offsets: readonly number[],
  body: RunBody,
): void {
  const k = strides.length;
  const { sizes, strides: st, numel } = collapseDims(shape, strides);
  if (numel === 0) return;
  const offs = offsets.slice();
  if (sizes.length === 0) {
    body(offs, 1, new Array<number>(k).fill(0));
    return;
  }
  const nd = sizes.length - 1; // outer dims
  const n = sizes[nd]!;
  const inner = st.map((s) => s[nd]!);
  if (nd === 0) {
    body(offs, n, inner);
    return;
  }
  let total = 1;
  for (let d = 0; d < nd; d++) total *= sizes[d]!;
  const idx = new Array<number>(nd).fill(0);
  for (let it = 0; it < total; it++) {
    body(offs, n, inner);
    // Odometer increment over the outer dims, updating offsets incrementally.
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d]! < sizes[d]!) {
        for (let j = 0; j < k; j++) offs[j] += st[j]![d]!;
        break;
      }
      idx[d] = 0;
      const back = sizes[d]! - 1;
      for (let j = 0; j < k; j++) offs[j] -= st[j]![d]! * back;
    }
  }
}

/**
 * forEachRun over two views of one shape, `src` read and `dst` written (copy, accumulate, unary):
 * the body gets each run's offsets and strides by name instead of picking them out of arrays.
 */
export function forEachRunPair(
  src: View, dst: View,
  body: (so: number, ss: number, dd: number, ds: number, n: number) => void,
): void {
  forEachRun(dst.shape, [src.strides, dst.strides], [src.offset, dst.offset], (o, n, st) => body(o[0]!, st[0]!, o[1]!, st[1]!, n));
}

/** Copies a strided region into a contiguous array (dst[0..numel)), converting by plain assignment. */
export function packStrided(src: NumArray, offset: number, shape: readonly number[], strides: readonly number[], dst: NumArray): void {
  forEachRun(shape, [strides, contiguousStridesOf(shape)], [offset, 0], (o, n, s) => {
    const so = o[0]!;
    const ss = s[0]!;
    const dd = o[1]!;
    if (ss === 1) for (let i = 0; i < n; i++) dst[dd + i] = src[so + i]!;
    else for (let i = 0; i < n; i++) dst[dd + i] = src[so + i * ss]!;
  });
}

/** The inverse of packStrided: writes a contiguous array into a strided region. */
export function unpackStrided(src: NumArray, dst: NumArray, offset: number, shape: readonly number[], strides: readonly number[]): void {
  forEachRun(shape, [contiguousStridesOf(shape), strides], [0, offset], (o, n, s) => {
    const so = o[0]!;
    const dd = o[1]!;
    const ds = s[1]!;
    if (ds === 1) for (let i = 0; i < n; i++) dst[dd + i] = src[so + i]!;
    else for (let i = 0; i < n; i++) dst[dd + i * ds] = src[so + i]!;
  });
}

// float32 views and int32 ones (pooling indices) are made dense by the same steps, so one generic
// function serves both (and native/dense.ts); only the array type differs.
export function contiguous<A extends Float32Array | Int32Array>(v: View, op: string, kind: DenseKind<A>): A {
  const data = typedOf(v, op, kind);
  const n = numelOf(v.shape);
  if (isContiguousView(v)) return data.subarray(v.offset, v.offset + n) as A;
  const out = new kind.Ctor(n);
  packStrided(data, v.offset, v.shape, v.strides, out);
  return out;
}

export function withContiguousOut<A extends Float32Array | Int32Array>(out: View, op: string, kind: DenseKind<A>, preload: boolean, fn: (dst: A) => void): void {
  const data = typedOf(out, op, kind, 'output');
  const n = numelOf(out.shape);
  if (isContiguousView(out)) {
    fn(data.subarray(out.offset, out.offset + n) as A);
    return;
  }
  const tmp = new kind.Ctor(n);
  if (preload) packStrided(data, out.offset, out.shape, out.strides, tmp);
  fn(tmp);
  unpackStrided(tmp, data, out.offset, out.shape, out.strides);
}

/**
 * A float32 view's elements as a contiguous Float32Array starting at index 0: a zero-copy
 * subarray when the view is already contiguous, else a packed copy. Fused kernels use this so
 * they can assume dense row-major inputs whatever strides core hands them.
 */
export function contiguousF32(v: View, op: string): Float32Array {
  return contiguous(v, op, F32);
}

/** Same for int32 views (pooling indices). */
export function contiguousI32(v: View, op: string): Int32Array {
  return contiguous(v, op, I32);
}

/**
 * Runs `fn` on a contiguous Float32Array standing for `out`: the view's own memory when it is
 * contiguous, else a scratch array (pre-filled with out's current values when `preload`, for
 * kernels that accumulate or update in place) that is written back afterwards.
 */
export function withContiguousOutF32(out: View, op: string, preload: boolean, fn: (dst: Float32Array) => void): void {
  withContiguousOut(out, op, F32, preload, fn);
}

/** withContiguousOutF32 for int32 outputs (pooling indices), which are written whole. */
export function withContiguousOutI32(out: View, op: string, fn: (dst: Int32Array) => void): void {
  withContiguousOut(out, op, I32, false, fn);
}
