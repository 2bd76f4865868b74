/**
 * Layers: every repr equals torch 1.13's string; shapes, defaults and errors; Python float
 * formatting; the BatchNorm variants (momentum=None, no running stats, no affine).
 */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { linear, mean, noGrad, randn, tensor, zeros } from '@kindling/core';
import {
  AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, CrossEntropyLoss, Dropout, Flatten, GELU, Identity, Linear,
  LogSoftmax, MaxPool2d, MSELoss, NLLLoss, ReLU, Sigmoid, Softmax, Tanh, pyFloat, pyRepr,
} from '@kindling/nn';

describe('repr, character for character with torch 1.13', () => {
  const cases: [string, { toString(): string }][] = [
    ['Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))', new Conv2d(1, 6, 5, { padding: 2 })],
    ['Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1))', new Conv2d(3, 64, 3)],
    ['Conv2d(1, 96, kernel_size=(11, 11), stride=(4, 4), padding=(1, 1))', new Conv2d(1, 96, 11, { stride: 4, padding: 1 })],
    ['Conv2d(4, 8, kernel_size=(3, 1), stride=(2, 1), padding=(0, 1), dilation=(2, 2), groups=2, bias=False)',
      new Conv2d(4, 8, [3, 1], { stride: [2, 1], padding: [0, 1], dilation: 2, groups: 2, bias: false })],
    ['Conv2d(3, 8, kernel_size=(4, 4), stride=(1, 1), padding=same)', new Conv2d(3, 8, 4, { padding: 'same' })],
    ['Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=valid)', new Conv2d(3, 8, 3, { padding: 'valid' })],
    ['Linear(in_features=400, out_features=120, bias=True)', new Linear(400, 120)],
    ['Linear(in_features=4, out_features=2, bias=False)', new Linear(4, 2, { bias: false })],
    ['MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)', new MaxPool2d(2)],
    ['MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)', new MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true })],
    ['MaxPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0, dilation=1, ceil_mode=False)', new MaxPool2d([2, 3])],
    ['AvgPool2d(kernel_size=2, stride=2, padding=0)', new AvgPool2d(2)],
    ['AvgPool2d(kernel_size=3, stride=1, padding=1)', new AvgPool2d(3, { stride: 1, padding: 1, countIncludePad: false })],
    ['AdaptiveAvgPool2d(output_size=(1, 1))', new AdaptiveAvgPool2d([1, 1])],
    ['AdaptiveAvgPool2d(output_size=7)', new AdaptiveAvgPool2d(7)],
    ['AdaptiveAvgPool2d(output_size=(None, 3))', new AdaptiveAvgPool2d([null, 3])],
    ['Flatten(start_dim=1, end_dim=-1)', new Flatten()],
    ['ReLU()', new ReLU()],
    ['ReLU(inplace=True)', new ReLU({ inplace: true })],
    ['Dropout(p=0.5, inplace=True)', new Dropout(0.5, { inplace: true })],
    ['Sigmoid()', new Sigmoid()],
    ['Tanh()', new Tanh()],
    ["GELU(approximate='none')", new GELU()],
    ["GELU(approximate='tanh')", new GELU('tanh')],
    ['Softmax(dim=1)', new Softmax(1)],
    ['Softmax(dim=None)', new Softmax()],
    ['LogSoftmax(dim=-1)', new LogSoftmax(-1)],
    ['Dropout(p=0.5, inplace=False)', new Dropout()],
    ['Dropout(p=0.2, inplace=False)', new Dropout(0.2)],
    ['Dropout(p=0.0, inplace=False)', new Dropout(0)],
    ['BatchNorm2d(6, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)', new BatchNorm2d(6)],
    ['BatchNorm1d(120, eps=0.001, momentum=None, affine=False, track_running_stats=False)',
      new BatchNorm1d(120, { eps: 1e-3, momentum: null, affine: false, trackRunningStats: false })],
    ['CrossEntropyLoss()', new CrossEntropyLoss()],
    ['NLLLoss()', new NLLLoss()],
    ['MSELoss()', new MSELoss()],
    ['Identity()', new Identity()],
  ];
  for (const [expected, m] of cases) it(expected, () => expect(String(m)).toBe(expected));

  it("Python's float repr", () => {
    const table: [number, string][] = [
      [1e-5, '1e-05'], [0.1, '0.1'], [0.5, '0.5'], [1, '1.0'], [0, '0.0'], [-0, '-0.0'], [1e-4, '0.0001'], [1.5e-7, '1.5e-07'],
      [123456789012345.0, '123456789012345.0'], [1e16, '1e+16'], [1.2345e20, '1.2345e+20'], [-2.5e-10, '-2.5e-10'], [1 / 3, '0.3333333333333333'],
      [Infinity, 'inf'], [NaN, 'nan'], [0.001, '0.001'], [12.5, '12.5'],
    ];
    for (const [x, s] of table) expect(pyFloat(x), String(x)).toBe(s);
    expect(pyRepr([1, [2, 3]])).toBe('(1, (2, 3))');
    expect(pyRepr([1])).toBe('(1,)');
    expect(pyRepr(true)).toBe('True');
  });
});

