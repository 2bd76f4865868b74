/**
 * Loading the optional native addon (build/Release/kindling_cpu.node, see ../../CMakeLists.txt).
 *
 * The addon is looked up only in Node (through process.getBuiltinModule, so this module has no
 * static `node:` import and bundles for browsers untouched). Anything that prevents it — the
 * KINDLING_CPU_NATIVE=0 switch, a build that was skipped or failed (its reason is read from
 * build/native-status.json), a load error, a CPU without AVX2/FMA — leaves `addon` null and
 * says why, and the backend runs its portable TypeScript kernels.
 */

/** Unary op codes of native/src/elementwise.h (keep in sync). */
export const NATIVE_UNARY: Readonly<Record<string, number>> = {
  neg: 0, abs: 1, exp: 2, log: 3, sqrt: 4, rsqrt: 5, reciprocal: 6, square: 7, tanh: 8, sigmoid: 9, relu: 10, floor: 11, ceil: 12,
};
/** Binary op codes of native/src/elementwise.h. */
export const NATIVE_BINARY: Readonly<Record<string, number>> = { add: 0, sub: 1, mul: 2, div: 3 };
/** Activation codes of native/src/activation.h. */
export const NATIVE_ACTIVATION: Readonly<Record<string, number>> = { sigmoid: 0, tanh: 1, relu: 2 };
/** Comparison op codes (bool outputs). */
export const NATIVE_COMPARE: Readonly<Record<string, number>> = { eq: 0, ne: 1, lt: 2, le: 3, gt: 4, ge: 5 };

type F32 = Float32Array;
type I32 = Int32Array;
type Geo = Float64Array;

/** The functions the addon exports (argument lists are documented in native/src/addon.cc). */
export interface NativeAddon {
  isa: string;
  /** avx512: whether the kernels that have an AVX-512 variant run it (CPU and OS support it, $KINDLING_CPU_AVX512 is not 0). */
  init(threads: number): { threads: number; blas: string; blasCore: string; avx512: boolean };
  /** napi_adjust_external_memory: reports `delta` bytes of tensor storage to V8; returns its total. */
  adjustExternalMemory(delta: number): number;
  matmul(
    bt: number, m: number, n: number, k: number,
    a: F32, aOff: number, aBs: number, aRs: number, aCs: number,
    b: F32, bOff: number, bBs: number, bRs: number, bCs: number,
    c: F32, cOff: number, cBs: number, cRs: number, cCs: number, accumulate: boolean,
  ): void;
  linear(m: number, n: number, k: number, x: F32, xOff: number, w: F32, wOff: number, bias: F32 | null, bOff: number, y: F32, yOff: number): void;
  activationBackward(op: number, y: F32, yOff: number, gy: F32, gyOff: number, gx: F32, gxOff: number, n: number): boolean;
  conv2d(geo: Geo, x: F32, xOff: number, w: F32, wOff: number, bias: F32 | null, bOff: number, y: F32, yOff: number): void;
  conv2dBackwardInput(geo: Geo, gy: F32, gyOff: number, w: F32, wOff: number, gx: F32, gxOff: number): void;
  conv2dBackwardWeight(geo: Geo, gy: F32, gyOff: number, x: F32, xOff: number, gw: F32, gwOff: number): void;
  maxPool2d(geo: Geo, hwin: I32, wwin: I32, x: F32, xOff: number, y: F32, yOff: number, idx: I32, idxOff: number): void;
  maxPool2dBackward(geo: Geo, hwin: I32, wwin: I32, gy: F32, gyOff: number, idx: I32, idxOff: number, gx: F32, gxOff: number): number | null;
  avgPool2d(geo: Geo, hwin: I32, wwin: I32, divisorOverride: number, countIncludePad: boolean, x: F32, xOff: number, y: F32, yOff: number): void;
  avgPool2dBackward(geo: Geo, hwin: I32, wwin: I32, divisorOverride: number, countIncludePad: boolean, gy: F32, gyOff: number, gx: F32, gxOff: number, gxIsZero: boolean): void;
  unary(op: number, geo: Geo, x: F32, y: F32): boolean;
  binary(op: number, geo: Geo, a: F32 | number, b: F32 | number, y: F32): boolean;
  compare(op: number, geo: Geo, a: F32 | number, b: F32 | number, y: Uint8Array): boolean;
  /** Strided copy with a cast (f32/i32/bool pairs, see native/src/elementwise.h). */
  copy(geo: Geo, src: F32 | I32 | Uint8Array, dst: F32 | I32 | Uint8Array): boolean;
  reduceSum(geo: Geo, x: F32, out: F32): boolean;
  /** Dense float32 fill, split across the pool. */
  fill(y: F32, yOff: number, n: number, value: number): void;
  softmax(x: F32, xOff: number, y: F32, yOff: number, rows: number, cols: number, log: boolean): void;
  softmaxBackward(y: F32, yOff: number, gy: F32, gyOff: number, gx: F32, gxOff: number, rows: number, cols: number, log: boolean): void;
  sgdStep(
    p: F32, pOff: number, g: F32, gOff: number, buf: F32 | null, bufOff: number, n: number,
    lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean, maximize: boolean, firstStep: boolean,
  ): void;
  adamStep(
    p: F32, pOff: number, g: F32, gOff: number, m: F32, mOff: number, v: F32, vOff: number, vmax: F32 | null, vmaxOff: number, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, decoupled: boolean, amsgrad: boolean, maximize: boolean, step: number,
  ): void;
}

