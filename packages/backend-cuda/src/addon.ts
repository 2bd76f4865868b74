/**
 * Loading the native addon (build/Release/kindling_cuda.node, see ../CMakeLists.txt) and probing
 * for GPUs. Nothing here throws: every obstacle — no build (its reason is read from
 * build/native-status.json), a load error, no driver, no device — becomes the reason that
 * `cudaUnavailableReason()` returns and that core prints as "cuda unavailable: <reason>".
 * $KINDLING_CUDA_ADDON points at another build of the addon (a self-contained device check
 * carries one beside a bundled script).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  run(op: number, args: Float64Array): void;
  dispose(): void;
  /** With KINDLING_CUDA_PROFILE=1: per op, [calls, host µs, device µs] since the last call. */
  profile(): Record<string, [number, number, number]>;
  /** The device stream's handle (cudaStream_t as a number). */
  stream(): number;
}

export interface NativeAddon {
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

function buildReason(): string {
  try {
    const s = JSON.parse(readFileSync(join(pkgDir, 'build', 'native-status.json'), 'utf8')) as { built?: boolean; reason?: string };
    if (s.built === false && s.reason) return `the CUDA addon was not built: ${s.reason}`;
  } catch {
    // no status file: the build script never ran
  }
  return "the CUDA addon was not built (run `pnpm --filter @kindling/backend-cuda build:native` on a machine with nvcc)";
}

/** A CUDA version code (12040) as text ('12.4'). */
export function cudaVersionText(code: number): string {
  return `${Math.floor(code / 1000)}.${Math.floor((code % 1000) / 10)}`;
}

let status: AddonStatus | null = null;

export function addonStatus(): AddonStatus {
  if (status) return status;
  const path = process.env.KINDLING_CUDA_ADDON || join(pkgDir, 'build', 'Release', 'kindling_cuda.node');
  if (!existsSync(path)) {
    status = { addon: null, deviceCount: 0, reason: process.env.KINDLING_CUDA_ADDON ? `KINDLING_CUDA_ADDON=${path} does not exist` : buildReason() };
    return status;
  }
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    status = { addon: null, deviceCount: 0, reason: `the CUDA addon failed to load (${(e as Error).message.split('\n')[0]})`, path };
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
