#!/usr/bin/env node
// Native builds of @kindling/distributed (CMakeLists.txt + native/src → kindling_distributed.node).
//
//   node scripts/build-native.mjs                local source build → build/Release/kindling_distributed.node,
//                                                linked to the system's libgloo
//   node scripts/build-native.mjs --release DIR  the platform package's build: the addon with an
//                                                $ORIGIN rpath, copied to DIR with libgloo.so.0 and
//                                                its non-system dependencies (from ldd) and their
//                                                Debian copyright files in DIR/licenses
//
// Gloo is the only engine for CPU collectives (home-made ones are out of scope by design), so a
// machine without libgloo-dev gets a package that loads and says why the 'gloo' backend is
// missing: the reason goes to <build dir>/native-status.json (src/native.ts quotes it) and the
// build exits 0. KINDLING_REQUIRE_NATIVE=1 makes a failure fatal (CI, where .ci/run installs
// libgloo-dev). The libraries a release carries are the platform package's `files` (one list):
// the build fails when ldd asks for another set.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The shared helper: next to this file in a published package, in the repository's scripts/ here.
const here = dirname(fileURLToPath(import.meta.url));
const helper = [join(here, 'native-build.mjs'), join(here, '..', '..', '..', 'scripts', 'native-build.mjs')].find((f) => existsSync(f));
if (!helper) throw new Error(`build-native.mjs: native-build.mjs is neither next to this script nor in the repository's scripts/ (${here})`);
const { nativeBuild } = await import(pathToFileURL(helper).href);

const pkgDir = resolve(here, '..');
const ADDON = 'kindling_distributed.node';
const b = nativeBuild({
  pkgDir,
  addon: ADDON,
  who: (releaseDir) => (releaseDir ? `@kindling/distributed release build (${join(releaseDir, ADDON)})` : '@kindling/distributed'),
  requireFlag: 'KINDLING_REQUIRE_NATIVE',
  onFailure: "the 'gloo' backend will report this reason",
});
const { releaseDir, buildDir, builtFile: addonFile, fail } = b;
const status = b.writeStatus;
const require = createRequire(join(pkgDir, 'package.json'));

// The build tools are devDependencies: the workspace has them, an npm user's copy of the package
// does not, and installs them into build-tools/ (not build/, which cmake-js clears) as the
// reason says, at the versions package.json pins.
const resolveDir = (name) => {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    const local = join(pkgDir, 'build-tools', 'node_modules', name);
    if (existsSync(join(local, 'package.json'))) return local;
    const devDeps = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).devDependencies ?? {};
    const specs = ['cmake-js', 'node-addon-api'].map((n) => `${n}@${devDeps[n]}`).join(' ');
    return fail(`${name} is not installed: run \`npm install --no-save --no-package-lock --prefix build-tools ${specs}\` in ${pkgDir}, then this script again`);
  }
};
if (releaseDir && `${process.platform}-${process.arch}` !== 'linux-x64') {
  fail(`the platform package ${releaseDir} holds a Linux x86-64 addon; this is ${process.platform}-${process.arch} (build from source instead)`);
}
if (spawnSync('cmake', ['--version']).status !== 0) fail('cmake not found (Debian: apt-get install cmake)');
if (!['/usr/include', '/usr/local/include'].some((d) => existsSync(join(d, 'gloo', 'rendezvous', 'context.h')))) {
  fail('Gloo headers not found (Debian: apt-get install libgloo-dev)');
}
const addonApiDir = resolveDir('node-addon-api');
const cmakeJs = join(resolveDir('cmake-js'), 'bin', 'cmake-js');

