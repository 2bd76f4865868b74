/**
 * The native addon's N-API boundary: run(entry, block, count, ...arrays) (core/native/
 * kindling_packed.h; layouts in native/src/dispatch.cc) refuses bad arguments with a TypeError or
 * RangeError that names the entry point, instead of aborting Node (issue 14: a value of the wrong
 * type read through napi left a pending error, "FATAL ERROR: Error::New napi_get_last_error_info")
 * or touching memory outside an array (extents whose (size − 1)·stride overflows int64, detached
 * buffers, slots that name no array). Skipped, with the reason, when the addon is not built.
 */
import { describe, expect, it } from 'vitest';
import { nativeStatus } from '../src/native/addon.js';
import { ENTRY, UNARY_CODE } from '../src/native/pack.js';

const { addon, reason } = nativeStatus();

describe.skipIf(!addon)(`cpu addon N-API boundary${addon ? '' : ` (skipped: ${reason})`}`, () => {
  const a = addon!;
  const f32 = (n: number) => new Float32Array(n).fill(1);
  /** One call with the block `nums` (count = its length) and the arrays after it. */
  const run = (entry: keyof typeof ENTRY, nums: number[], ...arrays: Float32Array[]) =>
    a.run(ENTRY[entry], Float64Array.from(nums), nums.length, ...arrays);
  const NEG = UNARY_CODE.neg;
  /** unary over a rank-nd walk: [code, nd, ...shape, x: slot 0, offset, ...strides, out: slot 1, offset, ...strides] */
  const unary = (shape: number[], xOff: number, xStrides: number[], x: Float32Array, y: Float32Array) =>
    run('unary', [NEG, shape.length, ...shape, 0, xOff, ...xStrides, 1, 0, ...shape.map(() => 1)], x, y);

  it('runs a packed call: sgdStep in place', () => {
    const p = f32(4);
    const g = f32(4);
    // n, lr, momentum, dampening, weightDecay, nesterov, maximize, firstStep, param, grad, momentumBuffer?
    run('sgdStep', [4, 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, -1, 0], p, g);
    expect(Array.from(p)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('checks the call itself: the entry code, the block, its count, and the arrays it names', () => {
    const p = f32(4);
    expect(() => a.run(999, new Float64Array(4), 4, p)).toThrow(new RangeError('run: unknown entry point code 999.000000'));
    expect(() => a.run(ENTRY.fill + 0.5, new Float64Array(4), 4, p)).toThrow(RangeError);
    expect(() => run('gather', [0])).toThrow(new RangeError('gather: the cpu addon has no kernel for this entry point'));
    expect(() => a.run(ENTRY.fill, [4, 1, 0, 0] as unknown as Float64Array, 4, p)).toThrow(new TypeError('fill: the packed block must be a Float64Array'));
    expect(() => a.run(ENTRY.fill, new Float64Array(4), 5, p)).toThrow(new RangeError('fill: count must be an integer in [0, 4] (the block\'s length)'));
    expect(() => a.run(ENTRY.fill, new Float64Array(4), '4' as unknown as number, p)).toThrow(RangeError);
    expect(() => run('fill', [4, 1, 0])).toThrow(new RangeError('fill: packed arguments too short (3 values)'));
    // fill: n, value, out [slot, offset]
    expect(() => run('fill', [4, 1, 1, 0], p)).toThrow(new RangeError('fill out: array slot 1 was not passed (1 arrays)'));
    expect(() => run('fill', [4, 1, 0, 0], new Int32Array(4) as unknown as Float32Array)).toThrow(
      new TypeError('fill out: expected a Float32Array, got a typed array of another type'),
    );
    expect(() => run('fill', [4, 1, 0, 0], {} as Float32Array)).toThrow(new TypeError('fill out: expected a Float32Array, got an object'));
    // What a string becomes in a Float64Array (NaN), and fractions, where integers go.
    expect(() => run('fill', [Number('4x'), 1, 0, 0], p)).toThrow(new RangeError('fill: packed argument 0 is not a safe integer (nan)'));
    expect(() => run('fill', [4, 1, 0, 0.5], p)).toThrow(new RangeError('fill: packed argument 3 is not a safe integer (0.500000)'));
    expect(() => run('fill', [-4, 1, 0, 0], p)).toThrow(new RangeError('fill: packed argument 0 must be >= 0, got -4'));
    expect(Array.from(p)).toEqual([1, 1, 1, 1]); // nothing ran
    // A required array given as absent (slot -1) is refused; an optional one may be absent.
    expect(() => run('sgdStep', [4, 0.5, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, -1, 0], p)).toThrow(new RangeError('sgdStep param: array slot -1 was not passed (1 arrays)'));
  });

  it('checks extents with overflow checks: views that wrap int64 or leave the array are refused', () => {
    const x = f32(8);
    const y = f32(8);
    // (4097 − 1)·2^52 = 2^64: the product overflows int64 (and would wrap past the check unchecked).
    expect(() => unary([4097], 0, [2 ** 52], x, y)).toThrow(new RangeError('unary: extent 4096 x 4503599627370496 overflows int64'));
    // Spans that would cancel are kept apart: the low end is far below the array.
    expect(() => unary([2, 2], 0, [2 ** 52, -(2 ** 52)], x, y)).toThrow(
      new RangeError('unary x: 9007199254740993 elements at offset -4503599627370496 overflow an array of 8'),
    );
    expect(() => unary([3], 0, [2 ** 62], x, y)).toThrow(new RangeError('unary: packed argument 5 is not a safe integer (4611686018427387904.000000)'));
    expect(() => unary([9], 0, [1], x, y)).toThrow(new RangeError('unary x: 9 elements at offset 0 overflow an array of 8'));
    expect(() => unary([2], 7, [1], x, y)).toThrow(new RangeError('unary x: 2 elements at offset 7 overflow an array of 8'));
    expect(() => run('unary', [NEG, 2 ** 40, 1], x, y)).toThrow(new RangeError('unary: rank 1099511627776 is outside [0, 64]'));
    expect(() => unary([Number.NaN], 0, [1], x, y)).toThrow(/^unary: packed argument 2 is not a safe integer/);
    expect(() => run('fill', [2 ** 52, 1, 0, 0], x)).toThrow(new RangeError('fill out: 4503599627370496 elements at offset 0 overflow an array of 8'));
    expect(() => run('fill', [2 ** 53, 1, 0, 0], x)).toThrow(new RangeError('fill: packed argument 0 is not a safe integer (9007199254740992.000000)'));
    // linear: M, N, K, x, w, bias?, out
    expect(() => run('linear', [2 ** 32, 2 ** 32, 2 ** 32, 0, 0, 0, 0, -1, 0, 1, 0], x, y)).toThrow(/^linear: extent \d+ x \d+ overflows int64$/);
    // conv2d: the output size must be the one the geometry gives (N C H W O G kH kW oH oW sH sW pH pW dH dW).
    const geo = [1, 1, 4, 4, 1, 1, 3, 3, 3, 2, 1, 1, 0, 0, 1, 1];
    expect(() => run('conv2d', [...geo, 0, 0, 1, 0, -1, 0, 2, 0], f32(16), f32(9), f32(16))).toThrow(
      new RangeError('conv2d: output size 3x2 does not match the input, kernel and options'),
    );
    expect(Array.from(y)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('a detached buffer (transferred away) is refused, not read', () => {
    const x = f32(8);
    structuredClone(x.buffer, { transfer: [x.buffer] });
    expect(x.length).toBe(0);
    expect(() => run('fill', [8, 1, 0, 0], x)).toThrow(new RangeError('fill out: 8 elements at offset 0 overflow an array of 0'));
  });
});
