/**
 * Fused-kernel attachment, the same in every backend: the kernels become own properties of the
 * backend instance (never prototype methods), so with fused kernels off they are truly absent
 * (`'conv2d' in backend` is false) and core runs its reference decompositions instead.
 */
import type { FusedKernelName, FusedKernels } from '../backend.js';
import { flagBool, type BooleanFlag } from './flags.js';

/**
 * Whether a backend exposes its fused kernels: the constructor option when given, else its
 * `KINDLING_<BACKEND>_FUSED` switch.
 */
export function fusedEnabled(option: boolean | undefined, flag: BooleanFlag): boolean {
  return option ?? flagBool(flag);
}

/**
 * Attaches the table built by `build` to `backend` when `enabled` and returns the names attached
 * (the backend's `capabilities()`); builds nothing and returns an empty set when not.
 */
export function attachFused(backend: object, enabled: boolean, build: () => Partial<FusedKernels>): ReadonlySet<FusedKernelName> {
  if (!enabled) return new Set();
  const table = build();
  Object.assign(backend, table);
  return new Set(Object.keys(table) as FusedKernelName[]);
}

/** The line `info().notes` gives about the fused kernels. */
export function fusedNote(caps: ReadonlySet<FusedKernelName>): string {
  return caps.size > 0 ? `fused kernels: ${[...caps].join(', ')}` : 'fused kernels disabled (reference decompositions)';
}
