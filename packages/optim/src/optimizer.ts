/**
 * Optimizer: the base of SGD, Adam, AdamW and RMSprop (torch.optim.Optimizer).
 *
 * - `paramGroups`: each group has its own `params` and hyperparameters (`lr`, `momentum`, ...);
 *   missing ones come from the optimizer's defaults. Schedulers change `group.lr` between steps.
 * - `state`: per parameter, the step count and buffers (momentum, Adam moments). State tensors
 *   are kept out of every tidy() scope.
 * - `step()` updates the parameters in place under noGrad; `zeroGrad()` sets grads to null
 *   (torch ≥ 2's set_to_none=True default) and frees them.
 * - `stateDict()` / `loadStateDict()` capture groups and state so training can resume.
 */
import { Tensor, KindlingError, enableGrad, keep, noGrad, tidy, to, zeros } from '@kindling/core';

/** What a group holds besides its parameters: the optimizer's hyperparameters (plus scheduler keys). */
export interface GroupHyper {
  lr: number;
  [key: string]: unknown;
}

/** A parameter group as it lives in `optimizer.paramGroups`. */
export type ParamGroup<H extends GroupHyper = GroupHyper> = H & { params: Tensor[] };

/** A group as passed to a constructor: params plus any hyperparameters to override. */
export type ParamGroupInput<H extends GroupHyper = GroupHyper> = { params: Iterable<Tensor> } & Partial<H>;

/** Parameters as passed to a constructor: one flat list, or groups with their own options. */
export type Params<H extends GroupHyper = GroupHyper> = Iterable<Tensor> | readonly ParamGroupInput<H>[];

/** A parameter's state: numbers (step) and tensors (buffers). */
export type ParamState = Record<string, Tensor | number>;

export interface OptimizerStateDict {
  /** Per parameter index (counted across groups in order): its state. */
  state: Record<number, ParamState>;
  /** Each group's hyperparameters with `params` as parameter indices. */
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

function isGroupList<H extends GroupHyper>(p: Params<H>): p is readonly ParamGroupInput<H>[] {
  if (!Array.isArray(p) || p.length === 0) return false;
  const first: unknown = p[0];
  return !(first instanceof Tensor) && typeof first === 'object' && first !== null && 'params' in first;
}

export abstract class Optimizer<H extends GroupHyper = GroupHyper> {
  readonly defaults: H;
  readonly paramGroups: ParamGroup<H>[] = [];
  readonly state = new Map<Tensor, ParamState>();

  constructor(params: Params<H>, defaults: H) {
    this.defaults = defaults;
    if (params instanceof Tensor) {
      throw new TypeError('params argument given to the optimizer should be an iterable of Tensors or objects with params, but got a Tensor');
    }
    const groups: ParamGroupInput<H>[] = isGroupList(params)
      ? [...params]
      : [{ params: [...(params as Iterable<Tensor>)] } as unknown as ParamGroupInput<H>];
    if (groups.length === 0 || (groups.length === 1 && [...groups[0]!.params].length === 0)) {
      throw new KindlingError(this.constructor.name, 'optimizer got an empty parameter list');
    }
    for (const g of groups) this.addParamGroup(g);
  }

  /** Adds a group (e.g. layers unfrozen during fine-tuning); unspecified options take the defaults. */
  addParamGroup(group: ParamGroupInput<H>): void {
    if (group.params instanceof Tensor) {
      throw new TypeError('optimizer parameters need to be organized in ordered collections, but the group params is a Tensor');
    }
    const params = [...group.params];
    for (const p of params) {
      if (!(p instanceof Tensor)) throw new TypeError(`optimizer can only optimize Tensors, but one of the params is ${typeof p}`);
      if (!p.isLeaf) throw new KindlingError(this.constructor.name, "can't optimize a non-leaf Tensor");
    }
    if (new Set(params).size !== params.length) {
      console.warn(`${this.constructor.name}: a parameter group contains duplicate parameters; they are used once`);
    }
    const unique = [...new Set(params)];
    const existing = new Set(this.paramGroups.flatMap((g) => g.params));
    if (unique.some((p) => existing.has(p))) {
      throw new KindlingError(this.constructor.name, 'some parameters appear in more than one parameter group');
    }
    const g = { ...this.defaults, ...group, params: unique } as ParamGroup<H>;
    this.validateGroup(g);
    this.paramGroups.push(g);
  }

