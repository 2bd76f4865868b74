/**
 * Tensor methods, attached to the prototype so `x.add(y).relu().sum()` chains as in PyTorch.
 * Each is a one-line forward to the op function of the same name in ops/.
 */
import type { DType } from './dtype.js';
import { Tensor, makeView } from './tensor.js';
import { KindlingError } from './errors.js';
import { binary, clamp, gelu, unary, where, type TensorLike } from './ops/elementwise.js';
import { BINARY_OPS, UNARY_OPS, type BinaryOp, type UnaryOp } from './ops/table.js';
import { cast, checkScalar } from './ops/creation.js';
import * as R from './ops/reduce.js';
import * as V from './ops/view.js';
import { gather, scatterAdd } from './ops/gather.js';
import { bmm, matmul } from './ops/matmul.js';
import { copyInto, fillInto } from './ops/inplace.js';
import { to, toAsync } from './ops/transfer.js';
import { noGrad } from './grad-mode.js';
import { tidy } from './scope.js';

/** One method per unary op of the table: x.exp(), x.relu(), ... */
type UnaryMethods = { [K in UnaryOp]: () => Tensor };
/** One method per binary op of the table but add/sub, which take an alpha (declared below). */
type BinaryMethods = { [K in Exclude<BinaryOp, 'add' | 'sub'>]: (other: TensorLike) => Tensor };

declare module './tensor.js' {
  interface Tensor extends UnaryMethods, BinaryMethods {
    add(other: TensorLike, alpha?: number): Tensor;
    sub(other: TensorLike, alpha?: number): Tensor;
    gelu(approximate?: 'none' | 'tanh'): Tensor;
    clamp(min: number | null, max?: number | null): Tensor;
    where(condition: Tensor, other: TensorLike): Tensor;

    sum(dim?: R.Dims, keepdim?: boolean): Tensor;
    mean(dim?: R.Dims, keepdim?: boolean): Tensor;
    amax(dim?: R.Dims, keepdim?: boolean): Tensor;
    amin(dim?: R.Dims, keepdim?: boolean): Tensor;
    max(): Tensor;
    max(dim: number, keepdim?: boolean): R.ValuesIndices;
    min(): Tensor;
    min(dim: number, keepdim?: boolean): R.ValuesIndices;
    argmax(dim?: number | null, keepdim?: boolean): Tensor;
    argmin(dim?: number | null, keepdim?: boolean): Tensor;
    var(dim?: R.Dims, opts?: R.VarOptions): Tensor;
    std(dim?: R.Dims, opts?: R.VarOptions): Tensor;
    logsumexp(dim: R.Dims, keepdim?: boolean): Tensor;
    softmax(dim: number): Tensor;
    logSoftmax(dim: number): Tensor;

    reshape(shape: readonly number[]): Tensor;
    view(shape: readonly number[]): Tensor;
    permute(dims: readonly number[]): Tensor;
    transpose(dim0: number, dim1: number): Tensor;
    /** 2-D transpose (torch's .t()). */
    t(): Tensor;
    contiguous(): Tensor;
    clone(): Tensor;
    expand(size: readonly number[]): Tensor;
    expandAs(other: Tensor): Tensor;
    squeeze(dim?: number | readonly number[] | null): Tensor;
    unsqueeze(dim: number): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    unflatten(dim: number, sizes: readonly number[]): Tensor;
    slice(specs: readonly V.SliceSpec[]): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    select(dim: number, index: number): Tensor;
    gather(dim: number, index: Tensor): Tensor;
    scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    matmul(other: Tensor): Tensor;
    mm(other: Tensor): Tensor;
    bmm(other: Tensor): Tensor;

    cast(dtype: DType): Tensor;
    float(): Tensor;
    int(): Tensor;
    bool(): Tensor;
    to(device: string): Tensor;
    toAsync(device: string): Promise<Tensor>;
    cpu(): Tensor;

    /** In place (torch's copy_): write src into this view. Returns this. */
    copy_(src: Tensor): Tensor;
    fill_(value: number): Tensor;
    zero_(): Tensor;
    add_(other: TensorLike, alpha?: number): Tensor;
    sub_(other: TensorLike, alpha?: number): Tensor;
    mul_(other: TensorLike): Tensor;
    div_(other: TensorLike): Tensor;

