/**
 * Data movement and elementwise kernels against the CPU backend: strided and broadcast views,
 * scalar operands, dtype conversions, and accumulate into self-overlapping views.
 */
import { describe, expect, it } from 'vitest';
import { BINARY_OPS_FOR_TEST, UNARY_OPS_FOR_TEST } from './ops.js';
import { gpu, input, output, randint, randn, readView, same, unavailable } from './helpers.js';

describe.skipIf(!!unavailable)('webgpu: copy, fill, accumulate', () => {
  it('copies strided views (transpose, step slice, broadcast) with every dtype conversion', async () => {
    const data = randn(24, 3).map((v) => v * 3);
    for (const from of ['float32', 'int32', 'bool'] as const) {
      for (const to of ['float32', 'int32', 'bool'] as const) {
        const src = from === 'float32' ? data : from === 'int32' ? data.map(Math.trunc) : data.map((v) => (v > 0 ? 1 : 0));
        await same((be) => {
          const x = input(be, from, src, [3, 4], [1, 6], 2); // a transposed, offset view
          const y = output(be, to, [3, 4]);
          be.copy(x, y);
          const z = output(be, to, [2, 3, 4]);
          be.copy({ ...x, shape: [2, 3, 4], strides: [0, 1, 6] }, z); // broadcast
          return [y, z];
        });
      }
    }
  });

  it('converts float → int32 like a JS Int32Array store (truncation, wrap, NaN → 0) and → bool as x != 0', async () => {
    const vals = [0.5, -0.5, -1.7, 2.9, 3e9, -3e9, 1e20, Number.NaN, Infinity, -0, 16777217, 2147483648];
    await same((be) => {
      const x = input(be, 'float32', vals, [vals.length]);
      const i = output(be, 'int32', [vals.length]);
      const b = output(be, 'bool', [vals.length]);
      be.copy(x, i);
      be.copy(x, b);
      return [i, b];
    });
  });

  it('fills views of every dtype, contiguous or strided', async () => {
    await same((be) => {
      const a = output(be, 'float32', [4, 5]);
      be.fill({ ...a, shape: [2, 5], strides: [10, 1] }, 2.5);
      const b = output(be, 'int32', [7]);
      be.fill(b, -3);
      const c = output(be, 'bool', [6]);
      be.fill({ ...c, shape: [3], strides: [2] }, 1);
      const d = input(be, 'float32', randn(8), [8]);
      be.fill(d, 0); // the clearBuffer path
      return [a, b, c, d];
    });
  });

  it('accumulates into a non-overlapping strided view', async () => {
    await same((be) => {
      const dst = input(be, 'float32', randn(12, 4), [3, 4]);
      const src = input(be, 'float32', randn(12, 5), [4, 3]);
      be.accumulate({ ...src, shape: [3, 4], strides: [1, 3] }, dst);
      return dst;
    });
  });

  it('accumulates into self-overlapping windows (col2im) so every add lands', async () => {
    // dst viewed as [oH, oW, kH, kW] windows of a 6x6 image with stride 1: heavy overlap.
    const gx = randn(4 * 4 * 3 * 3, 6);
    await same(
      (be) => {
        const img = output(be, 'float32', [6, 6]);
        const cols = input(be, 'float32', gx, [4, 4, 3, 3]);
        be.accumulate(cols, { ...img, shape: [4, 4, 3, 3], strides: [6, 1, 6, 1] });
        return img;
      },
      { rtol: 1e-5, atol: 1e-5 },
    );
    // int32 and bool destinations take atomicAdd / a compare-exchange loop.
    await same((be) => {
      const acc = output(be, 'int32', [5]);
      be.accumulate(input(be, 'int32', randint(12, -5, 5, 2), [4, 3]), { ...acc, shape: [4, 3], strides: [1, 1] });
      const b = output(be, 'bool', [5]);
      be.accumulate(input(be, 'bool', [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0], [4, 3]), { ...b, shape: [4, 3], strides: [1, 1] });
      return [acc, b];
    });
  });

  it('keeps an in-place update with a shifted input of the same buffer race-free', async () => {
    await same((be) => {
      const x = input(be, 'float32', randn(10, 7), [10]);
      // x[0:9] = x[1:10] + x[0:9]: the input walks the buffer differently from the output.
      be.binary('add', { ...x, shape: [9], offset: 1 }, { ...x, shape: [9] }, { ...x, shape: [9] });
      return x;
    });
  });
});

