/**
 * Loading the native addon (kindling_cuda.node, see ../CMakeLists.txt) and probing for GPUs. The
 * addon is looked for in the prebuilt platform package first (@kindling/backend-cuda-linux-x64-gnu,
 * an optional dependency), then in a local source build (build/Release). Nothing here throws: every obstacle — no build (its reason is read from
 * build/native-status.json), a load error, no driver, no device — becomes the reason that
 * `cudaUnavailableReason()` returns and that core prints as "cuda unavailable: <reason>".
 * $KINDLING_CUDA_ADDON points at another build of the addon (a self-contained device check
 * carries one beside a bundled script).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flagString } from '@kindling/core/backend';
import { nativeOpNamesMismatch } from '@kindling/core';

/** The Context class of native/src/addon.cc: one per device. */
export interface NativeContext {
  alloc(bytes: number): number;
  free(ptr: number): void;
  write(ptr: number, byteOffset: number, data: Float32Array | Int32Array | Uint8Array): void;
  read(ptr: number, byteOffset: number, bytes: number, dtype: number): Promise<Float32Array | Int32Array | Uint8Array>;
  sync(): Promise<void>;
  /** [live blocks, live bytes, cached bytes] */
  memory(): [number, number, number];
  emptyCache(): void;
  /** matmul / conv: which library runs the large products and convolutions, or why our kernels do. */
  info(): { name: string; computeCapability: string; multiProcessors: number; totalMemory: number; matmul: string; conv: string };
  /** The kernel entry (core/native/kindling_packed.h): entry code, block, the block's count of numbers. */
  run(entry: number, block: Float64Array, count: number): void;
  dispose(): void;
  /** With KINDLING_CUDA_PROFILE=1: per op, [calls, host µs, device µs] since the last call. */
  profile(): Record<string, [number, number, number]>;
  /** The device stream's handle (cudaStream_t as a number). */
  stream(): number;
}

export interface NativeAddon {
  /** The op names of each family this build was compiled with (kindling_ops.h), in code order. */
  opNames: { unary: string[]; binary: string[]; reduce: string[]; activation: string[]; entry: string[] };
  probe(): { count: number; error?: string; runtimeVersion: number; driverVersion: number; matmul: string; conv: string };
  Context: new (device: number) => NativeContext;
}

export interface AddonStatus {
  addon: NativeAddon | null;
  /** Devices the driver reports (0 when the addon or the driver is missing). */
  deviceCount: number;
  /** Why CUDA cannot be used here; null when it can. */
  reason: string | null;
  runtimeVersion?: number;
  driverVersion?: number;
  /** Who runs large matrix products: cuBLAS (loaded at run time) or our kernels, and why. */
  matmul?: string;
  /** Who runs large convolutions: cuDNN (loaded at run time) or our im2col kernels, and why. */
  conv?: string;
  path?: string;
}

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The prebuilt package for Linux x86-64, the only platform the addon is built for. */
export const CUDA_PLATFORM_PACKAGE = '@kindling/backend-cuda-linux-x64-gnu';

function readStatus(file: string): { built?: boolean; reason?: string } | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { built?: boolean; reason?: string };
  } catch {
    return null; // no status file: that build never ran
  }
}

/** The addon to load: the platform package's, else the local build's; or null with the reasons. */
function findAddon(): { path: string | null; reason: string } {
  const require = createRequire(import.meta.url);
  let platformReason: string;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    platformReason = `no prebuilt CUDA addon for ${process.platform}-${process.arch} (only linux-x64 is built)`;
  } else {
    let pkgJson: string | null = null;
    try {
      pkgJson = require.resolve(`${CUDA_PLATFORM_PACKAGE}/package.json`);
    } catch {
      // not installed (another platform, or optional dependencies omitted)
    }
    const path = pkgJson ? join(dirname(pkgJson), 'kindling_cuda.node') : null;
    if (path && existsSync(path)) return { path, reason: '' };
    const st = pkgJson ? readStatus(join(dirname(pkgJson), 'build', 'native-status.json')) : null;
    platformReason = pkgJson
      ? `${CUDA_PLATFORM_PACKAGE} is installed without its kindling_cuda.node${st?.built === false && st.reason ? ` (its build: ${st.reason})` : ''}`
      : `the optional dependency ${CUDA_PLATFORM_PACKAGE} is not installed (reinstall without --omit=optional)`;
  }
  const local = join(pkgDir, 'build', 'Release', 'kindling_cuda.node');
  if (existsSync(local)) return { path: local, reason: '' };
  const st = readStatus(join(pkgDir, 'build', 'native-status.json'));
  const localReason =
    st?.built === false && st.reason
      ? `no local build: ${st.reason}`
      : 'no local build (`pnpm --filter @kindling/backend-cuda build:native` on a machine with nvcc and cmake)';
  return { path: null, reason: `the CUDA addon was not found: ${platformReason}; ${localReason}` };
}

/** A CUDA version code (12040) as text ('12.4'). */
export function cudaVersionText(code: number): string {
  return `${Math.floor(code / 1000)}.${Math.floor((code % 1000) / 10)}`;
}

let status: AddonStatus | null = null;

export function addonStatus(): AddonStatus {
  if (status) return status;
  const forced = flagString('KINDLING_CUDA_ADDON');
  if (forced && !existsSync(forced)) {
    status = { addon: null, deviceCount: 0, reason: `KINDLING_CUDA_ADDON=${forced} does not exist` };
    return status;
  }
  const found = forced ? { path: forced, reason: '' } : findAddon();
  if (!found.path) {
    status = { addon: null, deviceCount: 0, reason: found.reason };
    return status;
  }
  const path = found.path;
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    status = { addon: null, deviceCount: 0, reason: `the CUDA addon failed to load (${(e as Error).message.split('\n')[0]})`, path };
    return status;
  }
  const stale = nativeOpNamesMismatch(addon.opNames);
  if (stale) {
    status = { addon: null, deviceCount: 0, reason: `the CUDA addon at ${path} was built from another version of core's op table (${stale}); rebuild it`, path };
    return status;
  }
  const p = addon.probe();
  const versions = { runtimeVersion: p.runtimeVersion, driverVersion: p.driverVersion, matmul: p.matmul, conv: p.conv, path };
  if (p.error) {
    const hint = /InsufficientDriver/.test(p.error) && p.driverVersion === 0 ? 'no NVIDIA driver is installed' : 'the driver reports no usable GPU';
    status = { addon, deviceCount: 0, reason: `${hint} (${p.error}; runtime ${cudaVersionText(p.runtimeVersion)})`, ...versions };
  } else if (p.count === 0) {
    status = { addon, deviceCount: 0, reason: 'no CUDA device found', ...versions };
  } else {
    status = { addon, deviceCount: p.count, reason: null, ...versions };
  }
  return status;
}
