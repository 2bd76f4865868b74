import { describe, expect, it } from 'vitest';
import { getBackend } from '@kindling/core';
import { CpuBackend } from '../src/index.js';

describe('CpuBackend', () => {
  it('registers the cpu device on import', () => {
    const b = getBackend('cpu');
    expect(b).toBeInstanceOf(CpuBackend);
    expect(b.info().name).toBe('cpu');
  });

  it('tracks live buffers and bytes, and free is idempotent', () => {
    const be = new CpuBackend();
    const a = be.alloc('float32', 10);
    const b = be.alloc('bool', 7);
    const c = be.alloc('int32', 0);
    expect(be.memory()).toMatchObject({ buffers: 3, bytes: 47 });
    be.free(a);
    be.free(a);
    expect(be.memory()).toMatchObject({ buffers: 2, bytes: 7 });
    be.free(b);
    be.free(c);
    expect(be.memory()).toMatchObject({ buffers: 0, bytes: 0 });
    expect(() => be.readSync(a, 0, 1)).toThrow(/freed/);
  });

  it('reads copies, sync and async, and writes at an offset', async () => {
    const be = new CpuBackend();
    const buf = be.alloc('float32', 4);
    be.write(buf, Float32Array.of(1, 2), 1);
    const r1 = be.readSync(buf, 0, 4);
    expect([...r1]).toEqual([0, 1, 2, 0]);
    r1[0] = 99;
    const r2 = await be.read(buf, 1, 2);
    expect(r2).toBeInstanceOf(Float32Array);
    expect([...r2]).toEqual([1, 2]);
    expect(be.readSync(buf, 0, 1)[0]).toBe(0);
    await be.sync();
    expect(() => be.write(buf, Float32Array.of(1, 2, 3), 2)).toThrow(RangeError);
    await expect(be.read(buf, 3, 2)).rejects.toThrow(RangeError);
    const ib = be.alloc('int32', 2);
    expect(be.readSync(ib, 0, 2)).toBeInstanceOf(Int32Array);
    const bb = be.alloc('bool', 2);
    expect(be.readSync(bb, 0, 2)).toBeInstanceOf(Uint8Array);
  });

  it('lists every fused kernel it implements, and none with fused: false', () => {
    const on = new CpuBackend({ fused: true });
    const names = [
      'conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight', 'maxPool2d', 'maxPool2dBackward', 'avgPool2d',
      'avgPool2dBackward', 'softmax', 'softmaxBackward', 'batchNormTrain', 'batchNormBackward', 'sgdStep', 'adamStep',
      'activationBackward', 'linear',
    ];
    expect([...on.capabilities()].sort()).toEqual([...names].sort());
    for (const n of names) expect(typeof (on as unknown as Record<string, unknown>)[n]).toBe('function');
    const off = new CpuBackend({ fused: false });
    expect(off.capabilities().size).toBe(0);
    for (const n of names) expect(n in off).toBe(false);
  });

  it('honours KINDLING_CPU_FUSED=0 when no option is given', () => {
    const saved = process.env.KINDLING_CPU_FUSED;
    try {
      process.env.KINDLING_CPU_FUSED = '0';
      expect(new CpuBackend().capabilities().size).toBe(0);
      expect(new CpuBackend({ fused: true }).capabilities().size).toBeGreaterThan(0);
      process.env.KINDLING_CPU_FUSED = '1';
      expect(new CpuBackend().capabilities().size).toBeGreaterThan(0);
    } finally {
      if (saved === undefined) delete process.env.KINDLING_CPU_FUSED;
      else process.env.KINDLING_CPU_FUSED = saved;
    }
  });

  it('refuses buffers it does not own', () => {
    const be = new CpuBackend();
    const foreign = { dtype: 'float32' as const, size: 1 };
    expect(() => be.fill({ buffer: foreign, dtype: 'float32', shape: [1], strides: [1], offset: 0 }, 1)).toThrow(/another backend/);
  });
});
