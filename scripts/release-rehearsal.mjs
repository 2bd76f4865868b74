#!/usr/bin/env node
// A release rehearsed end to end against a real npm registry (Verdaccio on 127.0.0.1), as npm
// users get Kindling. Run after `pnpm build` (the test in packages/kindling/test runs it):
//
//   1. a copy of the release inputs (root manifest, .changeset, every non-private package under
//      packages/ with exactly its `files`) in a temporary folder, where `changeset version` runs:
//      the repository is left untouched;
//   2. Verdaccio with temporary storage, @kindling/* and kindling served only from it (other
//      packages, e.g. webgpu, proxied to the npm registry), and `pnpm publish -r` of the copy;
//   3. publint and @arethetypeswrong/cli on every tarball as published, which holds a LICENSE
//      and no .tsbuildinfo;
//   4. scratch folders outside the workspace, PATH = node, npm and sh only (no compiler, cmake):
//      (a) `npm install kindling` (timed, empty cache) and examples/lenet-node: the cpu backend
//          must be the prebuilt native one; examples/safetensors-torch when python3 has torch;
//      (b) @kindling/core @kindling/autograd @kindling/backend-webgpu webgpu: a training step on
//          webgpu in Node (Dawn on SwiftShader);
//      (c) @kindling/core @kindling/backend-cuda: availableDevices() says why CUDA cannot run;
//      (e) @kindling/distributed: Gloo from its prebuilt platform package, one allReduce;
//      (d) kindling + @kindling/backend-webgpu without `webgpu`: in Node, initDevice('webgpu')
//          names the package to install; examples/webgpu-vite built with Vite and opened in
//          headless Chromium: webgpu registers and the page trains.
// Verdaccio runs in its own process group and is killed by its PID in `finally`, also on
// failure or a signal. Prints `rehearsal: <json>` with the figures as its last line.
//
//   node scripts/release-rehearsal.mjs [--keep] [--only a,b,c,d] [--skip-missing]
import { spawn, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const WEB = join(ROOT, 'apps', 'web'); // vite and playwright-core come from the web app's devDependencies
const CHROMIUM = process.env.KINDLING_CHROMIUM ?? '/usr/bin/chromium';
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const args = process.argv.slice(2);
const keep = args.includes('--keep');
// A package missing files from its `files` (a platform package whose addon was not built) is
// published without them and not linted, instead of stopping the rehearsal. The test passes it
// only on a machine without nvcc, where the CUDA addon cannot be built.
const skipMissing = args.includes('--skip-missing');
const onlyArg = args.indexOf('--only');
const only = new Set(onlyArg >= 0 ? args[onlyArg + 1].split(',') : ['a', 'b', 'c', 'd', 'e']);

const incomplete = new Set(); // --skip-missing: tarball name prefixes of packages published without all their files
const work = mkdtempSync(join(tmpdir(), 'kindling-release-'));
const figures = { registry: null, packages: {}, steps: {} };
const log = (line) => console.log(`[rehearsal] ${line}`);

/** Runs a command, returns stdout; on failure the error carries its output. */
function run(cmd, argv, opts = {}) {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...opts });
  } catch (e) {
    throw new Error(`${cmd} ${argv.join(' ')} failed (exit ${e.status}):\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** 1. The release inputs, copied: what `pnpm publish` reads, and nothing it would rebuild. */
function copyReleaseInputs(repo) {
  mkdirSync(repo);
  for (const f of ['package.json', 'pnpm-workspace.yaml', 'pnpm-lock.yaml', 'LICENSE']) cpSync(join(ROOT, f), join(repo, f));
  cpSync(join(ROOT, '.changeset'), join(repo, '.changeset'), { recursive: true });
  const names = [];
  for (const dir of readdirSync(join(ROOT, 'packages'))) {
    const src = join(ROOT, 'packages', dir);
    if (!existsSync(join(src, 'package.json'))) continue;
    const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'));
    if (pkg.private) continue;
    const files = (pkg.files ?? []).filter((f) => !f.startsWith('!'));
    const missing = ['package.json', 'README.md', ...files].filter((f) => !existsSync(join(src, f)));
    if (missing.length > 0) {
      const why = `${pkg.name}: ${missing.join(', ')} (package.json files) missing; run pnpm build first`;
      if (!skipMissing) throw new Error(why);
      log(`published incomplete, not linted: ${why}`);
      incomplete.add(`${pkg.name.replace(/^@.*\//, '')}-`);
    }
    const dst = join(repo, 'packages', dir);
    mkdirSync(dst, { recursive: true });
    for (const f of ['package.json', 'README.md', ...files].filter((x) => !missing.includes(x))) {
      cpSync(join(src, f), join(dst, f), { recursive: true, filter: (p) => !p.includes('node_modules') });
    }
    // What each package's prepack does in a real release (the build already ran): the LICENSE,
    // and the shared native build helper beside a build script.
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'package-meta.mjs'), '--license', dst]);
    names.push(pkg.name);
  }
  return names;
}

