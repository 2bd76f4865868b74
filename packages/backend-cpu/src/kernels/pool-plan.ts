/**
 * What the max and avg pooling kernels both walk: the input planes and, for each output row and
 * column, its window of in-bounds taps. A window depends only on its output row or column, so it
 * is computed once per call, not per plane.
 */
import { axisWindow, checkPoolOutput, type AxisWindow, type Pool2dParams } from '@kindling/core';

/** An output row's (or column's) window: in-bounds taps [lo, hi), and its first tap's input coordinate (may be < 0). */
export interface PoolWindow extends AxisWindow {
  start: number;
}

export interface PoolPlan {
  /** N·C: the planes pooled one after the other. */
  planes: number;
  H: number; W: number; oH: number; oW: number;
  dH: number; dW: number;
  rows: PoolWindow[];
  cols: PoolWindow[];
}

/** Checks the output size against PyTorch's rule (`op` names the kernel in the error) and plans the windows. */
export function poolPlan(op: string, xShape: readonly number[], yShape: readonly number[], p: Pool2dParams): PoolPlan {
  checkPoolOutput(op, xShape, yShape, p);
  const [N, C, H, W] = xShape as [number, number, number, number];
  const [, , oH, oW] = yShape as [number, number, number, number];
  const axis = (n: number, a: 0 | 1, size: number): PoolWindow[] =>
    Array.from({ length: n }, (_, o) => {
      const start = o * p.stride[a] - p.padding[a];
      return { ...axisWindow(start, p.kernel[a], p.dilation[a], size, p.padding[a]), start };
    });
  return { planes: N * C, H, W, oH, oW, dH: p.dilation[0], dW: p.dilation[1], rows: axis(oH, 0, H), cols: axis(oW, 1, W) };
}
