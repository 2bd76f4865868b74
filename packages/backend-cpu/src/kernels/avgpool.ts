/**
 * avg_pool2d forward/backward with PyTorch's divisor rules: divisor_override if given; else with
 * count_include_pad the window size clipped to the padded input (so ceil_mode's overhanging
 * windows are not counted in full); else the number of in-bounds taps. A window with no
 * in-bounds taps gives 0. (PyTorch's avg_pool2d has no dilation; dilation 1 reproduces its
 * formulas exactly and larger dilations extend them tap by tap.)
 */
import type { AxisWindow, Pool2dParams, View } from '@kindling/core';
import { contiguousF32, withContiguousOutF32 } from '../strided.js';
import { poolPlan } from './pool-plan.js';

function divisor(hw: AxisWindow, ww: AxisWindow, p: Pool2dParams): number {
  if (p.divisorOverride !== null && p.divisorOverride !== undefined) return p.divisorOverride;
  if (p.countIncludePad) return hw.padded * ww.padded;
  return (hw.hi - hw.lo) * (ww.hi - ww.lo);
}

export function avgPool2d(x: View, p: Pool2dParams, out: View): void {
  const { planes, H, W, dH, dW, rows, cols } = poolPlan('avgPool2d', x.shape, out.shape, p);
  const X = contiguousF32(x, 'avgPool2d');
  withContiguousOutF32(out, 'avgPool2d', false, (Y) => {
    let y = 0; // outputs are written in order: plane, row, column
    for (let xBase = 0; xBase < planes * H * W; xBase += H * W) {
      for (const hw of rows) {
        for (const ww of cols) {
          if (hw.lo >= hw.hi || ww.lo >= ww.hi) {
            Y[y++] = 0;
            continue;
          }
          let sum = 0;
          for (let th = hw.lo; th < hw.hi; th++) {
            const row = xBase + (hw.start + th * dH) * W + ww.start;
            for (let tw = ww.lo; tw < ww.hi; tw++) sum += X[row + tw * dW]!;
          }
          Y[y++] = sum / divisor(hw, ww, p);
        }
      }
    }
  });
}

/** gradIn (zero-filled by core) += each output's gradient spread evenly over its window's in-bounds taps. */
export function avgPool2dBackward(gradOut: View, p: Pool2dParams, gradIn: View): void {
  const { planes, H, W, dH, dW, rows, cols } = poolPlan('avgPool2dBackward', gradIn.shape, gradOut.shape, p);
  const GY = contiguousF32(gradOut, 'avgPool2dBackward');
  withContiguousOutF32(gradIn, 'avgPool2dBackward', true, (GX) => {
    let y = 0;
    for (let xBase = 0; xBase < planes * H * W; xBase += H * W) {
      for (const hw of rows) {
        for (const ww of cols) {
          const gy = GY[y++]!;
          if (hw.lo >= hw.hi || ww.lo >= ww.hi) continue;
          const g = gy / divisor(hw, ww, p);
          for (let th = hw.lo; th < hw.hi; th++) {
            const row = xBase + (hw.start + th * dH) * W + ww.start;
            for (let tw = ww.lo; tw < ww.hi; tw++) GX[row + tw * dW] += g;
          }
        }
      }
    }
  });
}