describe.skipIf(!!unavailable)('webgpu: unary ops', () => {
  const x = [...randn(60, 11).map((v) => v * 4), 0, -0, 0.5, 1.5, 2.5, -2.5, Infinity, -Infinity, Number.NaN, 1e-30, 88, -88, 100, -100];
  for (const op of UNARY_OPS_FOR_TEST) {
    it(`${op} matches the CPU backend (float32, strided input)`, async () => {
      await same(
        (be) => {
          const v = input(be, 'float32', x, [x.length]);
          const out = output(be, op === 'logicalNot' ? 'bool' : 'float32', [37]);
          be.unary(op, { ...v, shape: [37], strides: [2], offset: 1 }, out);
          return out;
        },
        { rtol: 2e-6, atol: 1e-6 },
      );
    });
  }
  it('keeps int32 for the integer-preserving ops', async () => {
    const xi = randint(20, -50, 50, 3);
    for (const op of ['neg', 'abs', 'sign', 'relu', 'square', 'floor', 'ceil', 'round'] as const) {
      await same((be) => {
        const out = output(be, 'int32', [20]);
        be.unary(op, input(be, 'int32', xi, [20]), out);
        return out;
      });
    }
    await same((be) => {
      const out = output(be, 'bool', [20]);
      be.unary('logicalNot', input(be, 'int32', xi.map((v) => (v > 10 ? 0 : v)), [20]), out);
      return out;
    });
  });
  it('relu keeps NaN and maps -0 to +0; sign(NaN) = 0', async () => {
    const v = input(gpu, 'float32', [Number.NaN, -0, -1, 2], [4]);
    const r = output(gpu, 'float32', [4]);
    gpu.unary('relu', v, r);
    const s = output(gpu, 'float32', [4]);
    gpu.unary('sign', v, s);
    const rv = await readView(gpu, r);
    expect(rv[0]).toBeNaN();
    expect(Object.is(rv[1], 0)).toBe(true);
    expect(rv.slice(2)).toEqual([0, 2]);
    expect(await readView(gpu, s)).toEqual([0, 0, -1, 1]);
  });
});

describe.skipIf(!!unavailable)('webgpu: binary ops and where', () => {
  const a = [...randn(40, 21).map((v) => v * 3), 0, -0, 2, -2, Infinity, -Infinity, Number.NaN, 3];
  const b = [...randn(40, 22).map((v) => v * 3), 0, 2, 0, 3, 2, Number.NaN, 1, -1.5];
  for (const op of BINARY_OPS_FOR_TEST) {
    it(`${op}: float32 with broadcasting and scalars`, async () => {
      const outDtype = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr'].includes(op) ? 'bool' : 'float32';
      await same(
        (be) => {
          const va = input(be, 'float32', a, [6, 8]);
          const vb = input(be, 'float32', b, [6, 8]);
          const o1 = output(be, outDtype, [6, 8]);
          be.binary(op, va, vb, o1);
          // b broadcast along rows (stride 0) and a transposed
          const o2 = output(be, outDtype, [8, 6]);
          be.binary(op, { ...va, shape: [8, 6], strides: [1, 8] }, { ...vb, shape: [8, 6], strides: [0, 1] }, o2);
          // scalars on either side
          const o3 = output(be, outDtype, [6, 8]);
          be.binary(op, va, 2, o3);
          const o4 = output(be, outDtype, [6, 8]);
          be.binary(op, -0.5, vb, o4);
          return [o1, o2, o3, o4];
        },
        { rtol: 1e-5, atol: 1e-6 },
      );
    });
  }
  it('int32 arithmetic wraps, integer pow squares, comparisons on ints and bools', async () => {
    const ia = [...randint(30, -1000, 1000, 5), 2147483647, -2147483648, 65536, 7];
    const ib = [...randint(30, -1000, 1000, 6), 1, -1, 65536, 3];
    for (const op of ['add', 'sub', 'mul', 'maximum', 'minimum', 'eq', 'lt', 'ge'] as const) {
      await same((be) => {
        const out = output(be, ['eq', 'lt', 'ge'].includes(op) ? 'bool' : 'int32', [34]);
        be.binary(op, input(be, 'int32', ia, [34]), input(be, 'int32', ib, [34]), out);
        return out;
      });
    }
    await same((be) => {
      const out = output(be, 'int32', [8]);
      be.binary('pow', input(be, 'int32', [2, 3, -2, 7, 1, -1, 5, 0], [8]), input(be, 'int32', [10, 3, 3, 12, -5, -3, -1, 0], [8]), out);
      return out;
    });
    await same((be) => {
      const o1 = output(be, 'int32', [6]);
      be.binary('add', input(be, 'bool', [1, 0, 1, 1, 0, 0], [6]), input(be, 'bool', [1, 1, 0, 1, 0, 1], [6]), o1);
      const o2 = output(be, 'bool', [6]);
      be.binary('logicalAnd', input(be, 'bool', [1, 0, 1, 1, 0, 0], [6]), input(be, 'int32', [2, 1, 0, -1, 0, 1], [6]), o2);
      return [o1, o2];
    });
  });
  it('where with views and scalars on both branches, broadcast condition', async () => {
    const cond = randint(24, 0, 2, 9);
    await same((be) => {
      const c = input(be, 'bool', cond, [4, 6]);
      const x = input(be, 'float32', randn(24, 10), [4, 6]);
      const y = input(be, 'float32', randn(6, 11), [6]);
      const o1 = output(be, 'float32', [4, 6]);
      be.where(c, x, { ...y, shape: [4, 6], strides: [0, 1] }, o1);
      const o2 = output(be, 'float32', [4, 6]);
      be.where({ ...c, shape: [4, 6], strides: [0, 1] }, 1.5, x, o2);
      const o3 = output(be, 'int32', [4, 6]);
      be.where(c, 7, -2, o3);
      return [o1, o2, o3];
    });
  });
});
