import { describe, expect, it } from 'vitest';
import * as kd from 'kindling';
import { useEmulatorWithoutGpu } from '@kindling/backend-cuda/emulator';
import { plainLoopPeak } from './plain-loop.js';

/** A tiny LeNet-like conv net written with the functional API (nn is a separate package). */
function makeParams(device: string) {
  kd.manualSeed(1);
  // Inside tidy, so no intermediate is left for the GC to collect while memory is being counted.
  const p = (shape: number[], fanIn: number) =>
    kd.tidy(() => kd.keep(kd.rand(shape, { device }).sub(0.5).mul(2 / Math.sqrt(fanIn)).detach().requiresGrad_()));
  return { w1: p([4, 1, 3, 3], 9), b1: p([4], 9), w2: p([10, 4 * 4 * 4], 64), b2: p([10], 64) };
}

/** One training step; returns the loss as a device tensor (read back only where a test needs it). */
function step(ps: ReturnType<typeof makeParams>, x: kd.Tensor, y: kd.Tensor, lr: number): kd.Tensor {
  return kd.tidy(() => {
    let h = kd.conv2d(x, ps.w1, ps.b1, { padding: 1 }).relu();
    h = kd.maxPool2d(h, { kernelSize: 2 });
    const logits = kd.linear(h.flatten(1), ps.w2, ps.b2);
    const loss = kd.crossEntropy(logits, y);
    loss.backward();
    kd.noGrad(() => {
      for (const t of Object.values(ps)) {
        t.sub_(t.grad!.mul(lr));
        t.grad!.zero_();
      }
    });
    return loss.detach();
  });
}

// Every device this machine has: cpu always, webgpu where an adapter exists (SwiftShader in CI).
let webgpu: string | null = null;
try {
  await import('@kindling/backend-webgpu');
  await kd.initDevice('webgpu');
  webgpu = 'webgpu';
} catch (e) {
  console.warn(`[memory] webgpu steps skipped: ${(e as Error).message}`);
}
const devices = ['cpu', ...(webgpu ? [webgpu] : [])];

// cuda: a GPU, or without one the addon's own kernels on the CPU emulator that `pnpm build` makes
// (as apps/conformance and apps/fuzz run them); it must be chosen before the backend loads.
useEmulatorWithoutGpu();
const cudaReason = (await import('@kindling/backend-cuda')).cudaUnavailableReason();
if (cudaReason) console.warn(`[memory] cuda plain loop skipped: ${cudaReason}`);

