import { Tensor, KindlingError, getBackend, getDefaultDevice, keep, zeros } from '@kindling/core';

/**
 * A Parameter is a Tensor that a Module registers as trainable (torch.nn.Parameter): assigning
 * one to a module attribute registers it, and `parameters()` / the optimizers see it.
 *
 * `new Parameter(t)` makes a new view sharing t's storage (no copy), with `requiresGrad = true`.
 * A parameter outlives every `tidy()` scope (it is kept), so a training step wrapped in tidy
 * never frees the model; `module.dispose()` frees it.
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    data.assertAlive('Parameter');
    if (requiresGrad && data.dtype !== 'float32') {
      throw new KindlingError('Parameter', `only float32 tensors can require gradients, got ${data.dtype}`);
    }
    // Untracked view (tracked = false): no tidy scope owns it.
    super(data.storage_, data.shape, data.strides, data.offset, data.dtype, false);
    keep(this);
    this.requiresGrad = requiresGrad;
  }

  override toString(): string {
    return `Parameter(shape=[${this.shape.join(',')}], dtype=${this.dtype}, device=${this.device}, requiresGrad=${this.requiresGrad})`;
  }
}

export function isParameter(x: unknown): x is Parameter {
  return x instanceof Parameter;
}

/** A layer's parameter: float32 zeros on `device` (default: the default device), to be initialised in place. */
export function newParameter(shape: readonly number[], device?: string): Parameter {
  const dev = device ?? getDefaultDevice();
  getBackend(dev); // fails early, naming the device, when no backend serves it
  const t = zeros(shape, { device: dev });
  const p = new Parameter(t);
  t.dispose();
  return p;
}
