/**
 * The native path against the portable one on random inputs: every kernel the addon takes over,
 * on the layouts and geometries its fast paths special-case (transposed and batch-broadcast GEMM
 * operands, direct and im2col convolutions with stride/padding/dilation/groups and batches large
 * enough to be chunked and split across threads, the 2×2 and 3×3 pooling paths, tiled transposed
 * elementwise ops). Skipped, with the reason, when the addon is not built.
 */
import { describe, expect, it } from 'vitest';
import type { Conv2dParams, Pool2dParams, View } from '@kindling/core';
import { CpuBackend } from '../src/index.js';
import { contiguousStrides, expectClose, makeView, numel, randn, readView, rng } from './helpers.js';

const native = new CpuBackend({ native: true });
const portable = new CpuBackend({ native: false });
const reason = native.isNative ? '' : ` (skipped: ${native.info().implementation})`;
const r = rng(2024);

function rand(shape: number[], strides?: number[], size?: number): View {
  const n = size ?? numel(shape);
  return makeView('float32', randn(n, r), shape, strides ?? contiguousStrides(shape), 0, n);
}
function out(shape: number[], dtype: 'float32' | 'int32' | 'bool' = 'float32'): View {
  return { buffer: portable.alloc(dtype, numel(shape)), dtype, shape, strides: contiguousStrides(shape), offset: 0 };
}
function both<T extends unknown[]>(run: (be: CpuBackend, o: View, ...rest: T) => void, shape: number[], ...rest: T): [number[], number[]] {
  const a = out(shape);
  const b = out(shape);
  run(native, a, ...rest);
  run(portable, b, ...rest);
  return [readView(a), readView(b)];
}
/** float32 sums of `k` terms: tolerance relative to the result's scale. */
function close(nat: number[], ref: number[], k = 1): void {
  const scale = Math.max(1, ...ref.map(Math.abs));
  expectClose(nat, ref, 1e-4, 2e-6 * Math.sqrt(k) * scale);
}

