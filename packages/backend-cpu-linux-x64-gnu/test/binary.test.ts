/**
 * The platform package's binary as npm users get it: OpenBLAS linked in (no libopenblas or
 * libgfortran at run time), the glibc floor the README states, and no AVX instruction outside the
 * avx2 level's own functions (module.cc and the baseline kernels must run on any x86-64 CPU).
 * Skipped, with the reason, when the release build did not run here.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { platformBinary } from './platform-binary.js';

const { binary, skip } = platformBinary(new URL('..', import.meta.url), 'kindling_cpu.node');
const hasTool = (t: string): boolean => {
  try {
    execFileSync(t, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('@kindling/backend-cpu-linux-x64-gnu binary', () => {
  it.skipIf(!!skip || !hasTool('ldd'))(`needs only libc, libm, libstdc++ and libgcc_s${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const libs = execFileSync('ldd', [binary], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s/)[0])
      .filter((l) => l && !/^(linux-vdso|\/lib64\/ld-linux)/.test(l));
    expect(libs.sort()).toEqual(['libc.so.6', 'libgcc_s.so.1', 'libm.so.6', 'libstdc++.so.6']);
  });

  it.skipIf(!!skip || !hasTool('objdump'))(`asks for glibc 2.34 at most and GCC 12's libstdc++${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const syms = execFileSync('objdump', ['-T', binary], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const max = (prefix: string): string =>
      [...syms.matchAll(new RegExp(`\\(${prefix}_([\\d.]+)\\)`, 'g'))]
        .map((m) => m[1]!)
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
        .pop() ?? '';
    expect(max('GLIBC')).toBe('2.34');
    expect(max('GLIBCXX')).toBe('3.4.30');
    expect(syms).not.toMatch(/\bcblas_sgemm\b|\bopenblas_get_config\b/); // OpenBLAS stays private
  });

  it.skipIf(!!skip || !hasTool('objdump'))(`keeps AVX instructions inside the avx2 level's functions${skip ? ` (skipped: ${skip})` : ''}`, () => {
    // C++ functions using ymm/zmm registers must be the avx2 level's (namespace kd_avx2) or that
    // level's internal ones (anonymous namespaces: internal linkage, never shared with baseline
    // code). A shared inline function (std::, Napi::) compiled with AVX would be a SIGILL on an
    // old CPU. C functions are OpenBLAS's kernels, which its DYNAMIC_ARCH dispatch chooses.
    const asm = execFileSync('objdump', ['-d', '--no-show-raw-insn', binary], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const offenders = new Set<string>();
    const avx2Level = new Set<string>();
    let fn = '';
    for (const line of asm.split('\n')) {
      const head = /^[0-9a-f]+ <(.+)>:$/.exec(line);
      if (head) fn = head[1]!;
      else if (fn.startsWith('_Z') && /%[yz]mm/.test(line)) (/kd_avx2|_GLOBAL__N_/.test(fn) ? avx2Level : offenders).add(fn);
    }
    expect([...offenders]).toEqual([]);
    expect(avx2Level.size).toBeGreaterThan(50); // the scan does see the avx2 level's kernels
  }, 300_000);
});
