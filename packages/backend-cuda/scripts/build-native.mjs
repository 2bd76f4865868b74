#!/usr/bin/env node
// Optional native build of @kindling/backend-cuda (CMakeLists.txt + native/src → build/Release/kindling_cuda.node).
//
//   node scripts/build-native.mjs                  local source build → build/Release/kindling_cuda.node
//   node scripts/build-native.mjs --release DIR    the platform package's build: the same addon
//                                                  (static CUDA runtime), built in DIR/build and
//                                                  copied to DIR/kindling_cuda.node
//
// The addon needs nvcc (the CUDA toolkit) and cmake at build time, and a GPU only at run time.
// When a prerequisite is missing or the compile fails, this script prints why, records it in
// build/native-status.json (the backend quotes it when CUDA is asked for) and exits 0, so an
// install on a machine without CUDA still succeeds. KINDLING_REQUIRE_CUDA=1 makes a failure fatal
// (hosts where a GPU is expected); KINDLING_CUDA_BUILD=0 skips the build.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const releaseAt = process.argv.indexOf('--release');
if (releaseAt >= 0 && !process.argv[releaseAt + 1]) {
  process.stderr.write('build-native.mjs: --release needs the platform package folder (--release DIR)\n');
  process.exit(2);
}
const releaseDir = releaseAt >= 0 ? resolve(process.argv[releaseAt + 1]) : null;
const buildDir = releaseDir ? join(releaseDir, 'build') : join(pkgDir, 'build');
const statusFile = join(buildDir, 'native-status.json');
const addonFile = join(buildDir, 'Release', 'kindling_cuda.node');
const outFile = releaseDir ? join(releaseDir, 'kindling_cuda.node') : addonFile;
const require = createRequire(join(pkgDir, 'package.json'));
const required = /^(1|true|yes|on)$/i.test(process.env.KINDLING_REQUIRE_CUDA ?? '');

function writeStatus(status) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(statusFile, `${JSON.stringify({ ...status, date: new Date().toISOString() }, null, 2)}\n`);
}

function fail(reason, detail = '') {
  rmSync(addonFile, { force: true });
  rmSync(outFile, { force: true });
  writeStatus({ built: false, reason });
  if (detail) process.stderr.write(`${detail.trim().split('\n').slice(-30).join('\n')}\n`);
  const msg = `@kindling/backend-cuda: CUDA addon not built: ${reason}`;
  if (required) {
    process.stderr.write(`${msg} (KINDLING_REQUIRE_CUDA is set: failing)\n`);
    process.exit(1);
  }
  process.stdout.write(`${msg}; the 'cuda' device will report this reason\n`);
  process.exit(0);
}

function firstLine(cmd, args = ['--version']) {
  try {
    const lines = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    return (lines.find((l) => /release/i.test(l)) ?? lines[0]).trim();
  } catch {
    return null;
  }
}

if (/^(0|false|no|off)$/i.test(process.env.KINDLING_CUDA_BUILD ?? '')) fail('skipped (KINDLING_CUDA_BUILD=0)');
if (process.platform !== 'linux' || process.arch !== 'x64') fail(`the CUDA addon is built for Linux x86-64; this is ${process.platform}-${process.arch}`);

// nvcc: $CUDACXX when set (and then only it), else PATH, $CUDA_HOME and the toolkit's usual home.
const candidates = process.env.CUDACXX
  ? [process.env.CUDACXX]
  : ['nvcc', process.env.CUDA_HOME && join(process.env.CUDA_HOME, 'bin', 'nvcc'), '/usr/local/cuda/bin/nvcc'].filter(Boolean);
let nvcc = null;
let nvccVersion = null;
for (const c of candidates) {
  nvccVersion = firstLine(c);
  if (nvccVersion) {
    nvcc = c;
    break;
  }
}
if (!nvcc) {
  fail(process.env.CUDACXX
    ? `CUDACXX=${process.env.CUDACXX} does not run`
    : 'nvcc (the CUDA toolkit) was not found on PATH, in $CUDA_HOME or in /usr/local/cuda');
}
const cmake = firstLine('cmake');
if (!cmake) fail('cmake not found (Debian: apt-get install cmake)');

let addonApiDir;
let cmakeJs;
try {
  addonApiDir = dirname(require.resolve('node-addon-api/package.json'));
  cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
} catch {
  fail('node-addon-api or cmake-js is not installed (pnpm install)');
}

/** Rewritten only when it changes, so that cmake does not recompile everything that includes it. */
function writeIfChanged(file, text) {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

// The op codes: native/generated/kindling_ops.h, written from @kindling/core's op table (the one
// source of truth for TypeScript and C++; CMakeLists.txt includes that folder).
try {
  const core = await import(pathToFileURL(require.resolve('@kindling/core')).href);
  writeIfChanged(join(pkgDir, 'native', 'generated', 'kindling_ops.h'), core.nativeOpsHeader('kc'));
} catch (e) {
  fail(`cannot generate the op codes from @kindling/core (build it first): ${e.message.split('\n')[0]}`);
}

const t0 = Date.now();
const nvccPath = nvcc.includes('/') ? nvcc : execFileSync('sh', ['-c', `command -v ${nvcc}`], { encoding: 'utf8' }).trim();
const args = [
  cmakeJs, 'compile', '--directory', pkgDir, '--out', buildDir, '--parallel', String(Math.max(2, Math.min(8, (await import('node:os')).availableParallelism()))),
  `--CDNODE_ADDON_API_DIR=${addonApiDir}`, `--CDCMAKE_CUDA_COMPILER=${nvccPath}`,
];
const r = spawnSync(process.execPath, args, { cwd: pkgDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
if (r.status !== 0 || !existsSync(addonFile)) fail(`cmake-js compile failed (exit ${r.status ?? r.signal})`, log);
if (releaseDir) {
  // A new file renamed into place: a process that has the old .node mapped keeps its inode.
  copyFileSync(addonFile, `${outFile}.tmp`);
  renameSync(`${outFile}.tmp`, outFile);
}
writeStatus({ built: true, addon: outFile, nvcc: nvccVersion, cmake, seconds: (Date.now() - t0) / 1000 });
process.stdout.write(`@kindling/backend-cuda: CUDA addon built with ${nvccVersion} in ${((Date.now() - t0) / 1000).toFixed(1)} s (cuBLAS and cuDNN are loaded at run time where present)\n`);
