import { type DType, type TypedArray, dtypeOfArray, typedArrayFor } from '../dtype.js';
import { getBackend, getDefaultDevice } from '../device.js';
import { KindlingError, fmtShape, fmtValue } from '../errors.js';
import { apply } from '../grad-mode.js';
import { globalGenerator } from '../philox.js';
import { numel } from '../shape.js';
import { Tensor, type NestedArray } from '../tensor.js';
import { alloc, backendOf } from './util.js';

export interface CreateOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

function finish(t: Tensor, opts: CreateOptions | undefined): Tensor {
  if (opts?.requiresGrad) {
    if (t.dtype !== 'float32') throw new KindlingError('requiresGrad', `only float32 tensors can require gradients, got ${t.dtype}`);
    t.requiresGrad = true;
  }
  return t;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * A value stored as int32 must fit (PyTorch: "value cannot be converted to type int32 without
 * overflow"); a typed-array store would wrap it silently (3e9 → −1294967296).
 */
export function checkInt32(op: string, v: number): void {
  const t = Math.trunc(v);
  if (!(t >= INT32_MIN && t <= INT32_MAX)) throw new KindlingError(op, `value ${v} cannot be converted to type int32 without overflow`);
}

/** A scalar operand or fill value must be a number or a boolean: Number('1') or Number(null) would coerce it silently. */
export function checkScalar(op: string, what: string, v: unknown): asserts v is number | boolean {
  if (typeof v !== 'number' && typeof v !== 'boolean') throw new TypeError(`${op}: ${what} must be a number or a boolean, got ${fmtValue(v)}`);
}

/** A value about to be stored in a tensor of `dtype`: checked, then as the typed array stores it. */
function storedValue(op: string, v: unknown, dtype: DType): number {
  checkScalar(op, 'a value', v);
  const n = Number(v);
  if (dtype === 'int32') checkInt32(op, n);
  return n;
}

function checkShape(op: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new KindlingError(op, `invalid shape ${JSON.stringify(shape)}: sizes must be non-negative integers`);
  }
}

function inferNested(op: string, data: NestedArray): { shape: number[]; flat: (number | boolean)[] } {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] as NestedArray;
  }
  const flat: (number | boolean)[] = [];
  const walk = (v: NestedArray, dim: number): void => {
    if (dim === shape.length) {
      if (Array.isArray(v)) throw new KindlingError(op, `ragged nested array: expected a scalar at depth ${dim}`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      throw new KindlingError(op, `ragged nested array: expected ${shape[dim]} entries at depth ${dim}`);
    }
    for (const e of v) walk(e, dim + 1);
  };
  walk(data, 0);
  return { shape, flat };
}

/**
 * Creates a tensor from nested arrays, a flat typed array (with `shape`), or a scalar.
 * Without `dtype`: booleans give bool, integers give int32 (torch would say int64), anything
 * else float32; Float32Array gives float32, Int32Array int32, other typed arrays follow their values.
 */
export function tensor(data: NestedArray | TypedArray | ArrayLike<number>, opts: CreateOptions & { shape?: readonly number[] } = {}): Tensor {
  let shape: number[];
  let values: ArrayLike<number | boolean>;
  let dtype = opts.dtype;
  if (ArrayBuffer.isView(data)) {
    values = data as ArrayLike<number>;
    shape = opts.shape ? [...opts.shape] : [values.length];
    if (!dtype && (data instanceof Float32Array || data instanceof Int32Array)) dtype = dtypeOfArray(data);
  } else if (Array.isArray(data) || typeof data === 'number' || typeof data === 'boolean') {
    const n = inferNested('tensor', data as NestedArray);
    values = n.flat;
    shape = opts.shape ? [...opts.shape] : n.shape;
  } else {
    values = Array.from(data as ArrayLike<number>);
    shape = opts.shape ? [...opts.shape] : [values.length];
  }
  checkShape('tensor', shape);
  if (numel(shape) !== values.length) {
    throw new KindlingError('tensor', `shape ${fmtShape(shape)} needs ${numel(shape)} values, got ${values.length}`);
  }
  if (!dtype) {
    let allBool = values.length > 0;
    let allInt = true;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'boolean') allBool = false;
      if (typeof v === 'number' && !Number.isInteger(v)) allInt = false;
    }
    dtype = allBool ? 'bool' : allInt && values.length > 0 ? 'int32' : 'float32';
  }
  const arr = typedArrayFor(dtype, values.length);
  if (dtype === 'int32' || !ArrayBuffer.isView(values)) {
    for (let i = 0; i < values.length; i++) arr[i] = storedValue('tensor', values[i], dtype);
  } else {
    for (let i = 0; i < values.length; i++) arr[i] = Number(values[i]);
  }
  const b = getBackend(opts.device ?? getDefaultDevice());
  const t = alloc(b, shape, dtype);
  b.write(t.storage_.buffer, arr);
  return finish(t, opts);
}

