/**
 * Host-side shape arithmetic for strided views: element counts, contiguity, dim collapsing and
 * the self-overlap test. Kernels receive the collapsed shape and strides as uniforms, so a
 * contiguous tensor of any rank becomes a rank-1 loop on the GPU, and the shader's index
 * arithmetic (one div/mod per remaining dim) is as short as the layout allows.
 */
import { contiguousStrides, isContiguous, numel as numelOf, type View } from '@kindling/core';
import { collapseDims, isContiguousView } from '@kindling/core/backend';

/** Collapsed views handed to one kernel are limited to this rank (after merging dims). */
export const MAX_RANK = 8;

// Shape arithmetic and layout helpers are core's (one definition for every backend).
export { numelOf, contiguousStrides, isContiguous, isContiguousView };

/**
 * A shape walked by several operands at once, after core's collapseDims: size-1 dims dropped and
 * neighbouring dims merged wherever every operand is contiguous across them.
 */
export interface Layout {
  shape: number[];
  /** strides[k] = operand k's strides over `shape`. */
  strides: number[][];
  offsets: number[];
  numel: number;
}

export function collapse(shape: readonly number[], strides: readonly (readonly number[])[], offsets: readonly number[], op = 'kernel'): Layout {
  const c = collapseDims(shape, strides);
  if (c.sizes.length > MAX_RANK) {
    throw new Error(`${op}: a strided view of rank ${c.sizes.length} after merging contiguous dims exceeds the WebGPU backend's limit of ${MAX_RANK}; make it contiguous first`);
  }
  return { shape: c.sizes, strides: c.strides, offsets: [...offsets], numel: c.numel };
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
