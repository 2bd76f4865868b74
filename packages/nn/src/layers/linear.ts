import { type Tensor, linear } from '@kindling/core';
import { Module } from '../module.js';
import { type Parameter, newParameter } from '../parameter.js';
import { defaultLayerInit_ } from '../init.js';

export interface LinearOptions {
  /** Add a learnable bias (default true). */
  bias?: boolean;
  /** Where the parameters live (default: the default device). */
  device?: string;
}

/**
 * y = x·Wᵀ + b (torch.nn.Linear). weight [out, in] and bias [out] start as PyTorch's defaults:
 * U(−1/√in, 1/√in).
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  declare weight: Parameter;
  declare bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.registerParameter('weight', newParameter([outFeatures, inFeatures], opts.device));
    this.registerParameter('bias', opts.bias ?? true ? newParameter([outFeatures], opts.device) : null);
    this.resetParameters();
  }

  /** Re-draws weight and bias from PyTorch's default distribution. */
  resetParameters(): void {
    defaultLayerInit_(this.weight, this.bias);
  }

  override forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null ? 'True' : 'False'}`;
  }
}

/** Returns its input unchanged (torch.nn.Identity). */
export class Identity extends Module {
  override forward(x: Tensor): Tensor {
    return x;
  }
}
