/**
 * Fused optimizer steps, in place, with PyTorch 1.13's single-tensor semantics (as the CPU
 * backend's optim.ts). One invocation per element over any strides: p, grad and the state
 * tensors are walked together (collapsed like any elementwise kernel). Arithmetic is f32, as
 * PyTorch's own float kernels; the hyper-parameters arrive as f32 uniforms, with the bias
 * corrections computed on the host in float64.
 *
 *   SGD:  g = ±grad (+ wd·p);  buf = g (first step) or m·buf + (1−dampening)·g;
 *         g = nesterov ? g + m·buf : buf;  p −= lr·g
 *   Adam: g = ±grad;  AdamW p *= 1 − lr·wd  |  Adam g += wd·p;  m = β1·m + (1−β1)·g;
 *         v = β2·v + (1−β2)·g²;  amsgrad vmax = max(vmax, v), used instead of v;
 *         p −= (lr/(1−β1^t)) · m / (√v / √(1−β2^t) + eps)
 */
import type { AdamStepOptions, SgdStepOptions, View } from '@kindling/core';
import type { WebGPUBuffer } from '../buffer.js';
import type { Binding, Engine } from '../engine.js';
import { collapseViews, numelOf } from '../strided.js';
import { pf } from '../wgsl.js';
import { runPerElement } from './copy.js';

function f32Only(op: string, views: (View | null)[]): void {
  for (const v of views) if (v && v.dtype !== 'float32') throw new TypeError(`${op}: expected float32 tensors, got ${v.dtype}`);
}

export function sgdStep(e: Engine, p: View, grad: View, momentumBuf: View | null, o: SgdStepOptions): void {
  f32Only('sgdStep', [p, grad, momentumBuf]);
  const n = numelOf(p.shape);
  if (n === 0) return;
  const useMomentum = o.momentum !== 0;
  if (useMomentum && !momentumBuf) throw new Error('sgdStep: momentum is non-zero but no momentum buffer was given');
  const views = useMomentum ? [p, grad, momentumBuf!] : [p, grad];
  const L = collapseViews(p.shape, views, 'sgdStep');
  const flags = `${o.maximize ? 'max' : ''}${o.weightDecay !== 0 ? 'wd' : ''}${useMomentum ? (o.firstStep ? 'm1' : 'm') : ''}${useMomentum && o.nesterov ? 'nest' : ''}`;
  const bindings: Binding[] = [
    { name: 'p', buffer: p.buffer as WebGPUBuffer, write: true },
    { name: 'g', buffer: grad.buffer as WebGPUBuffer },
  ];
  if (useMomentum) bindings.push({ name: 'buf', buffer: momentumBuf!.buffer as WebGPUBuffer, write: true });
  runPerElement(e, `sgdStep:${flags}:r${L.shape.length}`, L, bindings, useMomentum ? ['op', 'og', 'ob'] : ['op', 'og'], (prm) => {
    const wLr = prm.f32(o.lr);
    const wM = prm.f32(o.momentum);
    const wDamp = prm.f32(1 - o.dampening);
    const wWd = prm.f32(o.weightDecay);
    return (v) => `let pv = ${v.p}[op];
  var g = ${v.g}[og];
  ${o.maximize ? 'g = -g;' : ''}
  ${o.weightDecay !== 0 ? `g = g + ${pf(wWd)} * pv;` : ''}
  ${useMomentum
    ? `${o.firstStep ? `${v.buf}[ob] = g;` : `${v.buf}[ob] = ${pf(wM)} * ${v.buf}[ob] + ${pf(wDamp)} * g;`}
  let b = ${v.buf}[ob];
  g = ${o.nesterov ? `g + ${pf(wM)} * b` : 'b'};`
    : ''}
  ${v.p}[op] = pv - ${pf(wLr)} * g;`;
  });
}

export function adamStep(e: Engine, p: View, grad: View, expAvg: View, expAvgSq: View, maxExpAvgSq: View | null, o: AdamStepOptions): void {
  f32Only('adamStep', [p, grad, expAvg, expAvgSq, maxExpAvgSq]);
  const n = numelOf(p.shape);
  if (n === 0) return;
  if (o.amsgrad && !maxExpAvgSq) throw new Error('adamStep: amsgrad needs maxExpAvgSq');
  const views = o.amsgrad ? [p, grad, expAvg, expAvgSq, maxExpAvgSq!] : [p, grad, expAvg, expAvgSq];
  const L = collapseViews(p.shape, views, 'adamStep');
  const bc1 = 1 - Math.pow(o.beta1, o.step);
  const bc2Sqrt = Math.sqrt(1 - Math.pow(o.beta2, o.step));
  const decayP = o.decoupled && o.weightDecay !== 0;
  const l2 = !o.decoupled && o.weightDecay !== 0;
  const flags = `${o.maximize ? 'max' : ''}${decayP ? 'dec' : ''}${l2 ? 'l2' : ''}${o.amsgrad ? 'ams' : ''}`;
  const bindings: Binding[] = [
    { name: 'p', buffer: p.buffer as WebGPUBuffer, write: true },
    { name: 'g', buffer: grad.buffer as WebGPUBuffer },
    { name: 'm', buffer: expAvg.buffer as WebGPUBuffer, write: true },
    { name: 'v', buffer: expAvgSq.buffer as WebGPUBuffer, write: true },
  ];
  if (o.amsgrad) bindings.push({ name: 'vmax', buffer: maxExpAvgSq!.buffer as WebGPUBuffer, write: true });
  const offsets = o.amsgrad ? ['op', 'og', 'om', 'ov', 'ox'] : ['op', 'og', 'om', 'ov'];
  runPerElement(e, `adamStep:${flags}:r${L.shape.length}`, L, bindings, offsets, (prm) => {
    const wB1 = prm.f32(o.beta1);
    const wB1c = prm.f32(1 - o.beta1);
    const wB2 = prm.f32(o.beta2);
    const wB2c = prm.f32(1 - o.beta2);
    const wEps = prm.f32(o.eps);
    const wWd = prm.f32(o.weightDecay);
    const wStep = prm.f32(o.lr / bc1);
    const wBc2 = prm.f32(bc2Sqrt);
    const wDecay = prm.f32(1 - o.lr * o.weightDecay);
    return (b) => `var pv = ${b.p}[op];
  var g = ${b.g}[og];
  ${o.maximize ? 'g = -g;' : ''}
  ${decayP ? `pv = pv * ${pf(wDecay)};` : ''}
  ${l2 ? `g = g + ${pf(wWd)} * pv;` : ''}
  let mv = ${pf(wB1)} * ${b.m}[om] + ${pf(wB1c)} * g;
  ${b.m}[om] = mv;
  var vv = ${pf(wB2)} * ${b.v}[ov] + ${pf(wB2c)} * g * g;
  ${b.v}[ov] = vv;
  ${o.amsgrad ? `let old = ${b.vmax}[ox];
  if (vv > old || k_isnan(vv)) { ${b.vmax}[ox] = vv; } else { vv = old; }` : ''}
  let denom = sqrt(vv) / ${pf(wBc2)} + ${pf(wEps)};
  ${b.p}[op] = pv - (${pf(wStep)} * mv) / denom;`;
  });
}
