/**
 * @kindling/backend-cuda: Kindling's CUDA backend. Importing the package registers the 'cuda'
 * device kind with core ('cuda' is 'cuda:0'; 'cuda:N' picks another GPU). Each device gets its
 * own native context — stream, caching allocator, staging buffers — so there is no global
 * single-device state.
 *
 * On a machine without a GPU or driver the addon still loads (the CUDA runtime is linked
 * statically) and the device reports why: `cuda unavailable: no NVIDIA driver is installed (...)`.
 */
import { registerBackend } from '@kindling/core';
import { addonStatus, type NativeContext } from './addon.js';
import { CudaBackend, type CudaBackendOptions } from './backend.js';

export { CudaBackend, type CudaBackendOptions, allowTF32FromEnv, cudnnBenchmarkFromEnv, fusedFromEnv } from './backend.js';
export { CudaBuffer } from './buffer.js';
export { addonStatus, type AddonStatus } from './addon.js';

interface Device {
  ctx: NativeContext;
  /** Buffers carry this token; backends of one device share it, so their buffers mix freely. */
  owner: object;
}

const devices = new Map<number, Device>();

/** Why CUDA cannot run here, or null when it can. */
export function cudaUnavailableReason(): string | null {
  return addonStatus().reason;
}

/** Number of CUDA devices the driver reports (0 without a driver or addon). */
export function cudaDeviceCount(): number {
  return addonStatus().deviceCount;
}

function deviceFor(index: number): Device {
  const existing = devices.get(index);
  if (existing) return existing;
  const s = addonStatus();
  if (!s.addon) throw new Error(`cuda unavailable: ${s.reason}`);
  if (!Number.isInteger(index) || index < 0 || index >= s.deviceCount) {
    throw new RangeError(`cuda: no device cuda:${index} (this machine has ${s.deviceCount} CUDA device${s.deviceCount === 1 ? '' : 's'})`);
  }
  const d = { ctx: new s.addon.Context(index), owner: {} };
  devices.set(index, d);
  return d;
}

/** A backend on cuda:index with its own options (e.g. `{ fused: false }`); it shares the device's memory. */
export function createCudaBackend(index = 0, options: CudaBackendOptions = {}): CudaBackend {
  const d = deviceFor(index);
  return new CudaBackend(`cuda:${index}`, d.ctx, addonStatus(), d.owner, options);
}

registerBackend({
  kind: 'cuda',
  unavailableReason: cudaUnavailableReason,
  create: (index: number) => createCudaBackend(index),
  deviceCount: cudaDeviceCount,
});
