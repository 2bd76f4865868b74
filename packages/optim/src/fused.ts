import type { Backend, FusedKernels, Tensor } from '@kindling/core';

/**
 * The backend's fused kernel `name` when it lists it in capabilities() (and `allowed`), else
 * null: the optimizer then composes the update from core ops.
 */
export function fusedKernel<K extends 'sgdStep' | 'adamStep'>(t: Tensor, name: K, allowed: boolean): FusedKernels[K] | null {
  if (!allowed) return null;
  const b: Backend = t.backend;
  const fn = b.capabilities().has(name) ? b[name] : undefined;
  return fn ? (fn.bind(b) as FusedKernels[K]) : null;
}
