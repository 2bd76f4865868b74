import type { Conv2dParams, View } from '../backend.js';
import { KindlingError, ShapeError, fmtShape } from '../errors.js';
import { apply } from '../grad-mode.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { alloc, backendOf, expectDType, expectRank, pair, runFused } from './util.js';
import { contiguousStrides } from '../shape.js';
import { binary } from './elementwise.js';
import { zeros } from './creation.js';
import { bmm } from './matmul.js';
import { contiguous, pad, permute, reshape, slice } from './view.js';
import { sum } from './reduce.js';

export interface Conv2dOptions {
  stride?: number | readonly number[];
  padding?: number | readonly number[];
  dilation?: number | readonly number[];
  groups?: number;
}

export function conv2dParams(o: Conv2dOptions = {}): Conv2dParams {
  return {
    stride: pair('conv2d', 'stride', o.stride ?? 1, 1),
    padding: pair('conv2d', 'padding', o.padding ?? 0, 0),
    dilation: pair('conv2d', 'dilation', o.dilation ?? 1, 1),
    groups: o.groups ?? 1,
  };
}

/** Output spatial size of a convolution or pooling window (floor rule). */
export function convOutSize(n: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
}

function outShape(x: readonly number[], w: readonly number[], p: Conv2dParams): number[] {
  return [
    x[0]!,
    w[0]!,
    convOutSize(x[2]!, w[2]!, p.stride[0], p.padding[0], p.dilation[0]),
    convOutSize(x[3]!, w[3]!, p.stride[1], p.padding[1], p.dilation[1]),
  ];
}

/** torch.nn.functional.conv2d on [N,C,H,W] with weight [O,C/groups,kH,kW]. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const b = backendOf('conv2d', x, weight, bias);
  expectRank('conv2d', x, [4]);
  expectRank('conv2d', weight, [4], 'weight');
  expectDType('conv2d', x, ['float32']);
  const p = conv2dParams(opts);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [O, Cg, kH, kW] = weight.shape as [number, number, number, number];
  const g = p.groups;
  if (!Number.isInteger(g) || g < 1 || C % g !== 0 || O % g !== 0) {
    throw new KindlingError('conv2d', `groups=${g} must divide input channels ${C} and output channels ${O}`);
  }
  if (C / g !== Cg) {
    throw new ShapeError('conv2d', `input ${fmtShape(x.shape)} has ${C} channels, weight ${fmtShape(weight.shape)} expects ${Cg * g}${g > 1 ? ` (${Cg} per group × ${g} groups)` : ''}`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== O)) throw new ShapeError('conv2d', `bias ${fmtShape(bias.shape)} must be [${O}] for weight ${fmtShape(weight.shape)}`);
  const os = outShape(x.shape, weight.shape, p);
  if (os[2]! < 1 || os[3]! < 1) {
    throw new ShapeError('conv2d', `input ${fmtShape(x.shape)} (padded ${H + 2 * p.padding[0]}×${W + 2 * p.padding[1]}) is smaller than the dilated kernel ${(kH - 1) * p.dilation[0] + 1}×${(kW - 1) * p.dilation[1] + 1}`);
  }
  void N;
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return apply('conv2d', inputs, { params: p }, () => {
    return runFused(b, 'conv2d', {
      inputs: [x, weight, bias ?? null],
      outputs: [{ shape: os, dtype: 'float32' }],
      call: (k, [xv, wv, bv], [out]) => k(xv, wv, bv, p, out),
      reference: () => [conv2dReference(x, weight, bias ?? null, p, os)],
    });
  })[0]!;
}

/**
 * The windows of a padded input as a view [N, oH, oW, C, kH, kW] (overlapping when stride < kernel):
 * copying it is im2col, accumulating into it is col2im.
 */
function windows(xp: View, oH: number, oW: number, kH: number, kW: number, p: Conv2dParams): View {
  const [N, C] = xp.shape as [number, number];
  const [sN, sC, sH, sW] = xp.strides as [number, number, number, number];
  return {
    ...xp,
    shape: [N, oH, oW, C, kH, kW],
    strides: [sN, sH * p.stride[0], sW * p.stride[1], sC, sH * p.dilation[0], sW * p.dilation[1]],
  };
}

/** im2col as a [G, N·oH·oW, C/G·kH·kW] tensor. */
function im2col(x: Tensor, kH: number, kW: number, p: Conv2dParams, oH: number, oW: number): Tensor {
  const xp = pad(x, [p.padding[1], p.padding[1], p.padding[0], p.padding[0]]);
  const [N, C] = x.shape as [number, number];
  const cols = alloc(x.backend, [N, oH, oW, C, kH, kW], 'float32');
  x.backend.copy(windows(xp.backendView(), oH, oW, kH, kW, p), cols.backendView());
  xp.dispose();
  const g = p.groups;
  const r = permute(reshape(cols, [N * oH * oW, g, (C / g) * kH * kW]), [1, 0, 2]);
  cols.dispose();
  return r;
}

