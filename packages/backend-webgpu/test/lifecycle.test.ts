/**
 * Memory (the buffer pool keeps 1,000 alloc/kernel/free cycles flat), the device registry
 * (initDevice, core tensors on 'webgpu'), clear errors (use after free, a lost device, no
 * adapter, create() before init) and info().
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kd from '@kindling/core';
import { Engine, WebGPUBackend, bucketBytes, requestAdapterAndDevice } from '../dist/index.js';
import { gpu, input, output, readView, unavailable } from './helpers.js';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));

describe('webgpu: buffer buckets', () => {
  it('rounds to powers of two up to 64 KiB, then to eighths of a power of two', () => {
    expect(bucketBytes(1)).toBe(16);
    expect(bucketBytes(100)).toBe(128);
    expect(bucketBytes(65536)).toBe(65536);
    expect(bucketBytes(65537)).toBe(65536 + 8192);
    expect(bucketBytes(1_000_000)).toBe(1_048_576);
    expect(bucketBytes(600_000)).toBeLessThanOrEqual(600_000 * 1.125);
  });
});

describe.skipIf(!!unavailable)('webgpu: memory', () => {
  it('1,000 alloc/kernel/free cycles keep live buffers, bytes and the cache flat', async () => {
    const base = gpu.memory();
    let afterWarmup = base;
    for (let i = 0; i < 1000; i++) {
      const n = 10 + (i % 7) * 13;
      const a = input(gpu, 'float32', new Float32Array(n).fill(i), [n]);
      const b = output(gpu, 'float32', [n]);
      gpu.binary('add', a, 1, b);
      gpu.unary('exp', { ...b, shape: [n - 1], strides: [1] }, { ...a, shape: [n - 1] }); // in place on another buffer
      if (i % 250 === 0) expect((await readView(gpu, b))[0]).toBe(i + 1);
      gpu.free(a.buffer);
      gpu.free(b.buffer);
      if (i === 50) afterWarmup = gpu.memory();
    }
    await gpu.sync();
    const end = gpu.memory();
    expect(end.buffers).toBe(base.buffers);
    expect(end.bytes).toBe(base.bytes);
    expect(end.cachedBytes).toBe(afterWarmup.cachedBytes);
  });

  it('a freed buffer is returned to the pool and cannot be used', async () => {
    const a = input(gpu, 'float32', [1, 2, 3], [3]);
    const before = gpu.memory();
    gpu.free(a.buffer);
    const after = gpu.memory();
    expect(after.buffers).toBe(before.buffers - 1);
    expect(after.cachedBytes).toBeGreaterThan(before.cachedBytes ?? 0);
    gpu.free(a.buffer); // idempotent
    expect(gpu.memory().buffers).toBe(after.buffers);
    expect(() => gpu.unary('neg', a, output(gpu, 'float32', [3]))).toThrow(/use of a freed float32 buffer/);
  });

  it('reads back bool buffers as 0/1 bytes', async () => {
    const b = input(gpu, 'bool', [0, 1, 1, 0], [4]);
    const r = await gpu.read(b.buffer, 0, 4);
    expect(r).toBeInstanceOf(Uint8Array);
    expect(Array.from(r)).toEqual([0, 1, 1, 0]);
  });
});

describe.skipIf(!!unavailable)('webgpu: registry and core tensors', () => {
  it('initDevice registers a working device; tensors compute on it and read back', async () => {
    await kd.initDevice('webgpu');
    const avail = kd.availableDevices().find((d) => d.kind === 'webgpu');
    expect(avail).toEqual({ kind: 'webgpu', available: true, reason: null });
    const before = kd.memory().devices.webgpu?.tensors ?? 0;
    for (let i = 0; i < 20; i++) {
      kd.tidy(() => {
        const t = kd.tensor([[1, 2], [3, 4]], { device: 'webgpu' });
        return kd.sum(kd.mul(t, t));
      }).dispose();
    }
    const t = kd.tensor([[1, 2], [3, 4]], { device: 'webgpu' });
    const m = kd.mul(t, 2);
    const s = kd.sum(m);
    expect(await s.item()).toBe(20);
    expect(t.device).toBe('webgpu');
    for (const x of [t, m, s]) x.dispose();
    expect(kd.memory().devices.webgpu?.tensors ?? 0).toBe(before);
    const info = kd.getBackend('webgpu').info();
    expect(info.name).toBe('webgpu');
    expect(info.notes?.some((n) => n.startsWith('shader-f16:'))).toBe(true);
  });

  it('a lost device gives clear errors on later calls', async () => {
    const r = await requestAdapterAndDevice();
    const be = new WebGPUBackend(new Engine(r.device, r.adapter.info, {}, r.gpu), { origin: 'test', notes: [] });
    const x = be.alloc('float32', 4);
    r.device.destroy();
    await r.device.lost;
    expect(() => be.alloc('float32', 4)).toThrow(/WebGPU device was lost/);
    expect(() => be.fill({ buffer: x, dtype: 'float32', shape: [4], strides: [1], offset: 0 }, 1)).toThrow(/fill: the WebGPU device was lost/);
    await expect(be.read(x, 0, 4)).rejects.toThrow(/device was lost/);
  });
});

describe('webgpu: unavailable environments', () => {
  const run = (code: string, env: Record<string, string>): string =>
    execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: pkgDir, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

  it('with no adapter, init fails with what to install, availableDevices says why, and cpu keeps working', () => {
    const out = run(
      `import * as kd from '@kindling/core';
       import '@kindling/backend-cpu';
       import './dist/index.js';
       let msg = 'no error';
       try { await kd.initDevice('webgpu'); } catch (e) { msg = e.message; }
       const a = kd.availableDevices().find((d) => d.kind === 'webgpu');
       const t = kd.tensor([1, 2, 3]);
       console.log(JSON.stringify({ msg, a, sum: await kd.sum(t).item() }));`,
      { VK_ICD_FILENAMES: '/nonexistent/icd.json' },
    );
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.msg).toMatch(/no WebGPU adapter \(VK_ICD_FILENAMES=\/nonexistent\/icd.json\).*libvulkan1 chromium/);
    expect(r.a.available).toBe(false);
    expect(r.a.reason).toMatch(/no WebGPU adapter/);
    expect(r.sum).toBe(6);
  });

  it("getBackend('webgpu') before initDevice explains the async initialisation", () => {
    const out = run(
      `import * as kd from '@kindling/core';
       import './dist/index.js';
       try { kd.getBackend('webgpu'); console.log('no error'); } catch (e) { console.log(e.message); }`,
      {},
    );
    expect(out).toMatch(/await initDevice\('webgpu'\)/);
  });
});
