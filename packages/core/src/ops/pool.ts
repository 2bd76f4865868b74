import type { Pool2dParams, View } from '../backend.js';
import { KindlingError, ShapeError, fmtShape } from '../errors.js';
import { apply } from '../grad-mode.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { alloc, backendOf, expectDType, expectRank, pair, runFused } from './util.js';
import { binary, where } from './elementwise.js';
import { arange, cast, full, tensor, zeros } from './creation.js';
import { contiguous, expand, reshape, slice, transpose } from './view.js';
import { matmul } from './matmul.js';
import { argmax, amax, sum } from './reduce.js';
import { scatterAddInto } from './gather.js';

export interface MaxPool2dOptions {
  kernelSize: number | readonly number[];
  stride?: number | readonly number[] | null;
  padding?: number | readonly number[];
  dilation?: number | readonly number[];
  ceilMode?: boolean;
}

export interface AvgPool2dOptions {
  kernelSize: number | readonly number[];
  stride?: number | readonly number[] | null;
  padding?: number | readonly number[];
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

function params(op: string, o: MaxPool2dOptions & AvgPool2dOptions): Pool2dParams {
  const kernel = pair(op, 'kernelSize', o.kernelSize, 1);
  const p: Pool2dParams = {
    kernel,
    stride: o.stride === undefined || o.stride === null ? kernel : pair(op, 'stride', o.stride, 1),
    padding: pair(op, 'padding', o.padding ?? 0, 0),
    dilation: pair(op, 'dilation', o.dilation ?? 1, 1),
    ceilMode: o.ceilMode ?? false,
    countIncludePad: o.countIncludePad ?? true,
    divisorOverride: o.divisorOverride ?? null,
  };
  for (const i of [0, 1]) {
    if (p.padding[i]! * 2 > p.kernel[i]!) {
      throw new KindlingError(op, `padding ${fmtShape(p.padding)} should be at most half of kernel size ${fmtShape(p.kernel)}`);
    }
  }
  if (o.divisorOverride !== undefined && o.divisorOverride !== null && (!Number.isInteger(o.divisorOverride) || o.divisorOverride <= 0)) {
    throw new KindlingError(op, `divisorOverride must be a positive integer, got ${o.divisorOverride}`);
  }
  return p;
}

/** PyTorch's pooling output size, including ceil_mode's rule that the last window starts inside. */
export function poolOutSize(n: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = n + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= n + p) o--;
  return o;
}

/**
 * For backends: throws when an output's shape disagrees with the pooling rule for this input, so
 * a kernel never indexes past a wrongly sized buffer.
 */
export function checkPoolOutput(op: string, xShape: readonly number[], outShape: readonly number[], p: Pool2dParams): void {
  const oH = poolOutSize(xShape[2]!, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0], p.ceilMode);
  const oW = poolOutSize(xShape[3]!, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1], p.ceilMode);
  if (outShape[2] !== oH || outShape[3] !== oW || outShape[0] !== xShape[0] || outShape[1] !== xShape[1]) {
    throw new Error(
      `${op}: output [${outShape.join(',')}] does not match input [${xShape.join(',')}] with kernel ${p.kernel}, stride ${p.stride}, padding ${p.padding}, dilation ${p.dilation}, ceilMode ${p.ceilMode} (expected spatial ${oH}x${oW})`,
    );
  }
}

/**
 * One axis of a pooling window starting at `start` (= o·stride − pad) with k taps spaced d: the
 * taps [lo, hi) that land inside [0, size), and how many land before size + pad (PyTorch's
 * count_include_pad window, clipped at the right edge of the padding).
 */
export interface AxisWindow {
  lo: number;
  hi: number;
  padded: number;
}

export function axisWindow(start: number, k: number, d: number, size: number, pad: number): AxisWindow {
  const lo = start >= 0 ? 0 : Math.ceil(-start / d);
  const hi = Math.min(k, Math.floor((size - 1 - start) / d) + 1);
  const padded = Math.max(0, Math.min(k, Math.floor((size + pad - 1 - start) / d) + 1));
  return { lo: Math.min(lo, k), hi: Math.max(hi, 0), padded };
}

/** An output row's or column's window, with its first tap's input coordinate (o·stride − pad, may be < 0). */
export interface PoolWindow extends AxisWindow {
  start: number;
}

/** The windows of every output position along axis `a` (0: rows, 1: columns) of an input `size` long. */
export function axisWindows(p: Pool2dParams, a: 0 | 1, outs: number, size: number): PoolWindow[] {
  return Array.from({ length: outs }, (_, o) => {
    const start = o * p.stride[a] - p.padding[a];
    return { ...axisWindow(start, p.kernel[a], p.dilation[a], size, p.padding[a]), start };
  });
}