/** Reference conv: im2col + one batched matmul per group (batch = groups). */
function conv2dReference(x: Tensor, w: Tensor, bias: Tensor | null, p: Conv2dParams, os: number[]): Tensor {
  return tidy(() => {
    const [N, O, oH, oW] = os as [number, number, number, number];
    const [, , kH, kW] = w.shape as [number, number, number, number];
    const g = p.groups;
    const cols = im2col(x, kH, kW, p, oH, oW); // [G, P, CgK]
    const wg = permute(reshape(contiguous(w), [g, O / g, -1]), [0, 2, 1]); // [G, CgK, Og]
    const y = bmm(cols, wg); // [G, N·oH·oW, Og]
    const out = reshape(contiguous(permute(reshape(y, [g, N, oH, oW, O / g]), [1, 0, 4, 2, 3])), os);
    return bias ? binary('add', out, reshape(bias, [1, O, 1, 1])) : out;
  });
}

/** gradOut [N,O,oH,oW] as [G, N·oH·oW, Og]. */
function gradRows(gy: Tensor, g: number): Tensor {
  const [N, O, oH, oW] = gy.shape as [number, number, number, number];
  return permute(reshape(contiguous(permute(gy, [0, 2, 3, 1])), [N * oH * oW, g, O / g]), [1, 0, 2]);
}

/** ∂L/∂x of conv2d (a transposed convolution): kernel, or col2im of gradOut · W. */
export function conv2dBackwardInput(gy: Tensor, w: Tensor, xShape: readonly number[], p: Conv2dParams): Tensor {
  return runFused(gy.backend, 'conv2dBackwardInput', {
    inputs: [gy, w],
    outputs: [{ shape: xShape, dtype: 'float32' }],
    call: (k, [gv, wv], [gx]) => k(gv, wv, p, gx),
    reference: () => [conv2dBackwardInputReference(gy, w, xShape, p)],
  })[0]!;
}

function conv2dBackwardInputReference(gy: Tensor, w: Tensor, xShape: readonly number[], p: Conv2dParams): Tensor {
  const b = gy.backend;
  return tidy(() => {
    const [N, C, H, W] = xShape as [number, number, number, number];
    const [O, , kH, kW] = w.shape as [number, number, number, number];
    const [, , oH, oW] = gy.shape as [number, number, number, number];
    const g = p.groups;
    const wg = reshape(contiguous(w), [g, O / g, -1]); // [G, Og, CgK]
    const gcols = bmm(gradRows(gy, g), wg); // [G, P, CgK]
    const colsView = contiguous(permute(gcols, [1, 0, 2])); // [P, G, CgK] = [N,oH,oW,C,kH,kW]
    const Hp = H + 2 * p.padding[0];
    const Wp = W + 2 * p.padding[1];
    const gxp = zeros([N, C, Hp, Wp], { device: gy.device });
    const cols = [N, oH, oW, C, kH, kW];
    b.accumulate({ ...colsView.backendView(), shape: cols, strides: contiguousStrides(cols) }, windows(gxp.backendView(), oH, oW, kH, kW, p));
    return contiguous(slice(gxp, [null, null, [p.padding[0], p.padding[0] + H], [p.padding[1], p.padding[1] + W]]));
  });
}

/** ∂L/∂w of conv2d: kernel, or gradOutᵀ · im2col(x) per group. */
export function conv2dBackwardWeight(gy: Tensor, x: Tensor, wShape: readonly number[], p: Conv2dParams): Tensor {
  return runFused(gy.backend, 'conv2dBackwardWeight', {
    inputs: [gy, x],
    outputs: [{ shape: wShape, dtype: 'float32' }],
    call: (k, [gv, xv], [gw]) => k(gv, xv, p, gw),
    reference: () => [
      tidy(() => {
        const [, , kH, kW] = wShape as [number, number, number, number];
        const [, , oH, oW] = gy.shape as [number, number, number, number];
        const cols = im2col(x, kH, kW, p, oH, oW); // [G, P, CgK]
        const gw = bmm(permute(gradRows(gy, p.groups), [0, 2, 1]), cols); // [G, Og, CgK]
        return reshape(contiguous(gw), wShape);
      }),
    ],
  })[0]!;
}

/** ∂L/∂bias of conv2d. */
export function conv2dBackwardBias(gy: Tensor): Tensor {
  return sum(gy, [0, 2, 3]);
}

export { expectDType };
