import { describe, expect, it } from 'vitest';
import type { Pool2dParams } from '@kindling/core';
import { be, empty, expectClose, f32, makeView, randn, readView, rng } from './helpers.js';

function pp(k: number[], s: number[], pad: number[], extra: Partial<Pool2dParams> = {}): Pool2dParams {
  return {
    kernel: k as [number, number], stride: s as [number, number], padding: pad as [number, number], dilation: [1, 1],
    ceilMode: false, countIncludePad: true, divisorOverride: null, ...extra,
  };
}

/** PyTorch's output-size rule, written independently of the kernel's. */
function outSize(i: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const num = i + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(num / s) : Math.floor(num / s)) + 1;
  if (ceil && (o - 1) * s >= i + p) o -= 1;
  return o;
}

/** Naive max pool over taps, padding as -inf; NaN wins; index = first in-bounds tap when nothing beats -inf. */
function naiveMax(x: number[], N: number, C: number, H: number, W: number, p: Pool2dParams) {
  const oH = outSize(H, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0], p.ceilMode);
  const oW = outSize(W, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1], p.ceilMode);
  const y: number[] = [];
  const idx: number[] = [];
  for (let pl = 0; pl < N * C; pl++)
    for (let oh = 0; oh < oH; oh++)
      for (let ow = 0; ow < oW; ow++) {
        let best = -Infinity;
        let bi = -1;
        for (let kh = 0; kh < p.kernel[0]; kh++)
          for (let kw = 0; kw < p.kernel[1]; kw++) {
            const ih = oh * p.stride[0] - p.padding[0] + kh * p.dilation[0];
            const iw = ow * p.stride[1] - p.padding[1] + kw * p.dilation[1];
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const v = x[pl * H * W + ih * W + iw]!;
            if (bi < 0) bi = ih * W + iw;
            if (v > best || Number.isNaN(v)) {
              best = v;
              bi = ih * W + iw;
            }
          }
        y.push(best);
        idx.push(bi);
      }
  return { y, idx, oH, oW };
}

/** Naive avg pool with PyTorch's divisor rules (window end clipped to the padded input). */
function naiveAvg(x: number[], N: number, C: number, H: number, W: number, p: Pool2dParams, gy: number[]) {
  const oH = outSize(H, p.kernel[0], p.stride[0], p.padding[0], 1, p.ceilMode);
  const oW = outSize(W, p.kernel[1], p.stride[1], p.padding[1], 1, p.ceilMode);
  const y: number[] = [];
  const gx = new Array(N * C * H * W).fill(0);
  let q = 0;
  for (let pl = 0; pl < N * C; pl++)
    for (let oh = 0; oh < oH; oh++)
      for (let ow = 0; ow < oW; ow++, q++) {
        const h0 = oh * p.stride[0] - p.padding[0];
        const w0 = ow * p.stride[1] - p.padding[1];
        const h1 = Math.min(h0 + p.kernel[0], H + p.padding[0]);
        const w1 = Math.min(w0 + p.kernel[1], W + p.padding[1]);
        const poolSize = (h1 - h0) * (w1 - w0);
        const hs = Math.max(h0, 0), ws = Math.max(w0, 0), he = Math.min(h1, H), we = Math.min(w1, W);
        if (hs >= he || ws >= we) {
          y.push(0);
          continue;
        }
        const div = p.divisorOverride ?? (p.countIncludePad ? poolSize : (he - hs) * (we - ws));
        let s = 0;
        for (let ih = hs; ih < he; ih++) for (let iw = ws; iw < we; iw++) s += x[pl * H * W + ih * W + iw]!;
        y.push(s / div);
        for (let ih = hs; ih < he; ih++) for (let iw = ws; iw < we; iw++) gx[pl * H * W + ih * W + iw] += gy[q]! / div;
      }
  return { y, gx, oH, oW };
}