/**
 * Output positions of a max pool whose window has no tap inside the input, only padding (possible
 * with dilation: height 1, kernel 2, padding 1, dilation 2). PyTorch gives -inf there and, as the
 * index, its first tap past the padding, which lies outside the input; its backward then adds to
 * no element. Returns the mask of non-empty windows ([oH, oW], bool) and PyTorch's index for every
 * window, or null when every window has a tap (the usual case: nothing to do).
 */
function emptyWindows(xShape: readonly number[], p: Pool2dParams, oH: number, oW: number, device: string): { nonEmpty: Tensor; firstTap: Tensor } | null {
  // Without padding every window starts inside the input (poolOutSize keeps ceil mode's last
  // window starting there too), so its first tap is an element: the common case costs nothing.
  if (p.padding[0] === 0 && p.padding[1] === 0) return null;
  const [, , H, W] = xShape as [number, number, number, number];
  const rows = axisWindows(p, 0, oH, H);
  const cols = axisWindows(p, 1, oW, W);
  if (rows.every((r) => r.lo < r.hi) && cols.every((c) => c.lo < c.hi)) return null;
  const nonEmpty: number[] = [];
  const firstTap: number[] = [];
  for (const r of rows) {
    for (const c of cols) {
      nonEmpty.push(r.lo < r.hi && c.lo < c.hi ? 1 : 0);
      firstTap.push((r.start + r.lo * p.dilation[0]) * W + (c.start + c.lo * p.dilation[1]));
    }
  }
  return {
    nonEmpty: tensor(nonEmpty, { shape: [oH, oW], dtype: 'bool', device }),
    firstTap: tensor(firstTap, { shape: [oH, oW], dtype: 'int32', device }),
  };
}

function outShape(op: string, x: Tensor, p: Pool2dParams): number[] {
  expectRank(op, x, [4]);
  expectDType(op, x, ['float32']);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const oH = poolOutSize(H, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0], p.ceilMode);
  const oW = poolOutSize(W, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1], p.ceilMode);
  if (oH < 1 || oW < 1) throw new ShapeError(op, `input ${fmtShape(x.shape)} is too small for kernel ${fmtShape(p.kernel)} with padding ${fmtShape(p.padding)}`);
  return [N, C, oH, oW];
}

/**
 * The input padded with `value` out to every position a window touches (ceil mode may reach past
 * the usual padding), and the windows as a view [N, C, oH, oW, kH, kW].
 */
function paddedWindows(x: Tensor, p: Pool2dParams, oH: number, oW: number, value: number): { xp: Tensor; win: View } {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const needH = (oH - 1) * p.stride[0] + (p.kernel[0] - 1) * p.dilation[0] + 1;
  const needW = (oW - 1) * p.stride[1] + (p.kernel[1] - 1) * p.dilation[1] + 1;
  const Hp = Math.max(needH, H + p.padding[0]);
  const Wp = Math.max(needW, W + p.padding[1]);
  const xp = full([N, C, Hp, Wp], value, { device: x.device });
  const inner = slice(xp, [null, null, [p.padding[0], p.padding[0] + H], [p.padding[1], p.padding[1] + W]]);
  x.backend.copy(x.backendView(), inner.backendView());
  inner.dispose();
  const v = xp.backendView();
  const [sN, sC, sH, sW] = v.strides as [number, number, number, number];
  const win: View = {
    ...v,
    shape: [N, C, oH, oW, p.kernel[0], p.kernel[1]],
    strides: [sN, sC, sH * p.stride[0], sW * p.stride[1], sH * p.dilation[0], sW * p.dilation[1]],
  };
  return { xp, win };
}

/** torch.nn.functional.max_pool2d; returns the values (see maxPool2dWithIndices for both). */
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor {
  const { values, indices } = maxPool2dWithIndices(x, opts);
  indices.dispose();
  return values;
}

/** Values and PyTorch's indices (flat positions in each input H×W plane, int32). */
export function maxPool2dWithIndices(x: Tensor, opts: MaxPool2dOptions): { values: Tensor; indices: Tensor } {
  const b = backendOf('maxPool2d', x);
  const p = params('maxPool2d', opts);
  const os = outShape('maxPool2d', x, p);
  const [values, indices] = apply('maxPool2d', [x], { params: p }, () => {
    return runFused(b, 'maxPool2d', {
      inputs: [x],
      outputs: [{ shape: os, dtype: 'float32' }, { shape: os, dtype: 'int32' }],
      call: (k, [xv], [out, idx]) => k(xv, p, out, idx),
      reference: () => maxPoolReference(x, p, os),
    });
  }) as [Tensor, Tensor];
  return { values, indices };
}

