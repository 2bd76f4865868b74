/**
 * Learning-rate schedulers (torch.optim.lr_scheduler, 1.13 semantics). Call `scheduler.step()`
 * once per epoch (or per batch for OneCycleLR) after `optimizer.step()`.
 *
 * Each scheduler computes the new lr of every group from its current lr (PyTorch's recursive,
 * "chainable" get_lr), which equals the closed form when it is the only scheduler. The closed
 * forms, with t = lastEpoch and lr₀ = the group's initial lr:
 *
 *   StepLR             lr₀ · γ^⌊t / stepSize⌋
 *   MultiStepLR        lr₀ · γ^(number of milestones ≤ t)
 *   CosineAnnealingLR  ηmin + (lr₀ − ηmin) · (1 + cos(π·t / Tmax)) / 2
 *   LinearLR           lr₀ · (startFactor + (endFactor − startFactor) · min(t, totalIters) / totalIters)
 *   OneCycleLR         phases annealed from initialLr = maxLr/divFactor up to maxLr (pctStart of
 *                      the steps) then down to initialLr/finalDivFactor, by cosine or linearly;
 *                      momentum (or β1) cycles the other way between maxMomentum and baseMomentum.
 *
 * Constructing a scheduler performs its step 0 (so lr becomes the t = 0 value), as in PyTorch.
 * Subclasses written by users must call `this.initialStep()` at the end of their constructor
 * (JS cannot set fields before super(), which is where PyTorch does it).
 */
import { KindlingError, fmtValue } from '@kindling/core';
import type { Optimizer, GroupHyper } from './optimizer.js';

type AnyOptimizer = Optimizer<GroupHyper>;

export interface SchedulerStateDict {
  [key: string]: unknown;
}

export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** The groups' lrs when the schedule started (their `initialLr`). */
  baseLrs: number[];
  /** The number of step() calls so far minus one (−1 before the initial step). */
  lastEpoch: number;
  protected stepCount = 0;
  protected lastLr: number[] = [];

  constructor(optimizer: Optimizer<any>, lastEpoch = -1) {
    this.optimizer = optimizer as AnyOptimizer;
    const groups = this.optimizer.paramGroups;
    if (lastEpoch === -1) {
      for (const g of groups) if (g.initialLr === undefined) g.initialLr = g.lr;
    } else {
      groups.forEach((g, i) => {
        if (g.initialLr === undefined) {
          throw new KindlingError(this.constructor.name, `param 'initialLr' is not specified in paramGroups[${i}] when resuming an optimizer`);
        }
      });
    }
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** Step 0: subclasses call this at the end of their constructor. */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The new lr of each group from the current ones (PyTorch's get_lr). */
  protected abstract getLr(): number[];

  /** The lr of each group at lastEpoch from the closed form, when there is one. */
  protected closedFormLr?(): number[];

  /**
   * Advances the schedule by one and writes the new lrs into the groups. Passing an epoch
   * jumps there (uses the closed form when there is one; deprecated in PyTorch too).
   */
  step(epoch?: number): void {
    this.stepCount++;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch++;
      values = this.getLr();
    } else {
      this.lastEpoch = epoch;
      values = this.closedFormLr ? this.closedFormLr() : this.getLr();
    }
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = values[i]!));
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The lrs set by the last step() (PyTorch's get_last_lr()). */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** Every field but the optimizer: enough to resume the schedule. */
  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    for (const [k, v] of Object.entries(this)) {
      if (k === 'optimizer') continue;
      out[k] = Array.isArray(v) ? [...(v as unknown[])] : v;
    }
    return out;
  }

  /**
   * Restores what stateDict() gave. The dict may come from a file, so every key must be one of
   * this scheduler's own fields and every value shaped like the field's current one (see
   * sameShape); all are checked before any is set.
   */
  loadStateDict(sd: SchedulerStateDict): void {
    const op = `${this.constructor.name}.loadStateDict`;
    if (!isPlainObject(sd)) throw new KindlingError(op, `expected a state dict object, got ${fmtValue(sd)}`);
    const self = this as unknown as Record<string, unknown>;
    const entries = Object.entries(sd).filter(([k]) => k !== 'optimizer');
    for (const [k, v] of entries) {
      if (!Object.prototype.hasOwnProperty.call(this, k)) throw new KindlingError(op, `unknown state key ${JSON.stringify(k)}`);
      const bad = sameShape(self[k], v, k);
      if (bad) throw new KindlingError(op, bad);
    }
    for (const [k, v] of entries) self[k] = Array.isArray(v) ? [...(v as unknown[])] : v;
  }

  protected currentLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
}