  /** Subclasses check a group's hyperparameters here (lr ≥ 0, betas in [0, 1), ...). */
  protected validateGroup(group: ParamGroup<H>): void {
    if (typeof group.lr !== 'number' || !(group.lr >= 0)) throw new KindlingError(this.constructor.name, `Invalid learning rate: ${String(group.lr)}`);
  }

  /** Clears gradients: null (and freed) by default, zero-filled in place with setToNone = false. */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const grad = p.grad;
        if (!grad) continue;
        if (setToNone) {
          p.grad = null;
          if (!grad.isDisposed) grad.dispose();
        } else if (!grad.isDisposed) noGrad(() => grad.zero_());
      }
    }
  }

  /**
   * One update of every parameter that has a gradient. With a closure (which recomputes the
   * loss, run with grad enabled), returns its result.
   */
  step<T = undefined>(closure?: () => T): T | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const grad = p.grad;
          if (!grad) continue;
          grad.assertAlive('step');
          if (grad.device !== p.device) throw new KindlingError('step', `gradient on ${grad.device} for a parameter on ${p.device}`);
          let state = this.state.get(p);
          if (!state) {
            state = {};
            this.state.set(p, state);
          }
          const s = state;
          tidy(() => this.updateParam(p, grad, s, group));
        }
      }
    });
    return loss;
  }

  /** Updates one parameter in place (runs under noGrad inside a tidy scope). */
  protected abstract updateParam(p: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<H>): void;

  /** A state buffer: zeros like p, created on first use and kept out of tidy scopes. */
  protected buffer(state: ParamState, key: string, p: Tensor): Tensor {
    let b = state[key];
    if (!(b instanceof Tensor)) {
      b = keep(zeros(p.shape, { device: p.device }));
      state[key] = b;
    }
    return b;
  }

  /** Groups (with params as indices) and per-index state; tensors are the live state (no copies). */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      return {
        ...structuredCloneHyper(hyper),
        params: params.map((p) => {
          if (!index.has(p)) index.set(p, index.size);
          return index.get(p)!;
        }),
      };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined) state[i] = { ...s };
    }
    return { state, paramGroups };
  }

  /**
   * Restores groups' hyperparameters and per-parameter state (tensors are copied onto each
   * parameter's device). The number of groups and their sizes must match.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const saved = sd.paramGroups;
    if (saved.length !== this.paramGroups.length) {
      throw new KindlingError('loadStateDict', 'loaded state dict has a different number of parameter groups');
    }
    saved.forEach((sg, i) => {
      if (sg.params.length !== this.paramGroups[i]!.params.length) {
        throw new KindlingError('loadStateDict', "loaded state dict contains a parameter group that doesn't match the size of optimizer's group");
      }
    });
    const byIndex = new Map<number, Tensor>();
    saved.forEach((sg, i) => sg.params.forEach((idx, j) => byIndex.set(idx, this.paramGroups[i]!.params[j]!)));
    // Free the current state, then install copies of the saved one.
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor && !isSaved(sd, v)) v.dispose();
    this.state.clear();
    for (const [k, s] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(k));
      if (!p) continue;
      const ns: ParamState = {};
      for (const [key, v] of Object.entries(s)) {
        ns[key] = v instanceof Tensor ? keep(noGrad(() => (v.device === p.device ? v.clone() : to(v, p.device)))) : v;
      }
      this.state.set(p, ns);
    }
    saved.forEach((sg, i) => {
      const { params: _ignored, ...hyper } = sg;
      void _ignored;
      const g = this.paramGroups[i]!;
      Object.assign(g, structuredCloneHyper(hyper));
    });
  }

  /** Frees every state tensor. */
  dispose(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }
}

function isSaved(sd: OptimizerStateDict, t: Tensor): boolean {
  return Object.values(sd.state).some((s) => Object.values(s).includes(t));
}

/** Copies hyperparameters (arrays such as betas are copied, not shared). */
function structuredCloneHyper(h: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? [...(v as unknown[])] : v]));
}
