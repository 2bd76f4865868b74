import type { AdamStepOptions, SgdStepOptions } from '../backend.js';
import { KindlingError, ShapeError, fmtShape } from '../errors.js';
import { noGrad } from '../grad-mode.js';
import { shapesEqual } from '../shape.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { backendOf, expectDType, runFused } from './util.js';
import { binary, unary } from './elementwise.js';
import { copyInto } from './inplace.js';

/** Whether to use the backend's fused kernel (the optimizers' `fused` option; default true). */
export interface FusedOption {
  fused?: boolean;
}

/** Every state tensor has the parameter's shape and dtype (float32), on its device. */
function checkState(op: string, p: Tensor, named: Record<string, Tensor | null>): void {
  expectDType(op, p, ['float32'], 'parameter');
  for (const [name, t] of Object.entries(named)) {
    if (!t) continue;
    if (!shapesEqual(t.shape, p.shape)) throw new ShapeError(op, `${name} ${fmtShape(t.shape)} does not match parameter ${fmtShape(p.shape)}`);
    expectDType(op, t, ['float32'], name);
  }
}

/** a + alpha·x, with torch's `add(x, alpha=...)` rounding: the product is skipped when alpha is 1. */
function addScaled(a: Tensor, x: Tensor, alpha: number): Tensor {
  return binary('add', a, alpha === 1 ? x : binary('mul', x, alpha));
}

/**
 * One in-place SGD step on a parameter (torch.optim.SGD's single-tensor step, 1.13):
 *
 *   g = ±grad + weightDecay·p
 *   momentum ≠ 0:  buf = g on the first step, else buf = momentum·buf + (1 − dampening)·g
 *                  g = nesterov ? g + momentum·buf : buf
 *   p ← p − lr·g
 *
 * `momentumBuf` is required when momentum ≠ 0 (its contents are ignored on the first step). The
 * backend's fused `sgdStep` kernel when it has one, else this formula in core's ops.
 */
export function sgdStep_(p: Tensor, grad: Tensor, momentumBuf: Tensor | null, o: SgdStepOptions & FusedOption): void {
  const b = backendOf('sgdStep_', p, grad, momentumBuf);
  checkState('sgdStep_', p, { grad, momentumBuf });
  if (o.momentum !== 0 && !momentumBuf) throw new KindlingError('sgdStep_', `momentum ${o.momentum} needs a momentum buffer`);
  const { lr, momentum, dampening, weightDecay, nesterov, maximize, firstStep } = o;
  noGrad(() =>
    runFused(b, 'sgdStep', {
      eligible: o.fused !== false,
      inputs: [grad],
      inPlace: [p, momentum !== 0 ? momentumBuf : null],
      call: (k, [gv], [], [pv, bv]) => k(pv, gv, bv, { lr, momentum, dampening, weightDecay, nesterov, maximize, firstStep }),
      reference: () =>
        tidy(() => {
          let d = maximize ? unary('neg', grad) : grad;
          if (weightDecay !== 0) d = addScaled(d, p, weightDecay);
          if (momentum !== 0) {
            const buf = momentumBuf!;
            if (firstStep) copyInto(buf, d);
            else {
              copyInto(buf, binary('mul', buf, momentum));
              copyInto(buf, addScaled(buf, d, 1 - dampening));
            }
            d = nesterov ? addScaled(d, buf, momentum) : buf;
          }
          copyInto(p, addScaled(p, d, -lr));
          return [];
        }),
    }),
  );
}

/**
 * One in-place Adam / AdamW step on a parameter (torch.optim.Adam's single-tensor step, 1.13):
 *
 *   g = ±grad
 *   Adam: g += weightDecay·p          AdamW (decoupled): p ← p·(1 − lr·weightDecay)
 *   m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²;   amsgrad: v̂max ← max(v̂max, v), used for v
 *   p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)         (t = o.step, 1-based)
 *
 * `maxExpAvgSq` is required with amsgrad. The backend's fused `adamStep` kernel when it has one,
 * else this formula in core's ops.
 */
export function adamStep_(
  p: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, maxExpAvgSq: Tensor | null, o: AdamStepOptions & FusedOption,
): void {
  const b = backendOf('adamStep_', p, grad, expAvg, expAvgSq, maxExpAvgSq);
  checkState('adamStep_', p, { grad, expAvg, expAvgSq, maxExpAvgSq });
  if (o.amsgrad && !maxExpAvgSq) throw new KindlingError('adamStep_', 'amsgrad needs a maxExpAvgSq buffer');
  if (!Number.isInteger(o.step) || o.step < 1) throw new KindlingError('adamStep_', `step must be an integer >= 1, got ${o.step}`);
  const { lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, maximize, step } = o;
  noGrad(() =>
    runFused(b, 'adamStep', {
      eligible: o.fused !== false,
      inputs: [grad],
      inPlace: [p, expAvg, expAvgSq, amsgrad ? maxExpAvgSq : null],
      call: (k, [gv], [], [pv, mv, vv, mx]) => k(pv, gv, mv, vv, mx, { lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, maximize, step }),
      reference: () =>
        tidy(() => {
          let d = maximize ? unary('neg', grad) : grad;
          if (decoupled) {
            if (weightDecay !== 0) copyInto(p, binary('mul', p, 1 - lr * weightDecay));
          } else if (weightDecay !== 0) {
            d = addScaled(d, p, weightDecay);
          }
          copyInto(expAvg, binary('mul', expAvg, beta1));
          copyInto(expAvg, addScaled(expAvg, d, 1 - beta1));
          copyInto(expAvgSq, binary('mul', expAvgSq, beta2));
          copyInto(expAvgSq, addScaled(expAvgSq, binary('mul', d, d), 1 - beta2));
          const biasCorrection1 = 1 - beta1 ** step;
          const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
          const stepSize = lr / biasCorrection1;
          let v = expAvgSq;
          if (amsgrad) {
            copyInto(maxExpAvgSq!, binary('maximum', maxExpAvgSq!, expAvgSq));
            v = maxExpAvgSq!;
          }
          const denom = binary('add', binary('div', unary('sqrt', v), biasCorrection2Sqrt), eps);
          copyInto(p, addScaled(p, binary('div', expAvg, denom), -stepSize));
          return [];
        }),
    }),
  );
}
