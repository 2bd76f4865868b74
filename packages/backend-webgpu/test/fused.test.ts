/**
 * The fused kernels against the CPU backend's: conv2d forward and both backwards (stride,
 * padding, dilation, groups, depthwise, uncovered pixels, split-K), max/avg pooling forward and
 * backward (ceil mode, padding, count_include_pad, divisor_override, dilation), softmax and
 * log-softmax, batch norm train/backward, and the SGD/Adam steps.
 */
import { describe, expect, it } from 'vitest';
import type { Conv2dParams, Pool2dParams } from '@kindling/core';
import { CONV_CASES, convOutSize, type ConvCase } from '../../backend-cpu/test/fixtures.js';
import { gpu, input, output, randn, readView, same, unavailable } from './helpers.js';

const CONV_TOL = { rtol: 1e-4, atol: 1e-5 };

// The cpu tests' cases, plus one large enough for the split-K weight gradient.
const convCases: ConvCase[] = [
  ...CONV_CASES,
  { name: 'LeNet c1, batch 16 (split-K weight grad)', N: 16, C: 1, H: 28, W: 28, O: 6, kH: 5, kW: 5, p: { stride: [1, 1], padding: [2, 2], dilation: [1, 1], groups: 1 }, bias: true },
];

describe.skipIf(!!unavailable)('webgpu: conv2d', () => {
  for (const c of convCases) {
    it(`${c.name}: forward, backward input, backward weight`, async () => {
      const oH = convOutSize(c.H, c.kH, c.p.stride[0], c.p.padding[0], c.p.dilation[0]);
      const oW = convOutSize(c.W, c.kW, c.p.stride[1], c.p.padding[1], c.p.dilation[1]);
      const xs = [c.N, c.C, c.H, c.W];
      const ws = [c.O, c.C / c.p.groups, c.kH, c.kW];
      const ys = [c.N, c.O, oH, oW];
      const n = (s: number[]): number => s.reduce((a, b) => a * b, 1);
      const xd = randn(n(xs), 1);
      const wd = randn(n(ws), 2);
      const bd = randn(c.O, 3);
      const gyd = randn(n(ys), 4);
      await same((be) => {
        const x = input(be, 'float32', xd, xs);
        const w = input(be, 'float32', wd, ws);
        const y = output(be, 'float32', ys);
        be.conv2d!(x, w, c.bias ? input(be, 'float32', bd, [c.O]) : null, c.p, y);
        const gy = input(be, 'float32', gyd, ys);
        const gx = output(be, 'float32', xs);
        be.conv2dBackwardInput!(gy, w, c.p, gx);
        const gw = output(be, 'float32', ws);
        be.conv2dBackwardWeight!(gy, x, c.p, gw);
        return { y, gx, gw };
      }, CONV_TOL);
    });
  }

  it('accepts strided inputs and writes strided outputs', async () => {
    const p: Conv2dParams = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
    await same((be) => {
      // x stored as [N, H, W, C] and read through a permuted view
      const x = input(be, 'float32', randn(2 * 5 * 5 * 3, 5), [2, 5, 5, 3]);
      const xv = { ...x, shape: [2, 3, 5, 5], strides: [75, 1, 15, 3] };
      const w = input(be, 'float32', randn(4 * 3 * 9, 6), [4, 3, 3, 3]);
      const yBuf = output(be, 'float32', [2, 5, 5, 4]);
      be.conv2d!(xv, w, null, p, { ...yBuf, shape: [2, 4, 5, 5], strides: [100, 1, 20, 4] });
      return yBuf;
    }, CONV_TOL);
  });
});

const pool = (o: Partial<Pool2dParams>): Pool2dParams => ({
  kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceilMode: false, countIncludePad: true, divisorOverride: null, ...o,
});

function poolOut(H: number, p: Pool2dParams, axis: 0 | 1): number {
  const k = p.kernel[axis], s = p.stride[axis], pad = p.padding[axis], d = p.dilation[axis];
  let o = Math.floor((H + 2 * pad - d * (k - 1) - 1 + (p.ceilMode ? s - 1 : 0)) / s) + 1;
  if (p.ceilMode && (o - 1) * s >= H + pad) o--;
  return o;
}

