/**
 * max_pool2d forward and backward.
 *
 * Forward: one invocation per output element scans its window (padding acts as −∞: padded taps
 * are skipped); indices are flat offsets into each H·W input plane, as PyTorch's. NaN wins like in
 * PyTorch's CPU kernel (`v > max || isnan(v)`), and an all −∞ window points at its first
 * in-bounds tap.
 *
 * Backward, as a gather (no atomics, deterministic): one invocation per input element visits the
 * outputs whose window can contain it, in row-major order, and adds the gradient of those whose
 * index names it — the same adds in the same order as the CPU backend's scatter, so the sums are
 * bit-identical. This relies on indices coming from maxPool2d with the same geometry (an index
 * always lies in its own window), which is how core uses it.
 */
import type { Pool2dParams, View } from '@kindling/core';
import type { WebGPUBuffer } from '../buffer.js';
import type { Engine } from '../engine.js';
import { checkPoolOutput } from '@kindling/core';
import { POOL_WGSL, poolLets, poolWords } from '../pool-geometry.js';
import { numelOf } from '../strided.js';
import { Params, entry1d, pi, pw } from '../wgsl.js';
import { contiguous, withContiguousOut } from './copy.js';

export function maxPool2d(e: Engine, x: View, p: Pool2dParams, out: View, indices: View): void {
  checkPoolOutput('maxPool2d', x.shape, out.shape, p);
  const n = numelOf(out.shape);
  if (n === 0) return;
  const xc = contiguous(e, x);
  withContiguousOut(e, out, false, (y) =>
    withContiguousOut(e, indices, false, (idx) => {
      const prm = new Params();
      for (const w of poolWords(x.shape, out.shape, p)) prm.i32(w);
      const wx = prm.i32(xc.offset);
      const wy = prm.i32(y.offset);
      const wi = prm.i32(idx.offset);
      const wn = prm.u32(n);
      const wg = e.wg;
      e.run({
        key: 'maxPool2d',
        bindings: [
          { name: 'x', buffer: xc.buffer as WebGPUBuffer },
          { name: 'y', buffer: y.buffer as WebGPUBuffer, write: true },
          { name: 'idx', buffer: idx.buffer as WebGPUBuffer, write: true },
        ],
        params: prm,
        groups: Math.ceil(n / wg),
        source: (v) => `${POOL_WGSL}
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
  let xBase = ${pi(wx)} + plane * H * W;
  var best = -k_inf();
  var bestIdx = (hs + hlo * dH) * W + (ws + wlo * dW);
  for (var th = hlo; th < hhi; th = th + 1) {
    let row = (hs + th * dH) * W;
    for (var tw = wlo; tw < whi; tw = tw + 1) {
      let id = row + ws + tw * dW;
      let val = ${v.x}[xBase + id];
      if (val > best || k_isnan(val)) {
        best = val;
        bestIdx = id;
      }
    }
  }
  ${v.y}[${pi(wy)} + o] = best;
  ${v.idx}[${pi(wi)} + o] = bestIdx;
}`,
      });
    }),
  );
}

export function maxPool2dBackward(e: Engine, gradOut: View, indices: View, p: Pool2dParams, gradIn: View): void {
  const n = numelOf(gradIn.shape);
  if (n === 0) return;
  const gy = contiguous(e, gradOut);
  const ic = contiguous(e, indices);
  withContiguousOut(e, gradIn, true, (gx) => {
    const prm = new Params();
    for (const w of poolWords(gradIn.shape, gradOut.shape, p)) prm.i32(w);
    const wgy = prm.i32(gy.offset);
    const wi = prm.i32(ic.offset);
    const wgx = prm.i32(gx.offset);
    const wn = prm.u32(n);
    const wg = e.wg;
    e.run({
      key: 'maxPool2dBackward',
      bindings: [
        { name: 'gy', buffer: gy.buffer as WebGPUBuffer },
        { name: 'idx', buffer: ic.buffer as WebGPUBuffer },
        { name: 'gx', buffer: gx.buffer as WebGPUBuffer, write: true },
      ],
      params: prm,
      groups: Math.ceil(n / wg),
      source: (v) => `${POOL_WGSL}
${entry1d(wg)}
  if (gid >= ${pw(wn)}) { return; }
  ${poolLets(0, pi)}
  let i = i32(gid);
  let w = i % W;
  let h = (i / W) % H;
  let plane = i / (W * H);
  let me = h * W + w;
  let yBase = plane * oH * oW;
  var acc = ${v.gx}[${pi(wgx)} + i];
  let ohLast = k_out_last(h, sH, pH, oH);
  let owFirst = k_out_first(w, kW, sW, pW, dW);
  let owLast = k_out_last(w, sW, pW, oW);
  for (var oh = k_out_first(h, kH, sH, pH, dH); oh <= ohLast; oh = oh + 1) {
    for (var ow = owFirst; ow <= owLast; ow = ow + 1) {
      let o = yBase + oh * oW + ow;
      if (${v.idx}[${pi(wi)} + o] == me) { acc = acc + ${v.gy}[${pi(wgy)} + o]; }
    }
  }
  ${v.gx}[${pi(wgx)} + i] = acc;
}`,
    });
  });
}
