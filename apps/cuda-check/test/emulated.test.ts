/**
 * The device check's own parts run on the CUDA emulator (packages/backend-cuda/emu): the cuda
 * backend's kernels, built for the CPU, against cpu on the large shapes (the 128-tile and split-K
 * GEMMs, two-stage reductions, big convolutions, ...) and through the error paths, so the check
 * itself and the kernels' logic are exercised on every machine, not only on a GPU host.
 * Conformance on the emulator runs in apps/conformance's test. Timings mean nothing here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EMULATOR_ADDON as emulator, EMULATOR_ENV } from '@kindling/backend-cuda/emulator';

const check = fileURLToPath(new URL('../dist/check.js', import.meta.url));
const missing = existsSync(emulator) ? null : `${emulator} was not built (g++ missing?)`;
if (missing) console.warn(`cuda-check on the CUDA emulator skipped: ${missing}`);

function run(flag: string, env: Record<string, string> = {}): string {
  const r = spawnSync(process.execPath, [check, flag], {
    encoding: 'utf8',
    env: { ...process.env, ...EMULATOR_ENV, ...env },
    timeout: 280_000,
  });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^CUDA on CUDA emulator on the CPU /m);
  return r.stdout;
}

describe.skipIf(missing !== null)('cuda-check on the CUDA emulator', () => {
  it('cuda matches cpu on every large-shape case', () => {
    const out = run('--versus');
    expect(out.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(out).toMatch(/^versus cpu: (\d+) passed, 0 failed$/m);
    expect(Number(/^versus cpu: (\d+) passed/m.exec(out)![1])).toBeGreaterThanOrEqual(19);
  }, 300_000);

  it('with KINDLING_CUDA_FP32_TENSOR_CORES=1, FP32 products as 3xTF32 on (emulated) tensor cores still match cpu within FP32 tolerances', () => {
    const out = run('--versus', { KINDLING_CUDA_FP32_TENSOR_CORES: '1' });
    expect(out.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(out).toMatch(/^versus cpu: (\d+) passed, 0 failed$/m);
  }, 300_000);

  it('with allowTF32, runs the convolutions\' products on (emulated) TF32 tensor cores, within TF32\'s error of cpu', () => {
    const out = run('--tf32');
    expect(out.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(out).toMatch(/^tf32 versus cpu: 3 passed, 0 failed$/m);
  }, 300_000);

  it('reports a device-side index error at the next read, an impossible allocation, and an absent device', () => {
    const out = run('--errors');
    expect(out.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(out).toMatch(/^errors: 3 passed, 0 failed$/m);
  }, 300_000);
});
