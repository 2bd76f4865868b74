import { describe, expect, it } from 'vitest';
import { be, contiguousStrides, empty, indices, makeView, numel, readView, rng } from './helpers.js';

describe('copy', () => {
  it('makes a permuted, sliced view contiguous', () => {
    const data = Array.from({ length: 24 }, (_, i) => i);
    // x = arange(24).view(2,3,4).permute(2,0,1)[1:4:2]  → shape [2,2,3]
    const src = makeView('float32', data, [2, 2, 3], [2, 12, 4], 1);
    const dst = empty('float32', [2, 2, 3]);
    be.copy(src, dst);
    expect(readView(dst)).toEqual(readView(src));
    expect(readView(dst)).toEqual([1, 5, 9, 13, 17, 21, 3, 7, 11, 15, 19, 23]);
  });

  it('converts dtypes like PyTorch', () => {
    const src = makeView('float32', [1.7, -1.7, 0, -0.2, NaN, 3e9], [6]);
    const toInt = empty('int32', [6]);
    be.copy(src, toInt);
    expect(readView(toInt).slice(0, 4)).toEqual([1, -1, 0, 0]); // truncation toward zero
    const toBool = empty('bool', [6]);
    be.copy(src, toBool);
    expect(readView(toBool)).toEqual([1, 1, 0, 1, 1, 1]); // x != 0, NaN → true
    const b = makeView('bool', [1, 0], [2]);
    const bf = empty('float32', [2]);
    be.copy(b, bf);
    expect(readView(bf)).toEqual([1, 0]);
  });

  it('writes into a strided destination and broadcasts a stride-0 source', () => {
    const src = makeView('float32', [5], [3, 2], [0, 0]);
    const dst = makeView('float32', new Array(12).fill(-1), [3, 2], [4, 2], 1);
    be.copy(src, dst);
    expect(readView({ ...dst, shape: [12], strides: [1], offset: 0 })).toEqual([-1, 5, -1, 5, -1, 5, -1, 5, -1, 5, -1, 5]);
  });
});

describe('fill', () => {
  it('fills strided views and casts the value', () => {
    const v = makeView('float32', new Array(6).fill(0), [3], [2], 0);
    be.fill(v, 2.5);
    expect(readView({ ...v, shape: [6], strides: [1] })).toEqual([2.5, 0, 2.5, 0, 2.5, 0]);
    const i = empty('int32', [2]);
    be.fill(i, -3.9);
    expect(readView(i)).toEqual([-3, -3]);
    const b = empty('bool', [2]);
    be.fill(b, 0.1);
    expect(readView(b)).toEqual([1, 1]);
  });
});

describe('accumulate', () => {
  it('lands every add in a self-overlapping col2im-style view', () => {
    // dst [N,C,H,W] = [1,2,5,6] seen as windows [N,C,oH,oW,kH,kW] with k=3, stride 1 (heavily overlapping).
    const [N, C, H, W, k] = [1, 2, 5, 6, 3];
    const oH = H - k + 1;
    const oW = W - k + 1;
    const dst = makeView('float32', new Array(N * C * H * W).fill(0), [N, C, H, W]);
    const winShape = [N, C, oH, oW, k, k];
    const winStrides = [C * H * W, H * W, W, 1, W, 1];
    const r = rng(3);
    const srcData = Array.from({ length: numel(winShape) }, () => Math.round(r() * 8));
    const src = makeView('float32', srcData, winShape);
    be.accumulate(src, { ...dst, shape: winShape, strides: winStrides });
    const expected = new Array(N * C * H * W).fill(0);
    let q = 0;
    for (const [n, c, oh, ow, kh, kw] of indices(winShape)) expected[((n! * C + c!) * H + oh! + kh!) * W + ow! + kw!] += srcData[q++]!;
    expect(readView(dst)).toEqual(expected);
  });

  it('accumulates into a broadcast (stride 0) destination', () => {
    const dst = makeView('float32', [1], [4], [0]);
    be.accumulate(makeView('float32', [1, 2, 3, 4], [4]), dst);
    expect(be.readSync(dst.buffer, 0, 1)[0]).toBe(11);
  });
});

function naiveGather(x: number[], xShape: number[], axis: number, idx: number[], iShape: number[]): number[] {
  const xs = contiguousStrides(xShape);
  const out: number[] = [];
  let q = 0;
  for (const pos of indices(iShape)) {
    const p = pos.slice();
    p[axis] = idx[q++]!;
    out.push(x[p.reduce((s, v, d) => s + v * xs[d]!, 0)]!);
  }
  return out;
}

describe('gather / scatterAdd', () => {
  const r = rng(4);
  const xShape = [3, 4, 5];
  const xData = Array.from({ length: 60 }, (_, i) => i * 1.5 - 7);
  for (const axis of [0, 1, 2]) {
    it(`gathers along axis ${axis} and scatterAdd is its adjoint`, () => {
      const iShape = xShape.slice();
      iShape[axis] = 2; // fewer entries than x along the axis, with repeats
      const ext = xShape[axis]!;
      const idx = Array.from({ length: numel(iShape) }, () => Math.floor(r() * ext));
      const x = makeView('float32', xData, xShape);
      const index = makeView('int32', idx, iShape);
      const out = empty('float32', iShape);
      be.gather(x, axis, index, out);
      expect(readView(out)).toEqual(naiveGather(xData, xShape, axis, idx, iShape));

      // scatterAdd: dst[..idx..] += src; repeated indices must all add.
      const srcData = Array.from({ length: numel(iShape) }, (_, i) => i + 1);
      const dst = makeView('float32', new Array(60).fill(0), xShape);
      be.scatterAdd(dst, axis, index, makeView('float32', srcData, iShape));
      const expected = new Array(60).fill(0);
      const xs = contiguousStrides(xShape);
      let q = 0;
      for (const pos of indices(iShape)) {
        const p = pos.slice();
        p[axis] = idx[q]!;
        expected[p.reduce((s, v, d) => s + v * xs[d]!, 0)] += srcData[q++]!;
      }
      expect(readView(dst)).toEqual(expected);
    });
  }

  it('reads a transposed x and a strided index', () => {
    // x = arange(6).view(2,3).T (shape [3,2]); gather along 0 with index [[2,0],[1,1]] given transposed too.
    const x = makeView('float32', [0, 1, 2, 3, 4, 5], [3, 2], [1, 3]);
    const index = makeView('int32', [2, 1, 0, 1], [2, 2], [1, 2]); // [[2,0],[1,1]]
    const out = empty('float32', [2, 2]);
    be.gather(x, 0, index, out);
    expect(readView(out)).toEqual([2, 3, 1, 4]);
  });

  it('throws a RangeError naming the op for out-of-range indices', () => {
    const x = makeView('float32', [1, 2, 3], [3]);
    const out = empty('float32', [1]);
    expect(() => be.gather(x, 0, makeView('int32', [3], [1]), out)).toThrow(RangeError);
    expect(() => be.gather(x, 0, makeView('int32', [-1], [1]), out)).toThrow(/gather/);
    expect(() => be.scatterAdd(x, 0, makeView('int32', [5], [1]), out)).toThrow(/scatterAdd/);
    expect(readView(x)).toEqual([1, 2, 3]);
  });
});