/** Starts Verdaccio in its own process group; resolves with its URL once it answers. */
async function startVerdaccio(dir) {
  mkdirSync(dir);
  const port = await freePort();
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `storage: ${join(dir, 'storage')}
auth:
  htpasswd:
    file: ${join(dir, 'htpasswd')}
    max_users: 10
uplinks:
  npmjs:
    url: https://registry.npmjs.org/
    timeout: 120s
packages:
  'kindling':
    access: $all
    publish: $authenticated
  '@kindling/*':
    access: $all
    publish: $authenticated
  '**':
    access: $all
    proxy: npmjs
web:
  enable: false
log: { type: stdout, format: pretty, level: warn }
max_body_size: 200mb
`,
  );
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(join(BIN, 'verdaccio'), ['--config', config, '--listen', `127.0.0.1:${port}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited (${child.exitCode}): ${output}`);
    try {
      const r = await fetch(`${url}/-/ping`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`verdaccio did not answer on ${url} within 60 s: ${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, child, output: () => output };
}

function stopVerdaccio(v) {
  if (!v || v.child.exitCode !== null) return;
  try {
    process.kill(-v.child.pid, 'SIGTERM'); // its process group: verdaccio and anything it started
  } catch {
    /* already gone */
  }
}

/** A throwaway registry user (Verdaccio's htpasswd plugin creates it) and its token. */
async function registryToken(url) {
  const r = await fetch(`${url}/-/user/org.couchdb.user:rehearsal`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'rehearsal', password: 'rehearsal-only', email: 'rehearsal@127.0.0.1' }),
  });
  const body = await r.json();
  if (!body.token) throw new Error(`verdaccio refused the rehearsal user: ${JSON.stringify(body)}`);
  return body.token;
}

/** A PATH with node, npm and sh (npm runs lifecycle scripts with it) only: no compiler, cmake, pkg-config or python. */
function userPath() {
  const shims = join(work, 'bin');
  mkdirSync(shims);
  symlinkSync(process.execPath, join(shims, 'node'));
  const npmCli = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  if (!existsSync(npmCli)) throw new Error(`npm not found at ${npmCli}`);
  symlinkSync(npmCli, join(shims, 'npm'));
  symlinkSync('/bin/sh', join(shims, 'sh'));
  return shims;
}

/** A scratch project outside the workspace, with its own npm config, cache and PATH. */
function scratch(name, registry, path, pkg = {}) {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `scratch-${name}`, private: true, type: 'module', ...pkg }, null, 2));
  writeFileSync(join(dir, '.npmrc'), `registry=${registry}/\n`);
  const env = {
    PATH: path,
    HOME: dir,
    npm_config_userconfig: join(dir, '.npmrc'),
    npm_config_cache: join(dir, '.npm-cache'),
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    TMPDIR: work,
  };
  if (process.env.KINDLING_DATA_DIR) env.KINDLING_DATA_DIR = process.env.KINDLING_DATA_DIR;
  const npm = (...argv) => {
    const t0 = performance.now();
    const out = run('npm', argv, { cwd: dir, env });
    return { out, seconds: (performance.now() - t0) / 1000 };
  };
  const node = (argv, extraEnv = {}) => run('node', argv, { cwd: dir, env: { ...env, ...extraEnv }, timeout: 300_000 });
  return { dir, env, npm, node };
}

function tarballSizes(storage) {
  const sizes = {};
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.tgz')) sizes[e.name] = statSync(p).size;
    }
  };
  walk(storage);
  return sizes;
}

async function browserCheck(distDir) {
  const requireWeb = createRequire(join(WEB, 'package.json'));
  const { chromium } = requireWeb('playwright-core');
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };
  const server = createHttpServer((req, res) => {
    const path = join(distDir, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = existsSync(path) && statSync(path).isFile() ? path : join(distDir, 'index.html');
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const userDir = mkdtempSync(join(work, 'chromium-'));
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(userDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
      timeout: 60_000,
    });
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.kindlingResult !== undefined, null, { timeout: 180_000 });
    const result = await page.evaluate(() => window.kindlingResult);
    const text = await page.evaluate(() => document.getElementById('log').textContent);
    return { result, text, errors };
  } finally {
    await ctx?.close().catch(() => undefined);
    server.close();
  }
}

let verdaccio = null;
const onSignal = (sig) => {
  stopVerdaccio(verdaccio);
  process.exit(sig === 'SIGINT' ? 130 : 143);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  // 1. changeset version on a copy.
  const repo = join(work, 'repo');
  const names = copyReleaseInputs(repo);
  // Links the copy's packages to each other (pnpm resolves workspace: ranges from them when it
  // packs) from the store the workspace install filled: no download, no build scripts.
  run(join(BIN, 'pnpm'), ['install', '--offline', '--ignore-scripts'], { cwd: repo });
  run(join(repo, 'node_modules', '.bin', 'changeset'), ['version'], { cwd: repo });
  const versions = {};
  for (const dir of readdirSync(join(repo, 'packages'))) {
    const pkg = JSON.parse(readFileSync(join(repo, 'packages', dir, 'package.json'), 'utf8'));
    versions[pkg.name] = pkg.version;
  }
  log(`changeset version: ${Object.entries(versions).map(([n, v]) => `${n}@${v}`).join(', ')}`);
  figures.versions = versions;

  // 3. The registry, and the publish.
  verdaccio = await startVerdaccio(join(work, 'registry'));
  figures.registry = verdaccio.url;
  const token = await registryToken(verdaccio.url);
  const host = verdaccio.url.replace(/^http:/, '');
  writeFileSync(join(repo, '.npmrc'), `registry=${verdaccio.url}/\n${host}/:_authToken=${token}\n`);
  const t0 = performance.now();
  // Scripts off: prepack would rebuild what `pnpm build` already built (and needs the toolchain).
  run(join(BIN, 'pnpm'), ['publish', '-r', '--no-git-checks', '--ignore-scripts', '--registry', `${verdaccio.url}/`], { cwd: repo });
  figures.steps.publishSeconds = (performance.now() - t0) / 1000;
  figures.packages = tarballSizes(join(work, 'registry', 'storage'));
  for (const [f, size] of Object.entries(figures.packages)) {
    const listing = run('tar', ['tzf', join(work, 'registry', 'storage', ...locate(f))]);
    if (listing.includes('.tsbuildinfo')) throw new Error(`${f} contains a .tsbuildinfo`);
    if (!listing.split('\n').includes('package/LICENSE')) throw new Error(`${f} has no LICENSE`);
    void size;
    // 2. publint and arethetypeswrong on the tarball as published (ESM-only packages:
    //    require() of ESM is Node's own since 20.19, hence attw's esm-only profile; the platform
    //    packages hold a binary and no types).
    const tgz = join(work, 'registry', 'storage', ...locate(f));
    if ([...incomplete].some((prefix) => f.startsWith(prefix) && /^\d/.test(f.slice(prefix.length)))) continue;
    run(join(BIN, 'publint'), ['run', tgz, '--strict']);
    const types = JSON.parse(run('tar', ['xzf', tgz, '-O', 'package/package.json'])).types;
    if (types) run(join(BIN, 'attw'), [tgz, '--profile', 'esm-only', '--format', 'ascii']);
  }
  log('publint and attw pass for every tarball');
  log(`published ${Object.keys(figures.packages).length} tarballs in ${figures.steps.publishSeconds.toFixed(1)} s`);

  const path = userPath();
  const examples = join(ROOT, 'examples');

  if (only.has('a')) {
    const a = scratch('a', verdaccio.url, path);
    const install = a.npm('install', 'kindling');
    figures.steps.installKindlingSeconds = install.seconds;
    // The examples as folders beside node_modules (the safetensors one imports ../lenet-node).
    for (const ex of ['lenet-node', 'safetensors-torch']) {
      cpSync(join(examples, ex), join(a.dir, ex), { recursive: true, filter: (p) => !p.includes('node_modules') });
    }
    const out = a.node(['lenet-node/train.mjs', '--steps', '6', '--batch', '256']);
    const impl = /^cpu: (.*)$/m.exec(out)?.[1] ?? '';
    if (!/^native .* from @kindling\/backend-cpu-linux-x64-gnu/.test(impl)) {
      throw new Error(`(a) the cpu backend after npm install kindling is not the prebuilt native path: ${impl || out}`);
    }
    figures.steps.a = { implementation: impl, imgPerSecond: Number(/(\d+) img\/s/.exec(out)?.[1]) };
    log(`(a) npm install kindling: ${install.seconds.toFixed(1)} s; LeNet: ${out.trim().split('\n').at(-1)}`);

    // examples/safetensors-torch runs in the same install, when python3 can import torch.
    const python = [process.env.PYTHON, 'python3', '/usr/bin/python3'].find((p) => {
      if (!p) return false;
      try {
        execFileSync(p, ['-c', 'import torch'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    });
    if (python) {
      const rt = a.node(['safetensors-torch/roundtrip.mjs'], { PYTHON: python });
      figures.steps.safetensors = rt.trim().split('\n').at(-1);
      log(`(a) ${figures.steps.safetensors}`);
    } else {
      figures.steps.safetensors = 'skipped: python3 cannot import torch (apt-get install python3-torch)';
      log(`(a) examples/safetensors-torch ${figures.steps.safetensors}`);
    }
  }

  if (only.has('b')) {
    const b = scratch('b', verdaccio.url, path);
    const install = b.npm('install', '@kindling/core', '@kindling/autograd', '@kindling/backend-webgpu', 'webgpu');
    writeFileSync(
      join(b.dir, 'step.mjs'),
      `import * as kd from '@kindling/core';
import '@kindling/autograd';
import '@kindling/backend-webgpu';
const backend = await kd.initDevice('webgpu');
kd.manualSeed(0);
const w = kd.randn([8, 4], { device: 'webgpu', requiresGrad: true });
const x = kd.randn([16, 4], { device: 'webgpu' });
const loss = kd.linear(x, w).relu().mean();
loss.backward();
const before = await loss.item();
const g = await w.grad.data();
console.log(JSON.stringify({ implementation: backend.info().implementation, loss: before, gradNorm: Math.hypot(...g), devices: kd.availableDevices().map((d) => d.kind) }));
`,
    );
    const r = JSON.parse(b.node(['step.mjs'], { VK_ICD_FILENAMES: SWIFTSHADER_ICD }).trim().split('\n').at(-1));
    if (!(r.gradNorm > 0) || !r.devices.includes('webgpu')) throw new Error(`(b) no gradient on webgpu: ${JSON.stringify(r)}`);
    figures.steps.b = { installSeconds: install.seconds, ...r };
    log(`(b) webgpu step in Node: loss ${r.loss.toFixed(4)}, |grad| ${r.gradNorm.toFixed(4)} (${r.implementation})`);
  }

  if (only.has('c')) {
    const c = scratch('c', verdaccio.url, path);
    c.npm('install', '@kindling/core', '@kindling/backend-cuda');
    const out = c.node(['--input-type=module', '-e',
      "import * as kd from '@kindling/core'; import '@kindling/backend-cuda'; console.log(JSON.stringify(kd.availableDevices().find((d) => d.kind === 'cuda')))"]);
    const cuda = JSON.parse(out.trim().split('\n').at(-1));
    if (!cuda || (!cuda.available && !cuda.reason)) throw new Error(`(c) cuda gave no reason: ${out}`);
    figures.steps.c = cuda;
    log(`(c) cuda: ${cuda.available ? 'available' : `unavailable: ${cuda.reason}`}`);
  }

  if (only.has('e')) {
    // @kindling/distributed as npm users get it: the prebuilt Gloo addon and the libraries it
    // carries (no libgloo-dev needed, LD_LIBRARY_PATH unset), one allReduce with world size 1.
    const e = scratch('e', verdaccio.url, path);
    e.npm('install', '@kindling/core', '@kindling/autograd', '@kindling/nn', '@kindling/backend-cpu', '@kindling/distributed');
    const port = await freePort();
    const out = e.node(['--input-type=module', '-e',
      `import * as kd from '@kindling/core'; import '@kindling/backend-cpu'; import * as dist from '@kindling/distributed';
const { readFileSync } = await import('node:fs');
await dist.initProcessGroup({ backend: 'gloo', initMethod: 'tcp://127.0.0.1:${port}', rank: 0, worldSize: 1, timeoutMs: 60000 });
const t = kd.tensor([1, 2, 3], { dtype: 'float32' });
await dist.allReduce(t, 'sum');
const gloo = readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.split(/\\s+/)[5]).find((p) => p && p.endsWith('/libgloo.so.0'));
console.log(JSON.stringify({ source: dist.nativeStatus().source, sum: await t.array(), gloo }));
dist.destroyProcessGroup();`]);
    const r = JSON.parse(out.trim().split('\n').at(-1));
    if (r.source !== '@kindling/distributed-linux-x64-gnu' || !r.gloo?.includes('/node_modules/@kindling/distributed-linux-x64-gnu/') || JSON.stringify(r.sum) !== '[1,2,3]') {
      throw new Error(`(e) @kindling/distributed did not run on its prebuilt Gloo: ${out}`);
    }
    figures.steps.e = r;
    log(`(e) @kindling/distributed: gloo from ${r.source} (${r.gloo}), allReduce of world size 1 ok`);
  }

  if (only.has('d')) {
    const d = scratch('d', verdaccio.url, path);
    d.npm('install', 'kindling', '@kindling/backend-webgpu');
    // Node without the optional `webgpu` peer: the error names the package to install.
    const noDawn = d.node(['--input-type=module', '-e',
      "import * as kd from 'kindling/webgpu'; try { await kd.initDevice('webgpu'); console.log('initialised') } catch (e) { console.log(e.message) }"]);
    if (!noDawn.includes("'webgpu' package")) throw new Error(`(d) webgpu without Dawn in Node did not name the package: ${noDawn}`);
    figures.steps.nodeWithoutDawn = noDawn.trim().split('\n').at(-1);
    log(`(d) Node without \`webgpu\`: ${figures.steps.nodeWithoutDawn.slice(0, 120)}…`);
    for (const f of ['index.html', 'main.js']) cpSync(join(examples, 'webgpu-vite', f), join(d.dir, f));
    const viteBin = join(dirname(createRequire(join(WEB, 'package.json')).resolve('vite/package.json')), 'bin', 'vite.js');
    d.node([viteBin, 'build', '--logLevel', 'warn']);
    const { result, text, errors } = await browserCheck(join(d.dir, 'dist'));
    const webgpu = result.devices?.find((x) => x.kind === 'webgpu');
    if (result.error || !webgpu?.available || !(result.last < result.first)) {
      throw new Error(`(d) the Vite page did not train on webgpu: ${JSON.stringify(result)}\n${text}\n${errors.join('\n')}`);
    }
    figures.steps.d = result;
    log(`(d) Vite page in Chromium: webgpu registered, loss ${result.first.toFixed(4)} → ${result.last.toFixed(4)}`);
  }
} finally {
  stopVerdaccio(verdaccio);
  if (!keep) rmSync(work, { recursive: true, force: true });
  else log(`kept ${work}`);
}
console.log(`rehearsal: ${JSON.stringify(figures)}`);

/** Storage path of a tarball: <storage>/<@scope>/<name>/<file> or <storage>/<name>/<file>. */
function locate(file) {
  const storage = join(work, 'registry', 'storage');
  for (const e of readdirSync(storage, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const inner = e.name.startsWith('@') ? readdirSync(join(storage, e.name)).map((n) => [e.name, n]) : [[e.name]];
    for (const parts of inner) if (existsSync(join(storage, ...parts, file))) return [...parts, file];
  }
  throw new Error(`tarball ${file} not found in the registry storage`);
}
