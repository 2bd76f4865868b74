/**
 * Optimizer behaviour: param groups with their own lr, zeroGrad, validation, skipping params
 * without grads, fused vs composed paths agreeing (amsgrad, maximize, nesterov), stateDict /
 * loadStateDict resuming exactly, closures, and memory staying flat over steps.
 */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { type Tensor, getBackend, keep, memory, noGrad, randn, tensor, tidy } from '@kindling/core';
import { Linear, Parameter } from '@kindling/nn';
import { Adam, AdamW, RMSprop, SGD, optimizerFromTorch, type Optimizer } from '@kindling/optim';

const vals = (t: Tensor) => Array.from(t.dataSync());
const param = (v: number[]) => new Parameter(tensor(Float32Array.from(v)));
const setGrad = (p: Tensor, v: number[]) => (p.grad = keep(tensor(Float32Array.from(v))));

describe('optimizer basics', () => {
  it("uses the backend's fused kernels when it lists them, and not with fused: false", () => {
    const backend = getBackend('cpu') as unknown as Record<string, unknown> & ReturnType<typeof getBackend>;
    const caps = backend.capabilities();
    if (!caps.has('sgdStep') || !caps.has('adamStep')) {
      console.warn('cpu backend without fused optimizer kernels (KINDLING_CPU_FUSED=0?): only the composed path is exercised');
      return;
    }
    const calls = { sgdStep: 0, adamStep: 0 };
    const originals = { sgdStep: backend.sgdStep, adamStep: backend.adamStep };
    for (const k of ['sgdStep', 'adamStep'] as const) {
      backend[k] = function (this: unknown, ...args: unknown[]) {
        calls[k]++;
        return (originals[k] as (...a: unknown[]) => unknown).apply(this, args);
      };
    }
    try {
      for (const fused of [true, false]) {
        const a = param([1, 2]);
        const b = param([1, 2]);
        const opts = [new SGD([a], { lr: 0.1, momentum: 0.9, fused }), new Adam([b], { fused })];
        setGrad(a, [1, 1]);
        setGrad(b, [1, 1]);
        for (const o of opts) o.step();
      }
    } finally {
      backend.sgdStep = originals.sgdStep;
      backend.adamStep = originals.adamStep;
    }
    expect(calls).toEqual({ sgdStep: 1, adamStep: 1 });
  });

  it('param groups keep their own lr and hyperparameters', () => {
    const a = param([1, 1]);
    const b = param([1, 1]);
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.5, momentum: 0.9 }], { lr: 0.1 });
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum])).toEqual([[0.1, 0], [0.5, 0.9]]);
    setGrad(a, [1, 2]);
    setGrad(b, [1, 2]);
    opt.step();
    expect(vals(a)).toEqual([Math.fround(1 - 0.1), Math.fround(1 - 0.2)]);
    expect(vals(b)).toEqual([0.5, 0]);
    expect(opt.state.get(b)!.momentumBuffer).toBeDefined();
    expect(opt.state.get(a)?.momentumBuffer).toBeUndefined();
  });

  it('zeroGrad sets grads to null; parameters without grad are skipped', () => {
    const a = param([1]);
    const b = param([2]);
    const opt = new Adam([a, b], { lr: 0.1 });
    setGrad(a, [1]);
    opt.step();
    expect(vals(b)).toEqual([2]);
    expect(opt.state.has(b)).toBe(false);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
  });

  it('validates like torch', () => {
    const p = param([1]);
    expect(() => new SGD([p], {} as never)).toThrow(/lr is required/);
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/empty parameter list/);
    expect(() => new SGD([p], { lr: -1 })).toThrow(/Invalid learning rate/);
    expect(() => new SGD([p], { lr: 0.1, nesterov: true })).toThrow(/Nesterov momentum requires a momentum and zero dampening/);
    expect(() => new Adam([p], { betas: [1, 0.9] })).toThrow(/Invalid beta parameter at index 0/);
    expect(() => new SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 })).toThrow(/more than one parameter group/);
    expect(noGrad(() => p.mul(2)).isLeaf).toBe(true); // not recorded: a leaf
    expect(() => new SGD([p.mul(2)], { lr: 0.1 })).toThrow(/non-leaf/);
    expect(new AdamW([p]).paramGroups[0]!.weightDecay).toBe(0.01);
    expect(new Adam([param([0])]).defaults).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false });
    expect(new RMSprop([param([0])]).defaults).toMatchObject({ lr: 1e-2, alpha: 0.99, eps: 1e-8, momentum: 0, centered: false });
  });

  it('optimizerFromTorch maps snake_case param_groups and ignores implementation switches', () => {
    const o = optimizerFromTorch('AdamW', [param([1])], { lr: 0.01, betas: [0.8, 0.9], weight_decay: 0.5, foreach: false, capturable: false, fused: false });
    expect(o).toBeInstanceOf(AdamW);
    expect(o.paramGroups[0]).toMatchObject({ lr: 0.01, betas: [0.8, 0.9], weightDecay: 0.5, fused: true });
    expect(() => optimizerFromTorch('SGD', [param([1])], { lr: 0.1, betas: [0.9, 0.9] })).toThrow(/SGD has no hyperparameter 'betas'/);
    expect(() => optimizerFromTorch('LBFGS' as never, [param([1])], {})).toThrow(/unknown optimizer 'LBFGS'/);
  });

  it('step(closure) returns the closure’s loss', () => {
    const p = param([3]);
    const opt = new SGD([p], { lr: 0.1 });
    const loss = opt.step(() => {
      const l = p.mul(p).sum();
      l.backward();
      return l.itemSync();
    });
    expect(loss).toBe(9);
    expect(vals(p)[0]).toBeCloseTo(3 - 0.1 * 6, 6);
  });
});