function maxPoolReference(x: Tensor, p: Pool2dParams, os: number[]): Tensor[] {
  return tidy(() => {
    const [N, C, oH, oW] = os as [number, number, number, number];
    const [kH, kW] = p.kernel;
    const { win } = paddedWindows(x, p, oH, oW, -Infinity);
    const cols = alloc(x.backend, [N, C, oH, oW, kH, kW], 'float32');
    x.backend.copy(win, cols.backendView());
    const flat = reshape(cols, [N, C, oH, oW, kH * kW]);
    const values = amax(flat, 4);
    const k = cast(argmax(flat, 4), 'float32');
    // Window slot k → (row, col) in the unpadded input → flat index row·W + col.
    const khFloor = cast(cast(binary('div', k, kW), 'int32'), 'float32'); // k ≥ 0, so truncation is floor
    const kw = binary('sub', k, binary('mul', khFloor, kW));
    const W = x.shape[3]!;
    const rows = reshape(binary('sub', binary('mul', arange(0, oH, 1, { device: x.device, dtype: 'float32' }), p.stride[0]), p.padding[0]), [oH, 1]);
    const colsIdx = binary('sub', binary('mul', arange(0, oW, 1, { device: x.device, dtype: 'float32' }), p.stride[1]), p.padding[1]);
    const r = binary('add', rows, binary('mul', khFloor, p.dilation[0]));
    const c = binary('add', colsIdx, binary('mul', kw, p.dilation[1]));
    const indices = cast(binary('add', binary('mul', r, W), c), 'int32');
    const empty = emptyWindows(x.shape, p, oH, oW, x.device);
    return [values, empty ? where(empty.nonEmpty, indices, empty.firstTap) : indices];
  });
}

/** Gradient of max pooling: gradOut scattered to the argmax positions (repeats add up). */
export function maxPool2dBackward(gy: Tensor, indices: Tensor, xShape: readonly number[], p: Pool2dParams): Tensor {
  const empty = emptyWindows(xShape, p, gy.shape[2]!, gy.shape[3]!, gy.device);
  if (empty) {
    // Windows over padding only reach no input element: their gradient goes nowhere (PyTorch's
    // result), and their out-of-range index is replaced by 0 so every kernel's bounds check holds.
    return tidy(() => scatterToArgmax(where(empty.nonEmpty, gy, 0), where(empty.nonEmpty, indices, 0), xShape, p));
  }
  return scatterToArgmax(gy, indices, xShape, p);
}

function scatterToArgmax(gy: Tensor, indices: Tensor, xShape: readonly number[], p: Pool2dParams): Tensor {
  return runFused(gy.backend, 'maxPool2dBackward', {
    inputs: [gy, indices],
    outputs: [{ shape: xShape, dtype: 'float32', zeroed: true }],
    call: (k, [gv, iv], [gx]) => k(gv, iv, p, gx),
    reference: () => [
      tidy(() => {
        const [N, C, H, W] = xShape as [number, number, number, number];
        const L = gy.shape[2]! * gy.shape[3]!;
        const g = scatterAddInto([N, C, H * W], 2, reshape(contiguous(indices), [N, C, L]), reshape(contiguous(gy), [N, C, L]));
        return reshape(g, xShape);
      }),
    ],
  })[0]!;
}

/** torch.nn.functional.avg_pool2d. */
export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  const b = backendOf('avgPool2d', x);
  const p = params('avgPool2d', { ...opts, dilation: 1 });
  const os = outShape('avgPool2d', x, p);
  return apply('avgPool2d', [x], { params: p }, () => {
    return runFused(b, 'avgPool2d', {
      inputs: [x],
      outputs: [{ shape: os, dtype: 'float32' }],
      call: (k, [xv], [out]) => k(xv, p, out),
      reference: () => [avgPoolReference(x, p, os)],
    });
  })[0]!;
}