describe(`native kernels match the portable ones${reason}`, () => {
  it.skipIf(!native.isNative)('matmul: transposes, batches, batch broadcast, strided output', () => {
    const cases: [number, number, number, number][] = [[1, 64, 80, 96], [3, 17, 130, 33], [2, 300, 5, 200], [1, 1, 700, 3], [4, 40, 1, 50]];
    for (const [B, M, K, N] of cases) {
      for (const ta of [false, true]) for (const tb of [false, true]) for (const shareB of [false, true]) {
        const a = ta ? rand([B, M, K], [M * K, 1, M]) : rand([B, M, K]);
        const b = tb ? rand([B, K, N], [shareB ? 0 : K * N, 1, K], shareB ? K * N : B * K * N)
          : rand([B, K, N], [shareB ? 0 : K * N, N, 1], shareB ? K * N : B * K * N);
        const [x, y] = both((be, o) => be.matmul(a, b, o), [B, M, N]);
        close(x, y, K);
      }
    }
    // A transposed output view.
    const a = rand([1, 30, 20]);
    const b = rand([1, 20, 25]);
    const o1 = { ...out([1, 30, 25]), strides: [750, 1, 30] };
    const o2 = { ...out([1, 30, 25]), strides: [750, 1, 30] };
    native.matmul(a, b, o1);
    portable.matmul(a, b, o2);
    close(readView(o1), readView(o2), 20);
  });

  const P = (s: [number, number], p: [number, number], d: [number, number], g: number): Conv2dParams => ({ stride: s, padding: p, dilation: d, groups: g });
  const convs: { name: string; x: number[]; w: number[]; p: Conv2dParams }[] = [
    { name: 'LeNet conv1 (flat path, padded)', x: [9, 1, 28, 28], w: [6, 1, 5, 5], p: P([1, 1], [2, 2], [1, 1], 1) },
    { name: 'flat path, groups 2, dilation 2', x: [5, 4, 20, 19], w: [6, 2, 3, 3], p: P([1, 1], [1, 2], [2, 2], 2) },
    { name: 'LeNet conv2 (flat path, batches of images in the weight gradient)', x: [37, 6, 14, 14], w: [16, 6, 5, 5], p: P([1, 1], [0, 0], [1, 1], 1) },
    { name: 'direct path (more than 32 output channels, few taps)', x: [3, 2, 12, 12], w: [40, 2, 3, 3], p: P([1, 1], [1, 1], [1, 1], 1) },
    { name: 'im2col, stride 1 (output much narrower than the input)', x: [4, 3, 9, 9], w: [8, 3, 7, 7], p: P([1, 1], [0, 0], [1, 1], 1) },
    { name: 'AlexNet-like conv1: k11 s4 p1', x: [3, 1, 63, 63], w: [8, 1, 11, 11], p: P([4, 4], [1, 1], [1, 1], 1) },
    { name: 'stride 2, pad 1, dilation 2, groups 3', x: [4, 6, 13, 11], w: [9, 2, 3, 3], p: P([2, 2], [1, 1], [2, 2], 3) },
    { name: 'depthwise', x: [3, 8, 9, 9], w: [8, 1, 3, 3], p: P([1, 1], [1, 1], [1, 1], 8) },
    { name: 'pointwise 1×1', x: [6, 12, 7, 5], w: [10, 12, 1, 1], p: P([1, 1], [0, 0], [1, 1], 1) },
    { name: 'batch 1 (GEMMs split instead of images)', x: [1, 64, 12, 12], w: [96, 64, 3, 3], p: P([1, 1], [1, 1], [1, 1], 1) },
  ];
  for (const c of convs) {
    it.skipIf(!native.isNative)(`conv2d forward and both backwards: ${c.name}`, () => {
      const [N, , H, W] = c.x as [number, number, number, number];
      const [O, Cg, kH, kW] = c.w as [number, number, number, number];
      const oH = Math.floor((H + 2 * c.p.padding[0] - c.p.dilation[0] * (kH - 1) - 1) / c.p.stride[0]) + 1;
      const oW = Math.floor((W + 2 * c.p.padding[1] - c.p.dilation[1] * (kW - 1) - 1) / c.p.stride[1]) + 1;
      const x = rand(c.x);
      const w = rand(c.w);
      const bias = rand([O]);
      const gy = rand([N, O, oH, oW]);
      const taps = Cg * kH * kW;
      const [y1, y2] = both((be, o) => be.conv2d!(x, w, bias, c.p, o), [N, O, oH, oW]);
      close(y1, y2, taps);
      const [gx1, gx2] = both((be, o) => be.conv2dBackwardInput!(gy, w, c.p, o), c.x);
      close(gx1, gx2, (O / c.p.groups) * kH * kW);
      const [gw1, gw2] = both((be, o) => be.conv2dBackwardWeight!(gy, x, c.p, o), c.w);
      close(gw1, gw2, N * oH * oW);
      // Reproducible: the threads' partial sums are combined in a fixed order.
      const again = out(c.w);
      native.conv2dBackwardWeight!(gy, x, c.p, again);
      expect(readView(again)).toEqual(gw1);
    });
  }

  it.skipIf(!native.isNative)('conv2d backward input with a non-finite weight (the flat path hands over to im2col)', () => {
    const p = P([1, 1], [0, 0], [1, 1], 1);
    const w = rand([16, 6, 5, 5]);
    const wd = readView(w);
    wd[7] = Infinity;
    wd[100] = -Infinity;
    const wi = makeView('float32', wd, [16, 6, 5, 5]);
    const gy = rand([3, 16, 10, 10]);
    const [a, b] = both((be, o) => be.conv2dBackwardInput!(gy, wi, p, o), [3, 6, 14, 14]);
    for (let i = 0; i < a.length; i++) {
      if (Number.isFinite(b[i]!)) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-3 * (1 + Math.abs(b[i]!)));
      else expect(Object.is(a[i], b[i]) || (Number.isNaN(a[i]!) && Number.isNaN(b[i]!))).toBe(true);
    }
    expect(a.some((v) => !Number.isFinite(v))).toBe(true);
  });

  const pool = (k: number, s: number, p: number, extra: Partial<Pool2dParams> = {}): Pool2dParams => ({
    kernel: [k, k], stride: [s, s], padding: [p, p], dilation: [1, 1], ceilMode: false, countIncludePad: true, divisorOverride: null, ...extra,
  });
  const pools: { name: string; x: number[]; p: Pool2dParams }[] = [
    { name: '2×2 s2 (LeNet)', x: [7, 6, 28, 28], p: pool(2, 2, 0) },
    { name: '3×3 s2 (AlexNet)', x: [3, 5, 27, 27], p: pool(3, 2, 0) },
    { name: '3×3 s2 p1 ceil, no count_include_pad', x: [2, 3, 10, 9], p: pool(3, 2, 1, { ceilMode: true, countIncludePad: false }) },
    { name: '2×2 s2 on odd sizes, divisor_override 3', x: [2, 3, 9, 7], p: pool(2, 2, 0, { divisorOverride: 3 }) },
  ];
  for (const c of pools) {
    it.skipIf(!native.isNative)(`max and average pooling, forward and backward: ${c.name}`, () => {
      const x = rand(c.x);
      const [N, C, H, W] = c.x as [number, number, number, number];
      const o = (i: number): number => {
        const k = c.p.kernel[0], s = c.p.stride[0], p = c.p.padding[0];
        let v = Math.floor((i + 2 * p - (k - 1) - 1 + (c.p.ceilMode ? s - 1 : 0)) / s) + 1;
        if (c.p.ceilMode && (v - 1) * s >= i + p) v--;
        return v;
      };
      const ys = [N, C, o(H), o(W)];
      const res = [native, portable].map((be) => {
        const y = out(ys);
        const idx = out(ys, 'int32');
        be.maxPool2d!(x, c.p, y, idx);
        return [readView(y), readView(idx)];
      });
      expect(res[0]).toEqual(res[1]);
      const gy = rand(ys);
      const idx = out(ys, 'int32');
      portable.maxPool2d!(x, c.p, out(ys), idx);
      const [gm1, gm2] = both((be, g) => be.maxPool2dBackward!(gy, idx, c.p, g), c.x);
      expect(gm1).toEqual(gm2);
      const [a1, a2] = both((be, g) => be.avgPool2d!(x, c.p, g), ys);
      close(a1, a2, 9);
      const [ga1, ga2] = both((be, g) => be.avgPool2dBackward!(gy, c.p, g), c.x);
      close(ga1, ga2, 9);
    });
  }

  it.skipIf(!native.isNative)('elementwise: unary, binary, comparisons and casts, contiguous and transposed (tiled)', () => {
    const shape = [150, 260];
    const x = rand(shape);
    const xt = rand(shape, [1, 150]);
    for (const op of ['neg', 'abs', 'exp', 'sqrt', 'reciprocal', 'square', 'tanh', 'sigmoid', 'relu', 'floor', 'ceil', 'log', 'rsqrt'] as const) {
      for (const src of [x, xt]) {
        const [a, b] = both((be, o) => be.unary(op, src, o), shape);
        expectClose(a, b, 1e-5, 1e-6);
      }
    }
    const bias = rand([260], [1]);
    const row = { ...bias, shape, strides: [0, 1] };
    for (const op of ['add', 'sub', 'mul', 'div'] as const) {
      for (const [p, q] of [[x, xt], [xt, 0.5], [1, x], [x, row]] as const) {
        const [a, b] = both((be, o) => be.binary(op, p, q, o), shape);
        expectClose(a, b, 1e-6, 1e-7);
      }
    }
    for (const op of ['gt', 'ge', 'lt', 'le', 'eq', 'ne'] as const) {
      for (const [p, q] of [[x, 0], [xt, x], [0.1, xt]] as const) {
        const o1 = out(shape, 'bool');
        const o2 = out(shape, 'bool');
        native.binary(op, p, q, o1);
        portable.binary(op, p, q, o2);
        expect(readView(o1)).toEqual(readView(o2));
      }
    }
    const mask = out(shape, 'bool');
    portable.binary('gt', x, 0, mask);
    const [c1, c2] = both((be, o) => be.copy(mask, o), shape);
    expect(c1).toEqual(c2);
    const [t1, t2] = both((be, o) => be.copy(xt, o), shape);
    expect(t1).toEqual(t2);
  });

  it.skipIf(!native.isNative)('batch norm: 2-d and 4-d inputs, strided, with and without affine and running stats', () => {
    // [N, C, L] cases: BatchNorm1d ([N, C]), LeNet's BatchNorm2d planes, odd tails of the 4-lane sums.
    for (const [N, C, L, affine, strided] of [[64, 120, 1, true, false], [16, 6, 24 * 24, true, false], [5, 3, 7, false, false], [7, 4, 9, true, true]] as const) {
      // A strided input: the channels-last layout seen through an [N, C, L] view.
      const x = strided ? rand([N, C, L], [C * L, 1, C]) : rand([N, C, L]);
      const w = affine ? rand([C]) : null;
      const b = affine ? rand([C]) : null;
      const gy = rand([N, C, L]);
      const results = [native, portable].map((be) => {
        const rm = makeView('float32', new Array(C).fill(0.5), [C]);
        const rv = makeView('float32', new Array(C).fill(2), [C]);
        const y = out([N, C, L]), mean = out([C]), invstd = out([C]);
        be.batchNormTrain!(x, w, b, affine ? rm : null, affine ? rv : null, 0.1, 1e-5, y, mean, invstd);
        const gx = out([N, C, L]), gw = out([C]), gb = out([C]);
        be.batchNormBackward!(gy, x, w, mean, invstd, gx, affine ? gw : null, affine ? gb : null);
        return [y, mean, invstd, rm, rv, gx, ...(affine ? [gw, gb] : [])].map(readView);
      });
      results[0]!.forEach((a, i) => close(a, results[1]![i]!, N * L));
    }
  });

  it.skipIf(!native.isNative)('sum reductions, softmax and optimizer steps', () => {
    const x = rand([6, 37, 41, 3]);
    const xp = { ...x, shape: [41, 6, 37, 3], strides: [3, 37 * 41 * 3, 41 * 3, 1] };
    for (const [v, dims] of [[x, 3], [x, 1], [xp, 3], [x, 4]] as const) {
      const keep = v.shape.slice(0, v.shape.length - dims);
      const [a, b] = both((be, o) => be.reduce('sum', v, dims, o), keep.length ? keep : []);
      close(a, b, 1000);
    }
    const logits = rand([33, 10]);
    for (const log of [false, true]) {
      const [a, b] = both((be, o) => be.softmax!(logits, log, o), [33, 10]);
      expectClose(a, b, 1e-6, 1e-7);
      const y = out([33, 10]);
      portable.softmax!(logits, log, y);
      const gy = rand([33, 10]);
      const [g1, g2] = both((be, o) => be.softmaxBackward!(y, gy, log, o), [33, 10]);
      expectClose(g1, g2, 1e-6, 1e-7);
    }
    const init = randn(1000, r);
    const grad = rand([1000]);
    const states = [native, portable].map((be) => {
      const p = makeView('float32', init, [1000]);
      const buf = out([1000]);
      for (let step = 0; step < 3; step++) {
        be.sgdStep!(p, grad, buf, { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 1e-4, nesterov: true, maximize: false, firstStep: step === 0 });
      }
      const q = makeView('float32', init, [1000]);
      const m = out([1000]);
      const v = out([1000]);
      const vmax = out([1000]);
      for (let step = 1; step <= 3; step++) {
        be.adamStep!(q, grad, m, v, vmax, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true, amsgrad: true, maximize: false, step });
      }
      return [...readView(p), ...readView(buf), ...readView(q), ...readView(m), ...readView(v)];
    });
    expectClose(states[0]!, states[1]!, 1e-6, 1e-7);
  });
});
