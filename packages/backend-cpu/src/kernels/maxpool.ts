/**
 * max_pool2d forward/backward. Padding acts as -inf (padded taps are simply skipped), indices are
 * flat offsets into each H·W input plane, and NaN wins like in PyTorch's CPU kernel
 * (`val > max || isnan(val)`). The output size comes from core and is checked against
 * PyTorch's rule (including ceil_mode).
 */
import type { Pool2dParams, View } from '@kindling/core';
import { contiguousF32, contiguousI32, withContiguousOutF32, withContiguousOutI32 } from '../strided.js';
import { poolPlan } from './pool-plan.js';

export function maxPool2d(x: View, p: Pool2dParams, out: View, indices: View): void {
  const { planes, H, W, dH, dW, rows, cols } = poolPlan('maxPool2d', x.shape, out.shape, p);
  const X = contiguousF32(x, 'maxPool2d');
  withContiguousOutF32(out, 'maxPool2d', false, (Y) => {
    withContiguousOutI32(indices, 'maxPool2d', (I) => {
      let y = 0; // outputs are written in order: plane, row, column
      for (let xBase = 0; xBase < planes * H * W; xBase += H * W) {
        for (const hw of rows) {
          for (const ww of cols) {
            // PyTorch starts from the first in-bounds tap's index, so an all -inf window still points inside it.
            let maxIdx = (hw.start + hw.lo * dH) * W + (ww.start + ww.lo * dW);
            let maxVal = -Infinity;
            for (let th = hw.lo; th < hw.hi; th++) {
              const rowIdx = (hw.start + th * dH) * W;
              for (let tw = ww.lo; tw < ww.hi; tw++) {
                const idx = rowIdx + ww.start + tw * dW;
                const v = X[xBase + idx]!;
                if (v > maxVal || v !== v) {
                  maxVal = v;
                  maxIdx = idx;
                }
              }
            }
            Y[y] = maxVal;
            I[y++] = maxIdx;
          }
        }
      }
    });
  });
}

/** gradIn (zero-filled by core) += gradOut scattered to the argmax positions. */
export function maxPool2dBackward(gradOut: View, indices: View, p: Pool2dParams, gradIn: View): void {
  void p; // the indices carry all the geometry
  const GY = contiguousF32(gradOut, 'maxPool2dBackward');
  const I = contiguousI32(indices, 'maxPool2dBackward');
  const [N, C, H, W] = gradIn.shape as [number, number, number, number];
  const [, , oH, oW] = gradOut.shape as [number, number, number, number];
  const HW = H * W;
  const P = oH * oW;
  withContiguousOutF32(gradIn, 'maxPool2dBackward', true, (GX) => {
    for (let plane = 0; plane < N * C; plane++) {
      const xBase = plane * HW;
      const yBase = plane * P;
      for (let i = 0; i < P; i++) {
        const idx = I[yBase + i]!;
        if (idx < 0 || idx >= HW) throw new RangeError(`maxPool2dBackward: index ${idx} is out of bounds for an input plane of ${H}x${W}`);
        GX[xBase + idx] += GY[yBase + i]!;
      }
    }
  });
}
