import type { ActivationOp } from '../backend.js';
import { KindlingError, ShapeError, fmtShape } from '../errors.js';
import { shapesEqual } from '../shape.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { backendOf, runFused } from './util.js';
import { binary } from './elementwise.js';
import { cast } from './creation.js';

const ACTIVATIONS: ReadonlySet<string> = new Set<ActivationOp>(['sigmoid', 'tanh', 'relu']);

/**
 * The gradient of an activation from its output y: gy · f'(y) with f'(y) = y·(1 − y) for sigmoid,
 * 1 − y² for tanh, [y > 0] for relu. One pass with the backend's `activationBackward` kernel,
 * else the composition of elementwise ops (which the kernel matches bit for bit). Not recorded:
 * it is what autograd's formulas call.
 */
export function activationBackward(op: ActivationOp, y: Tensor, gy: Tensor): Tensor {
  const b = backendOf('activationBackward', y, gy);
  if (!ACTIVATIONS.has(op)) throw new KindlingError('activationBackward', `unknown activation '${String(op)}' (expected sigmoid, tanh or relu)`);
  if (!shapesEqual(y.shape, gy.shape)) throw new ShapeError('activationBackward', `output ${fmtShape(y.shape)} and gradient ${fmtShape(gy.shape)} differ`);
  return runFused(b, 'activationBackward', {
    eligible: y.dtype === 'float32' && gy.dtype === 'float32',
    inputs: [y, gy],
    outputs: [{ shape: y.shape, dtype: 'float32' }],
    call: (k, [yv, gv], [gx]) => k(op, yv, gv, gx),
    reference: () => [
      tidy(() => {
        if (op === 'sigmoid') return binary('mul', gy, binary('mul', y, binary('sub', 1, y)));
        if (op === 'tanh') return binary('mul', gy, binary('sub', 1, binary('mul', y, y)));
        return binary('mul', gy, cast(binary('gt', y, 0), 'float32'));
      }),
    ],
  })[0]!;
}
