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
import type { WebGPUBuffer } from '../buffer.js';
import type { Engine } from '../engine.js';
import { checkPoolOutput } from '@kindling/core';
import { POOL_WGSL, poolLets, poolWords } from '../pool-geometry.js';
import { numelOf } from '../strided.js';
import { Params, entry1d, pf, pi, pw } from '../wgsl.js';
import { contiguous, withContiguousOut } from './copy.js';

/** WGSL: the divisor of output (oh, ow), from the window geometry and the flags in words cw/dw. */
function divisorFn(cw: number, dw: number): string {
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

/** Divisor mode word: 2 = override, 1 = count padding, 0 = in-bounds taps. */
function packDivisor(prm: Params, p: Pool2dParams): [number, number] {
  const override = p.divisorOverride !== null && p.divisorOverride !== undefined;
  const cw = prm.u32(override ? 2 : p.countIncludePad ? 1 : 0);
  const dw = prm.f32(override ? p.divisorOverride! : 0);
  return [cw, dw];
}

export function avgPool2d(e: Engine, x: View, p: Pool2dParams, out: View): void {
  checkPoolOutput('avgPool2d', x.shape, out.shape, p);
  const n = numelOf(out.shape);
  if (n === 0) return;
  const xc = contiguous(e, x);
  withContiguousOut(e, out, false, (y) => {
    const prm = new Params();
    for (const w of poolWords(x.shape, out.shape, p)) prm.i32(w);
    const [cw, dw] = packDivisor(prm, p);
    const wx = prm.i32(xc.offset);
    const wy = prm.i32(y.offset);
    const wn = prm.u32(n);
    const wg = e.wg;
    e.run({
      key: 'avgPool2d',
      bindings: [
        { name: 'x', buffer: xc.buffer as WebGPUBuffer },
        { name: 'y', buffer: y.buffer as WebGPUBuffer, write: true },
      ],
      params: prm,
      groups: Math.ceil(n / wg),
      source: (v) => `${POOL_WGSL}
${divisorFn(cw, dw)}
${entry1d(wg)}
  if (gid >= ${pw(wn)}) { return; }
  ${poolLets(0, pi)}
  let o = i32(gid);
  let ow = o % oW;
  let oh = (o / oW) % oH;
  let plane = o / (oW * oH);
  let hs = oh * sH - pH;
  let ws = ow * sW - pW;
  let hlo = k_win_lo(hs, kH, dH);
  let hhi = k_win_hi(hs, kH, dH, H);
  let wlo = k_win_lo(ws, kW, dW);
  let whi = k_win_hi(ws, kW, dW, W);
  var result = 0.0;
  if (hlo < hhi && wlo < whi) {
    let xBase = ${pi(wx)} + plane * H * W;
    var sum = 0.0;
    for (var th = hlo; th < hhi; th = th + 1) {
      let row = xBase + (hs + th * dH) * W + ws;
      for (var tw = wlo; tw < whi; tw = tw + 1) { sum = sum + ${v.x}[row + tw * dW]; }
    }
    result = sum / divisorOf(oh, ow, H, W, kH, kW, sH, sW, pH, pW, dH, dW);
  }
  ${v.y}[${pi(wy)} + o] = result;
}`,
    });
  });
}

export function avgPool2dBackward(e: Engine, gradOut: View, p: Pool2dParams, gradIn: View): void {
  checkPoolOutput('avgPool2dBackward', gradIn.shape, gradOut.shape, p);
  const n = numelOf(gradIn.shape);
  if (n === 0) return;
  const gy = contiguous(e, gradOut);
  withContiguousOut(e, gradIn, true, (gx) => {
    const prm = new Params();
    for (const w of poolWords(gradIn.shape, gradOut.shape, p)) prm.i32(w);
    const [cw, dw] = packDivisor(prm, p);
    const wgy = prm.i32(gy.offset);
    const wgx = prm.i32(gx.offset);
    const wn = prm.u32(n);
    const wg = e.wg;
    e.run({
      key: 'avgPool2dBackward',
      bindings: [
        { name: 'gy', buffer: gy.buffer as WebGPUBuffer },
        { name: 'gx', buffer: gx.buffer as WebGPUBuffer, write: true },
      ],
      params: prm,
      groups: Math.ceil(n / wg),
      source: (v) => `${POOL_WGSL}
${divisorFn(cw, dw)}
${entry1d(wg)}
  if (gid >= ${pw(wn)}) { return; }
  ${poolLets(0, pi)}
  let i = i32(gid);
  let w = i % W;
  let h = (i / W) % H;
  let plane = i / (W * H);
  let yBase = ${pi(wgy)} + plane * oH * oW;
  var acc = ${v.gx}[${pi(wgx)} + i];
  let ohLast = k_out_last(h, sH, pH, oH);
  let owFirst = k_out_first(w, kW, sW, pW, dW);
  let owLast = k_out_last(w, sW, pW, oW);
  for (var oh = k_out_first(h, kH, sH, pH, dH); oh <= ohLast; oh = oh + 1) {
    if ((h + pH - oh * sH) % dH != 0) { continue; }
    for (var ow = owFirst; ow <= owLast; ow = ow + 1) {
      if ((w + pW - ow * sW) % dW != 0) { continue; }
      acc = acc + ${v.gy}[yBase + oh * oW + ow] / divisorOf(oh, ow, H, W, kH, kW, sH, sW, pH, pW, dH, dW);
    }
  }
  ${v.gx}[${pi(wgx)} + i] = acc;
}`,
    });
  });
}