    // Autograd surface: declared here so every package sees one Tensor type; implemented by
    // @kindling/autograd when it is imported (until then they say so).
    /** Accumulates d(this)/d(leaf) into every leaf's .grad (torch's Tensor.backward). */
    backward(gradient?: Tensor | null, opts?: { retainGraph?: boolean }): void;
    /** A view sharing storage, cut from the graph. */
    detach(): Tensor;
    /** Sets requiresGrad on a leaf in place; returns this. */
    requiresGrad_(requiresGrad?: boolean): Tensor;
    /** Keep .grad on this non-leaf tensor after backward. */
    retainGrad(): void;
    /** Runs fn(leaf) during backward once this leaf's .grad is complete (torch's register_post_accumulate_grad_hook). */
    registerPostAccumulateGradHook(fn: (leaf: Tensor) => void): { remove(): void };
    /** torch's grad_fn name ('Conv2dBackward', ...) or null for leaves. */
    readonly gradFnName: string | null;
  }
}

/** The prototype, typed by the interface above: a method assigned here must match its declaration. */
const P: { -readonly [K in keyof Tensor]: Tensor[K] } = Tensor.prototype;

const scaled = (op: string, other: TensorLike, alpha: number | undefined): TensorLike => {
  if (alpha !== undefined) checkScalar(op, 'alpha', alpha);
  if (typeof other !== 'number' && !(other instanceof Tensor)) checkScalar(op, 'a scalar operand', other);
  return alpha === undefined || alpha === 1 ? other : typeof other === 'number' ? other * (alpha as number) : binary('mul', other as Tensor, alpha);
};

// Typed through the derived method types: a table op whose method has another signature fails here.
const elementwise = Tensor.prototype as UnaryMethods & BinaryMethods;
for (const op of BINARY_OPS) {
  if (op !== 'add' && op !== 'sub') elementwise[op] = function (this: Tensor, o: TensorLike) { return binary(op, this, o); };
}
for (const op of UNARY_OPS) elementwise[op] = function (this: Tensor) { return unary(op, this); };
P.add = function (this: Tensor, o: TensorLike, alpha?: number) { return tidy(() => binary('add', this, scaled('add', o, alpha))); };
P.sub = function (this: Tensor, o: TensorLike, alpha?: number) { return tidy(() => binary('sub', this, scaled('sub', o, alpha))); };

P.gelu = function (this: Tensor, a?: 'none' | 'tanh') { return gelu(this, a); };
P.clamp = function (this: Tensor, min: number | null, max: number | null = null) { return clamp(this, min, max); };
P.where = function (this: Tensor, c: Tensor, o: TensorLike) { return where(c, this, o); };

P.sum = function (this: Tensor, d?: R.Dims, k?: boolean) { return R.sum(this, d, k); };
P.mean = function (this: Tensor, d?: R.Dims, k?: boolean) { return R.mean(this, d, k); };
P.amax = function (this: Tensor, d?: R.Dims, k?: boolean) { return R.amax(this, d, k); };
P.amin = function (this: Tensor, d?: R.Dims, k?: boolean) { return R.amin(this, d, k); };
P.max = function (this: Tensor, d?: number, k?: boolean) { return d === undefined ? R.max(this) : R.max(this, d, k); } as Tensor['max'];
P.min = function (this: Tensor, d?: number, k?: boolean) { return d === undefined ? R.min(this) : R.min(this, d, k); } as Tensor['min'];
P.argmax = function (this: Tensor, d?: number | null, k?: boolean) { return R.argmax(this, d, k); };
P.argmin = function (this: Tensor, d?: number | null, k?: boolean) { return R.argmin(this, d, k); };
P.var = function (this: Tensor, d?: R.Dims, o?: R.VarOptions) { return R.variance(this, d, o); };
P.std = function (this: Tensor, d?: R.Dims, o?: R.VarOptions) { return R.std(this, d, o); };
P.logsumexp = function (this: Tensor, d: R.Dims, k?: boolean) { return R.logsumexp(this, d, k); };
P.softmax = function (this: Tensor, d: number) { return R.softmax(this, d); };
P.logSoftmax = function (this: Tensor, d: number) { return R.logSoftmax(this, d); };

