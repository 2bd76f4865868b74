import * as kd from '@kindling/core';
import type { OpHandler } from './core-ops.js';

/**
 * batch_norm with nn.BatchNorm*d's semantics through the functional op: running stats are
 * updated in place by batchNorm() in training, and num_batches_tracked counts training calls
 * (the module's bookkeeping; @kindling/nn's BatchNorm does the same).
 */
export const batchNormOp: OpHandler = ({ inputs, attrs }) => {
  const { x, weight, bias, running_mean: rm, running_var: rv, num_batches_tracked: nbt } = inputs;
  const module = attrs.module as string | undefined;
  if (module === 'BatchNorm1d' && x!.ndim !== 2 && x!.ndim !== 3) throw new Error(`BatchNorm1d expects 2-D or 3-D input, got ${x!.ndim}-D`);
  if (module === 'BatchNorm2d' && x!.ndim !== 4) throw new Error(`BatchNorm2d expects 4-D input, got ${x!.ndim}-D`);
  const training = attrs.training as boolean;
  const y = kd.batchNorm(x!, rm ?? null, rv ?? null, weight ?? null, bias ?? null, { training, momentum: attrs.momentum ?? 0.1, eps: attrs.eps ?? 1e-5 });
  const outs: Record<string, kd.Tensor> = { out: y };
  if (rm) outs.running_mean = rm;
  if (rv) outs.running_var = rv;
  if (nbt) outs.num_batches_tracked = training ? kd.add(nbt, 1) : nbt;
  return outs;
};
