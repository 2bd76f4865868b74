/**
 * The project's conformance runner on the PyTorch golden files, once per CPU path: the portable
 * TypeScript kernels (KINDLING_CPU_NATIVE=0) and the native addon (skipped, with the reason, when
 * it is not built). Each path runs with its fused kernels and with --reference (core's reference
 * decompositions over the primitives), and must end with "N passed, 0 failed".
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/index.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = resolve(repo, 'apps/conformance/dist/cli.js');
const golden = resolve(repo, '../shared/golden');
const nativeBackend = new CpuBackend({ native: true });
const avx512 = /AVX-512/.test(nativeBackend.info().implementation);

const missing = !existsSync(cli) ? `${cli} is not built (pnpm build)` : !existsSync(golden) ? `no golden files at ${golden}` : '';
const nativeSkip = missing || (nativeBackend.isNative ? '' : nativeBackend.info().implementation);

function run(env: Record<string, string>, reference: boolean): string {
  const args = [cli, '--dir', golden, '--backend', 'cpu', ...(reference ? ['--reference'] : [])];
  try {
    return execFileSync(process.execPath, args, { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return `${err.stdout ?? ''}${err.stderr ?? ''}`;
  }
}

function expectAllPassed(output: string): void {
  const last = output.trim().split('\n').slice(-1)[0] ?? '';
  const m = /^(\d+) passed, (\d+) failed/.exec(last);
  expect(m, output.slice(-2000)).not.toBeNull();
  expect(Number(m![2]), output.slice(-2000)).toBe(0);
  expect(Number(m![1])).toBeGreaterThan(0);
}

describe('conformance on the golden files, per CPU path', () => {
  for (const reference of [false, true]) {
    const mode = reference ? ' --reference' : '';
    it.skipIf(!!missing)(`portable TypeScript path (KINDLING_CPU_NATIVE=0)${mode}${missing ? ` (skipped: ${missing})` : ''}`, () => {
      expectAllPassed(run({ KINDLING_CPU_NATIVE: '0' }, reference));
    });
    it.skipIf(!!nativeSkip)(`native path${mode}${nativeSkip ? ` (skipped: ${nativeSkip})` : ''}`, () => {
      const out = run({ KINDLING_CPU_NATIVE: '1' }, reference);
      expectAllPassed(out);
    });
    // On an AVX-512 machine the default above runs the AVX-512 kernels: check the AVX2 ones too.
    const avx2Skip = nativeSkip || (avx512 ? '' : 'this CPU has no AVX-512: the run above already used AVX2');
    it.skipIf(!!avx2Skip)(`native path, AVX2 kernels (KINDLING_CPU_AVX512=0)${mode}${avx2Skip ? ` (skipped: ${avx2Skip})` : ''}`, () => {
      expectAllPassed(run({ KINDLING_CPU_NATIVE: '1', KINDLING_CPU_AVX512: '0' }, reference));
    });
  }
});
