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
import { Tensor, KindlingError, enableGrad, fmtValue, keep, noGrad, tidy, to, zeros } from '@kindling/core';

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

/** The range a numeric option must lie in (requireNumber). */
export interface NumberRange {
  min?: number;
  max?: number;
  /** max itself is out of range (betas < 1). */
  maxOpen?: boolean;
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

  /**
   * Subclasses check a group's hyperparameters here (lr ≥ 0, betas in [0, 1), ...). It runs when a
   * group is added, before every step (groups are plain objects that code and schedulers edit) and
   * on loadStateDict, so a value that is not a finite number never reaches a kernel.
   */
  protected validateGroup(group: ParamGroup<H>): void {
    this.requireNumber(group, 'lr', 'learning rate', { min: 0 });
  }

  /**
   * Throws unless group[key] is a finite number in [min, max] (max excluded with maxOpen), with
   * PyTorch's wording ("Invalid momentum value: …") followed by the option and the rule it broke.
   */
  protected requireNumber(group: Record<string, unknown>, key: string, label: string, range: NumberRange = {}, value: unknown = group[key]): void {
    const { min = -Infinity, max = Infinity, maxOpen = false } = range;
    const v = value;
    if (typeof v === 'number' && Number.isFinite(v) && v >= min && (maxOpen ? v < max : v <= max)) return;
    const rule = [min > -Infinity ? `>= ${min}` : '', max < Infinity ? `${maxOpen ? '<' : '<='} ${max}` : ''].filter(Boolean).join(' and ');
    throw new KindlingError(this.constructor.name, `Invalid ${label}: ${fmtValue(v)} (option ${key} must be a finite number${rule ? ` ${rule}` : ''})`);
  }

  /** Throws unless group[key] is true or false (a string such as 'false' would read as true). */
  protected requireBoolean(group: Record<string, unknown>, key: string): void {
    const v = group[key];
    if (typeof v !== 'boolean') throw new KindlingError(this.constructor.name, `option ${key} must be true or false, got ${fmtValue(v)}`);
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
    for (const group of this.paramGroups) this.validateGroup(group);
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
    // Everything is checked before anything changes: a bad state dict (a checkpoint from a file,
    // say) leaves the optimizer as it was.
    const saved = sd?.paramGroups;
    if (!Array.isArray(saved)) throw new KindlingError('loadStateDict', `paramGroups must be an array, got ${fmtValue(saved)}`);
    if (saved.length !== this.paramGroups.length) {
      throw new KindlingError('loadStateDict', 'loaded state dict has a different number of parameter groups');
    }
    const byIndex = new Map<number, Tensor>();
    const merged = saved.map((sg, i) => {
      if (typeof sg !== 'object' || sg === null || !Array.isArray(sg.params)) {
        throw new KindlingError('loadStateDict', `param group ${i} must be an object with a params array, got ${fmtValue(sg)}`);
      }
      const group = this.paramGroups[i]!;
      if (sg.params.length !== group.params.length) {
        throw new KindlingError('loadStateDict', "loaded state dict contains a parameter group that doesn't match the size of optimizer's group");
      }
      sg.params.forEach((idx, j) => {
        if (!Number.isSafeInteger(idx) || idx < 0) throw new KindlingError('loadStateDict', `param group ${i}: parameter index ${fmtValue(idx)} is not an index`);
        // Listed twice, one parameter would get another's state (of another shape).
        if (byIndex.has(idx)) throw new KindlingError('loadStateDict', `param group ${i}: parameter index ${idx} appears more than once`);
        byIndex.set(idx, group.params[j]!);
      });
      const { params: _ignored, ...hyper } = sg;
      void _ignored;
      const m = { ...group, ...structuredCloneHyper(hyper), params: group.params } as ParamGroup<H>;
      try {
        this.validateGroup(m);
      } catch (e) {
        throw new KindlingError('loadStateDict', `param group ${i}: ${(e as Error).message}`);
      }
      return m;
    });
    const states = sd.state;
    if (typeof states !== 'object' || states === null) throw new KindlingError('loadStateDict', `state must be an object, got ${fmtValue(states)}`);
    const loaded: [Tensor, [string, Tensor | number][]][] = [];
    for (const [k, s] of Object.entries(states)) {
      if (!/^(0|[1-9]\d*)$/.test(k)) throw new KindlingError('loadStateDict', `state key ${JSON.stringify(k)} is not a parameter index`);
      const p = byIndex.get(Number(k));
      if (!p) continue;
      if (typeof s !== 'object' || s === null) throw new KindlingError('loadStateDict', `state ${k} must be an object, got ${fmtValue(s)}`);
      const entries = Object.entries(s);
      for (const [key, v] of entries) {
        if (v instanceof Tensor) continue;
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw new KindlingError('loadStateDict', `state ${k}.${key} must be a tensor or a finite number, got ${fmtValue(v)}`);
        }
      }
      loaded.push([p, entries]);
    }
    // Free the current state, then install copies of the saved one.
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor && !isSaved(sd, v)) v.dispose();
    this.state.clear();
    for (const [p, entries] of loaded) {
      // Null prototype: a key such as "__proto__" from a file stays an ordinary key.
      const ns: ParamState = Object.create(null) as ParamState;
      for (const [key, v] of entries) {
        ns[key] = v instanceof Tensor ? keep(noGrad(() => (v.device === p.device ? v.clone() : to(v, p.device)))) : v;
      }
      this.state.set(p, ns);
    }
    // Own data properties, not Object.assign: a "__proto__" key from a file must not become the prototype.
    merged.forEach((m, i) => {
      for (const [k, v] of Object.entries(m)) Object.defineProperty(this.paramGroups[i]!, k, { value: v, writable: true, enumerable: true, configurable: true });
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
