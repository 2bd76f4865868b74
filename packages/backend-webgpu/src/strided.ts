/**
 * Host-side shape arithmetic for strided views: element counts, contiguity, dim collapsing and
 * the self-overlap test. Kernels receive the collapsed shape and strides as uniforms, so a
 * contiguous tensor of any rank becomes a rank-1 loop on the GPU, and the shader's index
 * arithmetic (one div/mod per remaining dim) is as short as the layout allows.
 */
import { contiguousStrides, isContiguous, numel as numelOf, type View } from '@kindling/core';

/** Collapsed views handed to one kernel are limited to this rank (after merging dims). */
export const MAX_RANK = 8;

// Shape arithmetic is core's (one definition for every backend).
export { numelOf, contiguousStrides, isContiguous };

export function isContiguousView(v: View): boolean {
  return isContiguous(v.shape, v.strides);
}

/**
 * A shape walked by several operands at once, after collapsing: size-1 dims dropped and
 * neighbouring dims merged wherever every operand is contiguous across them. Row-major order of
 * the logical index is preserved, so element i of the collapsed walk is element i of the original.
 */
export interface Layout {
  shape: number[];
  /** strides[k] = operand k's strides over `shape`. */
  strides: number[][];
  offsets: number[];
  numel: number;
}

export function collapse(shape: readonly number[], strides: readonly (readonly number[])[], offsets: readonly number[], op = 'kernel'): Layout {
  const k = strides.length;
  const sizes: number[] = [];
  const st: number[][] = strides.map(() => []);
  const n = numelOf(shape);
  for (let d = 0; d < shape.length && n > 0; d++) {
    const size = shape[d]!;
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
  if (sizes.length > MAX_RANK) {
    throw new Error(`${op}: a strided view of rank ${sizes.length} after merging contiguous dims exceeds the WebGPU backend's limit of ${MAX_RANK}; make it contiguous first`);
  }
  return { shape: sizes, strides: st, offsets: [...offsets], numel: n };
}

/** Collapses the views themselves (all must have `shape`). */
export function collapseViews(shape: readonly number[], views: readonly View[], op?: string): Layout {
  return collapse(shape, views.map((v) => v.strides), views.map((v) => v.offset), op);
}

/**
 * True when no two logical indices of (shape, strides) can share a memory cell. Conservative:
 * sorts dims by stride and requires each stride to clear the whole extent of the smaller ones,
 * which every permutation/slice/expand-free view satisfies. When this says false the caller uses
 * a path that is correct for overlap (atomics).
 */
export function isNonOverlapping(shape: readonly number[], strides: readonly number[]): boolean {
  const dims: [number, number][] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 0) return true;
    if (shape[i]! > 1) dims.push([Math.abs(strides[i]!), shape[i]!]);
  }
  dims.sort((a, b) => a[0] - b[0]);
  let extent = 1; // one past the largest offset reachable by the dims seen so far
  for (const [s, n] of dims) {
    if (s < extent) return false;
    extent = s * (n - 1) + extent;
  }
  return true;
}