P.reshape = function (this: Tensor, s: readonly number[]) { return V.reshape(this, s); };
P.view = function (this: Tensor, s: readonly number[]) { return V.view(this, s); };
P.permute = function (this: Tensor, d: readonly number[]) { return V.permute(this, d); };
P.transpose = function (this: Tensor, a: number, b: number) { return V.transpose(this, a, b); };
P.t = function (this: Tensor) { return this.ndim < 2 ? V.alias(this) : V.transpose(this, 0, 1); };
P.contiguous = function (this: Tensor) { return V.contiguous(this); };
P.clone = function (this: Tensor) { return V.clone(this); };
P.expand = function (this: Tensor, s: readonly number[]) { return V.expand(this, s); };
P.expandAs = function (this: Tensor, o: Tensor) { return V.expand(this, o.shape); };
P.squeeze = function (this: Tensor, d?: number | readonly number[] | null) { return V.squeeze(this, d); };
P.unsqueeze = function (this: Tensor, d: number) { return V.unsqueeze(this, d); };
P.flatten = function (this: Tensor, s?: number, e?: number) { return V.flatten(this, s, e); };
P.unflatten = function (this: Tensor, d: number, s: readonly number[]) { return V.unflatten(this, d, s); };
P.slice = function (this: Tensor, s: readonly V.SliceSpec[]) { return V.slice(this, s); };
P.narrow = function (this: Tensor, d: number, s: number, l: number) { return V.narrow(this, d, s, l); };
P.select = function (this: Tensor, d: number, i: number) { return V.select(this, d, i); };
P.gather = function (this: Tensor, d: number, i: Tensor) { return gather(this, d, i); };
P.scatterAdd = function (this: Tensor, d: number, i: Tensor, s: Tensor) { return scatterAdd(this, d, i, s); };
P.matmul = function (this: Tensor, o: Tensor) { return matmul(this, o); };
P.mm = function (this: Tensor, o: Tensor) { return matmul(this, o); };
P.bmm = function (this: Tensor, o: Tensor) { return bmm(this, o); };

P.cast = function (this: Tensor, d: DType) { return d === this.dtype ? V.alias(this) : cast(this, d); };
P.float = function (this: Tensor) { return (this as Tensor).cast('float32'); };
P.int = function (this: Tensor) { return (this as Tensor).cast('int32'); };
P.bool = function (this: Tensor) { return (this as Tensor).cast('bool'); };
P.to = function (this: Tensor, d: string) { return to(this, d); };
P.toAsync = function (this: Tensor, d: string) { return toAsync(this, d); };
P.cpu = function (this: Tensor) { return to(this, 'cpu'); };

const needsAutograd = (name: string) => () => {
  throw new KindlingError(name, "autograd is not loaded: import '@kindling/autograd' (or 'kindling')");
};
P.backward = needsAutograd('backward');
P.requiresGrad_ = needsAutograd('requiresGrad_');
P.retainGrad = needsAutograd('retainGrad');
P.registerPostAccumulateGradHook = needsAutograd('registerPostAccumulateGradHook');
Object.defineProperty(P, 'gradFnName', { get: () => null, configurable: true });
P.detach = function (this: Tensor) { return makeView(this, this.shape, this.strides, this.offset); };

P.copy_ = function (this: Tensor, s: Tensor) { return copyInto(this, s); };
P.fill_ = function (this: Tensor, v: number) { return fillInto(this, v); };
P.zero_ = function (this: Tensor) { return fillInto(this, 0); };
/** In-place arithmetic: computed out of place, then written back (one extra buffer, any backend). */
const inPlace = (t: Tensor, f: () => Tensor): Tensor => {
  const r = noGrad(() => tidy(f));
  copyInto(t, r);
  r.dispose();
  return t;
};
P.add_ = function (this: Tensor, o: TensorLike, a?: number) { return inPlace(this, () => binary('add', this, scaled('add_', o, a))); };
P.sub_ = function (this: Tensor, o: TensorLike, a?: number) { return inPlace(this, () => binary('sub', this, scaled('sub_', o, a))); };
P.mul_ = function (this: Tensor, o: TensorLike) { return inPlace(this, () => binary('mul', this, o)); };
P.div_ = function (this: Tensor, o: TensorLike) { return inPlace(this, () => binary('div', this, o)); };
