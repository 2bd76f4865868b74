/**
 * Softmax / log-softmax over the last dim of a [rows, cols] view, and their backward.
 * Max-shifted so large logits cannot overflow exp; sums in float64.
 */
import type { View } from '@kindling/core';
import { contiguousF32, withContiguousOutF32 } from '../strided.js';

function rowsCols(v: View): [number, number] {
  const cols = v.shape.length === 0 ? 1 : v.shape[v.shape.length - 1]!;
  let rows = 1;
  for (let i = 0; i < v.shape.length - 1; i++) rows *= v.shape[i]!;
  return [rows, cols];
}

export function softmax(x: View, log: boolean, out: View): void {
  const X = contiguousF32(x, 'softmax');
  const [rows, cols] = rowsCols(x);
  withContiguousOutF32(out, 'softmax', false, (Y) => {
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let max = -Infinity;
      for (let j = 0; j < cols; j++) {
        const v = X[o + j]!;
        if (v > max || v !== v) max = v;
      }
      // A row of all -inf has no finite shift: use 0 so the result is NaN as in PyTorch (exp(-inf - -inf)).
      const shift = max === -Infinity ? 0 : max;
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += Math.exp(X[o + j]! - shift);
      if (log) {
        const lse = Math.log(sum);
        for (let j = 0; j < cols; j++) Y[o + j] = X[o + j]! - shift - lse;
      } else {
        const inv = 1 / sum;
        for (let j = 0; j < cols; j++) Y[o + j] = Math.exp(X[o + j]! - shift) * inv;
      }
    }
  });
}

/**
 * softmax:     gx = y · (gy - Σ gy·y)
 * log-softmax: gx = gy - exp(y) · Σ gy
 */
export function softmaxBackward(y: View, gradOut: View, log: boolean, gradIn: View): void {
  const Y = contiguousF32(y, 'softmaxBackward');
  const GY = contiguousF32(gradOut, 'softmaxBackward');
  const [rows, cols] = rowsCols(y);
  withContiguousOutF32(gradIn, 'softmaxBackward', false, (GX) => {
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      if (log) {
        let s = 0;
        for (let j = 0; j < cols; j++) s += GY[o + j]!;
        for (let j = 0; j < cols; j++) GX[o + j] = GY[o + j]! - Math.exp(Y[o + j]!) * s;
      } else {
        let s = 0;
        for (let j = 0; j < cols; j++) s += GY[o + j]! * Y[o + j]!;
        for (let j = 0; j < cols; j++) GX[o + j] = Y[o + j]! * (GY[o + j]! - s);
      }
    }
  });
}
