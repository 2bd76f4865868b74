// What the native addons' build scripts share (packages/backend-cpu, backend-cuda and distributed:
// scripts/build-native.mjs, and backend-cuda's build-emulator.mjs): the --release argument, the
// status file the loaders quote, failing softly (or not, when the package's KINDLING_REQUIRE_*
// switch is on), the build tools from node_modules or npm, the cmake-js call and the include
// folder of core's kindling_flags.h. This file is the only copy in git; each package's prepack
// copies it next to its build script (scripts/package-meta.mjs --license), so a published
// package builds from source without the workspace.
//
// The switches are declared in core's flag registry (packages/core/src/kit/flags.ts); this plain
// script cannot import TypeScript, so it applies the registry's spelling itself, and
// packages/core/test/flags.test.ts checks that both spellings are the same.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const TRUE_SPELLINGS = ['1', 'true', 'on', 'yes'];
export const FALSE_SPELLINGS = ['0', 'false', 'off', 'no'];

/** A boolean KINDLING_* switch with core's spelling: `fallback` when unset or blank, an error for anything else. */
export function buildFlag(name, fallback, env = process.env) {
  const raw = (env[name] ?? '').trim();
  if (!raw) return fallback;
  const v = raw.toLowerCase();
  if (TRUE_SPELLINGS.includes(v)) return true;
  if (FALSE_SPELLINGS.includes(v)) return false;
  process.stderr.write(`${name}='${raw}': expected ${TRUE_SPELLINGS.join('/')} (on) or ${FALSE_SPELLINGS.join('/')} (off)\n`);
  process.exit(2);
}

/** The folder of core's kindling_flags.h as seen from `pkgDir` (@kindling/core is every addon package's peer dependency), or null. */
export function coreFlagsDir(pkgDir) {
  const require = createRequire(join(pkgDir, 'package.json'));
  for (const base of require.resolve.paths('@kindling/core') ?? []) {
    const dir = join(base, '@kindling', 'core', 'native');
    if (existsSync(join(dir, 'kindling_flags.h'))) return dir;
  }
  return null;
}

/**
 * One native build: `pkgDir` the package, `addon` the .node file's name, `who` how messages name
 * the package, `what` how they name the addon, `requireFlag` the switch that makes a failure fatal, `onFailure` what a soft
 * failure says will happen instead.
 */
