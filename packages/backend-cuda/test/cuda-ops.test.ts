/**
 * A few cuda ops against cpu, through vitest: on the GPU when this machine has one, else on the
 * CUDA emulator (the addon's own kernels built for the CPU, see emu/), so they run everywhere.
 * The full conformance suite and the large-shape comparisons run in apps/conformance and
 * apps/cuda-check, also on both.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kd from '@kindling/core';
import '@kindling/autograd';
import '@kindling/backend-cpu';

const emulator = fileURLToPath(new URL('../build/emu/kindling_cuda_emu.node', import.meta.url));
const gpu = existsSync('/proc/driver/nvidia/version');
if (!gpu && existsSync(emulator)) {
  // This file runs in its own process (vitest's forks pool), so the choice stays here.
  Object.assign(process.env, { KINDLING_CUDA_ADDON: emulator, KINDLING_CUDA_CUBLAS: '0', KINDLING_CUDA_CUDNN: '0' });
}
const { cudaUnavailableReason } = await import('../dist/index.js');
const reason = cudaUnavailableReason();
if (reason) console.warn(`[@kindling/backend-cuda] cuda op tests skipped: cuda unavailable: ${reason}`);
else console.log(`[@kindling/backend-cuda] cuda op tests on ${gpu ? 'the GPU' : 'the CUDA emulator'}`);

describe.skipIf(reason !== null)('cuda: ops against cpu', () => {
  it('matches cpu on a small conv net step with gradients', async () => {
    const run = async (device: string): Promise<Float32Array[]> => {
      kd.manualSeed(3);
      const x = kd.randn([4, 3, 12, 12], { device });
      const w = kd.randn([5, 3, 3, 3], { device }).requiresGrad_(true);
      const y = kd.crossEntropy(kd.flatten(kd.avgPool2d(kd.sigmoid(kd.conv2d(x, w, null, { padding: 1 })), { kernelSize: 2 }), 1), kd.randint(0, 5 * 36, [4], { device }));
      y.backward();
      return [(await y.data()) as Float32Array, (await w.grad!.data()) as Float32Array];
    };
    const [gl, gw] = await run('cuda');
    const [cl, cw] = await run('cpu');
    expect(Math.abs(gl![0]! - cl![0]!)).toBeLessThan(1e-4);
    for (let i = 0; i < cw!.length; i++) expect(Math.abs(gw![i]! - cw![i]!)).toBeLessThan(1e-4);
  });

  it('reports a bad gather index at the next read, naming the op', async () => {
    const x = kd.randn([2, 3], { device: 'cuda' });
    const bad = kd.gather(x, 1, kd.tensor([[0, 7], [1, 2]], { dtype: 'int32', device: 'cuda' }));
    await expect(bad.data()).rejects.toThrow(/gather: an index is out of bounds/);
  });

  it(".cpu() and .to('cpu') inside the seed's expressions give the values (pending until the read arrives)", async () => {
    const x = kd.tensor([[1, 2], [3, 4]], { dtype: 'float32', device: 'cuda' });
    const c = x.sum().cpu();
    expect(c.device).toBe('cpu');
    expect(await c.item()).toBe(10);
    expect(Array.from(await x.to('cpu').data())).toEqual([1, 2, 3, 4]);
    const y = kd.tensor([1, 1], { dtype: 'int32', device: 'cuda' });
    expect(await x.argmax(1).eq(y).float().sum().cpu().item()).toBe(2);
    const p = x.cpu();
    expect(() => p.mul(2)).toThrow(/^mul: tensor \[2,2\] float32 on cpu is still arriving from cuda:0/);
    expect((await p.ready()).mul(2).arraySync()).toEqual([[2, 4], [6, 8]]);
  });
});
