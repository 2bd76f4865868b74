import { KindlingError } from '../errors.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { backendOf } from './util.js';
import { binary } from './elementwise.js';
import { cast, rand } from './creation.js';
import { alias } from './view.js';

export interface DropoutOptions {
  p?: number;
  training?: boolean;
}

/**
 * torch.nn.functional.dropout: in training, zeroes each element with probability p and scales
 * the rest by 1/(1−p); the mask comes from the shared Philox stream, so a seed gives the same
 * mask on every backend. Eval mode is the identity. The mask is a constant of the recorded
 * multiply, so backward reuses it.
 */
export function dropout(x: Tensor, opts: DropoutOptions = {}): Tensor {
  backendOf('dropout', x);
  const p = opts.p ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw new KindlingError('dropout', `probability has to be between 0 and 1, but got ${p}`);
  if (!(opts.training ?? true) || p === 0) return alias(x);
  return tidy(() => {
    if (p === 1) return binary('mul', x, 0);
    const keep = cast(binary('lt', rand(x.shape, { device: x.device }), 1 - p), 'float32');
    return binary('mul', x, binary('mul', keep, 1 / (1 - p)));
  });
}
