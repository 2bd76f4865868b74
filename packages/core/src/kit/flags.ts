/**
 * Every `KINDLING_*` environment switch, declared once: its type, default and what it does. All
 * TypeScript reads go through `flagBool` / `flagInt` / `flagString` below (the build scripts too,
 * through this module's dist); the native addons read theirs through `native/kindling_flags.h` of
 * this package, which applies the same spelling. The table in the root README is generated from
 * `FLAGS` (`node scripts/flags-table.mjs`), and a test keeps the two equal and checks that every
 * `KINDLING_*` name in the sources is declared here.
 *
 * One spelling of a boolean everywhere, case-insensitive, surrounding spaces ignored:
 * 1 / true / on / yes switch on, 0 / false / off / no switch off, unset or empty keeps the
 * default; anything else is an error that names the variable and the value (a typo must not
 * silently keep the default).
 */

export type FlagType = 'boolean' | 'integer' | 'string';

export interface FlagSpec {
  readonly type: FlagType;
  /** The default as the README shows it (booleans: 'on' / 'off'). */
  readonly default: string;
  /** Who reads it: a package or app, with "(native)" when the addon itself reads it, "(build)" for build scripts. */
  readonly readBy: string;
  readonly description: string;
}

const on = 'on';
const off = 'off';

export const FLAGS = {
  KINDLING_DEVICE: { type: 'string', default: 'cpu', readBy: 'core, apps/trainer', description: 'The default device of new tensors (and of `pnpm train` without `--backend`), e.g. `webgpu` or `cuda:1`.' },
  KINDLING_DATA_DIR: { type: 'string', default: '(the usual places)', readBy: 'data, scripts', description: 'Where the MNIST / Fashion-MNIST files are looked for first (`<dir>/<dataset>` and `<dir>`).' },

  KINDLING_CPU_NATIVE: { type: 'boolean', default: on, readBy: 'backend-cpu', description: 'Use the native addon (C++ kernels, OpenBLAS); off runs the portable TypeScript path.' },
  KINDLING_CPU_FUSED: { type: 'boolean', default: on, readBy: 'backend-cpu', description: "Expose the cpu backend's fused kernels; off makes core run its reference decompositions." },
  KINDLING_CPU_THREADS: { type: 'integer', default: '(available cores)', readBy: 'backend-cpu', description: "Threads of the native addon's pool (≥ 1)." },
  KINDLING_CPU_CACHE_BYTES: { type: 'integer', default: '1073741824', readBy: 'backend-cpu', description: 'Bytes of freed buffers (64 KiB and larger) kept for reuse; 0 turns the cache off.' },
  KINDLING_CPU_ISA: { type: 'string', default: '(the best the CPU has)', readBy: 'backend-cpu', description: "The native kernels' instruction set: `baseline`, `avx2` or `avx512` (an error when the CPU lacks it)." },
  KINDLING_CPU_AVX512: { type: 'boolean', default: on, readBy: 'backend-cpu', description: 'Off keeps the AVX2 kernels on a CPU with AVX-512 (the older form of `KINDLING_CPU_ISA=avx2`).' },
  KINDLING_CPU_SPIN_US: { type: 'integer', default: '2000', readBy: 'backend-cpu (native)', description: "Microseconds the native pool's workers spin before they sleep." },
  KINDLING_OPENBLAS_CORETYPE: { type: 'string', default: '(SkylakeX on AVX-512 CPUs)', readBy: 'backend-cpu, apps/bench', description: "OpenBLAS's kernel set (its `OPENBLAS_CORETYPE`) for this process; `keep` leaves the environment's choice alone." },
  KINDLING_CPU_NATIVE_BUILD: { type: 'boolean', default: on, readBy: 'backend-cpu (build)', description: 'Off skips building the cpu addon.' },
  KINDLING_REQUIRE_NATIVE: { type: 'boolean', default: off, readBy: 'backend-cpu (build), distributed (build)', description: "On makes a failed build of the cpu or distributed addon an error instead of a fallback (the portable path; no 'gloo' backend)." },
  KINDLING_OPENBLAS_STATIC: { type: 'string', default: '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.a', readBy: 'backend-cpu (build)', description: 'The static OpenBLAS the release build of the cpu addon links.' },

  KINDLING_WEBGPU_FUSED: { type: 'boolean', default: on, readBy: 'backend-webgpu', description: "Expose the webgpu backend's fused kernels; off makes core run its reference decompositions." },
  KINDLING_WEBGPU_DEBUG: { type: 'boolean', default: off, readBy: 'backend-webgpu', description: "Checks every shader module's compilation messages and prints the WGSL of one that fails." },

  KINDLING_CUDA_ADDON: { type: 'string', default: '(found next to the package)', readBy: 'backend-cuda', description: 'The `.node` file to load as the CUDA addon (e.g. the CPU emulator build).' },
  KINDLING_CUDA_FUSED: { type: 'boolean', default: on, readBy: 'backend-cuda, apps/cuda-check', description: "Expose the cuda backend's fused kernels; off makes core run its reference decompositions." },
  KINDLING_CUDA_ALLOW_TF32: { type: 'boolean', default: on, readBy: 'backend-cuda', description: 'Convolutions may use TF32 tensor cores (the `allowTF32` option, as PyTorch).' },
  KINDLING_CUDA_CUDNN_BENCHMARK: { type: 'boolean', default: on, readBy: 'backend-cuda', description: "Time cuDNN's convolution algorithms on first use (`cudnnBenchmark`); off takes its heuristics' first choice." },
  KINDLING_CUDA_CUBLAS: { type: 'boolean', default: on, readBy: 'backend-cuda (native)', description: 'Load cuBLAS at run time when present and send large products to it.' },
  KINDLING_CUBLAS_LIBRARY: { type: 'string', default: '(searched)', readBy: 'backend-cuda (native)', description: 'The one libcublas to load.' },
  KINDLING_CUDA_CUDNN: { type: 'boolean', default: on, readBy: 'backend-cuda (native)', description: 'Load cuDNN at run time when present and send convolutions to it.' },
  KINDLING_CUDNN_LIBRARY: { type: 'string', default: '(searched)', readBy: 'backend-cuda (native)', description: 'The one libcudnn to load.' },
  KINDLING_CUDA_CUDNN_LOG: { type: 'boolean', default: off, readBy: 'backend-cuda (native)', description: "Print each convolution's cuDNN algorithm choice to stderr." },
  KINDLING_CUDA_LIBRARY_MIN_FLOPS: { type: 'integer', default: '134217728', readBy: 'backend-cuda (native)', description: 'Products and convolutions below this many flops stay on the own kernels; 0 sends all to the libraries.' },
  KINDLING_CUDA_FP32_TENSOR_CORES: { type: 'boolean', default: off, readBy: 'backend-cuda (native)', description: "Run the own kernels' FP32 products as 3xTF32 on tensor cores." },
  KINDLING_CUDA_DIRECT_CONV: { type: 'boolean', default: on, readBy: 'backend-cuda (native)', description: 'Direct (im2col-free) convolution kernels for small layers; off always uses im2col.' },
  KINDLING_CUDA_PROFILE: { type: 'boolean', default: off, readBy: 'backend-cuda (native), apps/cuda-check', description: "Count host and device time per op (the backend's `profile()`)." },
  KINDLING_CUDA_SYNC: { type: 'boolean', default: off, readBy: 'backend-cuda (native)', description: 'Wait for every op and raise its error there (to find which op faulted).' },
  KINDLING_EMU_NO_KERNELS: { type: 'boolean', default: off, readBy: 'backend-cuda emulator (native)', description: "The emulator skips the kernels' work, leaving the host's share of a step to time." },
  KINDLING_CUDA_BUILD: { type: 'boolean', default: on, readBy: 'backend-cuda (build)', description: 'Off skips building the CUDA addon.' },
  KINDLING_REQUIRE_CUDA: { type: 'boolean', default: off, readBy: 'backend-cuda (build)', description: 'On makes a failed CUDA addon build an error (hosts where a GPU is expected).' },
  KINDLING_CUDA_ARCHS: { type: 'string', default: '(Volta to Hopper, PTX for sm_90)', readBy: 'backend-cuda (build)', description: "The CUDA architectures the addon is compiled for (CMake's `CMAKE_CUDA_ARCHITECTURES`, e.g. `90`)." },
  KINDLING_REQUIRE_EMULATOR: { type: 'boolean', default: off, readBy: 'backend-cuda (build)', description: 'On makes a failed CUDA emulator build an error.' },

  KINDLING_NCCL_LIBRARY: { type: 'string', default: '(searched)', readBy: 'distributed (native)', description: 'The one libnccl to load for the `nccl` backend.' },
  KINDLING_TRAIN_NPROC: { type: 'integer', default: '(unset)', readBy: 'apps/trainer', description: 'Set by `pnpm train --nproc N` for its ranks (marks a process as one of them); not for users.' },

  KINDLING_BENCH_PYTHON: { type: 'string', default: '(python3)', readBy: 'apps/bench', description: 'The Python with torch that `pnpm bench` runs PyTorch with.' },
  KINDLING_FUZZ_TRACE: { type: 'boolean', default: off, readBy: 'apps/fuzz', description: 'Print every fuzz case before it runs.' },
  KINDLING_CHROMIUM: { type: 'string', default: '/usr/bin/chromium', readBy: 'scripts/release-rehearsal.mjs', description: 'The browser the release rehearsal drives.' },
  KINDLING_TEST_REPORT: { type: 'string', default: '(none)', readBy: 'vitest.config.ts (tests)', description: "Also write vitest's JSON report to this file (.ci/run sets it)." },
  KINDLING_FUZZ_SEED: { type: 'integer', default: '20261201', readBy: 'apps/fuzz (tests)', description: "The seed of the fuzz tests' cases." },
  KINDLING_CUDNN_ROOT: { type: 'string', default: '(none)', readBy: 'backend-cuda (tests)', description: 'A folder with include/ and lib/ of cuDNN for the vendor-library host test.' },
  KINDLING_CUBLAS_ROOT: { type: 'string', default: '(none)', readBy: 'backend-cuda (tests)', description: 'The same for cuBLAS.' },
  KINDLING_CUDNN_WHEEL: { type: 'string', default: '(none)', readBy: 'backend-cuda (tests)', description: 'An nvidia cuDNN wheel for the vendor-library host test.' },
  KINDLING_CUBLAS_WHEEL: { type: 'string', default: '(none)', readBy: 'backend-cuda (tests)', description: 'The same for cuBLAS.' },
} as const satisfies Record<string, FlagSpec>;