/** Multiplies the lr by gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer<any>, stepSize: number, opts: { gamma?: number; lastEpoch?: number } = {}) {
    super(optimizer, opts.lastEpoch ?? -1);
    this.stepSize = stepSize;
    this.gamma = opts.gamma ?? 0.1;
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.currentLrs();
    return this.currentLrs().map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** Multiplies the lr by gamma at each milestone epoch (a repeated milestone applies gamma again). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;

  constructor(optimizer: Optimizer<any>, milestones: readonly number[], opts: { gamma?: number; lastEpoch?: number } = {}) {
    super(optimizer, opts.lastEpoch ?? -1);
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.gamma = opts.gamma ?? 0.1;
    this.initialStep();
  }

  protected getLr(): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (hits === 0) return this.currentLrs();
    return this.currentLrs().map((lr) => lr * this.gamma ** hits);
  }

  protected override closedFormLr(): number[] {
    const passed = this.milestones.filter((m) => m <= this.lastEpoch).length;
    return this.baseLrs.map((b) => b * this.gamma ** passed);
  }
}

/** Cosine annealing from the initial lr down to etaMin over tMax epochs (then back up, periodically). */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer<any>, tMax: number, opts: { etaMin?: number; lastEpoch?: number } = {}) {
    super(optimizer, opts.lastEpoch ?? -1);
    this.tMax = tMax;
    this.etaMin = opts.etaMin ?? 0;
    this.initialStep();
  }

  protected getLr(): number[] {
    const t = this.lastEpoch;
    const T = this.tMax;
    const lrs = this.currentLrs();
    if (t === 0) return lrs;
    if (this.stepCount === 1 && t > 0) {
      return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((t * Math.PI) / T))) / 2);
    }
    if ((t - 1 - T) % (2 * T) === 0) {
      return lrs.map((lr, i) => lr + ((this.baseLrs[i]! - this.etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return lrs.map(
      (lr) => ((1 + Math.cos((Math.PI * t) / T)) / (1 + Math.cos((Math.PI * (t - 1)) / T))) * (lr - this.etaMin) + this.etaMin,
    );
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2);
  }
}

/** Scales the lr linearly from startFactor to endFactor over totalIters steps. */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: Optimizer<any>, opts: { startFactor?: number; endFactor?: number; totalIters?: number; lastEpoch?: number } = {}) {
    super(optimizer, opts.lastEpoch ?? -1);
    this.startFactor = opts.startFactor ?? 1 / 3;
    this.endFactor = opts.endFactor ?? 1;
    this.totalIters = opts.totalIters ?? 5;
    if (this.startFactor > 1 || this.startFactor <= 0) {
      throw new KindlingError('LinearLR', 'Starting multiplicative factor expected to be greater than 0 and less or equal to 1.');
    }
    if (this.endFactor > 1 || this.endFactor < 0) {
      throw new KindlingError('LinearLR', 'Ending multiplicative factor expected to be between 0 and 1.');
    }
    this.initialStep();
  }

  protected getLr(): number[] {
    const lrs = this.currentLrs();
    if (this.lastEpoch === 0) return lrs.map((lr) => lr * this.startFactor);
    if (this.lastEpoch > this.totalIters) return lrs;
    const d = this.endFactor - this.startFactor;
    return lrs.map((lr) => lr * (1 + d / (this.totalIters * this.startFactor + (this.lastEpoch - 1) * d)));
  }

  protected override closedFormLr(): number[] {
    const f = this.startFactor + ((this.endFactor - this.startFactor) * Math.min(this.totalIters, this.lastEpoch)) / this.totalIters;
    return this.baseLrs.map((b) => b * f);
  }
}

