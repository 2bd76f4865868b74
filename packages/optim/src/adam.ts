import { type Tensor, KindlingError, fmtValue, adamStep_ } from '@kindling/core';
import { Optimizer, type ParamGroup, type ParamState, type Params } from './optimizer.js';

export interface AdamOptions {
  /** Default 1e-3. */
  lr?: number;
  /** (β1, β2), default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Adam: L2 added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
  /** Use the backend's fused adamStep kernel when it has one (default true). */
  fused?: boolean;
}

export interface AdamHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
  fused: boolean;
  [key: string]: unknown;
}

/**
 * Adam (torch.optim.Adam, 1.13 single-tensor semantics), and AdamW with `decoupled`: each step
 * counts t += 1 and runs core's adamStep_ (the formula is written there, with the fused kernel).
 *
 * State per parameter: `step`, `expAvg`, `expAvgSq`, `maxExpAvgSq` (amsgrad).
 */
export class Adam extends Optimizer<AdamHyper> {
  /** AdamW sets this: weight decay multiplies p instead of adding to the gradient. */
  protected readonly decoupled: boolean = false;

  constructor(params: Params<AdamHyper>, opts: AdamOptions = {}) {
    super(params, Adam.defaultsFrom(opts, 0));
  }

  protected static defaultsFrom(opts: AdamOptions, weightDecay: number): AdamHyper {
    const betas = opts.betas ?? [0.9, 0.999];
    return {
      lr: opts.lr ?? 1e-3,
      // A copy when it is a pair; anything else is kept as given so that validateGroup names it.
      betas: Array.isArray(betas) && betas.length === 2 ? [betas[0], betas[1]] : (betas as unknown as [number, number]),
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? weightDecay,
      amsgrad: opts.amsgrad ?? false,
      maximize: opts.maximize ?? false,
      fused: opts.fused ?? true,
    };
  }

  protected override validateGroup(g: ParamGroup<AdamHyper>): void {
    super.validateGroup(g);
    this.requireNumber(g, 'eps', 'epsilon value', { min: 0 });
    const betas: unknown = g.betas;
    if (!Array.isArray(betas) || betas.length !== 2) {
      throw new KindlingError(this.constructor.name, `option betas must be a pair of numbers [beta1, beta2], got ${fmtValue(betas)}`);
    }
    betas.forEach((b, i) => this.requireNumber(g, 'betas', `beta parameter at index ${i}`, { min: 0, max: 1, maxOpen: true }, b));
    this.requireNumber(g, 'weightDecay', 'weight_decay value', { min: 0 });
    for (const k of ['amsgrad', 'maximize', 'fused'] as const) this.requireBoolean(g, k);
  }

  protected updateParam(p: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<AdamHyper>): void {
    const { lr, eps, weightDecay, amsgrad, maximize } = g;
    const [beta1, beta2] = g.betas;
    const step = ((state.step as number | undefined) ?? 0) + 1;
    state.step = step;
    const expAvg = this.buffer(state, 'expAvg', p);
    const expAvgSq = this.buffer(state, 'expAvgSq', p);
    const maxExpAvgSq = amsgrad ? this.buffer(state, 'maxExpAvgSq', p) : null;
    adamStep_(p, grad, expAvg, expAvgSq, maxExpAvgSq, {
      lr, beta1, beta2, eps, weightDecay, decoupled: this.decoupled, amsgrad, maximize, step, fused: g.fused,
    });
  }
}

/** AdamW (torch.optim.AdamW): Adam with decoupled weight decay, default weightDecay 1e-2. */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  constructor(params: Params<AdamHyper>, opts: AdamOptions = {}) {
    super(params, { ...opts, weightDecay: opts.weightDecay ?? 1e-2 });
  }
}
