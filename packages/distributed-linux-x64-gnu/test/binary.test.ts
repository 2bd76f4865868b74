/**
 * The platform package as npm users get it: the addon with libgloo.so.0 and its non-system
 * dependencies beside it, found through the addon's $ORIGIN rpath wherever the folder lies and
 * whatever LD_LIBRARY_PATH says; the glibc floor the README states; a licence for every carried
 * library. The checks run on a copy of the package's `files` in a temporary folder, so nothing
 * can come from the workspace or the system's libgloo by accident. Skipped, with the reason, when
 * the release build did not run here.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { platformBinary } from '../../backend-cpu-linux-x64-gnu/test/platform-binary.js';

const pkgDir = new URL('..', import.meta.url);
const { skip } = platformBinary(pkgDir, 'kindling_distributed.node');
const files: string[] = JSON.parse(readFileSync(new URL('package.json', pkgDir), 'utf8')).files;
const carried = files.filter((f) => /\.so(\.|$)/.test(f)).sort();
/** The base system every Linux x86-64 glibc machine has: the package carries none of these. */
const BASE = /^(linux-vdso\.so|\/lib64\/ld-linux-x86-64\.so|ld-linux-x86-64\.so|libc\.so|libm\.so|libstdc\+\+\.so|libgcc_s\.so)/;

const copy = skip ? '' : realpathSync(mkdtempSync(join(tmpdir(), 'kindling-distributed-pkg-')));
if (copy) for (const f of files) cpSync(new URL(f, pkgDir), join(copy, f), { recursive: true });
afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

/** The environment of a user's shell without a library path of its own: LD_LIBRARY_PATH unset. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.LD_LIBRARY_PATH;
  delete env.LD_PRELOAD;
  return env;
}

const reason = skip ? ` (skipped: ${skip})` : '';

describe('@kindling/distributed-linux-x64-gnu binary', () => {
  it.skipIf(!!skip)(`resolves every library beside the addon or to the base system (ldd)${reason}`, () => {
    const out = execFileSync('ldd', [join(copy, 'kindling_distributed.node')], { encoding: 'utf8', env: cleanEnv() });
    const besides: string[] = [];
    for (const line of out.split('\n').map((l) => l.trim()).filter(Boolean)) {
      const [name, , path] = line.split(/\s+/);
      if (BASE.test(name!)) continue;
      expect(line, 'a library outside the package folder and the base system').toMatch(/=> \//);
      expect(realpathSync(path!)).toBe(join(copy, name!));
      besides.push(name!);
    }
    expect(besides.sort()).toEqual(carried);
    expect(carried).toContain('libgloo.so.0');
  });

  it.skipIf(!!skip)(`loads with LD_LIBRARY_PATH unset, mapping the carried libraries only${reason}`, () => {
    // The child reads its own memory map: every non-base library must come from the copy.
    const script = `const a = require(${JSON.stringify(join(copy, 'kindling_distributed.node'))});
      const maps = require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.split(/\\s+/)[5]).filter((p) => p && /\\.so|\\.node$/.test(p));
      console.log(JSON.stringify({ gloo: a.glooVersion, nccl: a.ncclProbe().available, libs: [...new Set(maps)] }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: cleanEnv() })) as { gloo: string; nccl: boolean; libs: string[] };
    expect(out.gloo).toMatch(/^\d/);
    const fromCopy = out.libs.filter((p) => p.startsWith(`${copy}/`)).map((p) => p.slice(copy.length + 1));
    expect(fromCopy.sort()).toEqual(['kindling_distributed.node', ...carried].sort());
    for (const name of carried) expect(out.libs.filter((p) => p.endsWith(`/${name}`))).toEqual([join(copy, name)]);
  });

  it.skipIf(!!skip)(`asks for glibc 2.34 at most and GCC 12's libstdc++ (README)${reason}`, () => {
    const versions = (prefix: string): string[] =>
      ['kindling_distributed.node', ...carried].flatMap((f) =>
        [...execFileSync('objdump', ['-T', join(copy, f)], { encoding: 'utf8', maxBuffer: 64 << 20 }).matchAll(new RegExp(`\\(${prefix}_([\\d.]+)\\)`, 'g'))].map((m) => m[1]!),
      );
    const max = (v: string[]): string => v.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).pop() ?? '';
    expect(max(versions('GLIBC'))).toBe('2.34');
    expect(max(versions('GLIBCXX'))).toBe('3.4.30');
  });

  it.skipIf(!!skip)(`ships the licence of every carried library${reason}`, () => {
    for (const name of carried) {
      expect(existsSync(join(copy, 'licenses', `${name}.copyright`)), name).toBe(true);
      expect(readFileSync(join(copy, 'licenses', `${name}.copyright`), 'utf8')).toMatch(/Copyright/);
    }
    // libnl is LGPL-2.1: its full text, which Debian's copyright file only points to, goes along.
    expect(readFileSync(join(copy, 'licenses', 'LGPL-2.1'), 'utf8')).toMatch(/GNU LESSER GENERAL PUBLIC LICENSE/);
  });
});
