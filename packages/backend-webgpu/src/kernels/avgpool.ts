/**
 * avg_pool2d forward and backward with PyTorch's divisor rules: divisor_override if given; else
 * with count_include_pad the window clipped to the padded input (so ceil_mode's overhanging
 * windows are not counted in full); else the number of in-bounds taps. An empty window gives 0.
 *
 * Backward is a gather, like max pooling's: one invocation per input element visits the outputs
 * whose window holds it (tap aligned with the dilation) in row-major order and adds their gradient
 * over their divisor. No atomics; same order of adds as the CPU backend.
 */
import type { Pool2dParams, View } from '@kindling/core';
import type { Engine } from '../engine.js';
import { POOL_INPUT_OUTPUTS, POOL_OUTPUT_WINDOW, runPool } from '../pool-geometry.js';
import { numelOf } from '../strided.js';
import { type Params, pf, pw } from '../wgsl.js';

/**
 * Packs the divisor mode (2 = override, 1 = count padding, 0 = in-bounds taps) and the override,
 * and returns the WGSL divisor of output (oh, ow) that reads them.
 */
function divisorFn(prm: Params, p: Pool2dParams): string {
  const override = p.divisorOverride !== null && p.divisorOverride !== undefined;
  const cw = prm.u32(override ? 2 : p.countIncludePad ? 1 : 0);
  const dw = prm.f32(override ? p.divisorOverride! : 0);
  return `fn divisorOf(oh: i32, ow: i32, H: i32, W: i32, kH: i32, kW: i32, sH: i32, sW: i32, pH: i32, pW: i32, dH: i32, dW: i32) -> f32 {
  if (${pw(cw)} == 2u) { return ${pf(dw)}; }
  let hs = oh * sH - pH;
  let ws = ow * sW - pW;
  if (${pw(cw)} == 1u) {
    return f32(k_win_padded(hs, kH, dH, H, pH) * k_win_padded(ws, kW, dW, W, pW));
  }
  return f32((k_win_hi(hs, kH, dH, H) - k_win_lo(hs, kH, dH)) * (k_win_hi(ws, kW, dW, W) - k_win_lo(ws, kW, dW)));
}`;
}

export function avgPool2d(e: Engine, x: View, p: Pool2dParams, out: View): void {
  runPool(e, {
    key: 'avgPool2d', xShape: x.shape, outShape: out.shape, p, n: numelOf(out.shape),
    reads: { x }, writes: { y: out }, preload: false,
    functions: (prm) => divisorFn(prm, p),
    body: (v, at) => `${POOL_OUTPUT_WINDOW}
  var result = 0.0;
  if (hlo < hhi && wlo < whi) {
    let xBase = ${at.x} + plane * H * W;
    var sum = 0.0;
    for (var th = hlo; th < hhi; th = th + 1) {
      let row = xBase + (hs + th * dH) * W + ws;
      for (var tw = wlo; tw < whi; tw = tw + 1) { sum = sum + ${v.x}[row + tw * dW]; }
    }
    result = sum / divisorOf(oh, ow, H, W, kH, kW, sH, sW, pH, pW, dH, dW);
  }
  ${v.y}[${at.y} + o] = result;`,
  });
}

export function avgPool2dBackward(e: Engine, gradOut: View, p: Pool2dParams, gradIn: View): void {
  runPool(e, {
    key: 'avgPool2dBackward', xShape: gradIn.shape, outShape: gradOut.shape, p, n: numelOf(gradIn.shape),
    reads: { gy: gradOut }, writes: { gx: gradIn }, preload: true,
    functions: (prm) => divisorFn(prm, p),
    body: (v, at) => `${POOL_INPUT_OUTPUTS}
  let yBase = ${at.gy} + plane * oH * oW;
  var acc = ${v.gx}[${at.gx} + i];
  for (var oh = ohFirst; oh <= ohLast; oh = oh + 1) {
    if ((h + pH - oh * sH) % dH != 0) { continue; }
    for (var ow = owFirst; ow <= owLast; ow = ow + 1) {
      if ((w + pW - ow * sW) % dW != 0) { continue; }
      acc = acc + ${v.gy}[yBase + oh * oW + ow] / divisorOf(oh, ow, H, W, kH, kW, sH, sW, pH, pW, dH, dW);
    }
  }
  ${v.gx}[${at.gx} + i] = acc;`,
  });
}