describe('layers', () => {
  it('parameters are float32, require grad, and start in PyTorch’s default ranges', () => {
    const fc = new Linear(50, 7);
    const conv = new Conv2d(4, 6, 3, { groups: 2 });
    for (const [m, fanIn] of [[fc, 50], [conv, 2 * 9]] as const) {
      const bound = 1 / Math.sqrt(fanIn);
      for (const p of m.parameters()) {
        expect(p.dtype).toBe('float32');
        expect(p.requiresGrad).toBe(true);
        const v = p.dataSync();
        expect(Math.max(...Array.from(v, Math.abs))).toBeLessThanOrEqual(bound);
        expect(new Set(v).size).toBeGreaterThan(v.length / 2); // actually random
      }
    }
    expect(conv.weight.shape).toEqual([6, 2, 3, 3]);
  });

  it('Linear computes x·Wᵀ + b', () => {
    const fc = new Linear(3, 2);
    const x = randn([4, 3]);
    expect(Array.from(fc.call(x).dataSync())).toEqual(Array.from(linear(x, fc.weight, fc.bias).dataSync()));
  });

  it("Conv2d padding 'same' keeps the size, also for even kernels (extra padding at the end)", () => {
    const x = randn([1, 2, 7, 9]);
    expect(new Conv2d(2, 3, 4, { padding: 'same' }).call(x).shape).toEqual([1, 3, 7, 9]);
    expect(new Conv2d(2, 3, 3, { padding: 'same', dilation: 2 }).call(x).shape).toEqual([1, 3, 7, 9]);
    expect(() => new Conv2d(2, 3, 3, { padding: 'same', stride: 2 })).toThrow(/not supported for strided/);
    expect(() => new Conv2d(3, 4, 3, { groups: 2 })).toThrow(/in_channels must be divisible by groups/);
    expect(() => new Conv2d(2, 3, 3).call(zeros([2, 7, 9]))).toThrow(/expected 4D \[N,C,H,W\] input \(got 3D input \[2,7,9\]\)/);
  });

  it('pooling accepts unbatched [C,H,W]; Softmax(dim=None) uses torch’s implicit dim', () => {
    expect(new MaxPool2d(2).call(zeros([3, 8, 8])).shape).toEqual([3, 4, 4]);
    expect(new AvgPool2d(2).call(zeros([2, 3, 8, 8])).shape).toEqual([2, 3, 4, 4]);
    expect(new AdaptiveAvgPool2d([1, 1]).call(zeros([2, 3, 5, 5])).shape).toEqual([2, 3, 1, 1]);
    const p = new Softmax().call(randn([2, 5]));
    expect(Array.from(p.sum(1).dataSync()).every((s) => Math.abs(s - 1) < 1e-6)).toBe(true);
  });

  it('losses', () => {
    const logits = randn([4, 3]);
    const target = tensor([0, 2, 1, 2]);
    const ce = new CrossEntropyLoss({ labelSmoothing: 0.1 }).call(logits, target);
    expect(ce.shape).toEqual([]);
    const nll = new NLLLoss().call(logits.logSoftmax(1), target).itemSync();
    expect(new CrossEntropyLoss().call(logits, target).itemSync()).toBeCloseTo(nll, 6);
    expect(new MSELoss({ reduction: 'sum' }).call(tensor([1, 2]), tensor([0, 0])).itemSync()).toBe(5);
  });
});

describe('BatchNorm', () => {
  it('buffers: running_mean zeros, running_var ones, num_batches_tracked int32 []', () => {
    const bn = new BatchNorm2d(3);
    expect(Array.from(bn.runningMean!.dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(bn.runningVar!.dataSync())).toEqual([1, 1, 1]);
    expect(bn.numBatchesTracked!.dtype).toBe('int32');
    expect(bn.numBatchesTracked!.shape).toEqual([]);
    expect(Array.from(bn.weight!.dataSync())).toEqual([1, 1, 1]);
    expect(Array.from(bn.bias!.dataSync())).toEqual([0, 0, 0]);
  });

  it('BatchNorm1d takes (N,C) and (N,C,L) and says clearly what it expected otherwise', () => {
    const bn = new BatchNorm1d(3);
    expect(bn.call(randn([4, 3])).shape).toEqual([4, 3]);
    expect(bn.call(randn([4, 3, 5])).shape).toEqual([4, 3, 5]);
    expect(() => bn.call(randn([2, 3, 4, 4]))).toThrow('BatchNorm1d: expected 2D or 3D input (got 4D input [2,3,4,4])');
    expect(() => new BatchNorm2d(3).call(randn([2, 3, 4]))).toThrow('BatchNorm2d: expected 4D input (got 3D input [2,3,4])');
    expect(() => bn.call(randn([4, 5]))).toThrow(/has 5 channels, expected 3/);
  });

  it('momentum=null keeps a cumulative average of the batch statistics', () => {
    const bn = new BatchNorm1d(2, { momentum: null });
    const a = randn([6, 2]);
    const b = randn([6, 2]).add(3);
    bn.call(a);
    bn.call(b);
    const expected = noGrad(() => mean(a, 0).add(mean(b, 0)).div(2)).dataSync();
    const got = bn.runningMean!.dataSync();
    for (let i = 0; i < 2; i++) expect(got[i]).toBeCloseTo(expected[i]!, 5);
    expect(bn.numBatchesTracked!.itemSync()).toBe(2);
  });

  it('without running stats: no buffers in stateDict, batch statistics in eval too', () => {
    const bn = new BatchNorm2d(2, { trackRunningStats: false, affine: false });
    expect([...bn.stateDict().keys()]).toEqual([]);
    expect(bn.parameters()).toEqual([]);
    bn.eval();
    const y = bn.call(randn([4, 2, 3, 3]).mul(5).add(2));
    const m = y.mean([0, 2, 3]).dataSync();
    expect(Math.abs(m[0]!)).toBeLessThan(1e-5);
  });
});
