import { type Tensor, KindlingError, sgdStep_ } from '@kindling/core';
import { Optimizer, type ParamGroup, type ParamState, type Params } from './optimizer.js';

export interface SGDOptions {
  /** Learning rate (required, as in torch 1.13). */
  lr: number;
  momentum?: number;
  dampening?: number;
  /** L2 penalty: weightDecay·p is added to the gradient. */
  weightDecay?: number;
  nesterov?: boolean;
  /** Ascend the objective instead. */
  maximize?: boolean;
  /** Use the backend's fused sgdStep kernel when it has one (default true). */
  fused?: boolean;
}

export interface SGDHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
  fused: boolean;
  [key: string]: unknown;
}

/**
 * Stochastic gradient descent with momentum (torch.optim.SGD, 1.13 semantics): each step runs
 * core's sgdStep_ (the formula is written there, with the fused kernel).
 *
 * State per parameter: `momentumBuffer` (PyTorch's momentum_buffer).
 */
export class SGD extends Optimizer<SGDHyper> {
  constructor(params: Params<SGDHyper>, opts: SGDOptions) {
    if (opts?.lr === undefined) throw new KindlingError('SGD', 'lr is required (torch.optim.SGD has no default learning rate)');
    super(params, {
      lr: opts.lr,
      momentum: opts.momentum ?? 0,
      dampening: opts.dampening ?? 0,
      weightDecay: opts.weightDecay ?? 0,
      nesterov: opts.nesterov ?? false,
      maximize: opts.maximize ?? false,
      fused: opts.fused ?? true,
    });
  }

  protected override validateGroup(g: ParamGroup<SGDHyper>): void {
    super.validateGroup(g);
    this.requireNumber(g, 'momentum', 'momentum value', { min: 0 });
    this.requireNumber(g, 'dampening', 'dampening value');
    this.requireNumber(g, 'weightDecay', 'weight_decay value', { min: 0 });
    for (const k of ['nesterov', 'maximize', 'fused'] as const) this.requireBoolean(g, k);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new KindlingError('SGD', 'Nesterov momentum requires a momentum and zero dampening');
  }

  protected updateParam(p: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<SGDHyper>): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = g;
    const firstStep = momentum !== 0 && !state.momentumBuffer;
    const buf = momentum !== 0 ? this.buffer(state, 'momentumBuffer', p) : null;
    sgdStep_(p, grad, buf, { lr, momentum, dampening, weightDecay, nesterov, maximize, firstStep, fused: g.fused });
  }
}
