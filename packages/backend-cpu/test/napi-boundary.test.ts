/**
 * The native addon's N-API boundary (native/src/addon.cc) refuses bad arguments with a TypeError
 * or RangeError that names the function, instead of aborting Node (issue 14: a string read as a
 * number left a pending napi error, "FATAL ERROR: Error::New napi_get_last_error_info") or
 * touching memory outside an array (extents whose (size − 1)·stride overflows int64, detached
 * buffers). Skipped, with the reason, when the addon is not built.
 */
import { describe, expect, it } from 'vitest';
import { nativeStatus } from '../src/native/addon.js';

const { addon, reason } = nativeStatus();

describe.skipIf(!addon)(`cpu addon N-API boundary${addon ? '' : ` (skipped: ${reason})`}`, () => {
  const a = addon!;
  const f32 = (n: number) => new Float32Array(n).fill(1);

  it('checks argument types: a string where a number goes is a TypeError, not an abort', () => {
    const p = f32(4);
    const g = f32(4);
    const sgd = (lr: unknown, nesterov: unknown = false) =>
      a.sgdStep(p, 0, g, 0, null, 0, 4, lr as number, 0, 0, 0, nesterov as boolean, false, false);
    expect(() => sgd('0.1')).toThrow(new TypeError('sgdStep: argument 7 must be a number, got a string ("0.1")'));
    expect(() => sgd(0.1, 'false')).toThrow(new TypeError('sgdStep: argument 11 must be a boolean, got a string ("false")'));
    expect(() => a.adamStep(p, 0, g, 0, f32(4), 0, f32(4), 0, null, 0, 4, 0.1, '0.9' as unknown as number, 0.999, 1e-8, 0, false, false, false, 1)).toThrow(
      new TypeError('adamStep: argument 12 must be a number, got a string ("0.9")'),
    );
    expect(() => a.fill(p, 0, '4' as unknown as number, 1)).toThrow(new TypeError('fill: argument 2 must be an integer, got a string ("4")'));
    expect(() => a.fill(p, 0.5, 2, 1)).toThrow(new RangeError('fill: argument 1 must be a safe integer, got 0.500000'));
    expect(() => a.fill(p as unknown as Float32Array, 0, 4, undefined as unknown as number)).toThrow(new TypeError('fill: argument 3 must be a number, got undefined'));
    expect(() => a.fill(new Int32Array(4) as unknown as Float32Array, 0, 4, 1)).toThrow(new TypeError('fill out: expected a Float32Array, got a typed array of another type'));
    expect(Array.from(p)).toEqual([1, 1, 1, 1]); // nothing ran
    sgd(0.5);
    expect(Array.from(p)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('checks extents with overflow checks: views that wrap int64 or leave the array are refused', () => {
    const x = f32(8);
    const y = f32(8);
    const NEG = 0; // unary op code of neg
    // geometry for two operands: [nd, ...shape, xOff, ...xStrides, yOff, ...yStrides]
    // (4097 − 1)·2^52 = 2^64: the product overflows int64 (and would wrap past the check unchecked).
    expect(() => a.unary(NEG, new Float64Array([1, 4097, 0, 2 ** 52, 0, 1]), x, y)).toThrow(new RangeError('unary: extent 4096 x 4503599627370496 overflows int64'));
    // Spans that would cancel are kept apart: the low end is far below the array.
    expect(() => a.unary(NEG, new Float64Array([2, 2, 2, 0, 2 ** 52, -(2 ** 52), 0, 2, 1]), x, y)).toThrow(
      new RangeError('unary x: 9007199254740993 elements at offset -4503599627370496 overflow an array of 8'),
    );
    expect(() => a.unary(NEG, new Float64Array([1, 3, 0, 2 ** 62, 0, 1]), x, y)).toThrow(new RangeError('unary: geometry[3] is not a safe integer (4611686018427387904.000000)'));
    expect(() => a.unary(NEG, new Float64Array([1, 9, 0, 1, 0, 1]), x, y)).toThrow(new RangeError('unary x: 9 elements at offset 0 overflow an array of 8'));
    expect(() => a.unary(NEG, new Float64Array([1, 2, 7, 1, 0, 1]), x, y)).toThrow(new RangeError('unary x: 2 elements at offset 7 overflow an array of 8'));
    expect(() => a.unary(NEG, new Float64Array([2 ** 40, 1]), x, y)).toThrow(new RangeError('unary: rank 1099511627776 is outside [0, 64]'));
    expect(() => a.unary(NEG, new Float64Array([1, Number.NaN, 0, 1, 0, 1]), x, y)).toThrow(/^unary: geometry\[1\] is not a safe integer/);
    expect(() => a.unary(NEG, new Float64Array([3, 2]), x, y)).toThrow(new RangeError('unary: geometry too short'));
    expect(() => a.fill(x, 0, 2 ** 52, 1)).toThrow(new RangeError('fill out: 4503599627370496 elements at offset 0 overflow an array of 8'));
    expect(() => a.fill(x, 0, 2 ** 53, 1)).toThrow(new RangeError('fill: argument 2 must be a safe integer, got 9007199254740992.000000'));
    expect(() => a.linear(2 ** 32, 2 ** 32, 2 ** 32, x, 0, x, 0, null, 0, y, 0)).toThrow(/^linear: extent \d+ x \d+ overflows int64$/);
    // conv2d: the output size must be the one the geometry gives.
    const geo = new Float64Array([1, 1, 4, 4, 1, 1, 3, 3, 3, 2, 1, 1, 0, 0, 1, 1]);
    expect(() => a.conv2d(geo, f32(16), 0, f32(9), 0, null, 0, f32(16), 0)).toThrow(new RangeError('conv2d: output size 3x2 does not match the input, kernel and options'));
    expect(Array.from(y)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('a detached buffer (transferred away) is refused, not read', () => {
    const x = f32(8);
    structuredClone(x.buffer, { transfer: [x.buffer] });
    expect(x.length).toBe(0);
    expect(() => a.fill(x, 0, 8, 1)).toThrow(new RangeError('fill out: 8 elements at offset 0 overflow an array of 0'));
  });
});
