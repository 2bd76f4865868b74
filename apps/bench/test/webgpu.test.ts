/**
 * `--backend webgpu` and the `tfjs-webgpu` anchor: option parsing always; one tiny training step of
 * each on the machine's WebGPU adapter (SwiftShader on a machine without a GPU) when there is one,
 * each in its own contender process as the bench runs them. No timing is asserted. Without an
 * adapter the step tests are skipped and the reason is printed.
 */
import { describe, expect, it } from 'vitest';
import {
  WORKLOADS, failureReason, formatTable, parseOptions, probeWebGPU, spawnContender, type ContenderSpec, type Result,
} from '../src/index.js';

describe('webgpu options', () => {
  it('accepts --backend webgpu and adds the tfjs-webgpu anchor to the defaults only then', () => {
    const o = parseOptions(['--backend', 'webgpu', '--model', 'lenet', '--quick']);
    expect(o.backends).toEqual(['webgpu']);
    expect(o.against).toEqual(['tfjs-cpu', 'tfjs-wasm', 'tfjs-webgpu', 'pytorch']);
    expect(parseOptions(['--backend', 'cpu,webgpu']).against).toContain('tfjs-webgpu');
    expect(parseOptions(['--backend', 'cpu']).against).not.toContain('tfjs-webgpu');
    expect(parseOptions([]).against).not.toContain('tfjs-webgpu');
  });

  it('accepts tfjs-webgpu in --against, with any backend', () => {
    expect(parseOptions(['--backend', 'webgpu', '--against', 'tfjs-webgpu']).against).toEqual(['tfjs-webgpu']);
    expect(parseOptions(['--against=tfjs-webgpu,pytorch']).against).toEqual(['tfjs-webgpu', 'pytorch']);
    expect(parseOptions(['--backend', 'webgpu', '--against', 'none']).against).toEqual([]);
    expect(() => parseOptions(['--against', 'tfjs-webgl'])).toThrow(/unknown anchor 'tfjs-webgl'/);
  });

  it("states a missing TF.js kernel as 'cannot', other failures as 'failed'", () => {
    expect(failureReason("Kernel 'Conv2DBackpropFilter' not registered for backend 'webgpu'")).toBe(
      "cannot: no Conv2DBackpropFilter kernel in TF.js's webgpu backend",
    );
    expect(failureReason('device lost')).toBe('failed: device lost');
  });

  it('prints the ratio to TF.js webgpu and the shared adapter', () => {
    const base = { workload: 'lenet-train' as const, unit: 'img/s', times: [1], status: 'ok' as const, adapter: 'google / swiftshader' };
    const results: Result[] = [
      { ...base, contender: 'kindling:webgpu', label: 'Kindling webgpu', isKindling: true, summary: { median: 180, min: 170, max: 190, n: 2 } },
      { ...base, contender: 'tfjs:webgpu', label: 'TF.js webgpu', isKindling: false, summary: { median: 25, min: 24, max: 26, n: 2 } },
    ];
    const t = formatTable(results);
    expect(t).toContain('× TF.js webgpu');
    expect(t).toContain('7.20×');
    expect(t).toContain('WebGPU adapter of Kindling webgpu and TF.js webgpu: google / swiftshader');
  });
});

const probe = probeWebGPU();
if (!probe.ok) console.warn(`[@kindling/bench] webgpu step tests skipped: ${probe.reason}`);

describe.skipIf(!probe.ok)(`one tiny webgpu training step per contender${probe.ok ? '' : ` (skipped: ${probe.reason})`}`, () => {
  const contenders: ContenderSpec[] = [
    { id: 'kindling:webgpu', label: 'Kindling webgpu', isKindling: true },
    { id: 'tfjs:webgpu', label: 'TF.js webgpu', isKindling: false },
  ];
  for (const spec of contenders) {
    it(`${spec.label}: LeNet, batch 4, on the probed adapter`, async () => {
      const proc = spawnContender(spec, WORKLOADS['lenet-train'], null);
      try {
        const setup = await proc.request({ cmd: 'setup', workload: 'lenet-train', batch: 4, dataDir: null }, 120);
        expect(setup.ok, setup.ok ? '' : setup.error).toBe(true);
        if (!setup.ok || !('info' in setup)) return;
        expect(setup.adapter).toBe(probe.ok ? probe.adapter : '');
        const run = await proc.request({ cmd: 'run', maxSteps: 1, minSeconds: 0 }, 120);
        expect(run.ok, run.ok ? '' : run.error).toBe(true);
        if (!run.ok || !('times' in run)) return;
        expect(run.times).toHaveLength(1);
        expect(run.times[0]).toBeGreaterThan(0);
      } finally {
        await proc.close();
      }
    });
  }
});
