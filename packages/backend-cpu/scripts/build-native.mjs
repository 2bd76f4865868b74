#!/usr/bin/env node
// Optional native build of @kindling/backend-cpu (CMakeLists.txt + native/src → build/Release/kindling_cpu.node).
//
// The native path is an accelerator, never a requirement: when a prerequisite is missing (cmake,
// a C++ compiler, node-addon-api, OpenBLAS headers) or the compile fails, this script prints the
// reason, records it in build/native-status.json (the backend quotes it in info()) and exits 0,
// so `pnpm build` succeeds and the portable TypeScript path is used. KINDLING_REQUIRE_NATIVE=1
// turns a failure into exit code 1 (CI on machines that must have the native path).
// KINDLING_CPU_NATIVE_BUILD=0 skips the native build altogether.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(pkgDir, 'build');
const statusFile = join(buildDir, 'native-status.json');
const addonFile = join(buildDir, 'Release', 'kindling_cpu.node');
const require = createRequire(join(pkgDir, 'package.json'));
const required = /^(1|true|yes|on)$/i.test(process.env.KINDLING_REQUIRE_NATIVE ?? '');

function writeStatus(status) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(statusFile, `${JSON.stringify({ ...status, date: new Date().toISOString() }, null, 2)}\n`);
}

function fail(reason, detail = '') {
  // A stale addon from an earlier successful build must not outlive a failed one.
  rmSync(addonFile, { force: true });
  writeStatus({ built: false, reason });
  if (detail) process.stderr.write(`${detail.trim().split('\n').slice(-25).join('\n')}\n`);
  const msg = `@kindling/backend-cpu: native addon not built: ${reason}`;
  if (required) {
    process.stderr.write(`${msg} (KINDLING_REQUIRE_NATIVE is set: failing)\n`);
    process.exit(1);
  }
  process.stdout.write(`${msg}; the portable TypeScript path will be used\n`);
  process.exit(0);
}

function which(cmd, args = ['--version']) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0].trim();
  } catch {
    return null;
  }
}

if (/^(0|false|no|off)$/i.test(process.env.KINDLING_CPU_NATIVE_BUILD ?? '')) fail('skipped (KINDLING_CPU_NATIVE_BUILD=0)');
if (process.arch !== 'x64') fail(`the native kernels are written for x86-64 (AVX2/FMA); this is ${process.arch}`);

const cmake = which('cmake');
if (!cmake) fail('cmake not found (Debian: apt-get install cmake)');
const cxxCmd = process.env.CXX || 'c++';
const cxx = which(cxxCmd);
if (!cxx) fail(`no C++ compiler (${cxxCmd}) found (Debian: apt-get install g++)`);

let addonApiDir;
try {
  addonApiDir = dirname(require.resolve('node-addon-api/package.json'));
} catch {
  fail('node-addon-api is not installed (pnpm install)');
}
let cmakeJs;
try {
  cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
} catch {
  fail('cmake-js is not installed (pnpm install)');
}

// OpenBLAS headers: look where Debian (and most distributions) put them, to give a clear reason.
const includeDirs = ['/usr/include', '/usr/local/include', '/usr/include/x86_64-linux-gnu', '/usr/include/openblas', '/usr/include/x86_64-linux-gnu/openblas-pthread', '/opt/homebrew/opt/openblas/include', '/usr/local/opt/openblas/include'];
if (!includeDirs.some((d) => existsSync(join(d, 'cblas.h')) && existsSync(join(d, 'openblas_config.h')))) {
  fail('OpenBLAS headers not found (Debian: apt-get install libopenblas-dev)');
}

const t0 = Date.now();
const args = [cmakeJs, 'compile', '--directory', pkgDir, '--out', buildDir, '--parallel', '2', `--CDNODE_ADDON_API_DIR=${addonApiDir}`];
const r = spawnSync(process.execPath, args, { cwd: pkgDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
if (r.status !== 0 || !existsSync(addonFile)) {
  const blas = /KINDLING: (OpenBLAS not found[^\n]*)/.exec(log);
  fail(blas ? blas[1] : `cmake-js compile failed (exit ${r.status ?? r.signal})`, log);
}
writeStatus({ built: true, addon: addonFile, cmake, compiler: cxx, seconds: (Date.now() - t0) / 1000 });
process.stdout.write(`@kindling/backend-cpu: native addon built (${addonFile}, ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
