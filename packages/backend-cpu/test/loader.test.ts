/**
 * The native loader's order and messages (src/native/addon.ts): the prebuilt platform package
 * first, then a local source build, then the portable path, with a reason for each candidate that
 * was not used. Other platforms and missing files are stood in for through the LoaderHost; the
 * last test loads the real platform package of this machine.
 */
import { describe, expect, it } from 'vitest';
import { NATIVE_FAMILIES } from '@kindling/core';
import { CpuBackend } from '../src/index.js';
import { addonCandidates, chooseIsa, LOCAL_BUILD_HINT, loadWith, type LoaderHost } from '../src/native/addon.js';

const PKG = '@kindling/backend-cpu-linux-x64-gnu';
const PLATFORM_NODE = '/nm/@kindling/backend-cpu-linux-x64-gnu/kindling_cpu.node';
const LOCAL_NODE = '/nm/@kindling/backend-cpu/build/Release/kindling_cpu.node';

/** The op names an addon built from core's current table exports (kindling_ops.h). */
const OP_NAMES = Object.fromEntries(NATIVE_FAMILIES.map((f) => [f.name.toLowerCase(), [...f.ops]]));

/** A stand-in .node: what module.cc exports, with the levels a CPU supports. */
function fakeModule(supported: string[], loaded: string[], path: string, opNames: unknown = OP_NAMES) {
  return {
    cpu: {},
    supported,
    select(level: string) {
      if (!supported.includes(level)) throw new Error(`kindling_cpu select: ISA level '${level}' needs AVX-512F`);
      loaded.push(`${path}:${level}`);
      return { isa: level, level, opNames, init: (threads: number) => ({ threads, blas: 'OpenBLAS 0.3.21 DYNAMIC_ARCH', blasCore: 'Haswell', avx512: level === 'avx512' }) };
    },
  };
}

function host(over: Partial<LoaderHost> & { files?: string[]; supported?: string[]; loaded?: string[]; broken?: string[]; stale?: string[] } = {}): LoaderHost {
  const files = new Set(over.files ?? [PLATFORM_NODE, LOCAL_NODE]);
  const loaded = over.loaded ?? [];
  return {
    platform: 'linux',
    arch: 'x64',
    glibc: true,
    resolvePlatformAddon: (pkg) => (pkg === PKG && files.has(PLATFORM_NODE) ? PLATFORM_NODE : null),
    platformStatus: () => null,
    localAddon: LOCAL_NODE,
    localStatus: () => null,
    exists: (p) => files.has(p),
    loadAddon: (p) => {
      if (over.broken?.includes(p)) throw new Error(`${p}: invalid ELF header\n  at dlopen`);
      // A stale build: its unary codes are the table's with two ops swapped.
      const stale = { ...OP_NAMES, unary: ['abs', 'neg', ...OP_NAMES.unary!.slice(2)] };
      return fakeModule(over.supported ?? ['baseline', 'avx2', 'avx512'], loaded, p, over.stale?.includes(p) ? stale : OP_NAMES) as never;
    },
    env: {},
    ...over,
  };
}

