/**
 * Pooling geometry shared by the max and average pooling kernels: the WGSL helpers that clip a
 * window to the input (the host-side output check is core's checkPoolOutput).
 */
import type { Pool2dParams } from '@kindling/core';

/**
 * WGSL: along one axis, for a window starting at `start` (= o·stride − pad) with k taps spaced
 * d: the first in-bounds tap, one past the last, and how many taps land before size + pad
 * (count_include_pad's clipped window). And the range of outputs whose window can hold input
 * position `i` (for the gather-style backward passes).
 */
export const POOL_WGSL = /* wgsl */ `
fn k_ceil_div(a: i32, b: i32) -> i32 {
  if (a <= 0) { return -((-a) / b); }
  return (a + b - 1) / b;
}
fn k_floor_div(a: i32, b: i32) -> i32 {
  if (a >= 0) { return a / b; }
  return -((-a + b - 1) / b);
}
fn k_win_lo(start: i32, k: i32, d: i32) -> i32 { return min(select(k_ceil_div(-start, d), 0, start >= 0), k); }
fn k_win_hi(start: i32, k: i32, d: i32, size: i32) -> i32 { return max(min(k, k_floor_div(size - 1 - start, d) + 1), 0); }
fn k_win_padded(start: i32, k: i32, d: i32, size: i32, pad: i32) -> i32 { return max(0, min(k, k_floor_div(size + pad - 1 - start, d) + 1)); }
// Outputs o in [first, last] whose window (o·s − pad + t·d, t < k) can contain position i.
fn k_out_first(i: i32, k: i32, s: i32, pad: i32, d: i32) -> i32 { return max(0, k_ceil_div(i + pad - (k - 1) * d, s)); }
fn k_out_last(i: i32, s: i32, pad: i32, outSize: i32) -> i32 { return min(outSize - 1, k_floor_div(i + pad, s)); }
`;

/** Host words for the window geometry, in the order `poolGeometryWgsl` reads them. */
export function poolWords(xShape: readonly number[], outShape: readonly number[], p: Pool2dParams): number[] {
  return [
    xShape[0]! * xShape[1]!, xShape[2]!, xShape[3]!, outShape[2]!, outShape[3]!,
    p.kernel[0], p.kernel[1], p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.dilation[0], p.dilation[1],
  ];
}

/** WGSL `let`s for the words written by poolWords starting at word `base` (read with the given accessor). */
export function poolLets(base: number, word: (i: number) => string): string {
  const names = ['planes', 'H', 'W', 'oH', 'oW', 'kH', 'kW', 'sH', 'sW', 'pH', 'pW', 'dH', 'dW'];
  return names.map((n, i) => `let ${n} = i32(${word(base + i)});`).join('\n  ');
}
