/**
 * The addon's N-API boundary (native/src/addon.cc, args.h) refuses bad arguments with a TypeError or
 * RangeError instead of aborting the process or touching memory outside a buffer (issue 14):
 * argument types, overflow-checked view extents, and buffer ownership (every pointer must be a
 * live block of this context, so a freed or made-up one is refused). Runs on the CUDA emulator
 * build of the same addon.cc, so it runs on every machine with g++.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { NativeAddon, NativeContext } from '../src/addon.js';
import { EMULATOR_ADDON } from '../src/emulator.js';
import { OP } from '../src/pack.js';

const missing = existsSync(EMULATOR_ADDON) ? '' : `${EMULATOR_ADDON} is not built (pnpm build needs g++)`;

const OP_FILL = OP.fill;
const OP_GATHER = OP.gather;
/** A packed fill of a 1-D view: [ptr, dtype f32, offset, rank 1, size, stride, value]. */
const fill = (ptr: number, size: number, stride: number, offset = 0) => new Float64Array([ptr, 0, offset, 1, size, stride, 7]);

describe.skipIf(!!missing)(`cuda addon N-API boundary (CUDA emulator)${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const addon = (missing ? null : createRequire(import.meta.url)(EMULATOR_ADDON)) as NativeAddon;
  /** Context.run with the whole block as the call's numbers. */
  const run = (ctx: NativeContext, op: number, block: Float64Array) => ctx.run(op, block, block.length);

  it('checks argument types (no abort on a string where a number goes)', () => {
    expect(() => new addon.Context('0' as unknown as number)).toThrow(new TypeError('Context: device must be a number'));
    const ctx = new addon.Context(0);
    expect(() => ctx.alloc('16' as unknown as number)).toThrow(new TypeError('alloc: bytes must be a number'));
    expect(() => ctx.alloc(-1)).toThrow(new RangeError('alloc: bytes must be a non-negative safe integer, got -1.000000'));
    const p = ctx.alloc(16);
    expect(() => ctx.run('2' as unknown as number, fill(p, 4, 1), 7)).toThrow(new TypeError('run: entry point code must be a number'));
    expect(() => run(ctx, 999, fill(p, 4, 1))).toThrow(new RangeError('run: unknown entry point code 999'));
    expect(() => ctx.run(OP_FILL, [p, 0, 0, 1, 4, 1, 7] as unknown as Float64Array, 7)).toThrow(new TypeError('fill: the packed block must be a Float64Array'));
    expect(() => ctx.run(OP_FILL, fill(p, 4, 1), 8)).toThrow(new RangeError("fill: count must be an integer in [0, 7] (the block's length)"));
    expect(() => ctx.run(OP_FILL, fill(p, 4, 1), 6)).toThrow(new RangeError('fill: packed arguments too short (6 values)'));
    expect(() => run(ctx, OP_FILL, new Float64Array([p, 0, 0.5, 1, 4, 1, 7]))).toThrow(/^fill: packed argument 2 is not a safe integer/);
    expect(() => ctx.write(p, '0' as unknown as number, new Float32Array(4))).toThrow(new TypeError('write: byteOffset must be a number'));
    expect(() => ctx.write(p, 0, 'abcd' as unknown as Float32Array)).toThrow(new TypeError('write: data must be a typed array'));
    expect(() => ctx.read(p, 0, 16, Number.NaN)).toThrow(RangeError);
    ctx.free(p);
    ctx.dispose();
  });

  it('checks view extents with overflow checks', async () => {
    const ctx = new addon.Context(0);
    const p = ctx.alloc(16); // a 512-byte block: 128 float32 elements
    run(ctx, OP_FILL, fill(p, 4, 1));
    expect(Array.from((await ctx.read(p, 0, 16, 0)) as Float32Array)).toEqual([7, 7, 7, 7]);
    // (size − 1)·stride overflows int64.
    expect(() => run(ctx, OP_FILL, fill(p, 4097, 2 ** 52))).toThrow(/^fill: view: extent 4096 x 4503599627370496 overflows int64$/);
    expect(() => run(ctx, OP_FILL, fill(p, 3, 2 ** 62))).toThrow(/^fill: packed argument 5 is not a safe integer/);
    // Terms that would cancel after wrapping are counted separately.
    expect(() => run(ctx, OP_FILL, new Float64Array([p, 0, 0, 2, 2, 2, 2 ** 52, -(2 ** 52), 7]))).toThrow(/^fill: view reaches elements \[-4503599627370496, 4503599627370496\]/);
    expect(() => run(ctx, OP_FILL, fill(p, 129, 1))).toThrow('fill: view reaches elements [0, 128] of a buffer of 128');
    expect(() => run(ctx, OP_FILL, fill(p, 1, 1, -1))).toThrow('fill: view reaches elements [-1, -1] of a buffer of 128');
    expect(() => run(ctx, OP_FILL, new Float64Array([p, 0, 0, 1, -2, 1, 7]))).toThrow('fill: view: negative size -2');
    expect(() => run(ctx, OP_FILL, new Float64Array([p, 5, 0, 1, 4, 1, 7]))).toThrow('fill: view: unknown dtype code 5');
    expect(() => ctx.write(p, 508, new Float32Array(2))).toThrow(new RangeError('write: 8 bytes at byte offset 508 overflow a buffer of 512 bytes'));
    expect(() => ctx.read(p, 0, 1e6, 0)).toThrow(new RangeError('read: 1000000 bytes at byte offset 0 overflow a buffer of 512 bytes'));
    // An axis past the rank would index the shape arrays out of range on the host.
    const idx = ctx.alloc(16);
    const view = (ptr: number, dtype: number) => [ptr, dtype, 0, 1, 4, 1];
    expect(() => run(ctx, OP_GATHER, new Float64Array([...view(p, 0), 5, ...view(idx, 1), ...view(p, 0)]))).toThrow(new RangeError('gather: axis 5 is outside [0, 1)'));
    ctx.free(idx);
    ctx.free(p);
    ctx.dispose();
  });

  it('checks buffer ownership: freed, interior and made-up pointers are refused', () => {
    const ctx = new addon.Context(0);
    const p = ctx.alloc(64);
    expect(() => run(ctx, OP_FILL, fill(p + 4, 4, 1))).toThrow(`fill: view: ${p + 4} is not a live buffer of this device (freed, or not allocated here)`);
    expect(() => run(ctx, OP_FILL, fill(123456, 4, 1))).toThrow('fill: view: 123456 is not a live buffer of this device');
    ctx.free(p);
    expect(() => run(ctx, OP_FILL, fill(p, 4, 1))).toThrow(`fill: view: ${p} is not a live buffer of this device`);
    expect(() => ctx.write(p, 0, new Float32Array(4))).toThrow(`write: ${p} is not a live buffer of this device`);
    expect(() => ctx.read(p, 0, 16, 0)).toThrow(`read: ${p} is not a live buffer of this device`);
    expect(() => ctx.free(p)).toThrow(/^free: pointer is not a live block of cuda:0/);
    ctx.dispose();
  });
});