const poolCases: [string, number, number, Pool2dParams][] = [
  ['k2 s2', 6, 6, pool({})],
  ['k3 s2 overlapping', 7, 7, pool({ kernel: [3, 3] })],
  ['k3 s2 p1', 7, 6, pool({ kernel: [3, 3], padding: [1, 1] })],
  ['k3 s2 p1 ceil, no pad count', 8, 7, pool({ kernel: [3, 3], padding: [1, 1], ceilMode: true, countIncludePad: false })],
  ['k3 s2 ceil with pad count', 8, 8, pool({ kernel: [3, 3], ceilMode: true })],
  ['k2x3 s1x2 d2 divisor 5', 9, 8, pool({ kernel: [2, 3], stride: [1, 2], dilation: [2, 1], divisorOverride: 5 })],
];

describe.skipIf(!!unavailable)('webgpu: pooling', () => {
  for (const [name, H, W, p] of poolCases) {
    it(`${name}: max and avg, forward and backward`, async () => {
      const N = 2, C = 3;
      const oH = poolOut(H, p, 0), oW = poolOut(W, p, 1);
      const xd = randn(N * C * H * W, 8);
      const gyd = randn(N * C * oH * oW, 9);
      await same((be) => {
        const x = input(be, 'float32', xd, [N, C, H, W]);
        const y = output(be, 'float32', [N, C, oH, oW]);
        const idx = output(be, 'int32', [N, C, oH, oW]);
        be.maxPool2d!(x, p, y, idx);
        const gy = input(be, 'float32', gyd, [N, C, oH, oW]);
        const gx = output(be, 'float32', [N, C, H, W]);
        be.maxPool2dBackward!(gy, idx, p, gx);
        const ya = output(be, 'float32', [N, C, oH, oW]);
        be.avgPool2d!(x, p, ya);
        const gxa = output(be, 'float32', [N, C, H, W]);
        be.avgPool2dBackward!(gy, p, gxa);
        return { y, idx, gx, ya, gxa };
      }, { rtol: 1e-5, atol: 1e-6 });
    });
  }

  it('max pooling: NaN wins, and -inf windows point at their first tap', async () => {
    const p = pool({});
    await same((be) => {
      const x = input(be, 'float32', [1, Number.NaN, 3, 4, -Infinity, -Infinity, -Infinity, -Infinity, 5, 5, 5, 5, 0, 0, 0, 0], [1, 1, 4, 4]);
      const y = output(be, 'float32', [1, 1, 2, 2]);
      const idx = output(be, 'int32', [1, 1, 2, 2]);
      be.maxPool2d!(x, p, y, idx);
      return { y, idx };
    });
  });

  it('rejects an output whose size disagrees with the pooling rule', () => {
    const x = input(gpu, 'float32', randn(16), [1, 1, 4, 4]);
    expect(() => gpu.avgPool2d!(x, pool({}), output(gpu, 'float32', [1, 1, 3, 3]))).toThrow(/avgPool2d: output \[1,1,3,3\]/);
  });
});

describe.skipIf(!!unavailable)('webgpu: softmax', () => {
  for (const log of [false, true]) {
    it(`${log ? 'log-softmax' : 'softmax'}: forward and backward, short and long rows`, async () => {
      for (const [rows, cols] of [[5, 7], [3, 1000], [2, 5000], [1, 1]] as [number, number][]) {
        const xd = randn(rows * cols, 10).map((v) => v * 5);
        await same((be) => {
          const x = input(be, 'float32', xd, [rows, cols]);
          const y = output(be, 'float32', [rows, cols]);
          be.softmax!(x, log, y);
          const gx = output(be, 'float32', [rows, cols]);
          be.softmaxBackward!(y, input(be, 'float32', randn(rows * cols, 11), [rows, cols]), log, gx);
          return { y, gx };
        }, { rtol: 1e-5, atol: 1e-6 });
      }
    });
  }
  it('large logits do not overflow; a row of -inf gives NaN as in PyTorch', async () => {
    await same((be) => {
      const x = input(be, 'float32', [1000, 1001, 999, -Infinity, -Infinity, -Infinity], [2, 3]);
      const y = output(be, 'float32', [2, 3]);
      be.softmax!(x, false, y);
      const z = output(be, 'float32', [2, 3]);
      be.softmax!(x, true, z);
      return { y, z };
    });
  });
});

