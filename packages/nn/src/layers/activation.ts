import { type Tensor, logSoftmax, softmax } from '@kindling/core';
import { Module } from '../module.js';
import { pyRepr } from '../pyfmt.js';

/**
 * max(0, x) (torch.nn.ReLU). `inplace` is accepted for fidelity with PyTorch models (it is
 * printed in the repr), but the result is always a new tensor: the input is never modified.
 */
export class ReLU extends Module {
  readonly inplace: boolean;

  constructor(opts: { inplace?: boolean } = {}) {
    super();
    this.inplace = opts.inplace ?? false;
  }

  override forward(x: Tensor): Tensor {
    return x.relu();
  }

  override extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

/** 1 / (1 + e^−x) (torch.nn.Sigmoid). */
export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/** torch.nn.Tanh. */
export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/** torch.nn.GELU: exact (erf) by default, or the tanh approximation. */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';

  constructor(approximate: 'none' | 'tanh' = 'none') {
    super();
    this.approximate = approximate;
  }

  override forward(x: Tensor): Tensor {
    return x.gelu(this.approximate);
  }

  override extraRepr(): string {
    return `approximate=${pyRepr(this.approximate)}`;
  }
}

/** torch's _get_softmax_dim for dim=None (legacy): 0 for 0-, 1- and 3-D inputs, else 1. */
function implicitDim(ndim: number): number {
  return ndim === 0 || ndim === 1 || ndim === 3 ? 0 : 1;
}

/** Softmax and LogSoftmax: the same `dim` option (null: torch's implicit dim) and repr, another function. */
export abstract class SoftmaxAlongDim extends Module {
  readonly dim: number | null;

  constructor(dim: number | null = null) {
    super();
    this.dim = dim;
  }

  protected abstract along(x: Tensor, dim: number): Tensor;

  override forward(x: Tensor): Tensor {
    return this.along(x, this.dim ?? implicitDim(x.ndim));
  }

  override extraRepr(): string {
    return `dim=${pyRepr(this.dim)}`;
  }
}

/** softmax along `dim` (torch.nn.Softmax). */
export class Softmax extends SoftmaxAlongDim {
  protected along(x: Tensor, dim: number): Tensor {
    return softmax(x, dim);
  }
}

/** log(softmax) along `dim` (torch.nn.LogSoftmax). */
export class LogSoftmax extends SoftmaxAlongDim {
  protected along(x: Tensor, dim: number): Tensor {
    return logSoftmax(x, dim);
  }
}
