import type { Backend, View } from './backend.js';
import type { DType, TypedArray } from './dtype.js';
import { KindlingError, fmtShape, fmtValue } from './errors.js';
import { autogradHook } from './grad-mode.js';
import { contiguousStrides, isContiguous, numel } from './shape.js';
import { Storage, statsFor } from './storage.js';
import { trackInScope, untrack } from './scope.js';
import { turnIfDue } from './turn.js';
import type { Scope } from './context.js';

/** Nested JS arrays, as `array()` returns them. */
export type NestedArray = number | boolean | NestedArray[];

let nextId = 1;

/**
 * Safety net: a tensor that is garbage-collected without dispose() still releases its storage.
 * Deterministic code should dispose (or use tidy / `using`); this only keeps leaks bounded.
 */
const finalizer =
  typeof FinalizationRegistry !== 'undefined'
    ? new FinalizationRegistry<{ storage: Storage; device: string }>((held) => {
        statsFor(held.device).tensors--;
        held.storage.release();
      })
    : null;

/**
 * A tensor: a view (shape, strides, offset) onto reference-counted storage on one device.
 * Ops return at once; read values back with `await t.data()`, `await t.item()`, `await t.array()`.
 * Methods for the ops are attached in methods.ts (the TensorFlow.js chaining pattern), so this
 * file only holds what a view is.
 */
