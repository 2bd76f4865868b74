import type { ReduceOp } from '../backend.js';
import { KindlingError, ShapeError, fmtShape } from '../errors.js';
import { apply } from '../grad-mode.js';
import { contiguousStrides, normalizeDim } from '../shape.js';
import { tidy } from '../scope.js';
import { Tensor, makeView } from '../tensor.js';
import { alloc, backendOf, expectDType, runFused } from './util.js';
import { binary, unary } from './elementwise.js';
import { cast } from './creation.js';
import { contiguous, permute, reshape, unsqueeze } from './view.js';

/** `dim` as torch takes it: an int, a list, or null/undefined for all dims. */
export type Dims = number | readonly number[] | null | undefined;

export function resolveDims(op: string, dims: Dims, rank: number): number[] {
  if (dims === null || dims === undefined) return [...Array(rank).keys()];
  const list = typeof dims === 'number' ? [dims] : [...dims];
  const norm = list.map((d) => normalizeDim(op, d, rank));
  if (new Set(norm).size !== norm.length) throw new ShapeError(op, `dim ${JSON.stringify(dims)} appears more than once`);
  return rank === 0 ? [] : norm.sort((a, b) => a - b);
}

function keptShape(shape: readonly number[], dims: readonly number[], keepdim: boolean): number[] {
  return keepdim ? shape.map((s, i) => (dims.includes(i) ? 1 : s)) : shape.filter((_, i) => !dims.includes(i));
}

/** Runs a backend reduction over `dims` by permuting them last (a view, no copy). */
function rawReduce(op: ReduceOp, x: Tensor, dims: readonly number[], keepdim: boolean, outDtype = x.dtype): Tensor {
  const b = x.backend;
  const keep = [...x.shape.keys()].filter((i) => !dims.includes(i));
  const order = [...keep, ...dims];
  const outShape = keptShape(x.shape, dims, keepdim);
  if ((op === 'argmax' || op === 'argmin' || op === 'max' || op === 'min') && dims.some((d) => x.shape[d] === 0)) {
    throw new KindlingError(op, `cannot reduce over a zero-size dim of input ${fmtShape(x.shape)}`);
  }
  const out = alloc(b, outShape, outDtype);
  const v = x.backendView();
  b.reduce(op, { ...v, shape: order.map((i) => x.shape[i]!), strides: order.map((i) => x.strides[i]!) }, dims.length, {
    ...out.backendView(),
    shape: keep.map((i) => x.shape[i]!),
    strides: contiguousStrides(keep.map((i) => x.shape[i]!)),
  });
  return out;
}

/** torch.sum; bool and int32 sum to int32 (torch: int64). */
export function sum(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  backendOf('sum', x);
  const dims = resolveDims('sum', dim, x.ndim);
  const src = x.dtype === 'bool' ? cast(x, 'int32') : x;
  const out = apply('sum', [src], { dims, keepdim }, () => [rawReduce('sum', src, dims, keepdim)])[0]!;
  if (src !== x) src.dispose();
  return out;
}

export function mean(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  expectDType('mean', x, ['float32']);
  const dims = resolveDims('mean', dim, x.ndim);
  const n = dims.reduce((a, d) => a * x.shape[d]!, 1);
  return tidy(() => binary('div', sum(x, dims, keepdim), n));
}

/** amax/amin: the gradient is shared evenly among tied maxima (torch's amax rule). */
export function amax(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const dims = resolveDims('amax', dim, x.ndim);
  return apply('amax', [x], { dims, keepdim }, () => [rawReduce('max', x, dims, keepdim)])[0]!;
}

export function amin(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const dims = resolveDims('amin', dim, x.ndim);
  return apply('amin', [x], { dims, keepdim }, () => [rawReduce('min', x, dims, keepdim)])[0]!;
}

/** Index of the max: over one dim, or of the flattened tensor when dim is null (int32). */
export function argmax(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  return argReduce('argmax', x, dim, keepdim);
}

export function argmin(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  return argReduce('argmin', x, dim, keepdim);
}

function argReduce(op: 'argmax' | 'argmin', x: Tensor, dim: number | null | undefined, keepdim: boolean): Tensor {
  backendOf(op, x);
  if (dim === null || dim === undefined) {
    const flat = reshape(contiguous(x), [x.size]);
    const r = rawReduce(op, flat, [0], false, 'int32');
    flat.dispose();
    return keepdim ? reshape(r, x.shape.map(() => 1)) : r;
  }
  const d = normalizeDim(op, dim, x.ndim);
  return rawReduce(op, x, x.ndim === 0 ? [] : [d], keepdim, 'int32');
}

export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

/** torch.max(x) (a tensor) or torch.max(x, dim, keepdim) (values and indices). */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  if (dim === undefined) return amax(x);
  return { values: amax(x, dim, keepdim), indices: argmax(x, dim, keepdim) };
}

export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  if (dim === undefined) return amin(x);
  return { values: amin(x, dim, keepdim), indices: argmin(x, dim, keepdim) };
}

export interface VarOptions {
  /** Bessel's correction (torch's unbiased=True, the default). */
  unbiased?: boolean;
  keepdim?: boolean;
}

