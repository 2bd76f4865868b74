/**
 * Fused optimizer steps, in place, with PyTorch 1.13's single-tensor semantics. Each state tensor
 * is stored as float32 and re-read after the store, so later terms use exactly the rounded state
 * PyTorch would (e.g. Nesterov's g + m·buf, Adam's denominator from the stored v).
 */
import type { AdamStepOptions, SgdStepOptions, View } from '@kindling/core';
import { f32Of } from '../buffer.js';
import { forEachRun } from '../strided.js';

/**
 *   g = maximize ? -grad : grad;  g += wd·p
 *   momentum: buf = g on the first step, else buf = m·buf + (1-dampening)·g;  g = nesterov ? g + m·buf : buf
 *   p -= lr·g
 */
export function sgdStep(p: View, grad: View, momentumBuf: View | null, o: SgdStepOptions): void {
  const P = f32Of(p, 'sgdStep');
  const G = f32Of(grad, 'sgdStep');
  const useMomentum = o.momentum !== 0;
  if (useMomentum && !momentumBuf) throw new Error('sgdStep: momentum is non-zero but no momentum buffer was given');
  const Bf = useMomentum ? f32Of(momentumBuf!, 'sgdStep') : P;
  const bufView = useMomentum ? momentumBuf! : p;
  const { lr, momentum, dampening, weightDecay, nesterov, maximize, firstStep } = o;
  forEachRun(p.shape, [p.strides, grad.strides, bufView.strides], [p.offset, grad.offset, bufView.offset], (off, n, s) => {
    const po = off[0]!, ps = s[0]!, go = off[1]!, gs = s[1]!, bo = off[2]!, bs = s[2]!;
    for (let i = 0; i < n; i++) {
      const pi = po + i * ps;
      const pv = P[pi]!;
      let g = G[go + i * gs]!;
      if (maximize) g = -g;
      if (weightDecay !== 0) g += weightDecay * pv;
      if (useMomentum) {
        const bi = bo + i * bs;
        Bf[bi] = firstStep ? g : momentum * Bf[bi]! + (1 - dampening) * g;
        const buf = Bf[bi]!;
        g = nesterov ? g + momentum * buf : buf;
      }
      P[pi] = pv - lr * g;
    }
  });
}

/**
 *   g = maximize ? -grad : grad
 *   AdamW: p *= 1 - lr·wd;  Adam: g += wd·p
 *   m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;  amsgrad: vmax = max(vmax, v), used instead of v
 *   p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps)
 */
export function adamStep(p: View, grad: View, expAvg: View, expAvgSq: View, maxExpAvgSq: View | null, o: AdamStepOptions): void {
  const P = f32Of(p, 'adamStep');
  const G = f32Of(grad, 'adamStep');
  const Mv = f32Of(expAvg, 'adamStep');
  const Vv = f32Of(expAvgSq, 'adamStep');
  if (o.amsgrad && !maxExpAvgSq) throw new Error('adamStep: amsgrad needs maxExpAvgSq');
  const maxView = o.amsgrad ? maxExpAvgSq! : expAvgSq;
  const Xv = f32Of(maxView, 'adamStep');
  const { lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, maximize, step } = o;
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
  const stepSize = lr / bc1;
  const decay = decoupled && weightDecay !== 0 ? 1 - lr * weightDecay : 1;
  forEachRun(
    p.shape,
    [p.strides, grad.strides, expAvg.strides, expAvgSq.strides, maxView.strides],
    [p.offset, grad.offset, expAvg.offset, expAvgSq.offset, maxView.offset],
    (off, n, s) => {
      const po = off[0]!, ps = s[0]!, go = off[1]!, gs = s[1]!, mo = off[2]!, ms = s[2]!;
      const vo = off[3]!, vs = s[3]!, xo = off[4]!, xs = s[4]!;
      for (let i = 0; i < n; i++) {
        const pi = po + i * ps;
        let pv = P[pi]!;
        let g = G[go + i * gs]!;
        if (maximize) g = -g;
        if (decoupled) {
          if (decay !== 1) {
            P[pi] = pv * decay;
            pv = P[pi]!;
          }
        } else if (weightDecay !== 0) {
          g += weightDecay * pv;
        }
        const mi = mo + i * ms;
        const vi = vo + i * vs;
        Mv[mi] = beta1 * Mv[mi]! + (1 - beta1) * g;
        Vv[vi] = beta2 * Vv[vi]! + (1 - beta2) * g * g;
        let v = Vv[vi]!;
        if (amsgrad) {
          const xi = xo + i * xs;
          if (v > Xv[xi]! || v !== v) Xv[xi] = v;
          v = Xv[xi]!;
        }
        const denom = Math.sqrt(v) / bc2Sqrt + eps;
        P[pi] = pv - (stepSize * Mv[mi]!) / denom;
      }
    },
  );
}
