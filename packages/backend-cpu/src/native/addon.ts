/**
 * Loading the optional native addon (kindling_cpu.node, see ../../CMakeLists.txt).
 *
 * The addon is looked up only in Node (through process.getBuiltinModule, so this module has no
 * static `node:` import and bundles for browsers untouched), in this order:
 *   1. the prebuilt platform package, an optional dependency (@kindling/backend-cpu-linux-x64-gnu);
 *   2. a local source build, build/Release/kindling_cpu.node (scripts/build-native.mjs);
 *   3. none: the backend runs its portable TypeScript kernels.
 * Every candidate that was not used leaves a reason, and info().implementation quotes them, so a
 * user can see what to install or run. The ISA level (baseline x86-64, AVX2/FMA, AVX-512) is chosen
 * by the addon from the CPU's features, or forced with KINDLING_CPU_ISA.
 */
import { flagBool, flagInt, flagString } from '@kindling/core/backend';
import type { HostArray } from './pack.js';

import { nativeOpNamesMismatch } from '@kindling/core';

/** What the addon exports once an ISA level is selected (native/src/addon.cc). */
export interface NativeAddon {
  /** e.g. "AVX2/FMA + AVX-512": the kernels of the selected ISA level. */
  isa: string;
  level: IsaLevel;
  /** The op names of each family this build was compiled with (kindling_ops.h), in code order. */
  opNames: { unary: string[]; binary: string[]; reduce: string[]; activation: string[]; entry: string[] };
  /** avx512: whether the kernels that have an AVX-512 variant run it (CPU and OS support it, $KINDLING_CPU_AVX512 is not 0). */
  init(threads: number): { threads: number; blas: string; blasCore: string; avx512: boolean };
  /** napi_adjust_external_memory: reports `delta` bytes of tensor storage to V8; returns its total. */
  adjustExternalMemory(delta: number): number;
  /**
   * The one kernel entry, the calling convention of core/native/kindling_packed.h: `entry` is a
   * code of core's KERNEL_ENTRY_POINTS, `block` holds `count` numbers in the entry point's order
   * (native/src/dispatch.cc lists them), `arrays` the typed arrays the block names by slot. Answers
   * undefined, `handled?` for entry points that cover only some cases, or maxPool2dBackward's bad index.
   */
  run(entry: number, block: Float64Array, count: number, ...arrays: HostArray[]): boolean | number | null | undefined;
}

/** The ISA levels the addon is compiled for (native/src/module.cc), lowest first. */
export const ISA_LEVELS = ['baseline', 'avx2', 'avx512'] as const;
export type IsaLevel = (typeof ISA_LEVELS)[number];

/** What the .node exports before an ISA level is selected. */
interface AddonModule {
  cpu: Record<string, boolean>;
  /** Levels this CPU can run, lowest first. */
  supported: IsaLevel[];
  select(level: IsaLevel): NativeAddon;
}

export interface NativeStatus {
  /** The loaded addon, or null when the portable path runs. */
  addon: NativeAddon | null;
  /** e.g. "native (C++, AVX2/FMA, OpenBLAS 0.3.21 Haswell kernels, 2 threads) from @kindling/backend-cpu-linux-x64-gnu". */
  description: string;
  /** Why the addon is not used (empty when it is). */
  reason: string;
  threads: number;
}

interface NodeProcess {
  env?: Record<string, string | undefined>;
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
}

function nodeProcess(): NodeProcess | null {
  const p = (globalThis as { process?: NodeProcess }).process;
  return p?.versions?.node ? p : null;
}

/** $KINDLING_CPU_NATIVE says whether to try the addon (core's flag registry). */
export function nativeFromEnv(): boolean {
  return flagBool('KINDLING_CPU_NATIVE');
}

/** Threads for the native pool: $KINDLING_CPU_THREADS, else os.availableParallelism(). */
function threadCount(proc: NodeProcess): number {
  const fromEnv = flagInt('KINDLING_CPU_THREADS', proc.env, 1);
  if (fromEnv !== undefined) return fromEnv;
  const os = proc.getBuiltinModule?.('node:os') as { availableParallelism?: () => number; cpus: () => unknown[] } | undefined;
  return Math.max(1, os?.availableParallelism?.() ?? os?.cpus().length ?? 1);
}

