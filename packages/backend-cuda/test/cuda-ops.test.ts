/**
 * A few cuda ops against cpu, through vitest: on the GPU when this machine has one, else on the
 * CUDA emulator (the addon's own kernels built for the CPU, see emu/), so they run everywhere.
 * The full conformance suite and the large-shape comparisons run in apps/conformance and
 * apps/cuda-check, also on both.
 */
import { describe, expect, it } from 'vitest';
import * as kd from '@kindling/core';
import '@kindling/autograd';
import '@kindling/backend-cpu';
import { useEmulatorWithoutGpu } from '../dist/emulator.js';
import { plainLoopPeak } from '../../kindling/test/plain-loop.js';

// This file runs in its own process (vitest's forks pool), so the choice stays here.
const runsOn = useEmulatorWithoutGpu();
const { cudaUnavailableReason } = await import('../dist/index.js');
const reason = cudaUnavailableReason();
if (reason) console.warn(`[@kindling/backend-cuda] cuda op tests skipped: cuda unavailable: ${reason}`);
else console.log(`[@kindling/backend-cuda] cuda op tests on ${runsOn === 'emulator' ? 'the CUDA emulator' : runsOn === 'gpu' ? 'the GPU' : process.env.KINDLING_CUDA_ADDON}`);

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

  it('a loop that drops its tensors without dispose keeps the device bytes bounded', async () => {
    // The seed's shape of loop: a cpu batch moved with .to('cuda'), a small step with a graph,
    // the loss read back with .cpu().item(); nothing disposed. The batch (4 MiB) is the bulk of
    // what each step leaves on the device, so the check needs few (emulated) kernels.
    const batch = kd.keep(kd.rand([1024, 1024]));
    const w = kd.keep(kd.randn([1024, 4], { device: 'cuda' }).requiresGrad_(true));
    const step = async () => {
      const X = batch.to('cuda');
      const l = X.narrow(0, 0, 8).matmul(w).square().mean();
      w.grad = null;
      l.backward();
      return l.cpu().item();
    };
    const bytes = () => kd.memory().devices['cuda:0']?.bytes ?? 0;
    const { perStep, steps, peak, bound } = await plainLoopPeak(step, bytes, { minPerStep: 4 * 2 ** 20, slackSteps: 4, leakFactor: 2 });
    console.log(`[cuda] plain loop: ${(perStep / 2 ** 20).toFixed(2)} MiB per step on the device, ${steps} steps, peak ${(peak / 2 ** 20).toFixed(1)} MiB live`);
    expect(peak).toBeLessThan(bound);
  });
});