describe('native loader order', () => {
  it('skips an addon built from another version of the op table, and says so', () => {
    const s = loadWith(host({ stale: [PLATFORM_NODE] }), 1);
    expect(s.description).toContain('from a local source build');
    const none = loadWith(host({ stale: [PLATFORM_NODE, LOCAL_NODE] }), 1);
    expect(none.addon).toBeNull();
    expect(none.reason).toContain(`${PKG} was built from another version of core's op table (unary op 0 is "abs", core's table says "neg"); rebuild it`);
  });

  it('takes the platform package first, even when a local build exists', () => {
    const loaded: string[] = [];
    const s = loadWith(host({ loaded }), 2);
    expect(loaded).toEqual([`${PLATFORM_NODE}:avx512`]);
    expect(s.addon).not.toBeNull();
    expect(s.description).toMatch(/^native \(C\+\+, avx512, OpenBLAS 0\.3\.21 \(Haswell kernels, 1 thread each\), 2 threads\) from @kindling\/backend-cpu-linux-x64-gnu$/);
  });

  it('falls back to a local source build when the optional dependency is not installed', () => {
    const loaded: string[] = [];
    const s = loadWith(host({ loaded, files: [LOCAL_NODE] }), 1);
    expect(loaded).toEqual([`${LOCAL_NODE}:avx512`]);
    expect(s.description).toContain(`from a local source build (${LOCAL_NODE})`);
  });

  it('falls back to the local build when the platform binary fails to load, and says why when nothing loads', () => {
    expect(loadWith(host({ broken: [PLATFORM_NODE] }), 1).description).toContain('from a local source build');
    const s = loadWith(host({ broken: [PLATFORM_NODE, LOCAL_NODE] }), 1);
    expect(s.addon).toBeNull();
    expect(s.reason).toBe(
      `${PKG} failed to load: ${PLATFORM_NODE}: invalid ELF header; a local source build (${LOCAL_NODE}) failed to load: ${LOCAL_NODE}: invalid ELF header`,
    );
  });

  it('names the missing optional dependency and the one command for a local build', () => {
    const s = loadWith(host({ files: [] }), 1);
    expect(s.addon).toBeNull();
    expect(s.reason).toBe(`the optional dependency ${PKG} is not installed (reinstall without --omit=optional / --no-optional); no local source build (${LOCAL_BUILD_HINT})`);
    expect(LOCAL_BUILD_HINT).toMatch(/cmake, g\+\+ and libopenblas-dev.*node node_modules\/@kindling\/backend-cpu\/scripts\/build-native\.mjs/);
  });

  it('quotes the build status of a platform package installed without its binary, and of a failed local build', () => {
    const s = loadWith(
      host({
        files: [],
        resolvePlatformAddon: () => PLATFORM_NODE,
        platformStatus: () => ({ built: false, reason: 'cmake not found (Debian: apt-get install cmake)' }),
        localStatus: () => ({ built: false, reason: 'OpenBLAS headers not found (Debian: apt-get install libopenblas-dev)' }),
      }),
      1,
    );
    expect(s.reason).toBe(
      `${PKG} is installed without its kindling_cpu.node (its build: cmake not found (Debian: apt-get install cmake)); no local source build: OpenBLAS headers not found (Debian: apt-get install libopenblas-dev)`,
    );
  });

  it.each([
    ['darwin', 'arm64', false, 'darwin-arm64'],
    ['darwin', 'x64', false, 'darwin-x64'],
    ['win32', 'x64', false, 'win32-x64-msvc'],
    ['linux', 'arm64', true, 'linux-arm64-gnu'],
    ['linux', 'x64', false, 'linux-x64-musl'],
  ])('on %s %s (glibc %s) says no prebuilt addon exists for %s', (platform, arch, glibc, key) => {
    const { candidates, reasons } = addonCandidates(host({ platform, arch, glibc, files: [] }));
    expect(candidates).toEqual([]);
    expect(reasons[0]).toBe(`no prebuilt native addon for ${key} yet (the platform table in @kindling/backend-cpu's README lists the built ones)`);
    expect(reasons[1]).toContain(arch === 'x64' ? LOCAL_BUILD_HINT : 'the native kernels are x86-64 only; this is arm64');
  });
});

describe('ISA level choice', () => {
  it('takes the best level the CPU supports, or KINDLING_CPU_ISA', () => {
    expect(chooseIsa({}, ['baseline', 'avx2', 'avx512'])).toBe('avx512');
    expect(chooseIsa({}, ['baseline'])).toBe('baseline');
    expect(chooseIsa({ KINDLING_CPU_AVX512: '0' }, ['baseline', 'avx2', 'avx512'])).toBe('avx2');
    expect(chooseIsa({ KINDLING_CPU_ISA: 'baseline' }, ['baseline', 'avx2', 'avx512'])).toBe('baseline');
    const loaded: string[] = [];
    const s = loadWith(host({ loaded, env: { KINDLING_CPU_ISA: 'avx2' } }), 1);
    expect(loaded).toEqual([`${PLATFORM_NODE}:avx2`]);
    expect(s.description).toContain('avx2, forced by KINDLING_CPU_ISA');
  });

  it('refuses a misspelt level and one the CPU lacks, naming the variable and the value', () => {
    expect(() => chooseIsa({ KINDLING_CPU_ISA: 'avx3' }, ['baseline'])).toThrow("KINDLING_CPU_ISA='avx3' is not one of baseline, avx2, avx512");
    expect(() => chooseIsa({ KINDLING_CPU_ISA: 'avx512' }, ['baseline', 'avx2'])).toThrow('KINDLING_CPU_ISA=avx512: this CPU (or OS) supports only baseline, avx2');
    expect(() => loadWith(host({ supported: ['baseline'], env: { KINDLING_CPU_ISA: 'avx2' } }), 1)).toThrow(/KINDLING_CPU_ISA=avx2/);
  });
});

describe('this machine', () => {
  const impl = new CpuBackend().info().implementation;
  const built = !impl.startsWith('typescript');
  it.skipIf(!built)(`runs the prebuilt platform package in the workspace${built ? '' : ` (skipped: ${impl})`}`, () => {
    expect(impl).toMatch(/^native \(C\+\+, .*\) from @kindling\/backend-cpu-linux-x64-gnu/);
  });
});
