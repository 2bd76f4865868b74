/** gather / scatterAdd along every axis, out-of-range detection, and Philox bit-exactness against core's philoxFill. */
import { describe, expect, it } from 'vitest';
import { philoxFill } from '@kindling/core';
import { gpu, input, output, randint, randn, readView, same, unavailable } from './helpers.js';

describe.skipIf(!!unavailable)('webgpu: gather and scatterAdd', () => {
  for (const axis of [0, 1, 2]) {
    it(`axis ${axis}`, async () => {
      const shape = [3, 4, 5];
      const ishape = [2, 3, 4];
      ishape[axis] = 6; // longer than the source along the axis: repeats
      const n = ishape.reduce((a, b) => a * b, 1);
      const idx = randint(n, 0, shape[axis]!, 7 + axis);
      await same((be) => {
        const x = input(be, 'float32', randn(60, 1), shape);
        const index = input(be, 'int32', idx, ishape);
        const out = output(be, 'float32', ishape);
        be.gather(x, axis, index, out);
        const dst = input(be, 'float32', randn(60, 2), shape);
        const src = input(be, 'float32', randn(n, 3), ishape);
        be.scatterAdd(dst, axis, index, src);
        return [out, dst];
      });
    });
  }

  it('scatterAdd into int32 and a strided destination; gather from a transposed source', async () => {
    await same((be) => {
      const dst = output(be, 'int32', [4, 3]);
      const index = input(be, 'int32', [0, 1, 1, 3, 3, 3], [2, 3]);
      be.scatterAdd(dst, 0, index, input(be, 'int32', [1, 2, 3, 4, 5, 6], [2, 3]));
      const x = input(be, 'float32', randn(12, 4), [4, 3]);
      const out = output(be, 'float32', [3, 2]);
      be.gather({ ...x, shape: [3, 4], strides: [1, 3] }, 1, input(be, 'int32', [3, 0, 1, 1, 2, 3], [3, 2]), out);
      return [dst, out];
    });
  });

  it('an out-of-range index is reported by the next read, naming the op', async () => {
    const x = input(gpu, 'float32', [1, 2, 3], [3]);
    const out = output(gpu, 'float32', [2]);
    gpu.gather(x, 0, input(gpu, 'int32', [1, 5], [2]), out);
    await expect(readView(gpu, out)).rejects.toThrow(/gather: an index was out of range/);
    expect(await readView(gpu, x)).toEqual([1, 2, 3]); // the error word was cleared
  });
});

describe.skipIf(!!unavailable)('webgpu: Philox random numbers', () => {
  it('uniform draws are bit-identical to core philoxFill, for odd sizes and counters past 2^32', async () => {
    for (const [n, counter, key] of [
      [1, 0, [0, 0]],
      [1023, 17, [1234, 5678]],
      [10, 4294967290, [0xffffffff, 7]],
      [257, 2 ** 40 + 3, [42, 0]],
    ] as [number, number, [number, number]][]) {
      const out = output(gpu, 'float32', [n]);
      gpu.random('uniform', key, counter, out);
      const want = new Float32Array(n);
      philoxFill('uniform', key, counter, want);
      const got = new Float32Array(await readView(gpu, out));
      expect(Array.from(new Uint32Array(got.buffer))).toEqual(Array.from(new Uint32Array(want.buffer)));
    }
  });

  it('normal draws match philoxFill to float32 precision', async () => {
    const n = 4001;
    const out = output(gpu, 'float32', [n]);
    gpu.random('normal', [99, 3], 5, out);
    const want = new Float32Array(n);
    philoxFill('normal', [99, 3], 5, want);
    const got = await readView(gpu, out);
    for (let i = 0; i < n; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(want[i]!)));
  });

  it('a strided output gets draw i at its logical element i', async () => {
    await same((be) => {
      const o = output(be, 'float32', [4, 6]);
      be.random('uniform', [5, 6], 11, { ...o, shape: [3, 4], strides: [1, 6] });
      return o;
    });
  });
});
