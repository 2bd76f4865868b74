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
import type { Engine } from '../engine.js';
import { POOL_INPUT_OUTPUTS, POOL_OUTPUT_WINDOW, runPool } from '../pool-geometry.js';
import { numelOf } from '../strided.js';

export function maxPool2d(e: Engine, x: View, p: Pool2dParams, out: View, indices: View): void {
  runPool(e, {
    key: 'maxPool2d', xShape: x.shape, outShape: out.shape, p, n: numelOf(out.shape),
    reads: { x }, writes: { y: out, idx: indices }, preload: false,
    body: (v, at) => `${POOL_OUTPUT_WINDOW}
  let xBase = ${at.x} + plane * H * W;
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
  ${v.y}[${at.y} + o] = best;
  ${v.idx}[${at.idx} + o] = bestIdx;`,
  });
}

export function maxPool2dBackward(e: Engine, gradOut: View, indices: View, p: Pool2dParams, gradIn: View): void {
  runPool(e, {
    key: 'maxPool2dBackward', xShape: gradIn.shape, outShape: gradOut.shape, p, n: numelOf(gradIn.shape),
    reads: { gy: gradOut, idx: indices }, writes: { gx: gradIn }, preload: true,
    body: (v, at) => `${POOL_INPUT_OUTPUTS}
  let me = h * W + w;
  let yBase = plane * oH * oW;
  var acc = ${v.gx}[${at.gx} + i];
  for (var oh = ohFirst; oh <= ohLast; oh = oh + 1) {
    for (var ow = owFirst; ow <= owLast; ow = ow + 1) {
      let o = yBase + oh * oW + ow;
      if (${v.idx}[${at.idx} + o] == me) { acc = acc + ${v.gy}[${at.gy} + o]; }
    }
  }
  ${v.gx}[${at.gx} + i] = acc;`,
  });
}
