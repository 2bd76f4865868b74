/**
 * Bugs the op properties found, fixed, each as the minimal case fast-check shrank it to, on the
 * cpu backend's native path and its portable one.
 */
import { describe, expect, it } from 'vitest';
import * as kd from '@kindling/core';
import { REFERENCE, prepare } from '../src/index.js';

const cuda = await prepare('cuda'); // a GPU, or the kernels on the CPU emulator

describe.each(['cpu', REFERENCE])('found by the op properties, fixed (%s)', (device) => {
  it('a scalar on the left of a zero-size transposed view: no SIGFPE (native 32×32 tiles over 0 columns divided by 0)', async () => {
    const leaf = kd.tensor(Array.from({ length: 16 }, (_, i) => i / 8), { shape: [1, 4, 4], device, requiresGrad: true });
    const v = kd.slice(kd.permute(leaf, [2, 1, 0]), [[1, 4, 2], [2, 3, 1], [0, 0, 2]]);
    expect(v.shape).toEqual([2, 1, 0]);
    const y = kd.add(-0.25, v);
    expect(y.shape).toEqual([2, 1, 0]);
    expect(Array.from(await y.data())).toEqual([]);
    kd.sum(y).backward();
    expect(Array.from(await leaf.grad!.data())).toEqual(new Array(16).fill(0));
  });

  it('pow as C and PyTorch compute it: 1 ** NaN and (-1) ** ±Infinity are 1 (Math.pow says NaN)', async () => {
    const base = kd.tensor([1, -1, -1, 2, 1], { device, dtype: 'float32' });
    const exp = kd.tensor([NaN, Infinity, -Infinity, NaN, 0], { device, dtype: 'float32' });
    expect(Array.from(await kd.pow(base, exp).data())).toEqual([1, 1, 1, NaN, 1]);
    expect(Array.from(await kd.pow(1, exp).data())).toEqual([1, 1, 1, 1, 1]);
  });
});

describe.each(['cpu', REFERENCE, ...(cuda.device ? [cuda.device] : [])])('max pool over a window of padding only (%s)', (device) => {
  // Height 1, kernel 2, padding 1, dilation 2: each window's only taps are row -1 and row 1. PyTorch
  // 1.13 gives -inf, its first tap past the padding as the index (rows 1, outside the input) and a
  // zero gradient. Before the fix backward threw "index 2 is out of bounds" on cpu and credited
  // element 0 on cuda.
  it('gives -inf, PyTorch\'s indices and no gradient', async () => {
    const x = kd.tensor([0.5, 1.5], { shape: [1, 1, 1, 2], device, requiresGrad: true });
    const { values, indices } = kd.maxPool2dWithIndices(x, { kernelSize: [2, 1], padding: [1, 0], dilation: [2, 1] });
    expect(Array.from(await values.data())).toEqual([-Infinity, -Infinity]);
    expect(Array.from(await indices.data())).toEqual([2, 3]);
    values.backward(kd.ones(values.shape, { device }));
    expect(Array.from(await x.grad!.data())).toEqual([0, 0]);
  });
});

describe.skipIf(!cuda.device)(`found by the op properties on cuda, fixed (${cuda.implementation || cuda.reason})`, () => {
  it('the gradient of mean over an expanded [3, 0] view: no SIGFPE (the reduce kernel divided by a zero inner extent)', async () => {
    const leaf = kd.tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2], dtype: 'float32', device: 'cuda', requiresGrad: true });
    const v = kd.expand(kd.slice(kd.permute(leaf, [1, 0]), [[1, 2, 2], [1, 2, 1]]), [3, 0]);
    const y = kd.mean(v, [1], true);
    expect(Array.from(await y.data())).toEqual([NaN, NaN, NaN]);
    kd.sum(kd.mul(y, kd.tensor([0.5, -1, 0.25], { shape: [3, 1], device: 'cuda' }))).backward();
    expect(Array.from(await leaf.grad!.data())).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
