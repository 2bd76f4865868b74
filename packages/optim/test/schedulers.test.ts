/**
 * LR schedulers against torch's closed forms (written out independently here):
 *   StepLR             lr₀·γ^⌊t/s⌋
 *   MultiStepLR        lr₀·γ^(#milestones ≤ t)
 *   CosineAnnealingLR  ηmin + (lr₀ − ηmin)(1 + cos(πt/T))/2           (periodic past T)
 *   LinearLR           lr₀·(f₀ + (f₁ − f₀)·min(t, n)/n)
 *   OneCycleLR         cos/linear annealing initial→max over pct·N − 1 steps, then max→min;
 *                      momentum (or β1) annealed max→base→max; three-phase variant
 * plus spot values, several groups, getLastLr, step(epoch) and stateDict resume.
 */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { tensor } from '@kindling/core';
import { Parameter } from '@kindling/nn';
import {
  Adam, CosineAnnealingLR, LinearLR, MultiStepLR, OneCycleLR, SGD, StepLR, type LRScheduler, type Optimizer,
} from '@kindling/optim';

const p = () => new Parameter(tensor(Float32Array.from([0])));
const sgd = (lr = 0.1, momentum = 0) => new SGD([{ params: [p()] }, { params: [p()], lr: lr * 2 }], { lr, momentum });

/** lrs of every group after each of `n` steps (index t = lr used in epoch t). */
function trace(opt: Optimizer<any>, sched: LRScheduler, n: number): number[][] {
  const out: number[][] = [];
  for (let t = 0; t < n; t++) {
    out.push(opt.paramGroups.map((g) => g.lr));
    expect(sched.getLastLr()).toEqual(opt.paramGroups.map((g) => g.lr));
    opt.step();
    sched.step();
  }
  return out;
}

function expectTrace(actual: number[][], closed: (base: number, t: number) => number, bases: number[]): void {
  actual.forEach((lrs, t) => lrs.forEach((lr, i) => expect(lr, `t=${t} group ${i}`).toBeCloseTo(closed(bases[i]!, t), 12)));
}