describe('fused kernels and composed updates agree', () => {
  const configs: [string, (ps: Tensor[], fused: boolean) => Optimizer<any>][] = [
    ['SGD nesterov + wd + maximize', (ps, fused) => new SGD(ps, { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.01, maximize: true, fused })],
    ['SGD dampening', (ps, fused) => new SGD(ps, { lr: 0.05, momentum: 0.8, dampening: 0.3, fused })],
    ['Adam amsgrad + wd', (ps, fused) => new Adam(ps, { lr: 0.01, amsgrad: true, weightDecay: 0.1, fused })],
    ['AdamW maximize', (ps, fused) => new AdamW(ps, { lr: 0.01, maximize: true, fused })],
  ];
  for (const [name, make] of configs) {
    it(name, () => {
      const init = randn([5, 4]).dataSync();
      const grads = [0, 1, 2, 3].map(() => randn([5, 4]).dataSync());
      const run = (fused: boolean) => {
        const p = new Parameter(tensor(init, { shape: [5, 4] }));
        const opt = make([p], fused);
        for (const g of grads) {
          p.grad = keep(tensor(g, { shape: [5, 4] }));
          opt.step();
          opt.zeroGrad();
        }
        return vals(p);
      };
      const a = run(true);
      const b = run(false);
      a.forEach((x, i) => expect(Math.abs(x - b[i]!)).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(b[i]!)));
    });
  }
});

describe('stateDict / loadStateDict', () => {
  for (const [name, make] of [
    ['SGD momentum', (ps: Tensor[]) => new SGD(ps, { lr: 0.1, momentum: 0.9 })],
    ['Adam amsgrad', (ps: Tensor[]) => new Adam(ps, { lr: 0.01, amsgrad: true })],
    ['RMSprop centered momentum', (ps: Tensor[]) => new RMSprop(ps, { lr: 0.01, momentum: 0.5, centered: true })],
  ] as const) {
    it(`${name}: resuming from a stateDict continues exactly`, () => {
      const init = randn([3, 2]).dataSync();
      const grads = [0, 1, 2, 3].map(() => randn([3, 2]).dataSync());
      const stepWith = (opt: Optimizer<any>, p: Tensor, g: Float32Array | Int32Array | Uint8Array) => {
        p.grad = keep(tensor(g, { shape: [3, 2] }));
        opt.step();
        opt.zeroGrad();
      };
      // Uninterrupted run.
      const p1 = new Parameter(tensor(init, { shape: [3, 2] }));
      const o1 = make([p1]);
      for (const g of grads) stepWith(o1, p1, g);
      // Two steps, checkpoint, a fresh optimizer resumes.
      const p2 = new Parameter(tensor(init, { shape: [3, 2] }));
      const o2 = make([p2]);
      stepWith(o2, p2, grads[0]!);
      stepWith(o2, p2, grads[1]!);
      const sd = o2.stateDict();
      expect(sd.paramGroups[0]!.params).toEqual([0]);
      expect(Object.keys(sd.state)).toEqual(['0']);
      const o3 = make([p2]);
      o3.paramGroups[0]!.lr = 123; // overwritten by the checkpoint
      o3.loadStateDict(sd);
      expect(o3.paramGroups[0]!.lr).toBe(o2.paramGroups[0]!.lr);
      o2.dispose();
      stepWith(o3, p2, grads[2]!);
      stepWith(o3, p2, grads[3]!);
      expect(vals(p2)).toEqual(vals(p1));
    });
  }

  it('rejects a checkpoint with other groups', () => {
    const o = new SGD([param([1])], { lr: 0.1 });
    const other = new SGD([{ params: [param([1])] }, { params: [param([2])] }], { lr: 0.1 });
    expect(() => o.loadStateDict(other.stateDict())).toThrow(/different number of parameter groups/);
    const bigger = new SGD([param([1]), param([2])], { lr: 0.1 });
    expect(() => o.loadStateDict(bigger.stateDict())).toThrow(/doesn't match the size/);
  });
});

describe('memory', () => {
  it('a training loop with Adam keeps the number of live tensors flat', () => {
    const fc = new Linear(8, 4);
    const opt = new Adam(fc.parameters(), { lr: 1e-3, fused: false });
    const x = randn([16, 8]);
    const step = () =>
      tidy(() => {
        opt.zeroGrad();
        fc.call(x).square().mean().backward();
        opt.step();
      });
    step();
    const live = memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(memory().numTensors).toBe(live);
  });
});
