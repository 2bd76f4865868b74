/**
 * optimizerFromTorch: builds a Kindling optimizer from a PyTorch optimizer name and its
 * `param_groups[0]` hyperparameters in PyTorch's snake_case (as the golden files store them):
 *
 *   optimizerFromTorch('SGD', params, { lr: 0.1, momentum: 0.9, weight_decay: 1e-4, nesterov: false })
 *
 * PyTorch's implementation switches (`foreach`, `capturable`, `differentiable`, `fused`) have no
 * numeric meaning and are ignored; any other unknown key is an error.
 */
import { type Tensor, KindlingError } from '@kindling/core';
import type { Optimizer } from './optimizer.js';
import { SGD } from './sgd.js';
import { Adam, AdamW } from './adam.js';
import { RMSprop } from './rmsprop.js';

export type TorchOptimizerName = 'SGD' | 'Adam' | 'AdamW' | 'RMSprop';

const IMPLEMENTATION_SWITCHES = new Set(['foreach', 'capturable', 'differentiable', 'fused']);

/** Accepted snake_case keys → Kindling option names, per optimizer. */
const KEYS: Record<TorchOptimizerName, Record<string, string>> = {
  SGD: { lr: 'lr', momentum: 'momentum', dampening: 'dampening', weight_decay: 'weightDecay', nesterov: 'nesterov', maximize: 'maximize' },
  Adam: { lr: 'lr', betas: 'betas', eps: 'eps', weight_decay: 'weightDecay', amsgrad: 'amsgrad', maximize: 'maximize' },
  AdamW: { lr: 'lr', betas: 'betas', eps: 'eps', weight_decay: 'weightDecay', amsgrad: 'amsgrad', maximize: 'maximize' },
  RMSprop: { lr: 'lr', alpha: 'alpha', eps: 'eps', weight_decay: 'weightDecay', momentum: 'momentum', centered: 'centered', maximize: 'maximize' },
};

export function optimizerFromTorch(
  name: TorchOptimizerName,
  params: Iterable<Tensor>,
  hyperparameters: Readonly<Record<string, unknown>>,
  /** Kindling options applied on top (e.g. `{ fused: false }`). */
  overrides: Record<string, unknown> = {},
): Optimizer<any> {
  const keys = KEYS[name];
  if (!keys) throw new KindlingError('optimizerFromTorch', `unknown optimizer '${String(name)}' (known: ${Object.keys(KEYS).join(', ')})`);
  const opts: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(hyperparameters)) {
    if (k === 'params' || IMPLEMENTATION_SWITCHES.has(k)) continue;
    const mapped = keys[k];
    if (!mapped) throw new KindlingError('optimizerFromTorch', `${name} has no hyperparameter '${k}'`);
    opts[mapped] = v;
  }
  Object.assign(opts, overrides);
  switch (name) {
    case 'SGD':
      return new SGD(params, opts as unknown as ConstructorParameters<typeof SGD>[1]);
    case 'Adam':
      return new Adam(params, opts);
    case 'AdamW':
      return new AdamW(params, opts);
    case 'RMSprop':
      return new RMSprop(params, opts);
  }
}
