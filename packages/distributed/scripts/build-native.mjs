#!/usr/bin/env node
// Native build of @kindling/distributed (CMakeLists.txt + native/src → build/Release/kindling_distributed.node).
//
// Gloo is the only engine for CPU collectives (home-made ones are out of scope by design), so a
// machine without libgloo-dev gets a package that loads and says why the 'gloo' backend is
// missing: the reason goes to build/native-status.json (src/native.ts quotes it) and the build
// exits 0. KINDLING_REQUIRE_NATIVE=1 makes a failure fatal (CI, where .ci/run installs libgloo-dev).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(pkgDir, 'build');
const addonFile = join(buildDir, 'Release', 'kindling_distributed.node');
const require = createRequire(join(pkgDir, 'package.json'));
const required = /^(1|true|yes|on)$/i.test(process.env.KINDLING_REQUIRE_NATIVE ?? '');

function status(s) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(join(buildDir, 'native-status.json'), `${JSON.stringify({ ...s, date: new Date().toISOString() }, null, 2)}\n`);
}

function fail(reason, log = '') {
  rmSync(addonFile, { force: true });
  status({ built: false, reason });
  if (log) process.stderr.write(`${log.trim().split('\n').slice(-25).join('\n')}\n`);
  process.stderr.write(`@kindling/distributed: native addon not built: ${reason}\n`);
  process.exit(required ? 1 : 0);
}

const resolveDir = (name) => {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return fail(`${name} is not installed (pnpm install)`);
  }
};
if (spawnSync('cmake', ['--version']).status !== 0) fail('cmake not found (Debian: apt-get install cmake)');
if (!['/usr/include', '/usr/local/include'].some((d) => existsSync(join(d, 'gloo', 'rendezvous', 'context.h')))) {
  fail('Gloo headers not found (Debian: apt-get install libgloo-dev)');
}
const addonApiDir = resolveDir('node-addon-api');
const cmakeJs = join(resolveDir('cmake-js'), 'bin', 'cmake-js');

const t0 = Date.now();
const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--directory', pkgDir, '--out', buildDir, '--parallel', '2', `--CDNODE_ADDON_API_DIR=${addonApiDir}`], {
  cwd: pkgDir,
  encoding: 'utf8',
});
const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
if (r.status !== 0 || !existsSync(addonFile)) {
  const why = /KINDLING: ([^\n]*)/.exec(log);
  fail(why ? why[1] : `cmake-js compile failed (exit ${r.status ?? r.signal})`, log);
}
status({ built: true, addon: addonFile, seconds: (Date.now() - t0) / 1000 });
process.stdout.write(`@kindling/distributed: native addon built (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