export interface OneCycleLROptions {
  /** Total steps of the cycle; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the lr (default 0.3). */
  pctStart?: number;
  /** 'cos' (default) or 'linear'. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD's momentum, Adam's β1) inversely to the lr (default true). */
  cycleMomentum?: boolean;
  baseMomentum?: number | readonly number[];
  maxMomentum?: number | readonly number[];
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Use a third phase that anneals to minLr after returning to initialLr (default false). */
  threePhase?: boolean;
  lastEpoch?: number;
}

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

/** The 1cycle policy (Smith & Topin), stepped once per batch. */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly annealStrategy: 'cos' | 'linear';
  readonly cycleMomentum: boolean;
  readonly useBeta1: boolean;
  private readonly phases: Phase[];

  constructor(optimizer: Optimizer<any>, maxLr: number | readonly number[], opts: OneCycleLROptions = {}) {
    const opt = optimizer as AnyOptimizer;
    const groups = opt.paramGroups;
    const perGroup = (name: string, v: number | readonly number[]): number[] => {
      if (typeof v === 'number') return groups.map(() => v);
      if (v.length !== groups.length) throw new KindlingError('OneCycleLR', `expected ${groups.length} values for ${name}, got ${v.length}`);
      return [...v];
    };
    let totalSteps: number;
    if (opts.totalSteps !== undefined) {
      if (!(Number.isInteger(opts.totalSteps) && opts.totalSteps > 0)) throw new KindlingError('OneCycleLR', `Expected positive integer total_steps, but got ${opts.totalSteps}`);
      totalSteps = opts.totalSteps;
    } else if (opts.epochs !== undefined && opts.stepsPerEpoch !== undefined) {
      if (!(Number.isInteger(opts.epochs) && opts.epochs > 0)) throw new KindlingError('OneCycleLR', `Expected positive integer epochs, but got ${opts.epochs}`);
      if (!(Number.isInteger(opts.stepsPerEpoch) && opts.stepsPerEpoch > 0)) throw new KindlingError('OneCycleLR', `Expected positive integer steps_per_epoch, but got ${opts.stepsPerEpoch}`);
      totalSteps = opts.epochs * opts.stepsPerEpoch;
    } else {
      throw new KindlingError('OneCycleLR', 'You must define either totalSteps OR (epochs AND stepsPerEpoch)');
    }
    const pctStart = opts.pctStart ?? 0.3;
    if (!(pctStart >= 0 && pctStart <= 1)) throw new KindlingError('OneCycleLR', `Expected float between 0 and 1 pct_start, but got ${pctStart}`);
    const anneal = opts.annealStrategy ?? 'cos';
    if (anneal !== 'cos' && anneal !== 'linear') throw new KindlingError('OneCycleLR', `anneal_strategy must by one of 'cos' or 'linear', instead got ${String(anneal)}`);
    const lastEpoch = opts.lastEpoch ?? -1;
    const divFactor = opts.divFactor ?? 25;
    const finalDivFactor = opts.finalDivFactor ?? 1e4;
    if (lastEpoch === -1) {
      perGroup('maxLr', maxLr).forEach((m, i) => {
        const g = groups[i]!;
        g.initialLr = m / divFactor;
        g.maxLr = m;
        g.minLr = (g.initialLr as number) / finalDivFactor;
      });
    }
    const cycleMomentum = opts.cycleMomentum ?? true;
    let useBeta1 = false;
    if (cycleMomentum) {
      if (!('momentum' in opt.defaults) && !('betas' in opt.defaults)) {
        throw new KindlingError('OneCycleLR', 'optimizer must support momentum or beta1 with `cycleMomentum` option enabled');
      }
      useBeta1 = 'betas' in opt.defaults;
      const maxM = perGroup('maxMomentum', opts.maxMomentum ?? 0.95);
      const baseM = perGroup('baseMomentum', opts.baseMomentum ?? 0.85);
      if (lastEpoch === -1) {
        groups.forEach((g, i) => {
          if (useBeta1) g.betas = [maxM[i]!, (g.betas as number[])[1]!];
          else g.momentum = maxM[i]!;
          g.maxMomentum = maxM[i]!;
          g.baseMomentum = baseM[i]!;
        });
      }
    }
    super(optimizer, lastEpoch);
    this.totalSteps = totalSteps;
    this.annealStrategy = anneal;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this.phases = opts.threePhase
      ? [
          { endStep: pctStart * totalSteps - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: 2 * pctStart * totalSteps - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
          { endStep: totalSteps - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
        ]
      : [
          { endStep: pctStart * totalSteps - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: totalSteps - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        ];
    this.initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'linear') return (end - start) * pct + start;
    return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new KindlingError('OneCycleLR', `Tried to step ${stepNum + 1} times. The specified number of total steps is ${this.totalSteps}`);
    }
    return this.optimizer.paramGroups.map((g) => {
      let start = 0;
      let lr = 0;
      let momentum = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const ph = this.phases[i]!;
        if (stepNum <= ph.endStep || i === this.phases.length - 1) {
          const pct = (stepNum - start) / (ph.endStep - start);
          lr = this.anneal(g[ph.startLr] as number, g[ph.endLr] as number, pct);
          if (this.cycleMomentum) momentum = this.anneal(g[ph.startMomentum] as number, g[ph.endMomentum] as number, pct);
          break;
        }
        start = ph.endStep;
      }
      if (this.cycleMomentum) {
        if (this.useBeta1) g.betas = [momentum, (g.betas as number[])[1]!];
        else g.momentum = momentum;
      }
      return lr;
    });
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Why `v` (from a file) cannot replace `cur`, or '' when it can: numbers must be finite numbers,
 * strings, booleans and null stay what they are, arrays hold elements shaped like the current
 * ones (the first, past the current length), and objects have only keys the current one has, each
 * value shaped like its own ("__proto__" is then an unknown key).
 */
function sameShape(cur: unknown, v: unknown, path: string): string {
  if (typeof cur === 'number') return typeof v === 'number' && Number.isFinite(v) ? '' : `state ${path} must be a finite number, got ${fmtValue(v)}`;
  if (Array.isArray(cur)) {
    if (!Array.isArray(v)) return `state ${path} must be an array, got ${fmtValue(v)}`;
    for (let i = 0; i < v.length; i++) {
      const like = i < cur.length ? cur[i] : cur[0];
      const bad = like === undefined ? (typeof v[i] === 'number' && Number.isFinite(v[i]) ? '' : `state ${path}[${i}] must be a finite number, got ${fmtValue(v[i])}`) : sameShape(like, v[i], `${path}[${i}]`);
      if (bad) return bad;
    }
    return '';
  }
  if (isPlainObject(cur)) {
    if (!isPlainObject(v)) return `state ${path} must be an object, got ${fmtValue(v)}`;
    for (const [k, x] of Object.entries(v)) {
      if (!Object.prototype.hasOwnProperty.call(cur, k)) return `unknown state key ${JSON.stringify(`${path}.${k}`)}`;
      const bad = sameShape(cur[k], x, `${path}.${k}`);
      if (bad) return bad;
    }
    return '';
  }
  const kind = (x: unknown) => (x === null ? 'null' : typeof x);
  return kind(v) === kind(cur) ? '' : `state ${path} must be ${kind(cur) === 'null' ? 'null' : `a ${kind(cur)}`}, got ${fmtValue(v)}`;
}
