import { type Tensor, type Reduction, crossEntropy, mseLoss, nllLoss } from '@kindling/core';
import { Module } from '../module.js';

export interface LossOptions {
  /** 'mean' (default), 'sum' or 'none'. */
  reduction?: Reduction;
}

/** What every loss module holds: its reduction, 'mean' unless given (torch's _Loss). */
export abstract class Loss extends Module {
  readonly reduction: Reduction;

  constructor(opts: LossOptions = {}) {
    super();
    this.reduction = opts.reduction ?? 'mean';
  }
}

/**
 * Cross entropy on logits [N, C] and int32 class targets [N] (torch.nn.CrossEntropyLoss; torch
 * uses int64 targets). With labelSmoothing ε: (1−ε)·(−log p[target]) + ε·mean_c(−log p[c]).
 */
export class CrossEntropyLoss extends Loss {
  readonly labelSmoothing: number;

  constructor(opts: LossOptions & { labelSmoothing?: number } = {}) {
    super(opts);
    this.labelSmoothing = opts.labelSmoothing ?? 0;
  }

  override forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, { reduction: this.reduction, labelSmoothing: this.labelSmoothing });
  }
}

/** Negative log-likelihood on log-probabilities [N, C] and int32 targets [N] (torch.nn.NLLLoss). */
export class NLLLoss extends Loss {
  override forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, { reduction: this.reduction });
  }
}

/** Mean squared error (torch.nn.MSELoss). */
export class MSELoss extends Loss {
  override forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, { reduction: this.reduction });
  }
}
