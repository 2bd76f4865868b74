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
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The shared helper: next to this file in a published package, in the repository's scripts/ here.
const here = dirname(fileURLToPath(import.meta.url));
const helper = [join(here, 'native-build.mjs'), join(here, '..', '..', '..', 'scripts', 'native-build.mjs')].find((f) => existsSync(f));
if (!helper) throw new Error(`build-native.mjs: native-build.mjs is neither next to this script nor in the repository's scripts/ (${here})`);
const { buildFlag, nativeBuild } = await import(pathToFileURL(helper).href);

const b = nativeBuild({
  pkgDir: resolve(here, '..'),
  addon: 'kindling_cuda.node',
  who: '@kindling/backend-cuda',
  what: 'CUDA addon',
  requireFlag: 'KINDLING_REQUIRE_CUDA',
  onFailure: "the 'cuda' device will report this reason",
});
const { releaseDir, outFile, fail } = b;

if (!buildFlag('KINDLING_CUDA_BUILD', true)) fail('skipped (KINDLING_CUDA_BUILD=0)');
if (process.platform !== 'linux' || process.arch !== 'x64') fail(`the CUDA addon is built for Linux x86-64; this is ${process.platform}-${process.arch}`);

// nvcc: $CUDACXX when set (and then only it), else PATH, $CUDA_HOME and the toolkit's usual home.
const candidates = process.env.CUDACXX
  ? [process.env.CUDACXX]
  : ['nvcc', process.env.CUDA_HOME && join(process.env.CUDA_HOME, 'bin', 'nvcc'), '/usr/local/cuda/bin/nvcc'].filter(Boolean);
let nvcc = null;
let nvccVersion = null;
for (const c of candidates) {
  nvccVersion = b.version(c);
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
const cmake = b.version('cmake');
if (!cmake) fail('cmake not found (Debian: apt-get install cmake)');

// The op codes: native/generated/kindling_ops.h, from @kindling/core's op table (CMakeLists.txt
// includes that folder).
await b.writeOpsHeader('kc');

const t0 = Date.now();
const nvccPath = nvcc.includes('/') ? nvcc : execFileSync('sh', ['-c', `command -v ${nvcc}`], { encoding: 'utf8' }).trim();
const r = b.compile({ CMAKE_CUDA_COMPILER: nvccPath }, Math.max(2, Math.min(8, availableParallelism())));
if (!r.ok) fail(`cmake-js compile failed (exit ${r.exit})`, r.log);
if (releaseDir) b.publish();
b.writeStatus({ built: true, addon: outFile, nvcc: nvccVersion, cmake, seconds: (Date.now() - t0) / 1000 });
process.stdout.write(`${b.who}: CUDA addon built with ${nvccVersion} in ${((Date.now() - t0) / 1000).toFixed(1)} s (cuBLAS and cuDNN are loaded at run time where present)\n`);
