import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kd from 'kindling';
import '@kindling/backend-webgpu';
import { d2lInit, lenetBND2l } from '../src/models.js';
import { parseOptions, type TrainOptions } from '../src/options.js';
import { train } from '../src/train.js';

let unavailable: string | null = null;
try {
  await kd.initDevice('webgpu');
} catch (e) {
  unavailable = (e as Error).message;
}
if (unavailable) console.warn(`[trainer] webgpu tests skipped: ${unavailable}`);
const hasData = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');

/** A model's state dict read back to host arrays. */
async function weights(device: string): Promise<Map<string, number[]>> {
  kd.setDefaultDevice(device);
  kd.manualSeed(0);
  const net = lenetBND2l();
  d2lInit(net);
  const out = new Map<string, number[]>();
  for (const [k, t] of net.stateDict()) out.set(k, Array.from(await t.data()));
  net.dispose();
  kd.setDefaultDevice('cpu');
  return out;
}

describe.skipIf(!!unavailable)('training on webgpu', () => {
  it('the same seed gives bit-identical initial weights and dropout masks on cpu and webgpu', async () => {
    expect(await weights('webgpu')).toEqual(await weights('cpu'));
    const mask = async (device: string) => {
      kd.manualSeed(42);
      const x = kd.ones([64, 64], { device });
      const y = kd.dropout(x, { p: 0.5, training: true });
      const d = Array.from(await y.data());
      x.dispose();
      y.dispose();
      return d;
    };
    const m = await mask('cpu');
    expect(await mask('webgpu')).toEqual(m);
    expect(m.filter((v) => v === 0).length).toBeGreaterThan(1500);
  });

  it.skipIf(!hasData)('LeNet-BN, one epoch on 10,000 real images: webgpu test accuracy within 2 points of cpu', async () => {
    const run = async (backend: string) => {
      const o: TrainOptions = {
        ...(parseOptions(['--model', 'lenet-bn-d2l', '--epochs', '1', '--subset', '10000', '--test-subset', '2000', '--quiet']) as TrainOptions),
        backend,
        out: mkdtempSync(join(tmpdir(), `kd-${backend}-`)),
      };
      const r = await train(o, () => undefined);
      kd.setDefaultDevice('cpu');
      return r.history[0]!;
    };
    const cpu = await run('cpu');
    const gpu = await run('webgpu');
    console.log(`LeNet-BN 1 epoch / 10k images: cpu test acc ${cpu.testAcc.toFixed(4)}, webgpu ${gpu.testAcc.toFixed(4)}`);
    expect(cpu.testAcc).toBeGreaterThan(0.25); // chance is 0.10; 40 iterations in
    expect(Math.abs(gpu.testAcc - cpu.testAcc)).toBeLessThanOrEqual(0.02);
  }, 600_000);
});