let cached: NativeStatus | null = null;

/** OpenBLAS kernel sets that predate AVX-512 (a CPU that has it runs them at half its peak). */
const PRE_AVX512_CORES = /^(haswell|zen|sandybridge|nehalem|prescott|core2|penryn|barcelona|bulldozer|piledriver|steamroller|excavator)$/i;

/**
 * Chooses OpenBLAS's kernels before the addon (and with it libopenblas) is loaded, since OpenBLAS
 * reads OPENBLAS_CORETYPE once, when it loads. OpenBLAS 0.3.21 does not recognise recent AMD CPUs
 * (Zen 4/5) and machines often pin OPENBLAS_CORETYPE=Haswell for them: AVX2 kernels, half the
 * peak of a CPU with AVX-512. When /proc/cpuinfo shows AVX-512 (F, BW, DQ, VL) and the coretype is
 * unset or pre-AVX-512, this process uses the SkylakeX (AVX-512) kernels instead.
 * $KINDLING_OPENBLAS_CORETYPE overrides the choice ('keep' leaves the environment alone).
 */
function chooseBlasCore(proc: NodeProcess, fs: { readFileSync(p: string, enc: string): string }): string {
  const env = proc.env ?? {};
  const forced = flagString('KINDLING_OPENBLAS_CORETYPE', env);
  if (forced && forced !== 'keep') {
    env.OPENBLAS_CORETYPE = forced;
    return `OPENBLAS_CORETYPE=${forced} (from KINDLING_OPENBLAS_CORETYPE)`;
  }
  if (forced === 'keep') return '';
  const current = env.OPENBLAS_CORETYPE;
  if (current && !PRE_AVX512_CORES.test(current)) return '';
  let flags = '';
  try {
    flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    return '';
  }
  const has = (f: string): boolean => new RegExp(`\\b${f}\\b`).test(flags);
  if (!['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every(has)) return '';
  env.OPENBLAS_CORETYPE = 'SkylakeX';
  return current ? `OPENBLAS_CORETYPE ${current} → SkylakeX: this CPU has AVX-512` : '';
}

function unavailable(reason: string): NativeStatus {
  return { addon: null, description: '', reason, threads: 1 };
}

/**
 * Platforms with a prebuilt package (name suffix → built), the convention of esbuild and sharp:
 * @kindling/backend-cpu-<platform>-<arch>[-<libc>]. The README's table lists the same.
 */
export const PLATFORM_PACKAGES: Readonly<Record<string, boolean>> = {
  'linux-x64-gnu': true,
  'linux-x64-musl': false,
  'linux-arm64-gnu': false,
  'darwin-arm64': false,
  'darwin-x64': false,
  'win32-x64-msvc': false,
};

/** The platform package suffix for this process, e.g. linux-x64-gnu. */
export function platformKey(platform: string, arch: string, glibc: boolean): string {
  if (platform === 'linux') return `${platform}-${arch}-${glibc ? 'gnu' : 'musl'}`;
  if (platform === 'win32') return `${platform}-${arch}-msvc`;
  return `${platform}-${arch}`;
}

/** What the loader needs from Node, passed in so tests can stand in for a platform or a file. */
export interface LoaderHost {
  platform: string;
  arch: string;
  glibc: boolean;
  /** The platform package's kindling_cpu.node, or null when the package is not installed. */
  resolvePlatformAddon(pkg: string): string | null;
  /** The platform package's build status (its build/native-status.json), when present. */
  platformStatus(pkg: string): { built?: boolean; reason?: string } | null;
  /** build/Release/kindling_cpu.node of this package, and the local build's status file. */
  localAddon: string;
  localStatus(): { built?: boolean; reason?: string } | null;
  exists(path: string): boolean;
  /** dlopen; throws like require() on failure. */
  loadAddon(path: string): AddonModule;
  env: Record<string, string | undefined>;
}

/** One command an npm user runs for a local source build (README: "Building from source"). */
export const LOCAL_BUILD_HINT =
  'for a local source build install cmake, g++ and libopenblas-dev, then run `node node_modules/@kindling/backend-cpu/scripts/build-native.mjs`';

/** The ISA level to run: $KINDLING_CPU_ISA when set (an error when invalid or above the CPU), else the best the CPU has. */
export function chooseIsa(env: Record<string, string | undefined>, supported: readonly IsaLevel[]): IsaLevel {
  const forced = flagString('KINDLING_CPU_ISA', env);
  if (forced) {
    if (!(ISA_LEVELS as readonly string[]).includes(forced)) {
      throw new Error(`KINDLING_CPU_ISA='${forced}' is not one of ${ISA_LEVELS.join(', ')}`);
    }
    if (!supported.includes(forced as IsaLevel)) {
      throw new Error(`KINDLING_CPU_ISA=${forced}: this CPU (or OS) supports only ${supported.join(', ')}`);
    }
    return forced as IsaLevel;
  }
  let best = supported[supported.length - 1] ?? 'baseline';
  // The older switch: KINDLING_CPU_AVX512=0 keeps the AVX2 kernels.
  if (best === 'avx512' && !flagBool('KINDLING_CPU_AVX512', env)) best = 'avx2';
  return best;
}

/** A candidate addon file and where it came from, in the loader's order. */
interface Candidate {
  path: string;
  source: string;
}

/**
 * The loader's order: the platform package, then the local source build. Returns the candidates
 * that exist and the reasons for those that do not (quoted when the portable path runs).
 */
export function addonCandidates(host: LoaderHost): { candidates: Candidate[]; reasons: string[] } {
  const candidates: Candidate[] = [];
  const reasons: string[] = [];
  const key = platformKey(host.platform, host.arch, host.glibc);
  const pkg = `@kindling/backend-cpu-${key}`;
  if (!PLATFORM_PACKAGES[key]) {
    reasons.push(`no prebuilt native addon for ${key} yet (the platform table in @kindling/backend-cpu's README lists the built ones)`);
  } else {
    const path = host.resolvePlatformAddon(pkg);
    if (path && host.exists(path)) {
      candidates.push({ path, source: pkg });
    } else if (path) {
      const st = host.platformStatus(pkg);
      reasons.push(`${pkg} is installed without its kindling_cpu.node${st?.built === false && st.reason ? ` (its build: ${st.reason})` : ''}`);
    } else {
      reasons.push(`the optional dependency ${pkg} is not installed (reinstall without --omit=optional / --no-optional)`);
    }
  }
  if (host.exists(host.localAddon)) {
    candidates.push({ path: host.localAddon, source: `a local source build (${host.localAddon})` });
  } else {
    const st = host.localStatus();
    if (st?.built === false && st.reason) reasons.push(`no local source build: ${st.reason}`);
    else if (host.arch === 'x64') reasons.push(`no local source build (${LOCAL_BUILD_HINT})`);
    else reasons.push(`no local source build (the native kernels are x86-64 only; this is ${host.arch})`);
  }
  return { candidates, reasons };
}

/** Loads the first candidate that loads; a candidate that fails adds its error to the reasons. */
export function loadWith(host: LoaderHost, threads: number): NativeStatus {
  const { candidates, reasons } = addonCandidates(host);
  for (const c of candidates) {
    let mod: AddonModule;
    try {
      mod = host.loadAddon(c.path);
    } catch (e) {
      reasons.push(`${c.source} failed to load: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    if (typeof mod.select !== 'function') {
      reasons.push(`${c.source} is an addon of another version (no ISA selection); rebuild it`);
      continue;
    }
    // An invalid or unsupported KINDLING_CPU_ISA is the user's error, not a reason to fall back.
    const level = chooseIsa(host.env, mod.supported);
    const addon = mod.select(level);
    const stale = nativeOpNamesMismatch(addon.opNames);
    if (stale) {
      reasons.push(`${c.source} was built from another version of core's op table (${stale}); rebuild it`);
      continue;
    }
    const info = addon.init(threads);
    const blas = /OpenBLAS\s+([\d.]+)/.exec(info.blas)?.[1];
    const blasText = blas ? `OpenBLAS ${blas} (${info.blasCore} kernels, 1 thread each)` : info.blas;
    const forced = flagString('KINDLING_CPU_ISA', host.env) ? ', forced by KINDLING_CPU_ISA' : '';
    return {
      addon,
      description: `native (C++, ${addon.isa}${forced}, ${blasText}, ${info.threads} thread${info.threads === 1 ? '' : 's'}) from ${c.source}`,
      reason: '',
      threads: info.threads,
    };
  }
  return unavailable(reasons.join('; '));
}

function readJson(fs: { readFileSync(p: string, enc: string): string }, path: string): { built?: boolean; reason?: string } | null {
  try {
    return JSON.parse(fs.readFileSync(path, 'utf8')) as { built?: boolean; reason?: string };
  } catch {
    return null;
  }
}

function load(): NativeStatus {
  const proc = nodeProcess();
  if (!proc) return unavailable('not running in Node (native addons need Node)');
  if (!proc.getBuiltinModule) return unavailable(`Node ${proc.versions?.node} lacks process.getBuiltinModule (needs >= 20.16)`);
  const { createRequire } = proc.getBuiltinModule('node:module') as { createRequire: (url: string) => NodeRequire };
  const fs = proc.getBuiltinModule('node:fs') as { existsSync(p: string): boolean; readFileSync(p: string, enc: string): string };
  const { fileURLToPath } = proc.getBuiltinModule('node:url') as { fileURLToPath(u: URL): string };
  const { dirname, join } = proc.getBuiltinModule('node:path') as { dirname(p: string): string; join(...p: string[]): string };
  const p = proc as NodeProcess & { platform: string; arch: string; report?: { getReport(): { header?: { glibcVersionRuntime?: string } } } };
  const require = createRequire(import.meta.url);
  let blasNote = '';
  const host: LoaderHost = {
    platform: p.platform,
    arch: p.arch,
    glibc: p.platform === 'linux' && !!p.report?.getReport().header?.glibcVersionRuntime,
    resolvePlatformAddon(pkg) {
      try {
        return require.resolve(`${pkg}/kindling_cpu.node`);
      } catch {
        return null;
      }
    },
    platformStatus(pkg) {
      try {
        return readJson(fs, join(dirname(require.resolve(`${pkg}/package.json`)), 'build', 'native-status.json'));
      } catch {
        return null;
      }
    },
    // This file lives in dist/native/ (or src/native/): the build folder is two levels up.
    localAddon: fileURLToPath(new URL('../../build/Release/kindling_cpu.node', import.meta.url)),
    localStatus: () => readJson(fs, fileURLToPath(new URL('../../build/native-status.json', import.meta.url))),
    exists: (path) => fs.existsSync(path),
    loadAddon(path) {
      // OpenBLAS reads OPENBLAS_CORETYPE once, when the addon (which links it) loads.
      blasNote = chooseBlasCore(proc, fs);
      return require(path) as AddonModule;
    },
    env: proc.env ?? {},
  };
  const status = loadWith(host, threadCount(proc));
  if (status.addon && blasNote) status.description += `; ${blasNote}`;
  return status;
}

type NodeRequire = ((id: string) => unknown) & { resolve(id: string): string };

/** Loads the addon once per process (the first backend that asks pays the dlopen). */
export function nativeStatus(): NativeStatus {
  if (cached === null) {
    // A misspelt KINDLING_CPU_ISA is an error the user must see, also when no addon is there.
    chooseIsa(nodeProcess()?.env ?? {}, ISA_LEVELS);
    try {
      cached = load();
    } catch (e) {
      const msg = (e as Error).message;
      if (msg.startsWith('KINDLING_CPU_ISA')) throw e;
      cached = unavailable(`native addon failed to initialise: ${msg}`);
    }
  }
  return cached;
}
