/**
 * Core's optimizer step ops (sgdStep_, adamStep_), which SGD and Adam call: bad operands are
 * refused naming the op and the operand, and a step through the fused kernel agrees with the
 * reference. And runFused's one path: a non-contiguous operand gives the same result as its
 * contiguous copy, and the temporary copy is freed.
 */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { type Tensor, activationBackward, adamStep_, getBackend, linear, memory, randn, sgdStep_, tensor, transpose, zeros } from '@kindling/core';

const SGD = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0.01, nesterov: true, maximize: false, firstStep: true };
const ADAM = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled: false, amsgrad: true, maximize: true, step: 1 };
const vals = (t: Tensor) => Array.from(t.dataSync());

describe('sgdStep_ and adamStep_', () => {
  it('refuse mismatched or missing state, naming the op and the operand', () => {
    const p = zeros([2, 3]);
    expect(() => sgdStep_(p, zeros([3, 2]), zeros([2, 3]), SGD)).toThrow(/sgdStep_: grad \[3, ?2\] does not match parameter \[2, ?3\]/);
    expect(() => sgdStep_(p, zeros([2, 3]), null, SGD)).toThrow(/sgdStep_: momentum 0.9 needs a momentum buffer/);
    expect(() => sgdStep_(p, zeros([2, 3], { dtype: 'int32' }), null, { ...SGD, momentum: 0 })).toThrow(/sgdStep_: grad .* has dtype int32/);
    expect(() => adamStep_(p, zeros([2, 3]), zeros([2, 3]), zeros([2, 3]), null, ADAM)).toThrow(/adamStep_: amsgrad needs a maxExpAvgSq buffer/);
    expect(() => adamStep_(p, zeros([2, 3]), zeros([3]), zeros([2, 3]), zeros([2, 3]), ADAM)).toThrow(/adamStep_: expAvg \[3\] does not match/);
    expect(() => adamStep_(p, zeros([2, 3]), zeros([2, 3]), zeros([2, 3]), zeros([2, 3]), { ...ADAM, step: 0 })).toThrow(/adamStep_: step must be an integer >= 1, got 0/);
  });

  // The kernels round in their own order (as the optimizer tests allow): agreement to float32 noise.
  it('agree through the fused kernel and the reference over three steps, state buffers included', () => {
    const caps = getBackend('cpu').capabilities();
    if (!caps.has('sgdStep') || !caps.has('adamStep')) {
      console.warn('cpu backend without fused optimizer kernels (KINDLING_CPU_FUSED=0?): only the reference runs');
    }
    const run = (fused: boolean) => {
      const grads = [0, 1, 2].map((i) => tensor(Float32Array.from({ length: 6 }, (_, j) => Math.sin(i * 6 + j)), { shape: [2, 3] }));
      const ps = tensor(Float32Array.from([1, -2, 3, -4, 5, -6]), { shape: [2, 3] });
      const pa = ps.clone();
      const buf = zeros([2, 3]);
      const [m, v, vmax] = [zeros([2, 3]), zeros([2, 3]), zeros([2, 3])];
      grads.forEach((g, i) => {
        sgdStep_(ps, g, buf, { ...SGD, firstStep: i === 0, fused });
        adamStep_(pa, g, m, v, vmax, { ...ADAM, step: i + 1, fused });
      });
      return [vals(ps), vals(buf), vals(pa), vals(m), vals(v), vals(vmax)];
    };
    const a = run(true).flat();
    const b = run(false).flat();
    expect(a.length).toBe(36);
    a.forEach((x, i) => expect(Math.abs(x - b[i]!)).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(b[i]!)));
  });
});

describe('runFused', () => {
  it('passes a non-contiguous operand as a contiguous copy and frees the copy', () => {
    const x = randn([5, 4]);
    const w = randn([3, 5]);
    const xt = transpose(x, 0, 1); // [4, 5], not contiguous
    const xc = xt.contiguous();
    const y = randn([4, 5]);
    const yt = transpose(y, 0, 1);
    const g = randn([5, 4]);
    const expected = [vals(linear(xc, w)), vals(activationBackward('sigmoid', yt.contiguous(), g))];
    const before = memory().numTensors;
    // Outside tidy(), so a copy left alive would show in the count.
    const outs = [linear(xt, w), activationBackward('sigmoid', yt, g)];
    expect(outs.map(vals)).toEqual(expected);
    for (const t of outs) t.dispose();
    expect(memory().numTensors).toBe(before);
  });
});