export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** @internal */ storage_: Storage;
  private disposed_ = false;

  /** Whether ops on this tensor are recorded for backward. */
  requiresGrad = false;
  /** The accumulated gradient of a leaf after backward(). */
  grad: Tensor | null = null;
  /** @internal The autograd node that produced this tensor (opaque to core). */
  gradFn: unknown = null;
  /** @internal The value of a scalar made from a JS number: kernels get it as a constant. */
  scalarValue: number | undefined = undefined;
  /** @internal Set by autograd on non-leaf tensors that should keep .grad (retainGrad()). */
  retainsGrad = false;
  /** @internal The tidy() scope that will dispose this tensor, if any (scope.ts). */
  scope_: Scope | null = null;

  /** @internal Use the factory functions (tensor, zeros, ...) instead. */
  constructor(storage: Storage, shape: readonly number[], strides: readonly number[], offset: number, dtype: DType, tracked = true) {
    this.storage_ = storage;
    this.shape = shape;
    this.strides = strides;
    this.offset = offset;
    this.dtype = dtype;
    storage.retain();
    statsFor(storage.device).tensors++;
    finalizer?.register(this, { storage, device: storage.device }, this);
    if (tracked) trackInScope(this);
  }

  get device(): string {
    return this.storage_.device;
  }
  get backend(): Backend {
    return this.storage_.backend;
  }
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements (torch's numel()). */
  get size(): number {
    return numel(this.shape);
  }
  numel(): number {
    return numel(this.shape);
  }
  get isDisposed(): boolean {
    return this.disposed_;
  }
  /** A leaf is a tensor not produced by a recorded op (parameters, inputs). */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  /** @internal The view handed to backend kernels. */
  backendView(): View {
    this.assertAlive('view');
    return { buffer: this.storage_.buffer, dtype: this.dtype, shape: this.shape, strides: this.strides, offset: this.offset };
  }

  /**
   * @internal Throws a clear error when a disposed tensor is used, or one whose data is still
   * arriving from another device (ops run synchronously; only readbacks may wait for it).
   */
  assertAlive(op: string): void {
    this.assertNotDisposed(op);
    const p = this.storage_.pending;
    if (p) {
      throw new KindlingError(
        op,
        `tensor ${fmtShape(this.shape)} ${this.dtype} on ${this.device} is still arriving from ${p.from} (made by .cpu() / .to('${this.device}')); ` +
          `await t.ready() (or read it with await t.item() / t.data()) before using it in an op, or use 'await t.toAsync("${this.device}")'`,
      );
    }
  }

  /** @internal Only the disposed check: views and readbacks may use a pending tensor. */
  assertNotDisposed(op: string): void {
    if (this.disposed_) throw new KindlingError(op, `tensor ${fmtShape(this.shape)} ${this.dtype} on ${this.device} was disposed`);
  }

  /** Whether this tensor's data is still arriving from another device (see `.cpu()`). */
  get isPending(): boolean {
    return this.storage_.pending !== null;
  }

  /** Resolves with this tensor once its data is here (at once unless it came from `.cpu()` of a GPU tensor). */
  async ready(): Promise<this> {
    this.assertNotDisposed('ready');
    await this.storage_.pending?.arrival;
    return this;
  }

  /** Frees this view's hold on its storage (the memory goes when no view uses it). Idempotent. */
  dispose(): void {
    if (this.disposed_) return;
    this.disposed_ = true;
    finalizer?.unregister(this);
    statsFor(this.device).tensors--;
    if (this.gradFn !== null) {
      autogradHook()?.release(this.gradFn);
      this.gradFn = null;
    }
    this.storage_.release();
    untrack(this);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** The elements in row-major order, read back from the device. */
  async data(): Promise<TypedArray> {
    this.assertNotDisposed('data');
    if (this.storage_.pending) {
      await this.storage_.pending.arrival;
      this.assertNotDisposed('data');
    }
    let out: TypedArray;
    if (this.isContiguous()) out = await this.backend.read(this.storage_.buffer, this.offset, this.size);
    else {
      const c = contiguousCopy(this);
      try {
        out = await c.backend.read(c.storage_.buffer, 0, c.size);
      } finally {
        c.dispose();
      }
    }
    // A readback is where a PyTorch-style loop waits: let dropped tensors' finalizers run (turn.ts).
    const turn = turnIfDue();
    if (turn) await turn;
    return out;
  }

  /** Blocking read, on backends that can (cpu); elsewhere a clear error points to `await data()`. */
  dataSync(): TypedArray {
    this.assertAlive('dataSync');
    const b = this.backend;
    if (!b.readSync) throw new KindlingError('dataSync', `the ${b.name} backend cannot block; use 'await t.data()'`);
    if (this.isContiguous()) return b.readSync(this.storage_.buffer, this.offset, this.size);
    const c = contiguousCopy(this);
    try {
      return b.readSync(c.storage_.buffer, 0, c.size);
    } finally {
      c.dispose();
    }
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new KindlingError('item', `a tensor with ${this.size} elements ${fmtShape(this.shape)} cannot be converted to a scalar`);
    return (await this.data())[0]!;
  }

  itemSync(): number {
    if (this.size !== 1) throw new KindlingError('item', `a tensor with ${this.size} elements ${fmtShape(this.shape)} cannot be converted to a scalar`);
    return this.dataSync()[0]!;
  }

  /** Nested arrays (booleans for bool tensors), as torch's tolist(). */
  async array(): Promise<NestedArray> {
    return nest(await this.data(), this.shape, this.dtype);
  }

  arraySync(): NestedArray {
    return nest(this.dataSync(), this.shape, this.dtype);
  }

  toString(): string {
    const grad = this.requiresGrad ? ', requiresGrad=true' : '';
    return `Tensor(shape=${fmtShape(this.shape)}, dtype=${this.dtype}, device=${this.device}${grad})`;
  }
}

function nest(data: TypedArray, shape: readonly number[], dtype: DType): NestedArray {
  const conv = dtype === 'bool' ? (v: number) => v !== 0 : (v: number) => v;
  if (shape.length === 0) return conv(data[0]!);
  const rec = (dim: number, off: number): NestedArray[] => {
    const n = shape[dim]!;
    const stride = numel(shape.slice(dim + 1));
    const out: NestedArray[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = dim === shape.length - 1 ? conv(data[off + i]!) : rec(dim + 1, off + i * stride);
    return out;
  };
  return rec(0, 0);
}

/** @internal Allocates an uninitialised contiguous tensor on a backend. */
export function empty(backend: Backend, shape: readonly number[], dtype: DType, tracked = true): Tensor {
  const storage = new Storage(backend, backend.alloc(dtype, numel(shape)));
  return new Tensor(storage, [...shape], contiguousStrides(shape), 0, dtype, tracked);
}

/**
 * @internal A new view onto t's storage. Public (as_strided's job), so it refuses any view that
 * reaches outside the storage: sizes and the offset are non-negative safe integers, strides are
 * safe integers, and every element offset + Σ iₖ·strideₖ lies in [0, storage size). Doubles do not
 * wrap, so a (size − 1)·stride term too large for int64 simply compares as out of range here
 * instead of overflowing in a kernel.
 */
export function makeView(t: Tensor, shape: readonly number[], strides: readonly number[], offset: number, tracked = true): Tensor {
  // A view of a pending tensor shares its storage, so it waits for the same data.
  t.assertNotDisposed('view');
  checkViewBounds(shape, strides, offset, t.storage_.buffer.size);
  return new Tensor(t.storage_, [...shape], [...strides], offset, t.dtype, tracked);
}

function checkViewBounds(shape: readonly number[], strides: readonly number[], offset: number, size: number): void {
  const where = () => `shape ${fmtShape(shape)}, strides ${fmtShape(strides)}, offset ${offset}`;
  if (!Array.isArray(shape) || !Array.isArray(strides) || shape.length !== strides.length) {
    throw new KindlingError('makeView', `shape and strides must be arrays of the same length (${where()})`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0) throw new KindlingError('makeView', `offset must be a non-negative integer (${where()})`);
  let lo = offset;
  let hi = offset;
  let empty = false;
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    const s = strides[d]!;
    if (!Number.isSafeInteger(n) || n < 0) throw new KindlingError('makeView', `size ${fmtValue(n)} of dim ${d} is not a non-negative safe integer (${where()})`);
    if (!Number.isSafeInteger(s)) throw new KindlingError('makeView', `stride ${fmtValue(s)} of dim ${d} is not a safe integer (${where()})`);
    if (n === 0) empty = true;
    const span = (n - 1) * s;
    if (span < 0) lo += span;
    else hi += span;
  }
  if (empty) return; // no element is ever touched
  if (lo < 0 || hi >= size) {
    throw new KindlingError('makeView', `the view reaches elements [${lo}, ${hi}] of a storage of ${size} elements (${where()})`);
  }
}

/** @internal A contiguous copy (untracked: the caller disposes it). */
function contiguousCopy(t: Tensor): Tensor {
  const out = empty(t.backend, t.shape, t.dtype, false);
  t.backend.copy(t.backendView(), out.backendView());
  return out;
}
