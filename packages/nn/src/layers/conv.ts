import { type Tensor, KindlingError, conv2d, pad } from '@kindling/core';
import { Module, expectInputRank } from '../module.js';
import { type Parameter, newParameter } from '../parameter.js';
import { defaultLayerInit_ } from '../init.js';
import { pyRepr } from '../pyfmt.js';

export type IntOrPair = number | readonly [number, number];

export interface Conv2dOptions {
  stride?: IntOrPair;
  /** An int, [h, w], or 'valid' (no padding) / 'same' (output size = input size; stride 1 only). */
  padding?: IntOrPair | 'same' | 'valid';
  dilation?: IntOrPair;
  groups?: number;
  /** Add a learnable bias (default true). */
  bias?: boolean;
  /** Only 'zeros' is supported. */
  paddingMode?: 'zeros';
  device?: string;
}

/** PyTorch's _pair: an int becomes (n, n). */
export function toPair(name: string, v: IntOrPair, min: number): [number, number] {
  const p = typeof v === 'number' ? [v, v] : [...v];
  if (p.length !== 2 || p.some((x) => !Number.isInteger(x) || x < min)) {
    throw new KindlingError('Conv2d', `${name} must be an int or a pair of ints >= ${min}, got ${JSON.stringify(v)}`);
  }
  return p as [number, number];
}

/**
 * 2-D convolution over [N, C, H, W] (torch.nn.Conv2d). weight [out, in/groups, kH, kW] and bias
 * [out] start as PyTorch's defaults: U(−1/√fan_in, 1/√fan_in), fan_in = in/groups·kH·kW.
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;
  readonly paddingMode: 'zeros';
  declare weight: Parameter;
  declare bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: IntOrPair, opts: Conv2dOptions = {}) {
    super();
    const groups = opts.groups ?? 1;
    if (!Number.isInteger(groups) || groups <= 0) throw new KindlingError('Conv2d', 'groups must be a positive integer');
    if (inChannels % groups !== 0) throw new KindlingError('Conv2d', 'in_channels must be divisible by groups');
    if (outChannels % groups !== 0) throw new KindlingError('Conv2d', 'out_channels must be divisible by groups');
    const padding = opts.padding ?? 0;
    if (typeof padding === 'string') {
      if (padding !== 'same' && padding !== 'valid') {
        throw new KindlingError('Conv2d', `Invalid padding string '${padding}', should be one of {'valid', 'same'}`);
      }
    }
    if ((opts.paddingMode ?? 'zeros') !== 'zeros') throw new KindlingError('Conv2d', `paddingMode '${opts.paddingMode}' is not supported (only 'zeros')`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = toPair('kernel_size', kernelSize, 1);
    this.stride = toPair('stride', opts.stride ?? 1, 1);
    this.padding = typeof padding === 'string' ? padding : toPair('padding', padding, 0);
    this.dilation = toPair('dilation', opts.dilation ?? 1, 1);
    this.groups = groups;
    this.paddingMode = 'zeros';
    if (this.padding === 'same' && this.stride.some((s) => s !== 1)) {
      throw new KindlingError('Conv2d', "padding='same' is not supported for strided convolutions");
    }
    const [kH, kW] = this.kernelSize;
    this.registerParameter('weight', newParameter([outChannels, inChannels / groups, kH, kW], opts.device));
    this.registerParameter('bias', opts.bias ?? true ? newParameter([outChannels], opts.device) : null);
    this.resetParameters();
  }

  /** Re-draws weight and bias from PyTorch's default distribution. */
  resetParameters(): void {
    defaultLayerInit_(this.weight, this.bias);
  }

  override forward(x: Tensor): Tensor {
    expectInputRank('Conv2d', x, [4], '4D [N,C,H,W]');
    const common = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.padding === 'valid') return conv2d(x, this.weight, this.bias, { ...common, padding: 0 });
    if (this.padding !== 'same') return conv2d(x, this.weight, this.bias, { ...common, padding: this.padding });
    // 'same': total padding d·(k−1) per dim; when odd, the extra row/column goes at the end (torch).
    const total = this.dilation.map((d, i) => d * (this.kernelSize[i]! - 1));
    const lo = total.map((t) => Math.floor(t / 2));
    if (total.every((t, i) => t === 2 * lo[i]!)) return conv2d(x, this.weight, this.bias, { ...common, padding: lo });
    const padded = pad(x, [lo[1]!, total[1]! - lo[1]!, lo[0]!, total[0]! - lo[0]!]);
    try {
      return conv2d(padded, this.weight, this.bias, { ...common, padding: 0 });
    } finally {
      padded.dispose();
    }
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding.some((p) => p !== 0)) s += `, padding=${pyRepr(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${pyRepr(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    return s;
  }
}
