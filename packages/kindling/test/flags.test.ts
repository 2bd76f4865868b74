/**
 * The flag registry of @kindling/core/backend: one spelling of true and false in TypeScript, in the
 * build scripts' helper and in the native header; a clear error for anything else; the README's
 * table equal to the registry; and every KINDLING_* name in the sources declared in it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FALSE_SPELLINGS, FLAGS, TRUE_SPELLINGS, attachFused, checkFlags, collapseDims, flagBool, flagInt, flagString, flagsMarkdown, fusedNote,
} from '@kindling/core/backend';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'kindling-flags-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const SPELLINGS: [string, boolean | 'error' | 'default'][] = [
  ['1', true], ['true', true], ['on', true], ['yes', true], [' TRUE ', true], ['Yes', true],
  ['0', false], ['false', false], ['off', false], ['no', false], ['OFF', false],
  ['', 'default'], ['  ', 'default'], ['2', 'error'], ['maybe', 'error'], ['enabled', 'error'], ['y', 'error'],
];

describe('flag registry', () => {
  it('reads booleans with one spelling, the default when unset or blank, and names the variable and value otherwise', () => {
    expect(flagBool('KINDLING_CPU_FUSED', {})).toBe(true);
    expect(flagBool('KINDLING_CUDA_SYNC', {})).toBe(false);
    for (const [v, want] of SPELLINGS) {
      const env = { KINDLING_CUDA_SYNC: v };
      if (want === 'error') expect(() => flagBool('KINDLING_CUDA_SYNC', env), v).toThrow(`KINDLING_CUDA_SYNC='${v}': expected 1/true/on/yes (on) or 0/false/off/no (off)`);
      else expect(flagBool('KINDLING_CUDA_SYNC', env), v).toBe(want === 'default' ? false : want);
    }
  });

  it('reads integers and strings, rejecting what is not an integer in range', () => {
    expect(flagInt('KINDLING_CPU_THREADS', {})).toBeUndefined();
    expect(flagInt('KINDLING_CPU_THREADS', { KINDLING_CPU_THREADS: ' 3 ' }, 1)).toBe(3);
    expect(() => flagInt('KINDLING_CPU_THREADS', { KINDLING_CPU_THREADS: '0' }, 1)).toThrow("KINDLING_CPU_THREADS='0': expected an integer ≥ 1");
    expect(() => flagInt('KINDLING_CPU_CACHE_BYTES', { KINDLING_CPU_CACHE_BYTES: '1.5' })).toThrow(/KINDLING_CPU_CACHE_BYTES='1.5'/);
    expect(flagString('KINDLING_DEVICE', { KINDLING_DEVICE: '' })).toBeUndefined();
    expect(flagString('KINDLING_DEVICE', { KINDLING_DEVICE: 'webgpu' })).toBe('webgpu');
  });

  it('checkFlags parses every switch of a backend, native ones included, when the backend starts', () => {
    expect(() => checkFlags('backend-cuda', { KINDLING_CUDA_SYNC: 'maybe' })).toThrow(/KINDLING_CUDA_SYNC='maybe'/);
    expect(() => checkFlags('backend-cpu', { KINDLING_CPU_SPIN_US: '-5' })).toThrow(/KINDLING_CPU_SPIN_US='-5'/);
    expect(() => checkFlags('backend-cpu', { KINDLING_CUDA_SYNC: 'maybe' })).not.toThrow();
  });

  it("the README's table is the registry's (regenerate with node scripts/flags-table.mjs)", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /<!-- flags-table:start[^>]*-->\n([\s\S]*?)\n<!-- flags-table:end -->/.exec(readme);
    expect(block, 'README.md has no flags-table block').not.toBeNull();
    expect(block![1]).toBe(flagsMarkdown());
  });

  it('every KINDLING_* name in the sources is declared in the registry', () => {
    // Not switches: a warning code, CMake options, a preprocessor macro, and the prefixes the
    // vendor-library test composes its variable names from.
    const notSwitches = new Set(['KINDLING_BACKEND_LOAD', 'KINDLING_FLAGS_DIR', 'KINDLING_ORIGIN_RPATH', 'KINDLING_CUDA_EMULATOR', 'KINDLING_CUBLAS', 'KINDLING_CUDNN']);
    const skipDirs = new Set(['node_modules', 'dist', 'build', 'build-tools', 'dist-bundle', 'runs', '.turbo', '.device']);
    const code = /\.(ts|mjs|js|cc|cu|h|sh|json|py|txt)$|^run$/;
    const found = new Map<string, string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir)) {
        const p = join(dir, e);
        if (statSync(p).isDirectory()) {
          if (!skipDirs.has(e)) walk(p);
        } else if (code.test(e)) {
          for (const m of readFileSync(p, 'utf8').matchAll(/KINDLING_[A-Z0-9_]*[A-Z0-9]\b/g)) if (!found.has(m[0])) found.set(m[0], p);
        }
      }
    };
    for (const d of ['packages', 'apps', 'scripts', '.ci']) walk(join(ROOT, d));
    for (const m of readFileSync(join(ROOT, 'vitest.config.ts'), 'utf8').matchAll(/KINDLING_[A-Z0-9_]*[A-Z0-9]\b/g)) found.set(m[0], 'vitest.config.ts');
    const undeclared = [...found].filter(([n]) => !(n in FLAGS) && !notSwitches.has(n)).map(([n, p]) => `${n} (${p.slice(ROOT.length)})`);
    expect(undeclared).toEqual([]);
    expect(found.size).toBeGreaterThan(30);
  });

  it("the build scripts' helper spells true and false as the registry does", async () => {
    const helper = (await import(pathToFileURL(join(ROOT, 'scripts', 'native-build.mjs')).href)) as { TRUE_SPELLINGS: string[]; FALSE_SPELLINGS: string[] };
    expect(helper.TRUE_SPELLINGS).toEqual([...TRUE_SPELLINGS]);
    expect(helper.FALSE_SPELLINGS).toEqual([...FALSE_SPELLINGS]);
  });

  const gxx = spawnSync('g++', ['--version']).status === 0;
  it.skipIf(!gxx)('the native header kindling_flags.h reads booleans and integers as the registry does', () => {
    const src = join(scratch, 'flags.cc');
    const exe = join(scratch, 'flags');
    writeFileSync(src, [
      '#include <cstdio>',
      '#include "kindling_flags.h"',
      'int main() {',
      '  try { std::printf("%d", kindling::flag_bool("KINDLING_CUDA_SYNC", false) ? 1 : 0); }',
      '  catch (const std::invalid_argument& e) { std::printf("error %s", e.what()); }',
      '  try { std::printf(" %lld", kindling::flag_int("KINDLING_CPU_SPIN_US", 2000)); }',
      '  catch (const std::invalid_argument& e) { std::printf(" error %s", e.what()); }',
      '}',
    ].join('\n'));
    const c = spawnSync('g++', ['-std=c++17', '-O0', `-I${join(ROOT, 'packages', 'core', 'native')}`, src, '-o', exe], { encoding: 'utf8', timeout: 60_000 });
    expect(c.status, c.stderr).toBe(0);
    const run = (env: Record<string, string>): string => spawnSync(exe, [], { env, encoding: 'utf8', timeout: 10_000 }).stdout;
    for (const [v, want] of SPELLINGS) {
      const ts = want === 'error' ? `error KINDLING_CUDA_SYNC='${v.trim()}': expected 1/true/on/yes (on) or 0/false/off/no (off)` : String(Number(want === 'default' ? false : want));
      expect(run({ KINDLING_CUDA_SYNC: v }), v).toBe(`${ts} 2000`);
    }
    expect(run({ KINDLING_CPU_SPIN_US: '50' })).toBe('0 50');
    expect(run({ KINDLING_CPU_SPIN_US: 'fast' })).toBe("0 error KINDLING_CPU_SPIN_US='fast': expected an integer >= 0");
  });
});

describe('backend kit', () => {
  it('collapseDims merges contiguous dims, drops size-1 dims and reports empty walks', () => {
    expect(collapseDims([2, 3, 4], [[12, 4, 1], [12, 4, 1]])).toEqual({ sizes: [24], strides: [[1], [1]], numel: 24 });
    expect(collapseDims([2, 1, 3], [[1, 99, 2]])).toEqual({ sizes: [2, 3], strides: [[1, 2]], numel: 6 });
    expect(collapseDims([2, 3], [[3, 1], [1, 2]])).toEqual({ sizes: [2, 3], strides: [[3, 1], [1, 2]], numel: 6 });
    expect(collapseDims([4, 0, 2], [[2, 2, 1]])).toEqual({ sizes: [], strides: [[]], numel: 0 });
  });

  it('attachFused attaches own properties only when enabled, and fusedNote says which', () => {
    const on = {} as Record<string, unknown>;
    const caps = attachFused(on, true, () => ({ softmax: () => undefined }));
    expect(Object.hasOwn(on, 'softmax')).toBe(true);
    expect([...caps]).toEqual(['softmax']);
    expect(fusedNote(caps)).toBe('fused kernels: softmax');
    const off = {} as Record<string, unknown>;
    let built = false;
    const none = attachFused(off, false, () => ((built = true), { softmax: () => undefined }));
    expect('softmax' in off || built).toBe(false);
    expect(fusedNote(none)).toBe('fused kernels disabled (reference decompositions)');
  });
});
