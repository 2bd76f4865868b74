import { KindlingError, ShapeError, fmtShape } from '../errors.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { backendOf, expectDType } from './util.js';
import { binary, unary } from './elementwise.js';
import { gather } from './gather.js';
import { logSoftmax, mean, sum } from './reduce.js';
import { squeeze, unsqueeze } from './view.js';

export type Reduction = 'mean' | 'sum' | 'none';

function reduce(op: string, l: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'mean') return mean(l);
  if (reduction === 'sum') return sum(l);
  if (reduction === 'none') return binary('add', l, 0);
  throw new KindlingError(op, `reduction must be 'mean', 'sum' or 'none', got '${reduction as string}'`);
}

function checkTargets(op: string, input: Tensor, target: Tensor): void {
  backendOf(op, input, target);
  expectDType(op, input, ['float32']);
  expectDType(op, target, ['int32'], 'target');
  if (input.ndim !== 2 || target.ndim !== 1 || target.shape[0] !== input.shape[0]) {
    throw new ShapeError(op, `expected input [N,C] and target [N], got input ${fmtShape(input.shape)} and target ${fmtShape(target.shape)}`);
  }
}

export interface NllLossOptions {
  reduction?: Reduction;
}

/** torch.nn.functional.nll_loss on log-probabilities [N,C] and int32 class targets [N]. */
export function nllLoss(logProbs: Tensor, target: Tensor, opts: NllLossOptions = {}): Tensor {
  checkTargets('nllLoss', logProbs, target);
  return tidy(() => {
    const picked = squeeze(gather(logProbs, 1, unsqueeze(target, 1)), 1);
    return reduce('nllLoss', unary('neg', picked), opts.reduction ?? 'mean');
  });
}

export interface CrossEntropyOptions {
  reduction?: Reduction;
  labelSmoothing?: number;
}

/**
 * torch.nn.functional.cross_entropy on logits [N,C] and int32 class targets [N]:
 * (1 − ε)·(−log p[target]) + ε·mean_c(−log p[c]).
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  checkTargets('crossEntropy', logits, target);
  const ls = opts.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls <= 1)) throw new KindlingError('crossEntropy', `labelSmoothing must be in [0, 1], got ${ls}`);
  return tidy(() => {
    const lp = logSoftmax(logits, 1);
    const nll = unary('neg', squeeze(gather(lp, 1, unsqueeze(target, 1)), 1));
    if (ls === 0) return reduce('crossEntropy', nll, opts.reduction ?? 'mean');
    const smooth = unary('neg', mean(lp, 1));
    const l = binary('add', binary('mul', nll, 1 - ls), binary('mul', smooth, ls));
    return reduce('crossEntropy', l, opts.reduction ?? 'mean');
  });
}

/** torch.nn.functional.mse_loss. */
export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  backendOf('mseLoss', input, target);
  if (input.ndim !== target.ndim || input.shape.some((s, i) => s !== target.shape[i])) {
    throw new ShapeError('mseLoss', `input ${fmtShape(input.shape)} and target ${fmtShape(target.shape)} must have the same shape`);
  }
  return tidy(() => {
    const d = binary('sub', input, target);
    return reduce('mseLoss', binary('mul', d, d), opts.reduction ?? 'mean');
  });
}