export type FlagName = keyof typeof FLAGS;
type FlagsOf<T extends FlagType> = { [K in FlagName]: (typeof FLAGS)[K]['type'] extends T ? K : never }[FlagName];
export type BooleanFlag = FlagsOf<'boolean'>;
export type IntegerFlag = FlagsOf<'integer'>;
export type StringFlag = FlagsOf<'string'>;

export const TRUE_SPELLINGS = ['1', 'true', 'on', 'yes'] as const;
export const FALSE_SPELLINGS = ['0', 'false', 'off', 'no'] as const;

type Env = Record<string, string | undefined>;

/** The process environment, or an empty one in a browser. */
export function processEnv(): Env {
  return (globalThis as { process?: { env?: Env } }).process?.env ?? {};
}

/** The variable's value, or undefined when unset or blank. */
function raw(name: FlagName, env: Env): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/** Parses one boolean spelling; `name` is only for the error. */
export function parseBoolean(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if ((TRUE_SPELLINGS as readonly string[]).includes(v)) return true;
  if ((FALSE_SPELLINGS as readonly string[]).includes(v)) return false;
  throw new Error(`${name}='${value}': expected ${TRUE_SPELLINGS.join('/')} (on) or ${FALSE_SPELLINGS.join('/')} (off)`);
}

