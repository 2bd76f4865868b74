import type { Backend, FusedKernelName } from '../backend.js';
import type { DType } from '../dtype.js';
import { DeviceError, DTypeError, KindlingError, fmtShape } from '../errors.js';
import { Tensor, empty } from '../tensor.js';

/** The backend shared by an op's tensor inputs; throws naming both devices when they differ. */
export function backendOf(op: string, ...tensors: (Tensor | null | undefined)[]): Backend {
  let first: Tensor | null = null;
  for (const t of tensors) {
    if (!t) continue;
    t.assertAlive(op);
    if (!first) first = t;
    else if (t.device !== first.device) {
      throw new DeviceError(
        op,
        `expected all tensors on the same device, but found ${first.device} ${fmtShape(first.shape)} and ${t.device} ${fmtShape(t.shape)}; move one with .to('${first.device}')`,
      );
    }
  }
  if (!first) throw new KindlingError(op, 'needs at least one tensor input');
  return first.backend;
}

/** A fused kernel when the backend has it; null sends the op to core's reference decomposition. */
export function fused<K extends FusedKernelName>(b: Backend, name: K): NonNullable<Backend[K]> | null {
  if (!b.capabilities().has(name)) return null;
  const fn = b[name];
  return fn ? (fn.bind(b) as NonNullable<Backend[K]>) : null;
}

export function alloc(b: Backend, shape: readonly number[], dtype: DType): Tensor {
  return empty(b, shape, dtype);
}

export function expectDType(op: string, t: Tensor, dtypes: readonly DType[], what = 'input'): void {
  if (!dtypes.includes(t.dtype)) {
    throw new DTypeError(op, `${what} ${fmtShape(t.shape)} has dtype ${t.dtype}, expected ${dtypes.join(' or ')}`);
  }
}

export function expectRank(op: string, t: Tensor, ranks: readonly number[], what = 'input'): void {
  if (!ranks.includes(t.ndim)) {
    throw new KindlingError(op, `${what} ${fmtShape(t.shape)} must have ${ranks.join(' or ')} dims, got ${t.ndim}`);
  }
}

/** An int or [h, w] pair, validated (PyTorch's _pair). */
export function pair(op: string, name: string, v: number | readonly number[], min: number): [number, number] {
  const p = typeof v === 'number' ? [v, v] : [...v];
  if (p.length !== 2 || p.some((x) => !Number.isInteger(x) || x < min)) {
    throw new KindlingError(op, `${name} must be an int or a pair of ints >= ${min}, got ${JSON.stringify(v)}`);
  }
  return p as [number, number];
}
