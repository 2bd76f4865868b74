/**
 * The project's conformance runner on the PyTorch golden files, once per CPU path: the portable
 * TypeScript kernels (KINDLING_CPU_NATIVE=0) and the native addon at each ISA level this CPU has
 * (KINDLING_CPU_ISA; skipped, with the reason, when
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
const best = /AVX-512/.test(nativeBackend.info().implementation) ? 'avx512' : /AVX2/.test(nativeBackend.info().implementation) ? 'avx2' : 'baseline';

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
    // The default above runs the best ISA level this CPU has; the lower ones run here, forced.
    for (const level of ['avx2', 'baseline'] as const) {
      const levelSkip = nativeSkip || (level === best ? `the run above already used ${level}` : best === 'baseline' ? `this CPU lacks ${level}` : '');
      it.skipIf(!!levelSkip)(`native path, ISA level ${level} (KINDLING_CPU_ISA=${level})${mode}${levelSkip ? ` (skipped: ${levelSkip})` : ''}`, () => {
        const env = { ...process.env, KINDLING_CPU_NATIVE: '1', KINDLING_CPU_ISA: level };
        const info = `import { CpuBackend } from ${JSON.stringify(resolve(repo, 'packages/backend-cpu/dist/index.js'))}; console.log(new CpuBackend().info().implementation);`;
        const impl = execFileSync(process.execPath, ['--input-type=module', '-e', info], { env, encoding: 'utf8' });
        expect(impl).toContain(`${level === 'avx2' ? 'AVX2/FMA' : 'x86-64 baseline (SSE2)'}, forced by KINDLING_CPU_ISA`);
        expectAllPassed(run(env as Record<string, string>, reference));
      });
    }
  }
});
