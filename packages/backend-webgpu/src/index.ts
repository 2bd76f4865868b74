/**
 * @kindling/backend-webgpu: Kindling's WebGPU backend. Importing the package registers the
 * 'webgpu' device with core (a side effect, hence `sideEffects: true`).
 *
 * WebGPU hands out adapters and devices asynchronously while core's getBackend() is synchronous,
 * so the device must be initialised once before use:
 *
 *   import '@kindling/backend-webgpu';
 *   import { initDevice } from '@kindling/core';
 *   await initDevice('webgpu');            // requests the adapter and device
 *   const t = kd.ones([2, 3], { device: 'webgpu' });
 *
 * Until init() has run, unavailableReason() only checks that something could provide WebGPU
 * (navigator.gpu or the `webgpu` package); after a failed init() it returns the failure reason.
 */
import { registerBackend } from '@kindling/core';
import { WebGPUBackend, type WebGPUBackendOptions } from './backend.js';
import { Engine, type EngineOptions } from './engine.js';
import { environmentProblem, requestAdapterAndDevice } from './gpu.js';
import { BOOL_EXPR, F32_EXPR } from './kernels/unary.js';
import { LOGICAL_EXPR, VALUE_EXPR } from './kernels/binary.js';
import { REDUCTIONS } from './kernels/reduce.js';

export { WebGPUBackend, type WebGPUBackendOptions, fusedFromEnv } from './backend.js';
export { WebGPUBuffer, bucketBytes } from './buffer.js';
export { Engine, type EngineOptions } from './engine.js';
/** The ops the WGSL generation covers, per family, read from its tables (for completeness tests). */
export const kernelOps = {
  unary: [...Object.keys(F32_EXPR), ...Object.keys(BOOL_EXPR)],
  binary: [...Object.keys(VALUE_EXPR), ...Object.keys(LOGICAL_EXPR)],
  reduce: Object.keys(REDUCTIONS),
};
export { INSTALL_HINT, SWIFTSHADER_ICD, requestAdapterAndDevice, type AdapterAndDevice } from './gpu.js';

export interface State {
  engine: Engine;
  origin: { origin: string; notes: string[] };
}

let state: State | null = null;
let initError: string | null = null;
let initPromise: Promise<State> | null = null;

/**
 * Requests the adapter and device once (later calls share the promise; `options` apply to the
 * first). Rejects with a message that says what to install or set when there is no adapter; a
 * later call tries again. A lost device is not replaced: its tensors are gone and core keeps
 * its backend instance, so the program must restart to use WebGPU again.
 */
export function initWebGPU(options: EngineOptions = {}): Promise<State> {
  if (state) return Promise.resolve(state);
  initPromise ??= (async () => {
    try {
      const r = await requestAdapterAndDevice();
      const engine = new Engine(r.device, r.adapter.info, options, r.gpu);
      state = { engine, origin: { origin: r.origin, notes: r.notes } };
      initError = null;
      return state;
    } catch (e) {
      initError = (e as Error).message;
      initPromise = null;
      throw e;
    }
  })();
  return initPromise;
}

/** Why WebGPU cannot run here (null when it can, or when only init() can tell). */
export function webgpuUnavailableReason(): string | null {
  if (state) return state.engine.isLost ? 'the WebGPU device was lost' : null;
  if (initError) return initError;
  return environmentProblem();
}

/**
 * A backend on the initialised device (for tests and tools that want their own options, e.g.
 * `{ fused: false }`); shares the device and buffer pool with the registered instance.
 */
export async function createWebGPUBackend(options: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
  const s = await initWebGPU();
  return new WebGPUBackend(s.engine, s.origin, options);
}

registerBackend({
  kind: 'webgpu',
  unavailableReason: webgpuUnavailableReason,
  init: async () => {
    await initWebGPU();
  },
  create(index: number) {
    if (index !== 0) throw new Error(`webgpu: only one WebGPU device is supported (asked for webgpu:${index})`);
    if (!state) {
      throw new Error(
        "webgpu: the device is not initialised: WebGPU requests its adapter asynchronously, so run `await initDevice('webgpu')` (from @kindling/core) once before using 'webgpu'",
      );
    }
    return new WebGPUBackend(state.engine, state.origin);
  },
  deviceCount: () => (state ? 1 : 0),
});