/** Per-output-position divisors of avg pooling, exactly as PyTorch counts them. */
function avgDivisors(H: number, W: number, oH: number, oW: number, p: Pool2dParams): Float32Array {
  const d = new Float32Array(oH * oW);
  for (let i = 0; i < oH; i++) {
    for (let j = 0; j < oW; j++) {
      if (p.divisorOverride !== null) {
        d[i * oW + j] = p.divisorOverride;
        continue;
      }
      let h0 = i * p.stride[0] - p.padding[0];
      let w0 = j * p.stride[1] - p.padding[1];
      let h1 = Math.min(h0 + p.kernel[0], H + p.padding[0]);
      let w1 = Math.min(w0 + p.kernel[1], W + p.padding[1]);
      const poolSize = (h1 - h0) * (w1 - w0);
      h0 = Math.max(h0, 0);
      w0 = Math.max(w0, 0);
      h1 = Math.min(h1, H);
      w1 = Math.min(w1, W);
      d[i * oW + j] = p.countIncludePad ? poolSize : (h1 - h0) * (w1 - w0);
    }
  }
  return d;
}

function avgPoolReference(x: Tensor, p: Pool2dParams, os: number[]): Tensor {
  return tidy(() => {
    const [N, C, oH, oW] = os as [number, number, number, number];
    const [kH, kW] = p.kernel;
    const { win } = paddedWindows(x, p, oH, oW, 0);
    const cols = alloc(x.backend, [N, C, oH, oW, kH, kW], 'float32');
    x.backend.copy(win, cols.backendView());
    const s = sum(cols, [4, 5]);
    const div = tensor(avgDivisors(x.shape[2]!, x.shape[3]!, oH, oW, p), { shape: [oH, oW], device: x.device });
    return binary('div', s, div);
  });
}

/** Gradient of avg pooling: each window spreads gradOut / divisor over its cells. */
export function avgPool2dBackward(gy: Tensor, xShape: readonly number[], p: Pool2dParams): Tensor {
  return runFused(gy.backend, 'avgPool2dBackward', {
    inputs: [gy],
    outputs: [{ shape: xShape, dtype: 'float32', zeroed: true }],
    call: (k, [gv], [gx]) => k(gv, p, gx),
    reference: () => [avgPoolBackwardReference(gy, xShape, p)],
  })[0]!;
}

function avgPoolBackwardReference(gy: Tensor, xShape: readonly number[], p: Pool2dParams): Tensor {
  return tidy(() => {
    const [N, C, H, W] = xShape as [number, number, number, number];
    const [, , oH, oW] = gy.shape as [number, number, number, number];
    const [kH, kW] = p.kernel;
    const div = tensor(avgDivisors(H, W, oH, oW, p), { shape: [oH, oW], device: gy.device });
    const share = contiguous(expand(reshape(binary('div', gy, div), [N, C, oH, oW, 1, 1]), [N, C, oH, oW, kH, kW]));
    const { xp, win } = paddedWindows(zeros(xShape, { device: gy.device }), p, oH, oW, 0);
    gy.backend.accumulate(share.backendView(), win);
    return contiguous(slice(xp, [null, null, [p.padding[0], p.padding[0] + H], [p.padding[1], p.padding[1] + W]]));
  });
}

/**
 * torch.nn.functional.adaptive_avg_pool2d. Adaptive averaging is separable, so it is
 * Ah · X · Awᵀ with row-averaging matrices (start = floor(i·H/o), end = ceil((i+1)·H/o)):
 * two matmuls, differentiable on every backend.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | readonly (number | null)[]): Tensor {
  backendOf('adaptiveAvgPool2d', x);
  expectRank('adaptiveAvgPool2d', x, [3, 4]);
  const [H, W] = x.shape.slice(-2) as [number, number];
  const o = typeof outputSize === 'number' ? [outputSize, outputSize] : [outputSize[0] ?? H, outputSize[1] ?? W];
  const [oh, ow] = o as [number, number];
  if (!(oh >= 1 && ow >= 1)) throw new KindlingError('adaptiveAvgPool2d', `output size ${JSON.stringify(outputSize)} must be positive`);
  const avgMatrix = (n: number, out: number): Float32Array => {
    const m = new Float32Array(out * n);
    for (let i = 0; i < out; i++) {
      const s = Math.floor((i * n) / out);
      const e = Math.ceil(((i + 1) * n) / out);
      for (let j = s; j < e; j++) m[i * n + j] = 1 / (e - s);
    }
    return m;
  };
  return tidy(() => {
    if (oh === 1 && ow === 1) return binary('div', sum(x, [-2, -1], true), H * W);
    const ah = tensor(avgMatrix(H, oh), { shape: [oh, H], device: x.device });
    const aw = tensor(avgMatrix(W, ow), { shape: [ow, W], device: x.device });
    return matmul(matmul(ah, x), transpose(aw, 0, 1));
  });
}
