/**
 * The CUDA backend on this machine. Without a GPU (CI here) the addon still builds and loads, and
 * the 'cuda' device must say why it cannot run, while cpu keeps working; those checks always run.
 * A few ops against cpu are in cuda-ops.test.ts (on the GPU, else on the CUDA emulator).
 */
import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as kd from '@kindling/core';
import '@kindling/autograd';
import '@kindling/backend-cpu';
import { addonStatus, cudaUnavailableReason } from '../dist/index.js';

const reason = cudaUnavailableReason();
if (reason) console.warn(`[@kindling/backend-cuda] cuda unavailable here: ${reason}`);

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
    // The workspace builds the addon once, into the platform package, and loads it from there.
    const statusFile = new URL('../../backend-cuda-linux-x64-gnu/build/native-status.json', import.meta.url);
    if (!nvcc) {
      // Without nvcc the build records why it skipped, and the device quotes it.
      expect(reason).toMatch(/not built|addon/);
      return;
    }
    const status = JSON.parse(readFileSync(statusFile, 'utf8')) as { built: boolean; reason?: string };
    expect(status.built, status.reason).toBe(true);
    const s = addonStatus();
    expect(s.addon).not.toBeNull();
    expect(s.path).toMatch(/backend-cuda-linux-x64-gnu\/kindling_cuda\.node$/);
    if (s.reason) expect(s.reason).toMatch(/driver|device|GPU/i);
  });
});