export function nativeBuild({ pkgDir, addon, who, what = 'native addon', requireFlag, onFailure, argv = process.argv.slice(2) }) {
  const releaseAt = argv.indexOf('--release');
  if (releaseAt >= 0 && !argv[releaseAt + 1]) {
    process.stderr.write('build-native.mjs: --release needs the platform package folder (--release DIR)\n');
    process.exit(2);
  }
  const releaseDir = releaseAt >= 0 ? resolve(argv[releaseAt + 1]) : null;
  const buildDir = join(releaseDir ?? pkgDir, 'build');
  const builtFile = join(buildDir, 'Release', addon);
  const outFile = releaseDir ? join(releaseDir, addon) : builtFile;
  const required = buildFlag(requireFlag, false);
  const label = typeof who === 'function' ? who(releaseDir, outFile) : who;

  function writeStatus(status) {
    mkdirSync(buildDir, { recursive: true });
    writeFileSync(join(buildDir, 'native-status.json'), `${JSON.stringify({ ...status, date: new Date().toISOString() }, null, 2)}\n`);
  }

  function fail(reason, detail = '') {
    // A stale addon from an earlier successful build must not outlive a failed one.
    rmSync(outFile, { force: true });
    rmSync(builtFile, { force: true });
    writeStatus({ built: false, reason });
    if (detail) process.stderr.write(`${detail.trim().split('\n').slice(-30).join('\n')}\n`);
    const msg = `${label}: ${what} not built: ${reason}`;
    if (required) {
      process.stderr.write(`${msg} (${requireFlag} is set: failing)\n`);
      process.exit(1);
    }
    process.stdout.write(`${msg}; ${onFailure}\n`);
    process.exit(0);
  }

  /** The first line of `cmd --version` (or the line that names a release), null when it does not run. */
  function version(cmd, args = ['--version']) {
    try {
      const lines = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
      return (lines.find((l) => /release/i.test(l)) ?? lines[0]).trim();
    } catch {
      return null;
    }
  }

  /**
   * The folders of the build tools (cmake-js, node-addon-api): from node_modules when installed
   * (the workspace), else installed from npm into build-tools/ at the versions package.json pins,
   * all in one `npm install` (a second one would prune the first's packages), and not in build/
   * (cmake-js clears that folder when it configures).
   */
  function tools(names = ['node-addon-api', 'cmake-js']) {
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
    if (missing.length > 0) {
      const devDeps = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).devDependencies ?? {};
      const specs = missing.map((n) => `${n}@${devDeps[n] ?? 'latest'}`);
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      process.stdout.write(`${label}: installing ${specs.join(' ')} into ${toolsDir}\n`);
      mkdirSync(toolsDir, { recursive: true });
      const r = spawnSync(npm, ['install', '--no-save', '--no-package-lock', '--ignore-scripts', '--prefix', toolsDir, ...specs], { encoding: 'utf8' });
      for (const n of missing) {
        if (r.status !== 0 || !existsSync(join(local(n), 'package.json'))) fail(`${specs.join(' ')} not installed and \`npm install\` of them failed`, `${r.stdout ?? ''}\n${r.stderr ?? ''}`);
        found[n] = local(n);
      }
    }
    return { addonApiDir: found['node-addon-api'], cmakeJs: join(found['cmake-js'], 'bin', 'cmake-js') };
  }

  function flagsDir() {
    return coreFlagsDir(pkgDir) ?? fail('@kindling/core (its native/kindling_flags.h) was not found from this package');
  }

  /** `cmake-js compile` with the tools, the flags header and `defines` (-D name=value); fails softly with the log. */
  function compile(defines = {}, parallel = 2) {
    const { addonApiDir, cmakeJs } = tools();
    const args = [cmakeJs, 'compile', '--directory', pkgDir, '--out', buildDir, '--parallel', String(parallel),
      `--CDNODE_ADDON_API_DIR=${addonApiDir}`, `--CDKINDLING_FLAGS_DIR=${flagsDir()}`];
    for (const [k, v] of Object.entries(defines)) args.push(`--CD${k}=${v}`);
    const r = spawnSync(process.execPath, args, { cwd: pkgDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
    return { ok: r.status === 0 && existsSync(builtFile), log, exit: r.status ?? r.signal };
  }

  /** Copies the built addon into the release folder: a new file renamed into place, so a process that has the old .node mapped keeps its inode. */
  /**
   * Writes native/generated/kindling_ops.h from @kindling/core's op table (the one source of the op
   * codes for TypeScript and C++), namespace `ns`; rewritten only when it changes, so that cmake
   * does not recompile everything that includes it.
   */
  async function writeOpsHeader(ns) {
    let text;
    try {
      const core = await import(pathToFileURL(createRequire(join(pkgDir, 'package.json')).resolve('@kindling/core')).href);
      text = core.nativeOpsHeader(ns);
    } catch (e) {
      fail(`cannot generate the op codes from @kindling/core (build it first): ${e.message.split('\n')[0]}`);
    }
    const file = join(pkgDir, 'native', 'generated', 'kindling_ops.h');
    if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }

  function publish(from = builtFile, to = outFile) {
    copyFileSync(from, `${to}.tmp`);
    renameSync(`${to}.tmp`, to);
  }

  return { releaseDir, buildDir, builtFile, outFile, who: label, writeStatus, fail, version, tools, flagsDir, compile, writeOpsHeader, publish };
}