describe.skipIf(!!unavailable)('webgpu: batch norm', () => {
  for (const [name, shape, affine, stats] of [
    ['BatchNorm2d [4,3,5,5], affine, running stats', [4, 3, 5, 5], true, true],
    ['BatchNorm1d [6,4], no affine, no running stats', [6, 4], false, false],
    ['BatchNorm1d [3,2,7], |mean| >> std', [3, 2, 7], true, true],
  ] as [string, number[], boolean, boolean][]) {
    it(name, async () => {
      const C = shape[1]!;
      const n = shape.reduce((a, b) => a * b, 1);
      const xd = randn(n, 12).map((v) => (name.includes('mean') ? 1000 + v * 0.01 : v * 2 + 1));
      await same((be) => {
        const x = input(be, 'float32', xd, shape);
        const w = affine ? input(be, 'float32', randn(C, 13), [C]) : null;
        const b = affine ? input(be, 'float32', randn(C, 14), [C]) : null;
        const rm = stats ? input(be, 'float32', randn(C, 15), [C]) : null;
        const rv = stats ? input(be, 'float32', randn(C, 16).map(Math.abs), [C]) : null;
        const out = output(be, 'float32', shape);
        const mean = output(be, 'float32', [C]);
        const invstd = output(be, 'float32', [C]);
        be.batchNormTrain!(x, w, b, rm, rv, 0.1, 1e-5, out, mean, invstd);
        const gx = output(be, 'float32', shape);
        const gw = output(be, 'float32', [C]);
        const gb = output(be, 'float32', [C]);
        be.batchNormBackward!(input(be, 'float32', randn(n, 17), shape), x, w, mean, invstd, gx, affine ? gw : null, affine ? gb : null);
        const r: Record<string, typeof out> = { out, mean, invstd, gx };
        if (affine) Object.assign(r, { gw, gb });
        if (rm && rv) Object.assign(r, { rm, rv });
        return r;
      }, { rtol: 1e-4, atol: 1e-5 });
    });
  }
});

describe.skipIf(!!unavailable)('webgpu: optimizer steps', () => {
  const n = 50;
  const pd = randn(n, 20), gd = randn(n, 21), bd = randn(n, 22), vd = randn(n, 23).map(Math.abs);
  const sgdVariants = [
    { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, firstStep: true },
    { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2, nesterov: false, maximize: false, firstStep: false },
    { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: true, maximize: true, firstStep: true },
  ];
  for (const o of sgdVariants) {
    it(`sgdStep ${JSON.stringify(o)}`, async () => {
      await same((be) => {
        const p = input(be, 'float32', pd, [5, 10]);
        const buf = input(be, 'float32', bd, [5, 10]);
        // the gradient arrives transposed
        be.sgdStep!(p, { ...input(be, 'float32', gd, [10, 5]), shape: [5, 10], strides: [1, 5] }, o.momentum ? buf : null, o);
        return { p, buf };
      });
    });
  }
  const adamVariants = [
    { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false, maximize: false, step: 1 },
    { lr: 1e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.01, decoupled: false, amsgrad: true, maximize: false, step: 7 },
    { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true, amsgrad: false, maximize: true, step: 3 },
  ];
  for (const o of adamVariants) {
    it(`adamStep ${JSON.stringify(o)}`, async () => {
      await same((be) => {
        const p = input(be, 'float32', pd, [n]);
        const m = input(be, 'float32', bd, [n]);
        const v = input(be, 'float32', vd, [n]);
        const vmax = input(be, 'float32', vd.map((x, i) => (i % 2 ? x * 2 : x / 2)), [n]);
        be.adamStep!(p, input(be, 'float32', gd, [n]), m, v, o.amsgrad ? vmax : null, o);
        return { p, m, v, vmax };
      });
    });
  }

  it('refuses momentum without a buffer', () => {
    const p = input(gpu, 'float32', [1], [1]);
    expect(() => gpu.sgdStep!(p, p, null, { ...sgdVariants[1]! })).toThrow(/momentum buffer/);
  });

  it('reads back what it wrote (sanity)', async () => {
    const p = input(gpu, 'float32', [1, 2], [2]);
    gpu.sgdStep!(p, input(gpu, 'float32', [10, 20], [2]), null, sgdVariants[0]!);
    expect(await readView(gpu, p)).toEqual([0, 0]);
  });
});
