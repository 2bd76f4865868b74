import { type Tensor, KindlingError, dropout } from '@kindling/core';
import { Module } from '../module.js';
import { pyFloat } from '../pyfmt.js';

/**
 * torch.nn.Dropout: in train mode zeroes each element with probability p and scales the rest by
 * 1/(1−p) (masks come from the shared Philox stream); in eval mode the identity. `inplace` is
 * accepted for fidelity with PyTorch models (printed in the repr); the input is never modified.
 */
export class Dropout extends Module {
  readonly p: number;
  readonly inplace: boolean;

  constructor(p = 0.5, opts: { inplace?: boolean } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new KindlingError('Dropout', `dropout probability has to be between 0 and 1, but got ${p}`);
    this.p = p;
    this.inplace = opts.inplace ?? false;
  }

  override forward(x: Tensor): Tensor {
    return dropout(x, { p: this.p, training: this.training });
  }

  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${this.inplace ? 'True' : 'False'}`;
  }
}