export interface NativeStatus {
  /** The loaded addon, or null when the portable path runs. */
  addon: NativeAddon | null;
  /** e.g. "native (C++, AVX2/FMA, OpenBLAS 0.3.21 Haswell kernels, 2 threads)". */
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

/** $KINDLING_CPU_NATIVE says whether to try the addon ('0'/'false'/'off'/'no' disable it). */
export function nativeFromEnv(): boolean {
  const v = nodeProcess()?.env?.KINDLING_CPU_NATIVE;
  return !(v !== undefined && /^(0|false|off|no)$/i.test(v.trim()));
}

/** Threads for the native pool: $KINDLING_CPU_THREADS, else os.availableParallelism(). */
function threadCount(proc: NodeProcess): number {
  const fromEnv = Number(proc.env?.KINDLING_CPU_THREADS);
  if (Number.isInteger(fromEnv) && fromEnv >= 1) return fromEnv;
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
  const forced = env.KINDLING_OPENBLAS_CORETYPE;
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

function load(): NativeStatus {
  const proc = nodeProcess();
  if (!proc) return unavailable('not running in Node (native addons need Node)');
  if (!proc.getBuiltinModule) return unavailable(`Node ${proc.versions?.node} lacks process.getBuiltinModule (needs >= 20.16)`);
  const { createRequire } = proc.getBuiltinModule('node:module') as { createRequire: (url: string) => (id: string) => unknown };
  const fs = proc.getBuiltinModule('node:fs') as { existsSync(p: string): boolean; readFileSync(p: string, enc: string): string };
  const { fileURLToPath } = proc.getBuiltinModule('node:url') as { fileURLToPath(u: URL): string };
  // This file lives in dist/native/ (or src/native/): the build folder is two levels up.
  const addonUrl = new URL('../../build/Release/kindling_cpu.node', import.meta.url);
  const statusUrl = new URL('../../build/native-status.json', import.meta.url);
  const addonPath = fileURLToPath(addonUrl);
  if (!fs.existsSync(addonPath)) {
    try {
      const s = JSON.parse(fs.readFileSync(fileURLToPath(statusUrl), 'utf8')) as { built?: boolean; reason?: string };
      if (s.built === false && s.reason) return unavailable(`native addon not built: ${s.reason}`);
    } catch {
      // no status file: the native build never ran
    }
    return unavailable('native addon not built (run `pnpm build` in @kindling/backend-cpu with cmake, a C++ compiler and libopenblas-dev)');
  }
  const blasNote = chooseBlasCore(proc, fs);
  let addon: NativeAddon & { unavailable?: string };
  try {
    addon = createRequire(import.meta.url)(addonPath) as NativeAddon & { unavailable?: string };
  } catch (e) {
    return unavailable(`native addon failed to load: ${(e as Error).message.split('\n')[0]}`);
  }
  if (addon.unavailable) return unavailable(`native addon unusable: ${addon.unavailable}`);
  const info = addon.init(threadCount(proc));
  const blas = /OpenBLAS\s+([\d.]+)/.exec(info.blas)?.[1];
  const blasText = blas ? `OpenBLAS ${blas} (${info.blasCore} kernels, 1 thread each)` : info.blas;
  return {
    addon,
    description: `native (C++, ${addon.isa}${info.avx512 ? ' + AVX-512' : ''}, ${blasText}, ${info.threads} thread${info.threads === 1 ? '' : 's'})${blasNote ? `; ${blasNote}` : ''}`,
    reason: '',
    threads: info.threads,
  };
}

/** Loads the addon once per process (the first backend that asks pays the dlopen). */
export function nativeStatus(): NativeStatus {
  if (cached === null) {
    try {
      cached = load();
    } catch (e) {
      cached = unavailable(`native addon failed to initialise: ${(e as Error).message}`);
    }
  }
  return cached;
}
