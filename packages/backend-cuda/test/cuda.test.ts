/**
 * The CUDA backend on this machine. Without a GPU (CI here) the addon still builds and loads, and
 * the 'cuda' device must say why it cannot run, while cpu keeps working; those checks always run.
 * With a GPU, a few ops are compared against the cpu backend (the full conformance suite and the
 * large-shape comparisons run through apps/cuda-check on GPU hosts). Skips print their reason.
 */
import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as kd from '@kindling/core';
import '@kindling/autograd';
import '@kindling/backend-cpu';
import { addonStatus, cudaUnavailableReason } from '../dist/index.js';

const reason = cudaUnavailableReason();
if (reason) console.warn(`[@kindling/backend-cuda] GPU tests skipped: cuda unavailable: ${reason}`);

describe('cuda: availability', () => {
  it('reports a reason instead of failing when CUDA cannot run, and cpu keeps working', () => {
    if (reason === null) {
      expect(addonStatus().deviceCount).toBeGreaterThan(0);
      return;
    }
    expect(() => kd.zeros([2], { device: 'cuda' })).toThrow(/cuda unavailable: /);
    expect(() => kd.zeros([2], { device: 'cuda:1' })).toThrow(/cuda unavailable: /);
    const y = kd.add(kd.ones([3]), 1);
    expect(Array.from(y.dataSync())).toEqual([2, 2, 2]);
  });

  it('builds and loads the addon wherever nvcc exists, even without a driver', () => {
    const nvcc = ['/usr/local/cuda/bin/nvcc'].some((p) => existsSync(p));
    const statusFile = new URL('../build/native-status.json', import.meta.url);
    if (!nvcc) {
      // Without nvcc the build records why it skipped, and the device quotes it.
      expect(reason).toMatch(/not built|addon/);
      return;
    }
    const status = JSON.parse(readFileSync(statusFile, 'utf8')) as { built: boolean; reason?: string };
    expect(status.built, status.reason).toBe(true);
    const s = addonStatus();
    expect(s.addon).not.toBeNull();
    if (s.reason) expect(s.reason).toMatch(/driver|device|GPU/i);
  });
});

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
});
