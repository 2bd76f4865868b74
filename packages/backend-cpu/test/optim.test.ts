import { describe, it } from 'vitest';
import type { AdamStepOptions, SgdStepOptions } from '@kindling/core';
import { be, expectClose, f32, makeView, randn, readView, rng } from './helpers.js';

/** PyTorch 1.13's _single_tensor_sgd, in float64. */
function sgdRef(p: number[], grads: number[][], o: Omit<SgdStepOptions, 'firstStep'>): number[] {
  let buf: number[] | null = null;
  p = p.slice();
  for (const g0 of grads) {
    let g = g0.map((v) => (o.maximize ? -v : v));
    if (o.weightDecay !== 0) g = g.map((v, i) => v + o.weightDecay * p[i]!);
    if (o.momentum !== 0) {
      if (buf === null) buf = g.slice();
      else buf = buf.map((b, i) => o.momentum * b + (1 - o.dampening) * g[i]!);
      const bb = buf;
      g = o.nesterov ? g.map((v, i) => v + o.momentum * bb[i]!) : bb.slice();
    }
    p = p.map((v, i) => v - o.lr * g[i]!);
  }
  return p;
}

/** PyTorch 1.13's _single_tensor_adam (and AdamW), in float64. */
function adamRef(p: number[], grads: number[][], o: Omit<AdamStepOptions, 'step'>): number[] {
  p = p.slice();
  let m = p.map(() => 0);
  let v = p.map(() => 0);
  let vmax = p.map(() => 0);
  grads.forEach((g0, t) => {
    const step = t + 1;
    let g = g0.map((x) => (o.maximize ? -x : x));
    if (o.decoupled) p = p.map((x) => x * (1 - o.lr * o.weightDecay));
    else if (o.weightDecay !== 0) g = g.map((x, i) => x + o.weightDecay * p[i]!);
    m = m.map((x, i) => o.beta1 * x + (1 - o.beta1) * g[i]!);
    v = v.map((x, i) => o.beta2 * x + (1 - o.beta2) * g[i]! * g[i]!);
    const bc1 = 1 - o.beta1 ** step;
    const bc2 = 1 - o.beta2 ** step;
    if (o.amsgrad) vmax = vmax.map((x, i) => Math.max(x, v[i]!));
    const vv = o.amsgrad ? vmax : v;
    p = p.map((x, i) => x - (o.lr / bc1) * m[i]! / (Math.sqrt(vv[i]!) / Math.sqrt(bc2) + o.eps));
  });
  return p;
}

describe('sgdStep', () => {
  const r = rng(12);
  const variants: [string, Omit<SgdStepOptions, 'firstStep'>][] = [
    ['plain', { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false }],
    ['momentum + weight decay', { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0.01, nesterov: false, maximize: false }],
    ['nesterov', { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: true, maximize: false }],
    ['dampening', { lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0, nesterov: false, maximize: false }],
    ['maximize + wd + momentum', { lr: 0.05, momentum: 0.5, dampening: 0, weightDecay: 0.1, nesterov: false, maximize: true }],
  ];
  for (const [name, o] of variants) {
    it(`${name}: three steps match PyTorch's formula`, () => {
      const n = 10;
      const p0 = f32(randn(n, r));
      const grads = [0, 1, 2].map(() => f32(randn(n, r)));
      const p = makeView('float32', p0, [2, 5]);
      const buf = o.momentum !== 0 ? makeView('float32', new Array(n).fill(0), [2, 5]) : null;
      grads.forEach((g, s) => be.sgdStep!(p, makeView('float32', g, [2, 5]), buf, { ...o, firstStep: s === 0 }));
      expectClose(readView(p), sgdRef(p0, grads, o), 1e-5, 1e-6);
    });
  }
});

describe('adamStep', () => {
  const r = rng(13);
  const base = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false, maximize: false };
  const variants: [string, Omit<AdamStepOptions, 'step'>][] = [
    ['Adam', base],
    ['Adam + L2', { ...base, weightDecay: 0.1 }],
    ['AdamW', { ...base, weightDecay: 0.1, decoupled: true }],
    ['amsgrad', { ...base, amsgrad: true, beta2: 0.9 }],
    ['maximize', { ...base, maximize: true }],
  ];
  for (const [name, o] of variants) {
    it(`${name}: three steps match PyTorch's formula (strided parameter)`, () => {
      const n = 12;
      const p0 = f32(randn(n, r));
      // The second step's gradient is smaller so amsgrad's max actually differs from v.
      const grads = [1, 0.1, 0.5].map((scale) => f32(randn(n, r).map((v) => v * scale)));
      // p is a transposed [3,4] view; the state buffers are contiguous in the same logical order.
      const pStore = new Array(n);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) pStore[j * 3 + i] = p0[i * 4 + j];
      const p = makeView('float32', pStore, [3, 4], [1, 3]);
      const zeros = () => makeView('float32', new Array(n).fill(0), [3, 4]);
      const m = zeros();
      const v = zeros();
      const vmax = o.amsgrad ? zeros() : null;
      grads.forEach((g, s) => be.adamStep!(p, makeView('float32', g, [3, 4]), m, v, vmax, { ...o, step: s + 1 }));
      expectClose(readView(p), adamRef(p0, grads, o), 1e-5, 1e-6);
    });
  }
});