export function variance(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  expectDType('var', x, ['float32']);
  const dims = resolveDims('var', dim, x.ndim);
  const n = dims.reduce((a, d) => a * x.shape[d]!, 1);
  const denom = Math.max(0, n - (opts.unbiased === false ? 0 : 1));
  return tidy(() => {
    const centered = binary('sub', x, mean(x, dims, true));
    return binary('div', sum(binary('mul', centered, centered), dims, opts.keepdim ?? false), denom);
  });
}

export function std(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  return tidy(() => unary('sqrt', variance(x, dim, opts)));
}

/** log Σ exp, shifted by the (detached) max so large inputs do not overflow. */
export function logsumexp(x: Tensor, dim: Dims, keepdim = false): Tensor {
  expectDType('logsumexp', x, ['float32']);
  const dims = resolveDims('logsumexp', dim, x.ndim);
  return tidy(() => {
    const m = rawReduce('max', x, dims, true);
    // An all -inf slice would give inf - inf = NaN; shift by 0 there instead (torch does the same).
    const shift = binary('mul', m, unary('logicalNot', binary('eq', unary('abs', m), Infinity)));
    const s = sum(unary('exp', binary('sub', x, shift)), dims, true);
    const r = binary('add', unary('log', s), shift);
    return keepdim ? r : reshape(r, keptShape(x.shape, dims, false));
  });
}

/** softmax / log_softmax over `dim`: one recorded op, fused on backends that have the kernel. */
export function softmax(x: Tensor, dim: number): Tensor {
  return softmaxOp('softmax', x, dim);
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  return softmaxOp('logSoftmax', x, dim);
}

function softmaxOp(op: 'softmax' | 'logSoftmax', x: Tensor, dim: number): Tensor {
  expectDType(op, x, ['float32']);
  const b = backendOf(op, x);
  const d = normalizeDim(op, dim, x.ndim);
  return apply(op, [x], { dim: d }, () => [withLastDim(x, d, (rows) => softmaxRows(rows, op === 'logSoftmax'))])[0]!;
}

/** Moves dim d last, makes [rows, cols] contiguous, runs f, and moves the dim back. */
export function withLastDim(x: Tensor, d: number, f: (rows: Tensor) => Tensor): Tensor {
  return tidy(() => {
    if (x.ndim === 0) return reshape(f(reshape(x, [1, 1])), []);
    const order = [...x.shape.keys()].filter((i) => i !== d).concat(d);
    const moved = contiguous(permute(x, order));
    const cols = x.shape[d]!;
    const res = reshape(f(reshape(moved, [moved.size / Math.max(cols, 1), cols])), moved.shape);
    const inv = order.map((_, i) => order.indexOf(i));
    return contiguous(permute(res, inv));
  });
}

/** Softmax over the last dim of a contiguous [rows, cols] tensor (kernel or decomposition). */
export function softmaxRows(rows: Tensor, log: boolean): Tensor {
  return runFused(rows.backend, 'softmax', {
    inputs: [rows],
    outputs: [{ shape: rows.shape, dtype: 'float32' }],
    call: (k, [xv], [out]) => k(xv, log, out),
    reference: () => [
      tidy(() => {
        const shifted = binary('sub', rows, rawReduce('max', rows, [1], true));
        const e = unary('exp', shifted);
        const s = rawReduce('sum', e, [1], true);
        return log ? binary('sub', shifted, unary('log', s)) : binary('div', e, s);
      }),
    ],
  })[0]!;
}

/** Gradient of softmax rows: y·(g − Σ g·y), or for log-softmax g − exp(y)·Σ g. */
export function softmaxRowsBackward(y: Tensor, g: Tensor, log: boolean): Tensor {
  return runFused(y.backend, 'softmaxBackward', {
    inputs: [y, g],
    outputs: [{ shape: y.shape, dtype: 'float32' }],
    call: (k, [yv, gv], [gx]) => k(yv, gv, log, gx),
    reference: () => [
      tidy(() => {
        if (log) return binary('sub', g, binary('mul', unary('exp', y), rawReduce('sum', g, [1], true)));
        return binary('mul', y, binary('sub', g, rawReduce('sum', binary('mul', g, y), [1], true)));
      }),
    ],
  })[0]!;
}

export { unsqueeze };

/** ∂L/∂x of softmax or log-softmax over `dim`, from its output y and the upstream g. */
export function softmaxBackward(y: Tensor, g: Tensor, dim: number, log: boolean): Tensor {
  return tidy(() => {
    if (y.ndim === 0) return reshape(softmaxRowsBackward(reshape(y, [1, 1]), reshape(g, [1, 1]), log), []);
    const order = [...y.shape.keys()].filter((i) => i !== dim).concat(dim);
    const rows = (t: Tensor): Tensor => {
      const m = contiguous(permute(t, order));
      return reshape(m, [m.size / Math.max(y.shape[dim]!, 1), y.shape[dim]!]);
    };
    const gx = softmaxRowsBackward(rows(y), rows(g), log);
    const moved = reshape(gx, order.map((i) => y.shape[i]!));
    return contiguous(permute(moved, order.map((_, i) => order.indexOf(i))));
  });
}