export function full(shape: readonly number[], value: number | boolean, opts: CreateOptions = {}): Tensor {
  checkShape('full', shape);
  checkScalar('full', 'fill value', value);
  const dtype = opts.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32');
  if (dtype === 'int32') checkInt32('full', Number(value));
  const b = getBackend(opts.device ?? getDefaultDevice());
  const t = alloc(b, shape, dtype);
  if (t.size > 0) b.fill(t.backendView(), Number(value));
  return finish(t, opts);
}

export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

const likeOpts = (t: Tensor, opts: CreateOptions): CreateOptions => ({ dtype: t.dtype, device: t.device, ...opts });
export const zerosLike = (t: Tensor, opts: CreateOptions = {}): Tensor => zeros(t.shape, likeOpts(t, opts));
export const onesLike = (t: Tensor, opts: CreateOptions = {}): Tensor => ones(t.shape, likeOpts(t, opts));
export const fullLike = (t: Tensor, v: number, opts: CreateOptions = {}): Tensor => full(t.shape, v, likeOpts(t, opts));

/** @internal A 0-d constant on t's device; kernels receive its value directly. */
export function scalarLike(value: number | boolean, like: Tensor, dtype: DType, op = 'scalar'): Tensor {
  checkScalar(op, 'a scalar operand', value);
  if (dtype === 'int32') checkInt32(op, Number(value));
  const t = full([], value, { dtype, device: like.device });
  // Rounded to the compute dtype so every backend compares and scales with the same number.
  t.scalarValue = dtype === 'float32' ? Math.fround(Number(value)) : Number(value);
  return t;
}

/** torch.arange(start, end, step); integer arguments give int32. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  for (const [k, v] of [['start', start], ['end', end], ['step', step]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new KindlingError('arange', `${k} must be a finite number, got ${fmtValue(v)}`);
  }
  if (step === 0) throw new KindlingError('arange', 'step must be nonzero');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  // The first and last values bound the rest: past 2^31 an int32 range would wrap.
  if (dtype === 'int32' && n > 0) for (const v of [start, start + (n - 1) * step]) checkInt32('arange', v);
  const arr = typedArrayFor(dtype, n);
  for (let i = 0; i < n; i++) arr[i] = start + i * step;
  return tensor(arr, { ...opts, dtype, shape: [n] });
}

/** torch.linspace: `steps` points from start to end inclusive (computed as torch does, from both ends). */
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new KindlingError('linspace', `steps must be a non-negative integer, got ${steps}`);
  const arr = new Float32Array(steps);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) arr[i] = i < half ? start + step * i : end - step * (steps - 1 - i);
  return tensor(arr, { ...opts, dtype: opts.dtype ?? 'float32', shape: [steps] });
}

export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const arr = typedArrayFor(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) arr[i * m + i] = 1;
  return tensor(arr, { ...opts, dtype, shape: [n, m] });
}

function random(op: string, dist: 'uniform' | 'normal', shape: readonly number[], opts: CreateOptions): Tensor {
  checkShape(op, shape);
  const b = getBackend(opts.device ?? getDefaultDevice());
  const t = alloc(b, shape, 'float32');
  if (t.size > 0) {
    const { key, counter } = globalGenerator.next(dist, t.size);
    b.random(dist, key, counter, t.backendView());
  }
  return t;
}

/** U[0, 1) from the shared Philox generator: the same values on every backend for a seed. */
export function rand(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return finish(castIfNeeded(random('rand', 'uniform', shape, opts), opts.dtype), opts);
}

/** N(0, 1) from the shared Philox generator. */
export function randn(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return finish(castIfNeeded(random('randn', 'normal', shape, opts), opts.dtype), opts);
}

/** Integers uniform in [low, high), int32 by default. */
export function randint(low: number, high: number, shape: readonly number[], opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new KindlingError('randint', `expected integers low < high, got low=${fmtValue(low)} high=${fmtValue(high)}`);
  }
  // torch: "random_ expects 'from' to be less than 'to'... to - 1 is out of bounds for int".
  if ((opts.dtype ?? 'int32') === 'int32') for (const v of [low, high - 1]) checkInt32('randint', v);
  const u = random('randint', 'uniform', shape, opts);
  const b = u.backend;
  const scaled = alloc(b, shape, 'float32');
  b.binary('mul', u.backendView(), high - low, scaled.backendView());
  b.unary('floor', scaled.backendView(), u.backendView());
  b.binary('add', u.backendView(), low, scaled.backendView());
  u.dispose();
  return finish(castIfNeeded(scaled, opts.dtype ?? 'int32'), opts);
}

/** U[low, high) and N(mean, std) in place helpers for init live in nn; these cover the factories. */
function castIfNeeded(t: Tensor, dtype: DType | undefined): Tensor {
  if (!dtype || dtype === t.dtype) return t;
  const c = cast(t, dtype);
  t.dispose();
  return c;
}

/** Converts to another dtype (float → int truncates toward zero, as torch). Differentiable for float → float only. */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const b = backendOf('cast', x);
  const run = (): Tensor[] => {
    const out = alloc(b, x.shape, dtype);
    b.copy(x.backendView(), out.backendView());
    return [out];
  };
  return dtype === 'float32' ? apply('cast', [x], { dtype }, run)[0]! : run()[0]!;
}
