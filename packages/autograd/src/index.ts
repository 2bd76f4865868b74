/**
 * @kindling/autograd: importing it turns on define-by-run recording in @kindling/core.
 * It adds backward(), detach(), requiresGrad_(), retainGrad() to Tensor and exports gradcheck.
 */
import { Tensor, installAutogradHook, noGrad, enableGrad, isGradEnabled, KindlingError } from '@kindling/core';
import { record, release, type GradFn } from './graph.js';
import { backward, registerPostAccumulateGradHook, type BackwardOptions } from './engine.js';

installAutogradHook({ record, release });

const P = Tensor.prototype as unknown as Record<string, unknown>;
P.backward = function (this: Tensor, gradient?: Tensor | null, opts?: BackwardOptions) {
  backward(this, gradient, opts);
};
P.requiresGrad_ = function (this: Tensor, requiresGrad = true) {
  if (!this.isLeaf) {
    throw new KindlingError('requiresGrad_', 'you can only change requiresGrad of leaf tensors; use detach() for a non-leaf');
  }
  if (requiresGrad && this.dtype !== 'float32') {
    throw new KindlingError('requiresGrad_', `only float32 tensors can require gradients, got ${this.dtype}`);
  }
  this.requiresGrad = requiresGrad;
  return this;
};
P.registerPostAccumulateGradHook = function (this: Tensor, fn: (leaf: Tensor) => void) {
  return registerPostAccumulateGradHook(this, fn);
};
P.retainGrad = function (this: Tensor) {
  const fn = this.gradFn as GradFn | null;
  if (fn) fn.node.retained.set(fn.index, new WeakRef(this));
};
Object.defineProperty(P, 'gradFnName', {
  configurable: true,
  get(this: Tensor) {
    return (this.gradFn as GradFn | null)?.name ?? null;
  },
});

export { backward, registerPostAccumulateGradHook, type BackwardOptions } from './engine.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './gradcheck.js';
export { derivatives, sumTo, type Derivative } from './derivatives.js';
export { noGrad, enableGrad, isGradEnabled };
