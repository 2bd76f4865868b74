import type { Backend, FusedKernelName, View } from '../backend.js';
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

/** A fused kernel when the backend lists it in capabilities(); null sends the op to the reference. */
function fused<K extends FusedKernelName>(b: Backend, name: K): NonNullable<Backend[K]> | null {
  if (!b.capabilities().has(name)) return null;
  const fn = b[name];
  return fn ? (fn.bind(b) as NonNullable<Backend[K]>) : null;
}

/** An output runFused allocates for the kernel (zero-filled when the kernel accumulates into it). */
export interface FusedOutput {
  shape: readonly number[];
  dtype: DType;
  zeroed?: boolean;
}

/** The views handed to a kernel for tensor operands: a View, or null where the operand may be absent. */
type Views<T extends readonly (Tensor | null)[]> = { -readonly [I in keyof T]: T[I] extends Tensor ? View : View | null };
type OutViews<T extends readonly FusedOutput[]> = { -readonly [I in keyof T]: View };

export interface FusedCall<K extends FusedKernelName, I extends readonly (Tensor | null)[], M extends readonly (Tensor | null)[], O extends readonly FusedOutput[]> {
  /** False sends the op to the reference (an operand dtype the kernel does not take, or the caller's opt-out). */
  eligible?: boolean;
  /** Operands the kernel reads: passed contiguous (a temporary copy, freed after the call, when they are not). */
  inputs: I;
  /** Operands the kernel updates in place: passed as they are, since a copy would lose the update. */
  inPlace?: M;
  /** Outputs, allocated here and returned in this order. */
  outputs?: O;
  /** Calls the kernel with the views of inputs, outputs and in-place operands. */
  call(k: NonNullable<Backend[K]>, inputs: Views<I>, outputs: OutViews<O>, inPlace: Views<M>): void;
  /** Core's decomposition, which the kernel matches; it returns the outputs (none for in-place ops). */
  reference(): Tensor[];
}

/**
 * The one path of every op that has a fused kernel: when the backend lists the kernel (and the
 * call is eligible), make the inputs contiguous, allocate the outputs, run it; else run core's
 * reference decomposition. Returns the outputs.
 */
export function runFused<
  K extends FusedKernelName,
  const I extends readonly (Tensor | null)[],
  const O extends readonly FusedOutput[] = [],
  const M extends readonly (Tensor | null)[] = [],
>(b: Backend, name: K, f: FusedCall<K, I, M, O>): Tensor[] {
  const k = f.eligible === false ? null : fused(b, name);
  if (!k) return f.reference();
  const ins = f.inputs.map((t) => {
    if (!t || t.isContiguous()) return t;
    const c = alloc(b, t.shape, t.dtype);
    b.copy(t.backendView(), c.backendView());
    return c;
  });
  const outs = (f.outputs ?? []).map((o) => {
    const t = alloc(b, o.shape, o.dtype);
    if (o.zeroed && t.size > 0) b.fill(t.backendView(), 0);
    return t;
  });
  try {
    const view = (t: Tensor | null): View | null => t?.backendView() ?? null;
    f.call(k, ins.map(view) as Views<I>, outs.map(view) as OutViews<O>, (f.inPlace ?? []).map(view) as Views<M>);
  } catch (e) {
    for (const t of outs) t.dispose();
    throw e;
  } finally {
    ins.forEach((t, i) => {
      if (t !== f.inputs[i]) t!.dispose();
    });
  }
  return outs;
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