describe('maxPool2d', () => {
  const r = rng(8);
  const configs: [string, Pool2dParams][] = [
    ['k2 s2', pp([2, 2], [2, 2], [0, 0])],
    ['k3 s2 overlapping', pp([3, 3], [2, 2], [0, 0])],
    ['k3 s2 p1', pp([3, 3], [2, 2], [1, 1])],
    ['k3 s2 ceil', pp([3, 3], [2, 2], [0, 0], { ceilMode: true })],
    ['k3 s2 p1 ceil', pp([3, 3], [2, 2], [1, 1], { ceilMode: true })],
    ['k[2,3] s[1,2] p[1,1] d[2,1]', pp([2, 3], [1, 2], [1, 1], { dilation: [2, 1] })],
  ];
  for (const [name, p] of configs) {
    it(`${name}: values, indices and backward`, () => {
      const [N, C, H, W] = [2, 3, 7, 8];
      const xd = f32(randn(N * C * H * W, r));
      const ref = naiveMax(xd, N, C, H, W, p);
      const x = makeView('float32', xd, [N, C, H, W]);
      const y = empty('float32', [N, C, ref.oH, ref.oW]);
      const idx = empty('int32', [N, C, ref.oH, ref.oW]);
      be.maxPool2d!(x, p, y, idx);
      expect(readView(y)).toEqual(ref.y);
      expect(readView(idx)).toEqual(ref.idx);

      const gyd = f32(randn(ref.y.length, r));
      const gx = empty('float32', [N, C, H, W]); // zero-filled, as core does
      be.maxPool2dBackward!(makeView('float32', gyd, y.shape), idx, p, gx);
      const expected = new Array(N * C * H * W).fill(0);
      const P = ref.oH * ref.oW;
      gyd.forEach((g, i) => (expected[Math.floor(i / P) * H * W + ref.idx[i]!] += g));
      expectClose(readView(gx), expected, 1e-6, 1e-7);
    });
  }

  it('treats NaN as the maximum and keeps the first of equal values', () => {
    const x = makeView('float32', [1, NaN, 3, 3, 5, 5, 2, 2], [1, 2, 2, 2]);
    const y = empty('float32', [1, 2, 1, 1]);
    const idx = empty('int32', [1, 2, 1, 1]);
    be.maxPool2d!(x, pp([2, 2], [2, 2], [0, 0]), y, idx);
    expect(readView(y)[0]).toBeNaN();
    expect(readView(idx)).toEqual([1, 0]);
  });

  it('rejects an output size that disagrees with the ceil_mode rule', () => {
    const x = makeView('float32', new Array(25).fill(0), [1, 1, 5, 5]);
    // 5 wide, k2 s2: floor → 2, ceil → 3.
    expect(() => be.maxPool2d!(x, pp([2, 2], [2, 2], [0, 0]), empty('float32', [1, 1, 3, 3]), empty('int32', [1, 1, 3, 3]))).toThrow(/maxPool2d/);
    be.maxPool2d!(x, pp([2, 2], [2, 2], [0, 0], { ceilMode: true }), empty('float32', [1, 1, 3, 3]), empty('int32', [1, 1, 3, 3]));
  });
});

describe('avgPool2d', () => {
  const r = rng(9);
  const configs: [string, Pool2dParams][] = [
    ['k2 s2', pp([2, 2], [2, 2], [0, 0])],
    ['k3 s2 p1 count_include_pad', pp([3, 3], [2, 2], [1, 1])],
    ['k3 s2 p1 exclude pad', pp([3, 3], [2, 2], [1, 1], { countIncludePad: false })],
    ['k3 s2 p1 ceil include pad', pp([3, 3], [2, 2], [1, 1], { ceilMode: true })],
    ['k3 s2 ceil exclude pad', pp([3, 3], [2, 2], [0, 0], { ceilMode: true, countIncludePad: false })],
    ['k2 s3 ceil (last window clipped at the input edge)', pp([2, 2], [3, 3], [0, 0], { ceilMode: true })],
    ['k3 s1 p1 divisor_override 4', pp([3, 3], [1, 1], [1, 1], { divisorOverride: 4 })],
    ['k[2,3] s[2,1] p[1,1] global-ish', pp([2, 3], [2, 1], [1, 1])],
  ];
  for (const [name, p] of configs) {
    it(`${name}: forward and backward`, () => {
      const [N, C, H, W] = [2, 2, 7, 8];
      const xd = f32(randn(N * C * H * W, r));
      const probe = naiveAvg(xd, N, C, H, W, p, []);
      const gyd = f32(randn(probe.y.length, r));
      const ref = naiveAvg(xd, N, C, H, W, p, gyd);
      const y = empty('float32', [N, C, ref.oH, ref.oW]);
      be.avgPool2d!(makeView('float32', xd, [N, C, H, W]), p, y);
      expectClose(readView(y), ref.y, 1e-5, 1e-6);
      const gx = empty('float32', [N, C, H, W]);
      be.avgPool2dBackward!(makeView('float32', gyd, y.shape), p, gx);
      expectClose(readView(gx), ref.gx, 1e-5, 1e-6);
    });
  }

  it('reproduces PyTorch on a hand-checked ceil_mode case', () => {
    // torch.nn.functional.avg_pool2d(arange(1,10).view(1,1,3,3).float(), 2, 2, ceil_mode=True)
    // windows: [1,2,4,5] → 3, [3,6] → 4.5, [7,8] → 7.5, [9] → 9 (the clipped pool size counts only in-bounds cells)
    const x = makeView('float32', [1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const y = empty('float32', [1, 1, 2, 2]);
    be.avgPool2d!(x, pp([2, 2], [2, 2], [0, 0], { ceilMode: true }), y);
    expect(readView(y)).toEqual([3, 4.5, 7.5, 9]);
  });
});
