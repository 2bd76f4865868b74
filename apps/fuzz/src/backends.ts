/**
 * The devices the properties compare, and the reference they compare against.
 *
 * The reference is the cpu backend's portable TypeScript path, registered as its own device kind
 * `ref` so that it lives beside the backend under test in one process: every op runs on both from
 * the same host data. The backends under test are every one this machine has — cpu (its native
 * path when the addon is built), webgpu (Dawn on SwiftShader without a GPU) and cuda (on a GPU, or
 * its own kernels on the CPU emulator that `pnpm build` makes, as apps/conformance runs them).
 */
import * as kd from '@kindling/core';
import '@kindling/autograd';
import { CpuBackend } from '@kindling/backend-cpu';
import type { Tolerance } from './check.js';

export const REFERENCE = 'ref';
kd.registerBackend({
  kind: REFERENCE,
  unavailableReason: () => null,
  create: () => {
    const b = new CpuBackend({ native: false });
    // A CpuBackend says it is 'cpu'; tensors take their device from it, and ops that allocate
    // "on the input's device" would then land on the native cpu backend. Its own name keeps the
    // reference's every tensor on the reference.
    Object.defineProperty(b, 'device', { value: kd.canonicalDevice(REFERENCE) });
    return b;
  },
});

export const BACKENDS = ['cpu', 'webgpu', 'cuda'] as const;
export type BackendName = (typeof BACKENDS)[number];

/**
 * How close each backend must be to the reference. cpu and cuda compute in float32 with the same
 * formulas; WGSL's built-ins are allowed a few ULP more (exp, log, pow: 3 + 2·|x| ULP; sin and
 * cos an absolute error of 2^-11 on [-π, π]), hence webgpu's looser bound.
 */
export const TOLERANCE: Record<BackendName, Tolerance> = {
  cpu: { rtol: 1e-4, atol: 1e-5 },
  cuda: { rtol: 1e-4, atol: 1e-5 },
  webgpu: { rtol: 1e-3, atol: 5e-4 },
};

/** Whether NaN, ±Infinity and subnormals are among the inputs (WGSL leaves them unspecified). */
export const SPECIALS: Record<BackendName, boolean> = { cpu: true, cuda: true, webgpu: false };

export interface Target {
  backend: BackendName;
  /** The device string ops run on, or null with the reason when this machine lacks the backend. */
  device: string | null;
  reason: string | null;
  /** Which implementation runs (native cpu, the adapter, the emulator). */
  implementation: string;
}

/**
 * Makes a backend ready and says what runs. For cuda without a GPU this points the addon at the
 * emulator, which must happen before @kindling/backend-cuda is first imported in the process.
 */
export async function prepare(backend: BackendName): Promise<Target> {
  try {
    if (backend === 'cpu') {
      const b = kd.getBackend('cpu');
      const implementation = b.info().implementation;
      // Without the addon cpu *is* the reference: say so rather than compare a path with itself.
      if (!(b as CpuBackend).isNative) return { backend, device: null, reason: `the native addon is not built: ${implementation}`, implementation };
      return { backend, device: 'cpu', reason: null, implementation };
    }
    if (backend === 'webgpu') {
      await import('@kindling/backend-webgpu');
      const b = await kd.initDevice('webgpu');
      return { backend, device: 'webgpu', reason: null, implementation: b.info().implementation };
    }
    const { EMULATOR_ADDON, useEmulatorWithoutGpu } = await import('@kindling/backend-cuda/emulator');
    const runsOn = useEmulatorWithoutGpu();
    if (runsOn === 'none') return { backend, device: null, reason: `no GPU and the CUDA emulator was not built (${EMULATOR_ADDON})`, implementation: '' };
    const cuda = await import('@kindling/backend-cuda');
    const reason = cuda.cudaUnavailableReason();
    if (reason) return { backend, device: null, reason: `cuda unavailable: ${reason}`, implementation: '' };
    const b = kd.getBackend('cuda');
    return { backend, device: 'cuda', reason: null, implementation: `${b.info().implementation}${runsOn === 'emulator' ? ' (kernels on the CPU emulator)' : ''}` };
  } catch (e) {
    return { backend, device: null, reason: (e as Error).message, implementation: '' };
  }
}
