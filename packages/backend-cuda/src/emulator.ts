/**
 * Finding the CUDA emulator (this package's kernels and addon built for the CPU by
 * scripts/build-emulator.mjs, see the README) and pointing the backend at it. Tests and apps that
 * run the cuda device on machines without a GPU share this one choice. The module never loads the
 * addon: the backend reads the choice when it is first imported, so call useEmulatorWithoutGpu()
 * before that (`@kindling/backend-cuda/emulator` is a separate entry point for this reason).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { flagString } from '@kindling/core/backend';

/** The emulator build of the addon; present after `pnpm build` on a machine with g++. */
export const EMULATOR_ADDON = fileURLToPath(new URL('../build/emu/kindling_cuda_emu.node', import.meta.url));

/** The switches that select the emulator: its addon, and no cuBLAS or cuDNN (a CPU has neither). */
export const EMULATOR_ENV = { KINDLING_CUDA_ADDON: EMULATOR_ADDON, KINDLING_CUDA_CUBLAS: '0', KINDLING_CUDA_CUDNN: '0' } as const;

/**
 * What the cuda device will run on: 'emulator', 'addon' (KINDLING_CUDA_ADDON names another build),
 * 'gpu' (an NVIDIA driver is present), or 'none' (no GPU, and the emulator is not built).
 */
export type CudaRunsOn = 'emulator' | 'addon' | 'gpu' | 'none';

/**
 * Leaves an explicit KINDLING_CUDA_ADDON and a GPU alone; otherwise sets EMULATOR_ENV in this
 * process's environment when the emulator is built. Says what the cuda device will run on.
 */
export function useEmulatorWithoutGpu(): CudaRunsOn {
  const forced = flagString('KINDLING_CUDA_ADDON');
  if (forced !== undefined) return forced === EMULATOR_ADDON ? 'emulator' : 'addon';
  if (existsSync('/proc/driver/nvidia/version')) return 'gpu';
  if (!existsSync(EMULATOR_ADDON)) return 'none';
  Object.assign(process.env, EMULATOR_ENV);
  return 'emulator';
}
