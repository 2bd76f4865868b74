import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EMULATOR_ADDON as emulator, EMULATOR_ENV } from '@kindling/backend-cuda/emulator';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const golden = fileURLToPath(new URL('../../../../shared/golden', import.meta.url));

function run(args: string[], env: Record<string, string> = {}): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, KINDLING_CPU_FUSED: '', ...env } }) };
  } catch (e) {
    const err = e as { status: number; stdout: string };
    return { code: err.status, out: err.stdout };
  }
}

const closing = (out: string) => /^(\d+) passed, (\d+) failed$/m.exec(out.trim().split('\n').pop()!)!;
const FAMILIES = ['elementwise', 'reductions', 'shape', 'matmul', 'conv2d', 'pooling', 'batchnorm', 'dropout', 'losses', 'modules', 'optimizers', 'end_to_end'];

// The CUDA backend's own kernels built for the CPU by packages/backend-cuda/scripts/build-emulator.mjs:
// the cuda device runs them through the emulator, so every GPU-less machine checks their logic.
if (!existsSync(emulator)) console.warn(`conformance on the CUDA emulator skipped: ${emulator} was not built (g++ missing?)`);

describe('conformance runner on ../shared/golden', () => {
  // Every backend this machine has (cpu always; webgpu on SwiftShader where Vulkan + Chromium are
  // installed; cuda on a GPU host, and the CUDA kernels on the emulator everywhere), with its fused
  // kernels and with core's decompositions.
  const targets = [
    { backend: 'cpu', label: 'cpu', env: {} },
    { backend: 'webgpu', label: 'webgpu', env: {} },
    { backend: 'cuda', label: 'cuda', env: {} },
    { backend: 'cuda', label: 'cuda (its kernels on the CPU emulator)', env: EMULATOR_ENV, missing: !existsSync(emulator) },
    // The golden convolutions have few channels, so they run as direct convolutions; this covers
    // the im2col path on them too.
    { backend: 'cuda', label: 'cuda (emulated, im2col convolutions only)', env: { ...EMULATOR_ENV, KINDLING_CUDA_DIRECT_CONV: '0' }, missing: !existsSync(emulator), fusedOnly: true },
  ];
  for (const { backend, label, env, missing, fusedOnly } of targets) {
    for (const mode of ['fused kernels', 'reference decompositions'] as const) {
      if (fusedOnly && mode !== 'fused kernels') continue;
      it.skipIf(missing)(`passes every case of every golden family on ${label} (${mode}), or says why ${backend} is unavailable`, (ctx) => {
        const { code, out } = run(['--dir', golden, '--backend', backend, '--verbose', ...(mode === 'reference decompositions' ? ['--reference'] : [])], env);
        const skip = new RegExp(`^SKIP backend ${backend}: (.+)$`, 'm').exec(out);
        if (skip) {
          expect(backend).not.toBe('cpu');
          expect(env.KINDLING_CUDA_ADDON).toBeUndefined();
          console.warn(`conformance on ${backend} skipped: ${skip[1]}`);
          ctx.skip(`${backend} unavailable: ${skip[1]}`);
        }
        const m = closing(out);
        expect(out.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([]);
        expect(Number(m[2])).toBe(0);
        expect(code).toBe(0);
        expect(out).not.toMatch(/^SKIP family/m);
        for (const family of FAMILIES) {
          const file = JSON.parse(readFileSync(join(golden, `${family}.json`), 'utf8')) as { cases: { name: string }[] };
          for (const c of file.cases) expect(out).toContain(`ok   [${backend}] ${family}/${c.name}`);
        }
      }, 300_000);  // the emulator takes about 20 s (fused) and 45 s (reference) on 2 cores
    }
  }

  it('leaves no live tensor behind: every case frees what it created', async () => {
    const kd = await import('kindling');
    const { runConformance } = await import('@kindling/conformance');
    await import('@kindling/conformance/nn-families');
    await runConformance({ dir: golden, backends: ['cpu'] }); // warm-up: lazily created state
    // Readbacks let the GC's finalizers run (core's turn.ts), so tensors some earlier code dropped
    // may be freed during the measured run: collect everything collectable before each count.
    const { setFlagsFromString } = await import('node:v8');
    const { runInNewContext } = await import('node:vm');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const settled = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setImmediate(r)); // finalizers run in a task of their own
      }
      return kd.memory();
    };
    const before = await settled();
    const report = await runConformance({ dir: golden, backends: ['cpu'] });
    expect(report.failed).toBe(0);
    const after = await settled();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
  });

  it('runs every available backend and reports the others with the reason, never silently', () => {
    // One family is enough here; each backend package runs the whole suite in its own tests.
    const dir = mkdtempSync(join(tmpdir(), 'kd-conf-all-'));
    writeFileSync(join(dir, 'elementwise.json'), readFileSync(join(golden, 'elementwise.json')));
    const { code, out } = run(['--dir', dir, '--verbose']);
    expect(code).toBe(0);
    for (const backend of ['webgpu', 'cuda']) {
      const skipped = new RegExp(`^SKIP backend ${backend}: .+`, 'm').test(out);
      const ran = out.includes(`ok   [${backend}] elementwise/`);
      expect(skipped !== ran, `${backend} must either run or be skipped with a reason`).toBe(true);
    }
    expect(out).toContain('ok   [cpu] elementwise/');
  });

  it('fails a case whose expectation is wrong, and skips (not passes) an unknown family', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-conf-'));
    const src = JSON.parse(readFileSync(join(golden, 'elementwise.json'), 'utf8'));
    src.cases = src.cases.slice(0, 2);
    src.cases[1].outputs.out.data[0] += 0.01;
    writeFileSync(join(dir, 'elementwise.json'), JSON.stringify(src));
    writeFileSync(join(dir, 'mystery.json'), JSON.stringify({ family: 'mystery', cases: [{ name: 'm1', op: 'frobnicate', check: 'values', seed: 1 }] }));
    writeFileSync(join(dir, 'README.md'), 'not a golden file');
    const { code, out } = run(['--dir', dir, '--backend', 'cpu']);
    expect(code).toBe(1);
    expect(out).toMatch(new RegExp(`^FAIL \\[cpu\\] elementwise/${src.cases[1].name}: output out: 1/\\d+ elements off .*max abs`, 'm'));
    expect(out).toContain('SKIP family mystery: no handler for op(s) frobnicate');
    expect(closing(out).slice(1)).toEqual(['1', '1']);
  });
});