describe('schedulers follow the closed forms', () => {
  it('StepLR', () => {
    const opt = sgd();
    const s = new StepLR(opt, 3, { gamma: 0.5 });
    expectTrace(trace(opt, s, 12), (b, t) => b * 0.5 ** Math.floor(t / 3), [0.1, 0.2]);
  });

  it('MultiStepLR (a repeated milestone applies gamma twice)', () => {
    const opt = sgd();
    const s = new MultiStepLR(opt, [5, 2, 5], { gamma: 0.1 });
    const ms = [2, 5, 5];
    expectTrace(trace(opt, s, 8), (b, t) => b * 0.1 ** ms.filter((m) => m <= t).length, [0.1, 0.2]);
  });

  it('CosineAnnealingLR, including past T_max', () => {
    const opt = sgd();
    const s = new CosineAnnealingLR(opt, 10, { etaMin: 0.001 });
    const lrs = trace(opt, s, 35);
    expectTrace(lrs, (b, t) => 0.001 + ((b - 0.001) * (1 + Math.cos((Math.PI * t) / 10))) / 2, [0.1, 0.2]);
    expect(lrs[5]![0]).toBeCloseTo(0.0505, 12);
    expect(lrs[10]![0]).toBeCloseTo(0.001, 12);
  });

  it('LinearLR', () => {
    const opt = sgd();
    const s = new LinearLR(opt, { startFactor: 0.25, endFactor: 1, totalIters: 4 });
    expectTrace(trace(opt, s, 8), (b, t) => b * (0.25 + (0.75 * Math.min(t, 4)) / 4), [0.1, 0.2]);
    expect(() => new LinearLR(sgd(), { startFactor: 0 })).toThrow(/greater than 0/);
  });

  it('OneCycleLR with SGD: lr and momentum, torch defaults', () => {
    const opt = sgd(0.1, 0.9);
    const N = 20;
    const s = new OneCycleLR(opt, [1, 2], { totalSteps: N });
    const cos = (a: number, b: number, pct: number) => b + ((a - b) / 2) * (Math.cos(Math.PI * pct) + 1);
    const up = 0.3 * N - 1;
    for (let t = 0; t < N; t++) {
      opt.paramGroups.forEach((g, i) => {
        const max = [1, 2][i]!;
        const initial = max / 25;
        const min = initial / 1e4;
        const [lr, m] =
          t <= up
            ? [cos(initial, max, t / up), cos(0.95, 0.85, t / up)]
            : [cos(max, min, (t - up) / (N - 1 - up)), cos(0.85, 0.95, (t - up) / (N - 1 - up))];
        expect(g.lr, `lr t=${t}`).toBeCloseTo(lr, 12);
        expect(g.momentum as number, `momentum t=${t}`).toBeCloseTo(m, 12);
      });
      opt.step();
      s.step();
    }
    expect(() => s.step()).toThrow(/Tried to step 22 times. The specified number of total steps is 20/);
  });

  it('OneCycleLR spot values, linear and three-phase; Adam cycles β1', () => {
    const opt = new Adam([p()], { lr: 1 });
    const s = new OneCycleLR(opt, 0.1, { totalSteps: 10, annealStrategy: 'linear', threePhase: true });
    const seen: [number, number][] = [];
    for (let t = 0; t < 10; t++) {
      const g = opt.paramGroups[0]!;
      seen.push([g.lr, (g.betas as number[])[0]!]);
      expect((g.betas as number[])[1]).toBe(0.999);
      s.step();
    }
    // phases end at 2, 4, 9: 0.004 → 0.1 → 0.004 → 4e-7 (linear); β1 0.95 → 0.85 → 0.95 → 0.95
    const lr = seen.map(([l]) => l);
    const b1 = seen.map(([, b]) => b);
    const expectedLr = [0.004, 0.052, 0.1, 0.052, 0.004, 0.004 - 0.2 * (0.004 - 4e-7), 0, 0, 0, 4e-7];
    expectedLr[6] = 0.004 - 0.4 * (0.004 - 4e-7);
    expectedLr[7] = 0.004 - 0.6 * (0.004 - 4e-7);
    expectedLr[8] = 0.004 - 0.8 * (0.004 - 4e-7);
    lr.forEach((v, i) => expect(v, `lr ${i}`).toBeCloseTo(expectedLr[i]!, 12));
    [0.95, 0.9, 0.85, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95].forEach((v, i) => expect(b1[i], `beta1 ${i}`).toBeCloseTo(v, 12));
    expect(() => new OneCycleLR(new SGD([p()], { lr: 1 }), 1)).toThrow(/totalSteps OR/);
  });
});

describe('scheduler state', () => {
  it('step(epoch) uses the closed form; stateDict resumes the schedule', () => {
    const opt = sgd();
    const s = new StepLR(opt, 2, { gamma: 0.1 });
    s.step(5);
    expect(opt.paramGroups[0]!.lr).toBeCloseTo(0.1 * 0.01, 15);
    const opt2 = sgd();
    const a = new CosineAnnealingLR(opt2, 8);
    for (let i = 0; i < 3; i++) a.step();
    const sd = a.stateDict();
    expect(sd.lastEpoch).toBe(3);
    const opt3 = sgd();
    const b = new CosineAnnealingLR(opt3, 8);
    b.loadStateDict(sd);
    opt3.paramGroups.forEach((g, i) => (g.lr = opt2.paramGroups[i]!.lr));
    a.step();
    b.step();
    expect(b.getLastLr()).toEqual(a.getLastLr());
  });

  it('lastEpoch ≠ −1 requires initialLr in the groups', () => {
    expect(() => new StepLR(sgd(), 2, { lastEpoch: 3 })).toThrow(/initialLr/);
  });
});
