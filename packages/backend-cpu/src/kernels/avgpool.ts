/**
 * avg_pool2d forward/backward with PyTorch's divisor rules: divisor_override if given; else with
 * count_include_pad the window size clipped to the padded input (so ceil_mode's overhanging
 * windows are not counted in full); else the number of in-bounds taps. A window with no
 * in-bounds taps gives 0. (PyTorch's avg_pool2d has no dilation; dilation 1 reproduces its
 * formulas exactly and larger dilations extend them tap by tap.)
 */
import type { Pool2dParams, View } from '@kindling/core';
import { contiguousF32, withContiguousOutF32 } from '../strided.js';
import { axisWindow, checkPoolOutput, type AxisWindow } from '@kindling/core';

interface Windows {
  h: AxisWindow[];
  w: AxisWindow[];
}

function windows(H: number, W: number, oH: number, oW: number, p: Pool2dParams): Windows {
  return {
    h: Array.from({ length: oH }, (_, o) => axisWindow(o * p.stride[0] - p.padding[0], p.kernel[0], p.dilation[0], H, p.padding[0])),
    w: Array.from({ length: oW }, (_, o) => axisWindow(o * p.stride[1] - p.padding[1], p.kernel[1], p.dilation[1], W, p.padding[1])),
  };
}

function divisor(hw: AxisWindow, ww: AxisWindow, p: Pool2dParams): number {
  if (p.divisorOverride !== null && p.divisorOverride !== undefined) return p.divisorOverride;
  if (p.countIncludePad) return hw.padded * ww.padded;
  return (hw.hi - hw.lo) * (ww.hi - ww.lo);
}

export function avgPool2d(x: View, p: Pool2dParams, out: View): void {
  checkPoolOutput('avgPool2d', x.shape, out.shape, p);
  const X = contiguousF32(x, 'avgPool2d');
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [, , oH, oW] = out.shape as [number, number, number, number];
  const [sH, sW] = p.stride;
  const [pH, pW] = p.padding;
  const [dH, dW] = p.dilation;
  const win = windows(H, W, oH, oW, p);
  withContiguousOutF32(out, 'avgPool2d', false, (Y) => {
    for (let plane = 0; plane < N * C; plane++) {
      const xBase = plane * H * W;
      const yBase = plane * oH * oW;
      for (let oh = 0; oh < oH; oh++) {
        const hw = win.h[oh]!;
        const hs = oh * sH - pH;
        for (let ow = 0; ow < oW; ow++) {
          const ww = win.w[ow]!;
          const ws = ow * sW - pW;
          if (hw.lo >= hw.hi || ww.lo >= ww.hi) {
            Y[yBase + oh * oW + ow] = 0;
            continue;
          }
          let sum = 0;
          for (let th = hw.lo; th < hw.hi; th++) {
            const row = xBase + (hs + th * dH) * W + ws;
            for (let tw = ww.lo; tw < ww.hi; tw++) sum += X[row + tw * dW]!;
          }
          Y[yBase + oh * oW + ow] = sum / divisor(hw, ww, p);
        }
      }
    }
  });
}

/** gradIn (zero-filled by core) += each output's gradient spread evenly over its window's in-bounds taps. */
export function avgPool2dBackward(gradOut: View, p: Pool2dParams, gradIn: View): void {
  checkPoolOutput('avgPool2dBackward', gradIn.shape, gradOut.shape, p);
  const GY = contiguousF32(gradOut, 'avgPool2dBackward');
  const [N, C, H, W] = gradIn.shape as [number, number, number, number];
  const [, , oH, oW] = gradOut.shape as [number, number, number, number];
  const [sH, sW] = p.stride;
  const [pH, pW] = p.padding;
  const [dH, dW] = p.dilation;
  const win = windows(H, W, oH, oW, p);
  withContiguousOutF32(gradIn, 'avgPool2dBackward', true, (GX) => {
    for (let plane = 0; plane < N * C; plane++) {
      const xBase = plane * H * W;
      const yBase = plane * oH * oW;
      for (let oh = 0; oh < oH; oh++) {
        const hw = win.h[oh]!;
        const hs = oh * sH - pH;
        for (let ow = 0; ow < oW; ow++) {
          const ww = win.w[ow]!;
          if (hw.lo >= hw.hi || ww.lo >= ww.hi) continue;
          const ws = ow * sW - pW;
          const g = GY[yBase + oh * oW + ow]! / divisor(hw, ww, p);
          for (let th = hw.lo; th < hw.hi; th++) {
            const row = xBase + (hs + th * dH) * W + ws;
            for (let tw = ww.lo; tw < ww.hi; tw++) GX[row + tw * dW] += g;
          }
        }
      }
    }
  });
}
