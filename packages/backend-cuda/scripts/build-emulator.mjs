#!/usr/bin/env node
// Builds the addon's own sources for the CUDA emulator (emu/): build/emu/kindling_cuda_emu.node, a
// CPU build of every kernel, so that the conformance suite can run the CUDA backend's code on
// machines without a GPU (test/emulated.test.ts). Needs only g++; no CUDA toolkit.
//
// The .cu files are compiled as C++ after one rewrite: each launch `k<<<grid, block, smem,
// stream>>>(args)` becomes `::emu::Launch(grid, block, smem, stream).run(k, args)`. Their includes
// of <cuda_runtime.h> find emu/include first. cuBLAS and cuDNN are never loaded by this build's
// tests (KINDLING_CUDA_CUBLAS=0, KINDLING_CUDA_CUDNN=0): their code paths need a real GPU.
//
// Prints where the addon is, or why it was not built, and exits 0 either way unless
// KINDLING_REQUIRE_EMULATOR=1.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(pkgDir, 'native', 'src');
const outDir = join(pkgDir, 'build', 'emu');
const genDir = join(outDir, 'src');
const objDir = join(outDir, 'obj');
const addon = join(outDir, 'kindling_cuda_emu.node');
// The shared helper: next to this file in a published package, in the repository's scripts/ here.
const helper = [join(pkgDir, 'scripts', 'native-build.mjs'), join(pkgDir, '..', '..', 'scripts', 'native-build.mjs')].find((f) => existsSync(f));
if (!helper) throw new Error(`build-emulator.mjs: native-build.mjs is neither next to this script nor in the repository's scripts/ (${pkgDir})`);
const { buildFlag, coreFlagsDir } = await import(pathToFileURL(helper).href);
const required = buildFlag('KINDLING_REQUIRE_EMULATOR', false);

function skip(reason) {
  process.stdout.write(`@kindling/backend-cuda: CUDA emulator not built: ${reason}\n`);
  process.exit(required ? 1 : 0);
}

/** `k<...><<<cfg>>>(` → `::emu::Launch(cfg).run(k<...>, `, for launches written on one line. */
export function rewriteLaunches(source) {
  return source.replace(/([A-Za-z_][\w:]*(?:<[^<>;()]*>)?)\s*<<<(.+?)>>>\s*\(/g, '::emu::Launch($2).run($1, ');
}

if (spawnSync('g++', ['--version']).status !== 0) skip('g++ is not installed');
const req = createRequire(join(pkgDir, 'package.json'));
let napiInclude;
let addonApiInclude;
try {
  addonApiInclude = req('node-addon-api').include_dir;
  napiInclude = createRequire(req.resolve('cmake-js'))('node-api-headers').include_dir;
} catch (e) {
  skip(`node-addon-api or node-api-headers is missing (${e.message.split('\n')[0]})`);
}
const flagsInclude = coreFlagsDir(pkgDir);
if (!flagsInclude) skip('@kindling/core (its native/kindling_flags.h) was not found from this package');

rmSync(genDir, { recursive: true, force: true });
mkdirSync(genDir, { recursive: true });
mkdirSync(objDir, { recursive: true });
// The op codes from @kindling/core's op table, beside the rewritten sources (as build-native.mjs
// writes them for the CUDA build).
try {
  const core = await import(pathToFileURL(req.resolve('@kindling/core')).href);
  writeFileSync(join(genDir, 'kindling_ops.h'), core.nativeOpsHeader('kc'));
} catch (e) {
  skip(`cannot generate the op codes from @kindling/core (build it first): ${e.message.split('\n')[0]}`);
}
const units = [join(pkgDir, 'emu', 'runtime.cc')];
for (const f of readdirSync(srcDir)) {
  const text = readFileSync(join(srcDir, f), 'utf8');
  if (f.endsWith('.cu')) {
    const to = join(genDir, f.replace(/\.cu$/, '.cu.cc'));
    const rewritten = rewriteLaunches(text);
    if (rewritten.includes('<<<')) skip(`${f} has a launch the rewrite does not understand`);
    writeFileSync(to, rewritten);
    units.push(to);
  } else {
    writeFileSync(join(genDir, f), text);
    if (f.endsWith('.cc')) units.push(join(genDir, f));
  }
}

const flags = [
  '-std=c++17', '-O2', '-fPIC', '-ffp-contract=off', '-Wno-unknown-pragmas', '-Wno-deprecated-declarations',
  `-I${join(pkgDir, 'emu', 'include')}`, `-I${genDir}`, `-I${napiInclude}`, `-I${addonApiInclude}`, `-I${flagsInclude}`,
  '-DNAPI_VERSION=8', '-DNAPI_DISABLE_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED', '-DKINDLING_CUDA_EMULATOR=1',
];

function compile(unit) {
  const obj = join(objDir, `${unit.split('/').pop()}.o`);
  return new Promise((ok, fail) => {
    const p = spawn('g++', [...flags, '-c', unit, '-o', obj], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? ok(obj) : fail(new Error(`${unit}:\n${err}`))));
  });
}

const t0 = Date.now();
const objs = [];
const queue = [...units];
const workers = Array.from({ length: Math.max(1, Math.min(availableParallelism(), 4)) }, async () => {
  while (queue.length) objs.push(await compile(queue.shift()));
});
try {
  await Promise.all(workers);
} catch (e) {
  process.stderr.write(`${e.message.split('\n').slice(0, 40).join('\n')}\n`);
  skip('a source failed to compile for the emulator (above)');
}
const link = spawnSync('g++', ['-shared', '-o', addon, ...objs, '-ldl', '-lpthread'], { encoding: 'utf8' });
if (link.status !== 0) skip(`link failed: ${link.stderr}`);
process.stdout.write(`@kindling/backend-cuda: CUDA emulator built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${addon} (${(statSync(addon).size / 2 ** 20).toFixed(1)} MiB)\n`);
