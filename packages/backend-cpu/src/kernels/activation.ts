/**
 * An activation's backward from its saved output, in one pass (FusedKernels.activationBackward):
 * gradIn = gradOut · f'(y) with sigmoid y·(1 − y), tanh 1 − y², relu [y > 0]. Each intermediate is
 * rounded to float32 (Math.fround) exactly where core's decomposition rounds it, so the result is
 * the decomposition's to the bit.
 */
import type { ActivationOp, View } from '@kindling/core';
import { contiguousF32, numelOf, withContiguousOutF32 } from '../strided.js';

const f = Math.fround;

/** X = G · f'(Y) over n elements, per activation; complete over core's ActivationOp or it does not compile. */
export const ACTIVATION_GRADS = {
  sigmoid: (Y, G, X, n) => {
    for (let i = 0; i < n; i++) {
      const v = Y[i]!;
      X[i] = G[i]! * f(v * f(1 - v));
    }
  },
  tanh: (Y, G, X, n) => {
    for (let i = 0; i < n; i++) {
      const v = Y[i]!;
      X[i] = G[i]! * f(1 - f(v * v));
    }
  },
  relu: (Y, G, X, n) => {
    for (let i = 0; i < n; i++) X[i] = G[i]! * (Y[i]! > 0 ? 1 : 0);
  },
} satisfies Record<ActivationOp, (Y: Float32Array, G: Float32Array, X: Float32Array, n: number) => void>;

export function activationBackward(op: ActivationOp, y: View, gradOut: View, gradIn: View): void {
  const Y = contiguousF32(y, 'activationBackward');
  const G = contiguousF32(gradOut, 'activationBackward');
  const n = numelOf(y.shape);
  if (numelOf(gradOut.shape) !== n || numelOf(gradIn.shape) !== n) {
    throw new RangeError(`activationBackward: y [${y.shape.join(',')}], gradOut [${gradOut.shape.join(',')}] and gradIn [${gradIn.shape.join(',')}] differ in size`);
  }
  withContiguousOutF32(gradIn, 'activationBackward', false, (X) => {
    ACTIVATION_GRADS[op](Y, G, X, n);
  });
}
