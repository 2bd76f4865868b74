/** Output-size rule and window geometry shared by max and average pooling (PyTorch's). */
import type { Pool2dParams } from '@kindling/core';

/**
 * PyTorch's pooling_output_shape: floor((in + 2·pad - dil·(k-1) - 1 [+ stride-1 with ceil]) / stride) + 1,
 * and with ceil_mode the last window must start inside the input or the left padding, else it is dropped.
 */
export function poolOutputSize(inSize: number, k: number, s: number, pad: number, dil: number, ceil: boolean): number {
  let out = Math.floor((inSize + 2 * pad - dil * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= inSize + pad) out--;
  return out;
}

/** Throws when core hands us an output whose spatial size disagrees with the pooling rule. */
export function checkPoolOutput(op: string, xShape: readonly number[], outShape: readonly number[], p: Pool2dParams): void {
  const oH = poolOutputSize(xShape[2]!, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0], p.ceilMode);
  const oW = poolOutputSize(xShape[3]!, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1], p.ceilMode);
  if (outShape[2] !== oH || outShape[3] !== oW || outShape[0] !== xShape[0] || outShape[1] !== xShape[1]) {
    throw new Error(
      `${op}: output [${outShape.join(',')}] does not match input [${xShape.join(',')}] with kernel ${p.kernel}, stride ${p.stride}, padding ${p.padding}, dilation ${p.dilation}, ceilMode ${p.ceilMode} (expected spatial ${oH}x${oW})`,
    );
  }
}

/**
 * Along one axis, for the window starting at `start` (= o·stride - pad) with k taps at spacing d:
 * the taps [lo, hi) that land inside [0, size), and how many land before size + pad (PyTorch's
 * count_include_pad pool size, which clips windows at the right edge of the padding).
 */
export interface AxisWindow {
  lo: number;
  hi: number;
  padded: number;
}

export function axisWindow(start: number, k: number, d: number, size: number, pad: number): AxisWindow {
  const lo = start >= 0 ? 0 : Math.ceil(-start / d);
  const hi = Math.min(k, Math.floor((size - 1 - start) / d) + 1);
  const padded = Math.max(0, Math.min(k, Math.floor((size + pad - 1 - start) / d) + 1));
  return { lo: Math.min(lo, k), hi: Math.max(hi, 0), padded };
}
