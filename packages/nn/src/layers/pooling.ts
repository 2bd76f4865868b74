import { type Tensor, adaptiveAvgPool2d, avgPool2d, maxPool2d } from '@kindling/core';
import { Module, expectInputRank } from '../module.js';
import { pyRepr } from '../pyfmt.js';
import type { IntOrPair } from './conv.js';

/**
 * Runs a pooling op, which takes [N, C, H, W], on a 4-D input or on a 3-D one as a batch of one
 * (torch accepts both), freeing the batched temporaries at once. The layers share it so both
 * treat an unbatched input alike.
 */
function poolBatchOfOne(name: string, x: Tensor, pool: (batched: Tensor) => Tensor): Tensor {
  expectInputRank(name, x, [3, 4], '3D or 4D');
  if (x.ndim === 4) return pool(x);
  const batched = x.unsqueeze(0);
  const y = pool(batched);
  batched.dispose();
  const r = y.squeeze(0);
  y.dispose();
  return r;
}

export interface MaxPool2dOptions {
  /** Default: kernelSize. */
  stride?: IntOrPair | null;
  padding?: IntOrPair;
  dilation?: IntOrPair;
  ceilMode?: boolean;
}

/** Max pooling over [N, C, H, W] or [C, H, W] (torch.nn.MaxPool2d); padding acts as −inf. */
export class MaxPool2d extends Module {
  readonly kernelSize: IntOrPair;
  readonly stride: IntOrPair;
  readonly padding: IntOrPair;
  readonly dilation: IntOrPair;
  readonly ceilMode: boolean;

  constructor(kernelSize: IntOrPair, opts: MaxPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.ceilMode = opts.ceilMode ?? false;
  }

  override forward(x: Tensor): Tensor {
    return poolBatchOfOne('MaxPool2d', x, (batched) =>
      maxPool2d(batched, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode }),
    );
  }

  override extraRepr(): string {
    return `kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}, padding=${pyRepr(this.padding)}, dilation=${pyRepr(this.dilation)}, ceil_mode=${pyRepr(this.ceilMode)}`;
  }
}

export interface AvgPool2dOptions {
  /** Default: kernelSize. */
  stride?: IntOrPair | null;
  padding?: IntOrPair;
  ceilMode?: boolean;
  /** Count the zero padding in the divisor (default true). */
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

/** Average pooling over [N, C, H, W] or [C, H, W] (torch.nn.AvgPool2d). */
export class AvgPool2d extends Module {
  readonly kernelSize: IntOrPair;
  readonly stride: IntOrPair;
  readonly padding: IntOrPair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(kernelSize: IntOrPair, opts: AvgPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.ceilMode = opts.ceilMode ?? false;
    this.countIncludePad = opts.countIncludePad ?? true;
    this.divisorOverride = opts.divisorOverride ?? null;
  }

  override forward(x: Tensor): Tensor {
    return poolBatchOfOne('AvgPool2d', x, (batched) =>
      avgPool2d(batched, {
        kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, ceilMode: this.ceilMode,
        countIncludePad: this.countIncludePad, divisorOverride: this.divisorOverride,
      }),
    );
  }

  override extraRepr(): string {
    return `kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}, padding=${pyRepr(this.padding)}`;
  }
}

/** Adaptive average pooling to a fixed output size (torch.nn.AdaptiveAvgPool2d); null keeps that dim. */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: number | readonly [number | null, number | null];

  constructor(outputSize: number | readonly [number | null, number | null]) {
    super();
    this.outputSize = outputSize;
  }

  override forward(x: Tensor): Tensor {
    expectInputRank('AdaptiveAvgPool2d', x, [3, 4], '3D or 4D');
    return adaptiveAvgPool2d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${pyRepr(this.outputSize)}`;
  }
}
