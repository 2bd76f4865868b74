import { Tensor, KindlingError } from '@kindling/core';
import { Module } from '../module.js';
import { isSelfContained } from '../ownership.js';

/** Named entries for Sequential: a Map or [name, module] pairs keep any order; a plain object orders integer-like keys first (JS rule). */
export type NamedModules = ReadonlyMap<string, Module> | readonly (readonly [string, Module])[] | Readonly<Record<string, Module>>;

function isNamedEntries(x: unknown): x is NamedModules {
  return !(x instanceof Module) && typeof x === 'object' && x !== null;
}

function entriesOf(named: NamedModules): [string, Module][] {
  if (named instanceof Map) return [...named.entries()];
  if (Array.isArray(named)) return named.map(([k, v]) => [k, v] as [string, Module]);
  return Object.entries(named as Record<string, Module>);
}

/** Python-style index (negative counts from the end), validated. */
function normIndex(op: string, i: number, n: number): number {
  if (!Number.isInteger(i) || i < -n || i >= n) throw new KindlingError(op, `index ${i} is out of range`);
  return i < 0 ? i + n : i;
}

/**
 * Runs its children in order (torch.nn.Sequential). Positional modules are named '0', '1', ...;
 * named entries (PyTorch's OrderedDict form) keep their names:
 *
 *     new Sequential(new Conv2d(1, 6, 5), new ReLU())
 *     new Sequential(new Map([['conv', new Conv2d(1, 6, 5)], ['relu', new ReLU()]]))
 *
 * `seq.at(i)`, `seq.length`, `for (const m of seq)` and `seq[0]` (numeric keys) work as torch's
 * indexing and iteration.
 */
export class Sequential extends Module {
  readonly [index: number]: Module;

  constructor(...modules: Module[]);
  constructor(named: NamedModules);
  constructor(...args: (Module | NamedModules)[]) {
    super();
    if (args.length === 1 && isNamedEntries(args[0])) {
      for (const [name, m] of entriesOf(args[0])) this.addModule(name, m);
    } else {
      args.forEach((m, i) => {
        if (!(m instanceof Module)) throw new TypeError(`Sequential: argument ${i} is not a Module`);
        this.addModule(String(i), m);
      });
    }
  }

  override forward(input: Tensor): Tensor {
    let x: unknown = input;
    // Whether x was made inside this forward by self-contained children only (never the caller's
    // input): then nothing but this loop holds it, and once the next self-contained child has
    // consumed it, it is freed here, where PyTorch's refcount would free it (see ownership.ts).
    let ours = false;
    for (const m of this._modules.values()) {
      if (!m) continue;
      const out = m.call(x);
      const contained = isSelfContained(m);
      if (out === x) {
        ours &&= contained; // passed through (Identity, Dropout in eval, an in-place ReLU)
        continue;
      }
      if (ours && contained && x instanceof Tensor) x.dispose();
      x = out;
      ours = contained;
    }
    return x as Tensor;
  }

  get length(): number {
    return this._modules.size;
  }

  /** The i-th child (negative from the end). */
  at(i: number): Module {
    const mods = [...this._modules.values()];
    return mods[normIndex('Sequential.at', i, mods.length)]!;
  }

  /** A new Sequential over children [start, end), keeping their names (torch's seq[a:b]). */
  slice(start = 0, end = this.length): Sequential {
    return new Sequential(new Map([...this._modules.entries()].slice(start, end).filter((e): e is [string, Module] => e[1] !== null)));
  }

  /** Appends a module under the next index; returns this. */
  append(m: Module): this {
    this.addModule(String(this._modules.size), m);
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return ([...this._modules.values()].filter((m) => m !== null) as Module[])[Symbol.iterator]();
  }
}

/** A list of modules registered as children (torch.nn.ModuleList); it has no forward. */
export class ModuleList extends Module {
  readonly [index: number]: Module;

  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  get length(): number {
    return this._modules.size;
  }

  at(i: number): Module {
    const mods = [...this._modules.values()];
    return mods[normIndex('ModuleList.at', i, mods.length)]!;
  }

  append(m: Module): this {
    this.addModule(String(this._modules.size), m);
    return this;
  }

  extend(ms: Iterable<Module>): this {
    for (const m of ms) this.append(m);
    return this;
  }

  /** Inserts before index i, renumbering the children after it. */
  insert(i: number, m: Module): this {
    const mods = [...this._modules.values()] as Module[];
    const n = mods.length;
    const at = i < 0 ? Math.max(0, n + i) : Math.min(i, n);
    mods.splice(at, 0, m);
    for (const k of [...this._modules.keys()]) delete (this as unknown as Record<string, unknown>)[k];
    mods.forEach((mm, j) => this.addModule(String(j), mm));
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return ([...this._modules.values()].filter((m) => m !== null) as Module[])[Symbol.iterator]();
  }
}
