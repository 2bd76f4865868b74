import { type Tensor, KindlingError } from '@kindling/core';
import { Optimizer, type ParamGroup, type ParamState, type Params } from './optimizer.js';

export interface RMSpropOptions {
  /** Default 1e-2. */
  lr?: number;
  /** Smoothing constant, default 0.99. */
  alpha?: number;
  /** Added outside the square root, default 1e-8. */
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  /** Normalise by the estimated variance (avg of g² minus the square of avg of g). */
  centered?: boolean;
  maximize?: boolean;
}

export interface RMSpropHyper {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
  [key: string]: unknown;
}

/**
 * RMSprop (torch.optim.RMSprop, 1.13 semantics):
 *
 *   g = ±grad + weightDecay·p
 *   s ← α·s + (1 − α)·g²
 *   centered: ḡ ← α·ḡ + (1 − α)·g;  avg = √(s − ḡ²) + eps      else avg = √s + eps
 *   momentum > 0: buf ← momentum·buf + g/avg;  p ← p − lr·buf      else p ← p − lr·g/avg
 *
 * State per parameter: `step`, `squareAvg`, `momentumBuffer` (momentum > 0), `gradAvg` (centered).
 */
export class RMSprop extends Optimizer<RMSpropHyper> {
  constructor(params: Params<RMSpropHyper>, opts: RMSpropOptions = {}) {
    super(params, {
      lr: opts.lr ?? 1e-2,
      alpha: opts.alpha ?? 0.99,
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? 0,
      momentum: opts.momentum ?? 0,
      centered: opts.centered ?? false,
      maximize: opts.maximize ?? false,
    });
  }

  protected override validateGroup(g: ParamGroup<RMSpropHyper>): void {
    super.validateGroup(g);
    this.requireNumber(g, 'eps', 'epsilon value', { min: 0 });
    this.requireNumber(g, 'momentum', 'momentum value', { min: 0 });
    this.requireNumber(g, 'weightDecay', 'weight_decay value', { min: 0 });
    this.requireNumber(g, 'alpha', 'alpha value', { min: 0 });
    for (const k of ['centered', 'maximize'] as const) this.requireBoolean(g, k);
  }

  protected updateParam(p: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<RMSpropHyper>): void {
    const { lr, alpha, eps, weightDecay, momentum, centered, maximize } = g;
    state.step = ((state.step as number | undefined) ?? 0) + 1;
    const squareAvg = this.buffer(state, 'squareAvg', p);
    let d = maximize ? grad.neg() : grad;
    if (weightDecay !== 0) d = d.add(p, weightDecay);
    squareAvg.mul_(alpha).add_(d.mul(d), 1 - alpha);
    let avg: Tensor;
    if (centered) {
      const gradAvg = this.buffer(state, 'gradAvg', p);
      gradAvg.mul_(alpha).add_(d, 1 - alpha);
      avg = squareAvg.sub(gradAvg.mul(gradAvg)).sqrt();
    } else {
      avg = squareAvg.sqrt();
    }
    avg = avg.add(eps);
    if (momentum > 0) {
      const buf = this.buffer(state, 'momentumBuffer', p);
      buf.mul_(momentum).add_(d.div(avg));
      p.add_(buf, -lr);
    } else {
      p.add_(d.div(avg), -lr);
    }
  }
}