describe('memory', () => {
  for (const device of devices) {
    it(`1,000 forward + backward steps of a small conv net keep live tensors, buffers and bytes flat (${device})`, async () => {
      const ps = makeParams(device);
      const x = kd.rand([8, 1, 8, 8], { device });
      const y = kd.randint(0, 10, [8], { device });
      const firstT = step(ps, x, y, 0.1);
      const first = await firstT.item();
      firstT.dispose();
      await x.backend.sync();
      const before = kd.memory();
      const cachedBefore = before.devices[device]!.cachedBytes;
      for (let i = 0; i < 1000; i++) step(ps, x, y, 0.1).dispose();
      const lastT = step(ps, x, y, 0.1);
      const last = await lastT.item();
      lastT.dispose();
      const after = kd.memory();
      expect(after.numTensors).toBe(before.numTensors);
      expect(after.numBytes).toBe(before.numBytes);
      expect(after.devices[device]!.buffers).toBe(before.devices[device]!.buffers);
      // A caching allocator may keep what one step uses, but it must not grow with the steps.
      expect(after.devices[device]!.cachedBytes).toBeLessThanOrEqual(Math.max(cachedBefore, 1 << 20));
      // It also learned something: the loss on this fixed batch fell.
      expect(last).toBeLessThan(first * 0.5);
      for (const t of [...Object.values(ps), x, y]) {
        t.grad?.dispose();
        t.dispose();
      }
    });
  }

  it('dispose, tidy (sync and async), keep and using release exactly what they should', async () => {
    const base = kd.memory().numTensors;
    const kept = kd.tidy(() => {
      const a = kd.ones([3]);
      const b = a.add(1);
      kd.keep(a.mul(5));
      return b;
    });
    expect(kd.memory().numTensors).toBe(base + 2); // b and the kept product
    const r = await kd.tidy(async () => {
      const a = kd.ones([3]);
      await a.data();
      return a.mul(3);
    });
    expect(kd.memory().numTensors).toBe(base + 3);
    {
      using t = kd.zeros([10]);
      expect(t.size).toBe(10);
      expect(kd.memory().numTensors).toBe(base + 4);
    }
    expect(kd.memory().numTensors).toBe(base + 3);
    kept.dispose();
    r.dispose();
    // The kept product is the only one left; views keep storage alive until the last one goes.
    expect(kd.memory().numTensors).toBe(base + 1);
    const base6 = kd.arange(0, 6);
    const s = base6.reshape([2, 3]);
    const v = s.transpose(0, 1);
    const bytes = kd.memory().numBytes;
    s.dispose();
    base6.dispose();
    expect(kd.memory().numBytes).toBe(bytes);
    expect(v.arraySync()).toEqual([[0, 3], [1, 4], [2, 5]]);
    v.dispose();
    expect(kd.memory().numBytes).toBe(bytes - 24);
  });

  it('the autograd graph is freed when its outputs are disposed without backward', () => {
    const w = kd.keep(kd.ones([16, 16], { requiresGrad: true }));
    const before = kd.memory();
    for (let i = 0; i < 50; i++) {
      const y = w.matmul(w).relu().sum();
      y.dispose();
    }
    // Intermediates created outside tidy are still live handles; the graph's saved tensors are not.
    const saved = kd.memory().numBytes - before.numBytes;
    kd.tidy(() => {
      for (let i = 0; i < 50; i++) w.matmul(w).relu().sum();
    });
    expect(kd.memory().numBytes - before.numBytes).toBe(saved);
  });

  for (const device of ['cpu', ...(cudaReason ? [] : ['cuda'])]) {
    it(`a loop written as in PyTorch (no tidy, no dispose, readbacks through .cpu()) keeps live memory bounded (${device})`, async () => {
      const ps = makeParams(device);
      // 256 images of 8×8 through a 4-channel conv: about 0.8 MB of tensors dropped per step.
      const x = kd.keep(kd.rand([256, 1, 8, 8]));
      const y = kd.keep(kd.randint(0, 10, [256]));
      const plainStep = async () => {
        const X = x.to(device);
        const Y = y.to(device);
        let h = kd.conv2d(X, ps.w1, ps.b1, { padding: 1 }).relu();
        h = kd.maxPool2d(h, { kernelSize: 2 });
        const logits = kd.linear(h.flatten(1), ps.w2, ps.b2);
        const loss = kd.crossEntropy(logits, Y);
        for (const t of Object.values(ps)) t.grad = null;
        loss.backward();
        kd.noGrad(() => {
          for (const t of Object.values(ps)) t.sub_(t.grad!.mul(0.1));
        });
        return [await loss.cpu().item(), await logits.argmax(1).eq(Y).float().sum().cpu().item()];
      };
      const key = kd.canonicalDevice(device); // 'cuda' is reported as 'cuda:0'
      const live = () => kd.memory().devices[key]?.bytes ?? 0;
      // Readbacks also yield to finalizers every 32 MiB allocated.
      const { perStep, steps, peak, bound } = await plainLoopPeak(plainStep, live, { minPerStep: 500_000, slackSteps: 10, leakFactor: 3 });
      console.log(`[memory] plain loop on ${device}: ${(perStep / 2 ** 20).toFixed(2)} MiB per step, ${steps} steps, peak ${(peak / 2 ** 20).toFixed(1)} MiB live`);
      expect(peak).toBeLessThan(bound);
    }, 300_000);
  }
});