/** A boolean switch: its default (from FLAGS) when unset or blank, else its value. */
export function flagBool(name: BooleanFlag, env: Env = processEnv()): boolean {
  const v = raw(name, env);
  return v === undefined ? FLAGS[name].default === on : parseBoolean(name, v);
}

/** An integer switch (≥ `min`, default 0), or undefined when unset: the caller applies its default. */
export function flagInt(name: IntegerFlag, env: Env = processEnv(), min = 0): number | undefined {
  const v = raw(name, env);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name}='${v}': expected an integer ≥ ${min}`);
  return n;
}

/** A string switch, or undefined when unset or blank. */
export function flagString(name: StringFlag, env: Env = processEnv()): string | undefined {
  return raw(name, env);
}

/**
 * Parses every switch read by `readBy` prefix now, so a bad value is reported when a backend
 * starts even for switches that only its native addon reads (and would otherwise read lazily).
 */
export function checkFlags(readBy: string, env: Env = processEnv()): void {
  for (const name of Object.keys(FLAGS) as FlagName[]) {
    const spec: FlagSpec = FLAGS[name];
    if (!spec.readBy.split(', ').some((r) => r.startsWith(readBy))) continue;
    if (spec.type === 'boolean') flagBool(name as BooleanFlag, env);
    else if (spec.type === 'integer') flagInt(name as IntegerFlag, env);
  }
}

/** The README table (between its `flags-table` markers), one row per switch. */
export function flagsMarkdown(): string {
  const rows = (Object.keys(FLAGS) as FlagName[]).map((name) => {
    const s: FlagSpec = FLAGS[name];
    return `| \`${name}\` | ${s.type} | ${s.default.startsWith('(') ? s.default : `\`${s.default}\``} | ${s.readBy} | ${s.description} |`;
  });
  return ['| variable | type | default | read by | what it does |', '|---|---|---|---|---|', ...rows].join('\n');
}
