import { describe, expect, it } from 'vitest';
import type { ReduceOp } from '@kindling/core';
import { be, empty, expectClose, f32, indices, makeView, numel, randn, readView, rng } from './helpers.js';

function naiveReduce(op: ReduceOp, vals: number[], outSize: number): number[] {
  const R = vals.length / outSize;
  const res: number[] = [];
  for (let o = 0; o < outSize; o++) {
    const row = vals.slice(o * R, o * R + R);
    switch (op) {
      case 'sum': res.push(row.reduce((a, b) => a + b, 0)); break;
      case 'max': res.push(row.some(Number.isNaN) ? NaN : Math.max(...row)); break;
      case 'min': res.push(row.some(Number.isNaN) ? NaN : Math.min(...row)); break;
      case 'argmax': {
        const nan = row.findIndex(Number.isNaN);
        res.push(nan >= 0 ? nan : row.indexOf(Math.max(...row)));
        break;
      }
      case 'argmin': {
        const nan = row.findIndex(Number.isNaN);
        res.push(nan >= 0 ? nan : row.indexOf(Math.min(...row)));
        break;
      }
    }
  }
  return res;
}

describe('reduce', () => {
  const r = rng(5);
  // x is a permuted view: logical [2,3,4,5] over storage [5,2,4,3] → the reduced dims are strided.
  const data = f32(randn(120, r).map((v) => Math.round(v * 2) / 2)); // rounding creates ties
  const shape = [2, 3, 4, 5];
  const strides = [12, 1, 3, 24];
  const x = makeView('float32', data, shape, strides);
  const logical = readView(x);

  for (const op of ['sum', 'max', 'min', 'argmax', 'argmin'] as ReduceOp[]) {
    for (const k of [1, 2, 3, 4]) {
      it(`${op} over the last ${k} dims of a permuted view`, () => {
        const outShape = shape.slice(0, 4 - k);
        const out = empty(op.startsWith('arg') ? 'int32' : 'float32', outShape);
        be.reduce(op, x, k, out);
        const expected = naiveReduce(op, logical, numel(outShape));
        if (op === 'sum') expectClose(readView(out), f32(expected), 1e-6, 1e-6);
        // ±0 compare equal, so which zero max/min keeps is not meaningful: normalise before comparing.
        else expect(readView(out).map((v) => v + 0)).toEqual(expected.map((v) => v + 0));
      });
    }
  }

  it('takes the first occurrence on ties and the first NaN for argmax/argmin; NaN propagates in max/min', () => {
    const v = makeView('float32', [1, 3, 3, 0, 0, 5, NaN, 2, NaN, -1], [2, 5]);
    const idx = empty('int32', [2]);
    be.reduce('argmax', v, 1, idx);
    expect(readView(idx)).toEqual([1, 1]);
    be.reduce('argmin', v, 1, idx);
    expect(readView(idx)).toEqual([3, 1]);
    const m = empty('float32', [2]);
    be.reduce('max', v, 1, m);
    expect(readView(m)[0]).toBe(3);
    expect(readView(m)[1]).toBeNaN();
    be.reduce('min', v, 1, m);
    expect(readView(m)[1]).toBeNaN();
  });

  it('gives 0 / ∓inf for empty reductions and handles 0-d outputs', () => {
    const e = makeView('float32', [0], [3, 0], [0, 1]);
    const out = empty('float32', [3]);
    be.reduce('sum', e, 1, out);
    expect(readView(out)).toEqual([0, 0, 0]);
    be.reduce('max', e, 1, out);
    expect(readView(out)).toEqual([-Infinity, -Infinity, -Infinity]);
    be.reduce('min', e, 1, out);
    expect(readView(out)).toEqual([Infinity, Infinity, Infinity]);
    const all = empty('float32', []);
    be.reduce('sum', makeView('float32', [1, 2, 3, 4, 5, 6], [2, 3]), 2, all);
    expect(readView(all)).toEqual([21]);
  });

  it('sums int32 exactly and reduces broadcast (stride 0) inputs', () => {
    const v = makeView('int32', [7], [4, 6], [0, 0]);
    const out = empty('int32', [4]);
    be.reduce('sum', v, 1, out);
    expect(readView(out)).toEqual([42, 42, 42, 42]);
    const it2 = [...indices([2, 2])].length;
    expect(it2).toBe(4);
  });
});
