#!/usr/bin/env node
// Native builds of @kindling/backend-cpu (CMakeLists.txt + native/src → kindling_cpu.node).
//
//   node scripts/build-native.mjs                  local source build → build/Release/kindling_cpu.node
//   node scripts/build-native.mjs --release DIR    release build for a platform package: OpenBLAS
//                                                  linked statically, the .node copied to DIR
//
// The local build is what an npm user on a platform without a prebuilt package runs (see the
// README): it needs cmake, a C++ compiler and the OpenBLAS headers, and fetches cmake-js and
// node-addon-api from npm when they are not installed (they are devDependencies, so an npm user
// has neither). It is optional: when a prerequisite is missing or the compile fails, the script
// prints the reason, records it in <build dir>/native-status.json (the loader quotes it) and exits
// 0, so the portable TypeScript path is used. KINDLING_REQUIRE_NATIVE=1 makes a failure exit 1;
// KINDLING_CPU_NATIVE_BUILD=0 skips the build. The release build also fails when the result links
// libopenblas or libgfortran dynamically (checked with ldd).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The shared helper: next to this file in a published package, in the repository's scripts/ here.
const here = dirname(fileURLToPath(import.meta.url));
const helper = [join(here, 'native-build.mjs'), join(here, '..', '..', '..', 'scripts', 'native-build.mjs')].find((f) => existsSync(f));
if (!helper) throw new Error(`build-native.mjs: native-build.mjs is neither next to this script nor in the repository's scripts/ (${here})`);
const { buildFlag, nativeBuild } = await import(pathToFileURL(helper).href);

const pkgDir = resolve(here, '..');
const b = nativeBuild({
  pkgDir,
  addon: 'kindling_cpu.node',
  who: (releaseDir, outFile) => (releaseDir ? `@kindling/backend-cpu release build (${outFile})` : '@kindling/backend-cpu'),
  requireFlag: 'KINDLING_REQUIRE_NATIVE',
  onFailure: 'the portable TypeScript path will be used',
});
const { releaseDir, builtFile, outFile, fail } = b;
/** Debian's libopenblas-pthread-dev: every CPU type's kernels (DYNAMIC_ARCH), position-independent. */
const staticBlas = process.env.KINDLING_OPENBLAS_STATIC?.trim() || '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.a';

if (!buildFlag('KINDLING_CPU_NATIVE_BUILD', true)) fail('skipped (KINDLING_CPU_NATIVE_BUILD=0)');
if (process.arch !== 'x64') fail(`the native kernels are written for x86-64 (SSE2 / AVX2 / AVX-512); this is ${process.arch}`);
if (releaseDir && !existsSync(staticBlas)) fail(`the release build links OpenBLAS statically and ${staticBlas} is missing (Debian: apt-get install libopenblas-pthread-dev)`);

const cmake = b.version('cmake');
if (!cmake) fail('cmake not found (Debian: apt-get install cmake)');
const cxxCmd = process.env.CXX || 'c++';
const cxx = b.version(cxxCmd);
if (!cxx) fail(`no C++ compiler (${cxxCmd}) found (Debian: apt-get install g++)`);

// OpenBLAS headers: look where Debian (and most distributions) put them, to give a clear reason.
const includeDirs = ['/usr/include', '/usr/local/include', '/usr/include/x86_64-linux-gnu', '/usr/include/openblas', '/usr/include/x86_64-linux-gnu/openblas-pthread', '/opt/homebrew/opt/openblas/include', '/usr/local/opt/openblas/include'];
if (!includeDirs.some((d) => existsSync(join(d, 'cblas.h')) && existsSync(join(d, 'openblas_config.h')))) {
  fail('OpenBLAS headers not found (Debian: apt-get install libopenblas-dev)');
}

// The op codes: native/generated/kindling_ops.h, from @kindling/core's op table (CMakeLists.txt
// includes that folder).
await b.writeOpsHeader('kd');

const t0 = Date.now();
const r = b.compile(releaseDir ? { KINDLING_OPENBLAS_STATIC: staticBlas } : {});
if (!r.ok) {
  const blas = /KINDLING: (OpenBLAS not found[^\n]*)/.exec(r.log);
  fail(blas ? blas[1] : `cmake-js compile failed (exit ${r.exit})`, r.log);
}
if (releaseDir) {
  let ldd = '';
  try {
    ldd = execFileSync('ldd', [builtFile], { encoding: 'utf8' });
  } catch (e) {
    fail(`ldd ${builtFile} failed: ${e.message}`);
  }
  const bad = ldd.split('\n').filter((l) => /libopenblas|libgfortran|libquadmath/.test(l));
  if (bad.length) fail(`the release addon links ${bad.map((l) => l.trim().split(' ')[0]).join(', ')} dynamically`, ldd);
  b.publish();
}
const seconds = (Date.now() - t0) / 1000;
b.writeStatus({ built: true, addon: outFile, cmake, compiler: cxx, openblas: releaseDir ? `static: ${staticBlas}` : 'shared', seconds });
process.stdout.write(`${b.who}: native addon built (${outFile}, ${seconds.toFixed(1)} s)\n`);
