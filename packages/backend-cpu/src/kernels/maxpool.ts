/**
 * max_pool2d forward/backward. Padding acts as -inf (padded taps are simply skipped), indices are
 * flat offsets into each H·W input plane, and NaN wins like in PyTorch's CPU kernel
 * (`val > max || isnan(val)`). The output size comes from core and is checked against
 * PyTorch's rule (including ceil_mode).
 */
import type { Pool2dParams, View } from '@kindling/core';
import { contiguousF32, contiguousI32, withContiguousOutF32, withContiguousOutI32 } from '../strided.js';
import { axisWindow, checkPoolOutput } from '@kindling/core';

export function maxPool2d(x: View, p: Pool2dParams, out: View, indices: View): void {
  checkPoolOutput('maxPool2d', x.shape, out.shape, p);
  const X = contiguousF32(x, 'maxPool2d');
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [, , oH, oW] = out.shape as [number, number, number, number];
  const [kH, kW] = p.kernel;
  const [sH, sW] = p.stride;
  const [pH, pW] = p.padding;
  const [dH, dW] = p.dilation;
  // Window geometry depends only on the output row/column: compute it once, not per plane.
  const hWins = Array.from({ length: oH }, (_, oh) => axisWindow(oh * sH - pH, kH, dH, H, pH));
  const wins = Array.from({ length: oW }, (_, ow) => axisWindow(ow * sW - pW, kW, dW, W, pW));
  withContiguousOutF32(out, 'maxPool2d', false, (Y) => {
    withContiguousOutI32(indices, 'maxPool2d', (I) => {
      for (let plane = 0; plane < N * C; plane++) {
        const xBase = plane * H * W;
        const yBase = plane * oH * oW;
        for (let oh = 0; oh < oH; oh++) {
          const hs = oh * sH - pH;
          const hw = hWins[oh]!;
          for (let ow = 0; ow < oW; ow++) {
            const ws = ow * sW - pW;
            const ww = wins[ow]!;
            // PyTorch starts from the first in-bounds tap's index, so an all -inf window still points inside it.
            let maxIdx = (hs + hw.lo * dH) * W + (ws + ww.lo * dW);
            let maxVal = -Infinity;
            for (let th = hw.lo; th < hw.hi; th++) {
              const rowIdx = (hs + th * dH) * W;
              for (let tw = ww.lo; tw < ww.hi; tw++) {
                const idx = rowIdx + ws + tw * dW;
                const v = X[xBase + idx]!;
                if (v > maxVal || v !== v) {
                  maxVal = v;
                  maxIdx = idx;
                }
              }
            }
            Y[yBase + oh * oW + ow] = maxVal;
            I[yBase + oh * oW + ow] = maxIdx;
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
