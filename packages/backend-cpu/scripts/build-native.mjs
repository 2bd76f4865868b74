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
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const releaseAt = argv.indexOf('--release');
const releaseDir = releaseAt >= 0 ? resolve(argv[releaseAt + 1] ?? '') : null;
if (releaseAt >= 0 && !argv[releaseAt + 1]) {
  process.stderr.write('build-native.mjs: --release needs the platform package folder (--release DIR)\n');
  process.exit(2);
}
const buildDir = releaseDir ? join(releaseDir, 'build') : join(pkgDir, 'build');
const statusFile = join(buildDir, 'native-status.json');
const builtFile = join(buildDir, 'Release', 'kindling_cpu.node');
const outFile = releaseDir ? join(releaseDir, 'kindling_cpu.node') : builtFile;
const required = /^(1|true|yes|on)$/i.test(process.env.KINDLING_REQUIRE_NATIVE ?? '');
const who = releaseDir ? `@kindling/backend-cpu release build (${outFile})` : '@kindling/backend-cpu';
/** Debian's libopenblas-pthread-dev: every CPU type's kernels (DYNAMIC_ARCH), position-independent. */
const staticBlas = process.env.KINDLING_OPENBLAS_STATIC || '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.a';

function writeStatus(status) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(statusFile, `${JSON.stringify({ ...status, date: new Date().toISOString() }, null, 2)}\n`);
}

function fail(reason, detail = '') {
  // A stale addon from an earlier successful build must not outlive a failed one.
  rmSync(outFile, { force: true });
  rmSync(builtFile, { force: true });
  writeStatus({ built: false, reason });
  if (detail) process.stderr.write(`${detail.trim().split('\n').slice(-25).join('\n')}\n`);
  const msg = `${who}: native addon not built: ${reason}`;
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

/**
 * The directories of the build tools (cmake-js, node-addon-api): from node_modules when installed
 * (the workspace), else installed from npm into build-tools/ at the versions package.json pins,
 * all in one `npm install` (a second one would prune the first's packages), and not in build/
 * (cmake-js clears that folder when it configures).
 */
function tools(names) {
  const require = createRequire(join(pkgDir, 'package.json'));
  const toolsDir = join(pkgDir, 'build-tools');
  const local = (name) => join(toolsDir, 'node_modules', name);
  const found = {};
  for (const name of names) {
    try {
      found[name] = dirname(require.resolve(`${name}/package.json`));
    } catch {
      // not installed: an npm user's copy of the package has no devDependencies
      if (existsSync(join(local(name), 'package.json'))) found[name] = local(name);
    }
  }
  const missing = names.filter((n) => !found[n]);
  if (missing.length === 0) return found;
  const devDeps = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).devDependencies ?? {};
  const specs = missing.map((n) => `${n}@${devDeps[n]}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  process.stdout.write(`${who}: installing ${specs.join(' ')} into ${toolsDir}\n`);
  mkdirSync(toolsDir, { recursive: true });
  const r = spawnSync(npm, ['install', '--no-save', '--no-package-lock', '--ignore-scripts', '--prefix', toolsDir, ...specs], { encoding: 'utf8' });
  for (const n of missing) {
    if (r.status !== 0 || !existsSync(join(local(n), 'package.json'))) fail(`${specs.join(' ')} not installed and \`npm install\` of them failed`, `${r.stdout ?? ''}\n${r.stderr ?? ''}`);
    found[n] = local(n);
  }
  return found;
}

if (/^(0|false|no|off)$/i.test(process.env.KINDLING_CPU_NATIVE_BUILD ?? '')) fail('skipped (KINDLING_CPU_NATIVE_BUILD=0)');
if (process.arch !== 'x64') fail(`the native kernels are written for x86-64 (SSE2 / AVX2 / AVX-512); this is ${process.arch}`);
if (releaseDir && !existsSync(staticBlas)) fail(`the release build links OpenBLAS statically and ${staticBlas} is missing (Debian: apt-get install libopenblas-pthread-dev)`);

const cmake = which('cmake');
if (!cmake) fail('cmake not found (Debian: apt-get install cmake)');
const cxxCmd = process.env.CXX || 'c++';
const cxx = which(cxxCmd);
if (!cxx) fail(`no C++ compiler (${cxxCmd}) found (Debian: apt-get install g++)`);

// OpenBLAS headers: look where Debian (and most distributions) put them, to give a clear reason.
const includeDirs = ['/usr/include', '/usr/local/include', '/usr/include/x86_64-linux-gnu', '/usr/include/openblas', '/usr/include/x86_64-linux-gnu/openblas-pthread', '/opt/homebrew/opt/openblas/include', '/usr/local/opt/openblas/include'];
if (!includeDirs.some((d) => existsSync(join(d, 'cblas.h')) && existsSync(join(d, 'openblas_config.h')))) {
  fail('OpenBLAS headers not found (Debian: apt-get install libopenblas-dev)');
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
  const core = await import(pathToFileURL(createRequire(join(pkgDir, 'package.json')).resolve('@kindling/core')).href);
  writeIfChanged(join(pkgDir, 'native', 'generated', 'kindling_ops.h'), core.nativeOpsHeader('kd'));
} catch (e) {
  fail(`cannot generate the op codes from @kindling/core (build it first): ${e.message.split('\n')[0]}`);
}

const found = tools(['node-addon-api', 'cmake-js']);
const addonApiDir = found['node-addon-api'];
const cmakeJs = join(found['cmake-js'], 'bin', 'cmake-js');

const t0 = Date.now();
const args = [cmakeJs, 'compile', '--directory', pkgDir, '--out', buildDir, '--parallel', '2', `--CDNODE_ADDON_API_DIR=${addonApiDir}`];
if (releaseDir) args.push(`--CDKINDLING_OPENBLAS_STATIC=${staticBlas}`);
const r = spawnSync(process.execPath, args, { cwd: pkgDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
if (r.status !== 0 || !existsSync(builtFile)) {
  const blas = /KINDLING: (OpenBLAS not found[^\n]*)/.exec(log);
  fail(blas ? blas[1] : `cmake-js compile failed (exit ${r.status ?? r.signal})`, log);
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
  // A new file renamed into place: a process that has the old .node mapped keeps its inode.
  copyFileSync(builtFile, `${outFile}.tmp`);
  renameSync(`${outFile}.tmp`, outFile);
}
const seconds = (Date.now() - t0) / 1000;
writeStatus({ built: true, addon: outFile, cmake, compiler: cxx, openblas: releaseDir ? `static: ${staticBlas}` : 'shared', seconds });
process.stdout.write(`${who}: native addon built (${outFile}, ${seconds.toFixed(1)} s)\n`);
