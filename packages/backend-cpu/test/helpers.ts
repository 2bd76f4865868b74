/** Test helpers: hand-built views over CpuBuffers and naive float64 readers. */
import { contiguousStrides, numel, type DType, type View } from '@kindling/core';
import { CpuBackend } from '../src/index.js';

/** The default backend: the native path when the addon is built, else the portable one. */
export const be = new CpuBackend({ fused: true });
/** Always the TypeScript kernels. */
export const portable = new CpuBackend({ fused: true, native: false });

// Shape arithmetic is core's and the rng is shared with the other backends' tests.
export { contiguousStrides, numel } from '@kindling/core';
export { rng } from './fixtures.js';

/** A fresh buffer of `size` elements holding `data` (padded with zeros), viewed with the given layout. */
export function makeView(
  dtype: DType, data: ArrayLike<number>, shape: readonly number[],
  strides: readonly number[] = contiguousStrides(shape), offset = 0, size?: number,
): View {
  const n = size ?? Math.max(data.length, offset + 1);
  const buf = be.alloc(dtype, n);
  const arr = dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
  for (let i = 0; i < data.length; i++) arr[i] = data[i]!;
  be.write(buf, arr);
  return { buffer: buf, dtype, shape: [...shape], strides: [...strides], offset };
}

/** A contiguous zero-filled output view. */
export function empty(dtype: DType, shape: readonly number[]): View {
  return { buffer: be.alloc(dtype, numel(shape)), dtype, shape: [...shape], strides: contiguousStrides(shape), offset: 0 };
}

/** All row-major multi-indices of a shape. */
export function* indices(shape: readonly number[]): Generator<number[]> {
  const n = numel(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    yield idx.slice();
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

/** Reads a view element by element through its strides (the naive oracle). */
export function readView(v: View): number[] {
  const buf = be.readSync(v.buffer, 0, v.buffer.size);
  const out: number[] = [];
  for (const idx of indices(v.shape)) {
    let o = v.offset;
    for (let d = 0; d < idx.length; d++) o += idx[d]! * v.strides[d]!;
    out.push(buf[o]!);
  }
  return out;
}

export function randn(n: number, r: () => number): number[] {
  return Array.from({ length: n }, () => {
    const u = Math.max(r(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  });
}

/** Float32-rounded copy, so float64 references start from exactly the values the kernel sees. */
export function f32(xs: readonly number[]): number[] {
  return Array.from(Float32Array.from(xs));
}

/** Max |a-b| / (atol + rtol·|b|) over elements; ≤ 1 means allclose. NaNs must match positions. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-5, atol = 1e-6): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/**
 * |actual − expected| ≤ bound[i] for every element: for kernels that accumulate in float32 (the
 * native path, like PyTorch's BLAS), whose error grows with the reduction length; the bound is
 * then the classic K·u·Σ|aᵢ·bᵢ| (u = 2⁻²⁴) plus the usual tolerance.
 */
export function expectWithin(actual: ArrayLike<number>, expected: ArrayLike<number>, bound: ArrayLike<number>): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if ((Number.isNaN(e) && Number.isNaN(a)) || a === e) continue;
    if (!(Math.abs(a - e) <= bound[i]!)) throw new Error(`element ${i}: got ${a}, expected ${e} (allowed error ${bound[i]})`);
  }
}

/** Unit roundoff of float32. */
export const F32_U = 2 ** -24;