const t0 = Date.now();
const cmakeArgs = [cmakeJs, 'compile', '--directory', pkgDir, '--out', buildDir, '--parallel', '2', `--CDNODE_ADDON_API_DIR=${addonApiDir}`, `--CDKINDLING_FLAGS_DIR=${b.flagsDir()}`];
if (releaseDir) cmakeArgs.push('--CDKINDLING_ORIGIN_RPATH=ON');
const r = spawnSync(process.execPath, cmakeArgs, {
  cwd: pkgDir,
  encoding: 'utf8',
});
const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
if (r.status !== 0 || !existsSync(addonFile)) {
  const why = /KINDLING: ([^\n]*)/.exec(log);
  fail(why ? why[1] : `cmake-js compile failed (exit ${r.status ?? r.signal})`, log);
}
let carried = [];
if (releaseDir) carried = release();
status({ built: true, addon: releaseDir ? join(releaseDir, ADDON) : addonFile, carried, seconds: (Date.now() - t0) / 1000 });
process.stdout.write(`${b.who}: native addon built (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);

/**
 * The platform package's contents: the addon and every library ldd resolves outside the base
 * system (glibc, libstdc++, libgcc_s), copied beside it under their sonames, and each one's
 * Debian copyright file. Returns the carried sonames.
 */
function release() {
  const base = /^(linux-vdso\.so|ld-linux-x86-64\.so|libc\.so|libm\.so|libpthread\.so|libdl\.so|librt\.so|libstdc\+\+\.so|libgcc_s\.so)/;
  const ldd = (file) => {
    try {
      return execFileSync('ldd', [file], { encoding: 'utf8' });
    } catch (e) {
      return fail(`ldd ${file} failed: ${e.message}`);
    }
  };
  const deps = [];
  for (const line of ldd(addonFile).split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+(\S+)/.exec(line);
    if (!m || base.test(m[1])) continue;
    if (m[2] === 'not') fail(`ldd: ${m[1]} not found`, ldd(addonFile));
    deps.push({ soname: m[1], path: m[2] });
  }
  const files = JSON.parse(readFileSync(join(releaseDir, 'package.json'), 'utf8')).files ?? [];
  const listed = files.filter((f) => /\.so(\.|$)/.test(f)).sort();
  const found = deps.map((d) => d.soname).sort();
  if (JSON.stringify(listed) !== JSON.stringify(found)) {
    fail(`the addon needs ${found.join(', ')} beside it but ${join(releaseDir, 'package.json')} files lists ${listed.join(', ') || 'no library'}; update the list (and the README's licence table)`);
  }
  const licenses = join(releaseDir, 'licenses');
  rmSync(licenses, { recursive: true, force: true });
  mkdirSync(licenses);
  const copyReplacing = (from, to) => {
    // A new file renamed into place: a process that has the old file mapped keeps its inode.
    copyFileSync(from, `${to}.tmp`);
    renameSync(`${to}.tmp`, to);
  };
  for (const d of deps) {
    copyReplacing(d.path, join(releaseDir, d.soname));
    const pkg = debianPackage(d.path);
    const copyright = `/usr/share/doc/${pkg}/copyright`;
    if (!existsSync(copyright)) fail(`${d.soname} comes from ${pkg}, whose ${copyright} is missing`);
    copyFileSync(copyright, join(licenses, `${d.soname}.copyright`));
    // Full texts the copyright file only points to (libnl's LGPL-2.1, libibverbs's GPL-2 option).
    for (const m of readFileSync(copyright, 'utf8').matchAll(/\/usr\/share\/common-licenses\/([\w.+-]*[\w+])/g)) {
      if (existsSync(m[0])) copyFileSync(m[0], join(licenses, m[1]));
    }
  }
  copyReplacing(addonFile, join(releaseDir, ADDON));
  // The check the package's test repeats: every library resolves beside the addon or to the base system.
  for (const line of ldd(join(releaseDir, ADDON)).split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+(\S+)/.exec(line);
    if (m && !base.test(m[1]) && (!existsSync(m[2]) || realpathSync(m[2]) !== realpathSync(join(releaseDir, m[1])))) fail(`${m[1]} resolves to ${m[2]}, not beside the addon (rpath)`);
  }
  return found;
}

/** The Debian package that holds a library (dpkg -S; /lib is /usr/lib on a merged-/usr system). */
function debianPackage(path) {
  const real = realpathSync(path);
  for (const p of [real, real.replace(/^\/usr\/lib\//, '/lib/'), real.replace(/^\/lib\//, '/usr/lib/')]) {
    try {
      return execFileSync('dpkg', ['-S', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0].trim();
    } catch {
      // not this spelling of the path
    }
  }
  return fail(`cannot tell which Debian package holds ${real} (dpkg -S), so its licence cannot be shipped`);
}
