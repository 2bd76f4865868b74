/**
 * What the max and avg pooling kernels both walk: the input planes and, for each output row and
 * column, its window of in-bounds taps. A window depends only on its output row or column, so it
 * is computed once per call, not per plane.
 */
import { axisWindows, checkPoolOutput, type Pool2dParams, type PoolWindow } from '@kindling/core';

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
  return { planes: N * C, H, W, oH, oW, dH: p.dilation[0], dW: p.dilation[1], rows: axisWindows(p, 0, oH, H), cols: axisWindows(p, 1, oW, W) };
}
