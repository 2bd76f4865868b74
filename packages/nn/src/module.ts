/**
 * Module: the base of every layer and model (torch.nn.Module).
 *
 * Registration. JS has no __setattr__, so the constructor returns a Proxy that intercepts
 * assignments the way PyTorch does:
 *
 *     class Net extends Module {
 *       conv1 = new Conv2d(1, 6, 5);          // a class field: registered, in declaration order
 *       constructor() {
 *         super();
 *         this.fc = new Linear(400, 10);      // plain assignment: registered too
 *         this.scale = new Parameter(ones([1]));
 *       }
 *     }
 *
 * Assigning a Module registers a child, a Parameter registers a parameter, and assigning to a
 * name already registered as a buffer replaces the buffer. The explicit forms are there too:
 * `addModule(name, m)`, `registerParameter(name, p)`, `registerBuffer(name, t, persistent)`
 * and `register({ a: m1, b: m2 })`; each returns what it registered, so
 * `conv1 = this.addModule('conv1', new Conv2d(...))` also works in a field initializer.
 * Registration order is PyTorch's order (first assignment wins the slot; re-assigning keeps it).
 *
 * Calling. `m.forward(x)` runs the computation; `m.call(x)` runs it with the forward hooks
 * (PyTorch's `m(x)`). Containers call their children with `call`, so hooks see every layer.
 */
import { Tensor, KindlingError, ShapeError, fmtShape, keep, noGrad, shapesEqual, tidy, to } from '@kindling/core';
import { isSelfContained } from './ownership.js';
import { Parameter } from './parameter.js';
import { addIndent } from './pyfmt.js';

/** An ordered name → tensor record (params and persistent buffers), keyed as PyTorch's state_dict. */
export type StateDict = Map<string, Tensor>;

/** A state dict as a Map or a plain object (e.g. what `load()` of a checkpoint gives). */
export type StateDictLike = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** Runs after forward: return a value to replace the output. */
export type ForwardHook = (module: Module, inputs: unknown[], output: unknown) => unknown;
/** Runs before forward: return a value (or an array of values) to replace the inputs. */
export type ForwardPreHook = (module: Module, inputs: unknown[]) => unknown;

export interface HookHandle {
  remove(): void;
}

let nextHookId = 1;

/** > 0 while a self-contained module's forward runs in its tidy scope (forward is synchronous). */
let selfContainedDepth = 0;

/** Runs a self-contained module's forward so that what it made and did not return is freed (ownership.ts). */
function forwardFreeingTemporaries(m: Module, args: unknown[]): unknown {
  selfContainedDepth++;
  try {
    return tidy(() => m.forward(...args));
  } finally {
    selfContainedDepth--;
  }
}

// ---------------------------------------------------------------------------------------------
// The Proxy traps: PyTorch's Module.__setattr__ / __delattr__.

const dataDesc = (value: unknown): PropertyDescriptor => ({ value, writable: true, enumerable: true, configurable: true });

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/**
 * Handles an assignment of `value` to `name` when it concerns a registered slot; returns false
 * for an ordinary attribute. Mirrors torch.nn.Module.__setattr__.
 */
function assignSpecial(target: Module, name: string, value: unknown, isFieldDeclaration: boolean): boolean {
  const params = target._parameters;
  const buffers = target._buffers;
  const modules = target._modules;
  if (value === undefined && isFieldDeclaration && (params.has(name) || buffers.has(name) || modules.has(name))) {
    // `declare`-less TS field without an initializer re-defining a registered slot: keep the slot.
    return true;
  }
  if (value instanceof Parameter) {
    buffers.delete(name);
    modules.delete(name);
    params.set(name, value);
    Reflect.defineProperty(target, name, dataDesc(value));
    return true;
  }
  if (params.has(name)) {
    if (value !== null && value !== undefined) {
      throw new TypeError(`cannot assign '${typeName(value)}' as parameter '${name}' (Parameter or null expected)`);
    }
    params.set(name, null);
    Reflect.defineProperty(target, name, dataDesc(null));
    return true;
  }
  if (value instanceof Module) {
    params.delete(name);
    buffers.delete(name);
    modules.set(name, value);
    Reflect.defineProperty(target, name, dataDesc(value));
    return true;
  }
  if (modules.has(name)) {
    if (value !== null && value !== undefined) {
      throw new TypeError(`cannot assign '${typeName(value)}' as child module '${name}' (Module or null expected)`);
    }
    modules.set(name, null);
    Reflect.defineProperty(target, name, dataDesc(null));
    return true;
  }
  if (buffers.has(name)) {
    if (value !== null && value !== undefined && !(value instanceof Tensor)) {
      throw new TypeError(`cannot assign '${typeName(value)}' as buffer '${name}' (Tensor or null expected)`);
    }
    const t = (value ?? null) as Tensor | null;
    if (t) keep(t);
    buffers.set(name, t);
    Reflect.defineProperty(target, name, dataDesc(t));
    return true;
  }
  return false;
}

const traps: ProxyHandler<Module> = {
  set(target, prop, value, receiver) {
    if (typeof prop === 'string' && assignSpecial(target, prop, value, false)) return true;
    return Reflect.set(target, prop, value, receiver);
  },
  defineProperty(target, prop, desc) {
    if (typeof prop === 'string' && 'value' in desc && assignSpecial(target, prop, desc.value, true)) return true;
    return Reflect.defineProperty(target, prop, desc);
  },
  deleteProperty(target, prop) {
    if (typeof prop === 'string') {
      target._parameters.delete(prop);
      target._buffers.delete(prop);
      target._nonPersistentBuffers.delete(prop);
      target._modules.delete(prop);
    }
    return Reflect.deleteProperty(target, prop);
  },
};

function checkName(kind: string, self: Module, name: string, registered: boolean): void {
  if (typeof name !== 'string') throw new TypeError(`${kind} name should be a string, got ${typeof name}`);
  if (name.includes('.')) throw new KindlingError(kind, `${kind} name can't contain ".", got: ${name}`);
  if (name === '') throw new KindlingError(kind, `${kind} name can't be empty string ""`);
  const existing = (self as unknown as Record<string, unknown>)[name];
  if (!registered && name in self && existing !== undefined) {
    throw new KindlingError(kind, `attribute '${name}' already exists`);
  }
}

function joinName(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

// ---------------------------------------------------------------------------------------------

export class Module {
  /** Train mode (dropout active, batch norm on batch statistics); set with train() / eval(). */
  training = true;
  /** @internal Parameters registered on this module, in registration order (null = slot kept empty). */
  _parameters = new Map<string, Parameter | null>();
  /** @internal Buffers (running statistics and other non-trainable state). */
  _buffers = new Map<string, Tensor | null>();
  /** @internal Buffers left out of stateDict(). */
  _nonPersistentBuffers = new Set<string>();
  /** @internal Child modules in registration order. */
  _modules = new Map<string, Module | null>();
  /** @internal */
  _forwardHooks = new Map<number, ForwardHook>();
  /** @internal */
  _forwardPreHooks = new Map<number, ForwardPreHook>();

  constructor() {
    // Every reference to a module is this proxy, so identity (memo sets, ===) is consistent.
    return new Proxy(this, traps);
  }

  // ---- computation ----

  /** The computation; subclasses override it. */
  forward(...inputs: any[]): any {
    void inputs;
    throw new KindlingError('forward', `Module [${this._getName()}] is missing the required "forward" function`);
  }

  /** Runs forward with the pre-hooks and hooks (PyTorch's `module(x)`). */
  call<M extends Module>(this: M, ...inputs: Parameters<M['forward']>): ReturnType<M['forward']> {
    let args: unknown[] = inputs;
    for (const hook of this._forwardPreHooks.values()) {
      const r = hook(this, args);
      if (r !== undefined) args = Array.isArray(r) ? r : [r];
    }
    // The outermost self-contained module frees its temporaries; those nested in it are inside its scope.
    let out: unknown = selfContainedDepth === 0 && isSelfContained(this) ? forwardFreeingTemporaries(this, args) : this.forward(...args);
    for (const hook of this._forwardHooks.values()) {
      const r = hook(this, args, out);
      if (r !== undefined) out = r;
    }
    return out as ReturnType<M['forward']>;
  }

  /** Registers a hook run after every `call` of this module (torch's register_forward_hook). */
  registerForwardHook(hook: ForwardHook): HookHandle {
    const id = nextHookId++;
    this._forwardHooks.set(id, hook);
    return { remove: () => void this._forwardHooks.delete(id) };
  }

  /** Registers a hook run before every `call` of this module. */
  registerForwardPreHook(hook: ForwardPreHook): HookHandle {
    const id = nextHookId++;
    this._forwardPreHooks.set(id, hook);
    return { remove: () => void this._forwardPreHooks.delete(id) };
  }

  // ---- registration ----

  /** Registers a child module under `name` (PyTorch's add_module); returns it. */
  addModule<M extends Module | null>(name: string, module: M): M {
    if (module !== null && !(module instanceof Module)) throw new TypeError(`${typeName(module)} is not a Module subclass`);
    checkName('module', this, name, this._modules.has(name));
    this._parameters.delete(name);
    this._buffers.delete(name);
    this._modules.set(name, module);
    Object.defineProperty(this, name, dataDesc(module));
    return module;
  }

  /** Alias of addModule (torch's register_module). */
  registerModule<M extends Module | null>(name: string, module: M): M {
    return this.addModule(name, module);
  }

  /** Registers a parameter (or an empty slot with null); returns it. */
  registerParameter<P extends Parameter | null>(name: string, param: P): P {
    if (param !== null && !(param instanceof Parameter)) {
      throw new TypeError(`cannot assign '${typeName(param)}' object to parameter '${name}' (Parameter or null required)`);
    }
    checkName('parameter', this, name, this._parameters.has(name));
    this._buffers.delete(name);
    this._modules.delete(name);
    this._parameters.set(name, param);
    Object.defineProperty(this, name, dataDesc(param));
    return param;
  }

  /**
   * Registers a buffer: state that is not trained but belongs to the module (running means).
   * Persistent buffers are part of stateDict(). The tensor is kept out of every tidy() scope.
   */
  registerBuffer<T extends Tensor | null>(name: string, tensor: T, persistent = true): T {
    if (tensor !== null && !(tensor instanceof Tensor)) throw new TypeError(`cannot assign '${typeName(tensor)}' object to buffer '${name}' (Tensor or null required)`);
    checkName('buffer', this, name, this._buffers.has(name));
    if (tensor) keep(tensor);
    this._parameters.delete(name);
    this._modules.delete(name);
    this._buffers.set(name, tensor);
    if (persistent) this._nonPersistentBuffers.delete(name);
    else this._nonPersistentBuffers.add(name);
    Object.defineProperty(this, name, dataDesc(tensor));
    return tensor;
  }

  /** Registers several children / parameters at once, in the object's key order; returns this. */
  register(entries: Record<string, Module | Parameter>): this {
    for (const [name, v] of Object.entries(entries)) {
      if (v instanceof Parameter) this.registerParameter(name, v);
      else this.addModule(name, v);
    }
    return this;
  }

  // ---- traversal (PyTorch's orders; shared objects are reported once) ----

  /** (name, child) pairs of the immediate children, each object once. */
  namedChildren(): [string, Module][] {
    const memo = new Set<Module>();
    const out: [string, Module][] = [];
    for (const [name, m] of this._modules) {
      if (m && !memo.has(m)) {
        memo.add(m);
        out.push([name, m]);
      }
    }
    return out;
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every descendant, depth first, with dotted names; each object once. */
  namedModules(prefix = '', memo: Set<Module> = new Set()): [string, Module][] {
    const out: [string, Module][] = [];
    const visit = (m: Module, p: string): void => {
      if (memo.has(m)) return;
      memo.add(m);
      out.push([p, m]);
      for (const [name, child] of m._modules) if (child) visit(child, joinName(p, name));
    };
    visit(this, prefix);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  private namedMembers<T>(get: (m: Module) => Iterable<[string, T | null]>, prefix: string, recurse: boolean): [string, T][] {
    const memo = new Set<T>();
    const out: [string, T][] = [];
    const mods: [string, Module][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [modPrefix, m] of mods) {
      for (const [k, v] of get(m)) {
        if (v === null || memo.has(v)) continue;
        memo.add(v);
        out.push([joinName(modPrefix, k), v]);
      }
    }
    return out;
  }

  /** (dotted name, parameter) pairs; a parameter shared by two modules is listed once. */
  namedParameters(prefix = '', recurse = true): [string, Parameter][] {
    return this.namedMembers((m) => m._parameters, prefix, recurse);
  }

  parameters(recurse = true): Parameter[] {
    return this.namedParameters('', recurse).map(([, p]) => p);
  }

  /** (dotted name, buffer) pairs, persistent or not. */
  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    return this.namedMembers((m) => m._buffers, prefix, recurse);
  }

  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map(([, b]) => b);
  }

  /** The submodule at a dotted path ('features.conv3'); '' is this module. */
  getSubmodule(target: string): Module {
    if (target === '') return this;
    let m: Module = this;
    for (const part of target.split('.')) {
      const next = m._modules.get(part);
      if (!next) throw new KindlingError('getSubmodule', `${m._getName()} has no attribute \`${part}\``);
      m = next;
    }
    return m;
  }

  /** The parameter at a dotted path ('features.conv3.weight'). */
  getParameter(target: string): Parameter {
    const i = target.lastIndexOf('.');
    const m = this.getSubmodule(i < 0 ? '' : target.slice(0, i));
    const p = m._parameters.get(target.slice(i + 1));
    if (!p) throw new KindlingError('getParameter', `${m._getName()} has no parameter \`${target.slice(i + 1)}\``);
    return p;
  }

  // ---- modes and gradients ----

  /** Sets train mode on this module and its descendants; returns this. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new TypeError('training mode is expected to be boolean');
    this.training = mode;
    for (const c of this.children()) c.train(mode);
    return this;
  }

  /** Evaluation mode (train(false)); returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Sets requiresGrad on every parameter; returns this. */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad = requiresGrad;
    return this;
  }

  /**
   * Clears the gradients. Like torch ≥ 2 (set_to_none=True), grads become null (and are freed);
   * with setToNone = false they are zeroed in place.
   */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      const g = p.grad;
      if (!g) continue;
      if (setToNone) {
        p.grad = null;
        if (!g.isDisposed) g.dispose();
      } else if (!g.isDisposed) {
        noGrad(() => g.zero_());
      }
    }
  }

  /** Calls fn on every descendant (children first) and then on this module; returns this. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  // ---- state ----

  /**
   * An ordered record of every parameter and persistent buffer by dotted name (PyTorch's keys:
   * `features.0.weight`, `1.running_mean`, `1.num_batches_tracked`). A module reachable by two
   * paths appears under both. The values are the module's own tensors (no copies, as torch's
   * keep_vars=True): do not dispose them; clone to snapshot.
   */
  stateDict(prefix = '', destination: StateDict = new Map()): StateDict {
    this.saveToStateDict(destination, prefix);
    for (const [name, m] of this._modules) if (m) m.stateDict(`${prefix}${name}.`, destination);
    return destination;
  }

  /** This module's own entries (parameters, then persistent buffers). */
  protected saveToStateDict(destination: StateDict, prefix: string): void {
    for (const [name, p] of this._parameters) if (p) destination.set(prefix + name, p);
    for (const [name, b] of this._buffers) if (b && !this._nonPersistentBuffers.has(name)) destination.set(prefix + name, b);
  }

  /**
   * Copies a state dict into this module's parameters and buffers (in place, values cast to each
   * tensor's dtype and moved to its device). Size mismatches are always errors; with
   * strict = true (the default) missing and unexpected keys are too. Everything is checked
   * before anything is written, so a failed load leaves the module unchanged.
   */
  loadStateDict(stateDict: StateDictLike, opts: { strict?: boolean } = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const sd: ReadonlyMap<string, Tensor> = stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict));
    const missingKeys: string[] = [];
    const unexpectedKeys: string[] = [];
    const errors: string[] = [];
    const copies: [Tensor, Tensor][] = [];
    const loaded = new Set<Module>();
    const visit = (m: Module, prefix: string): void => {
      loaded.add(m);
      const local = new Map<string, Tensor>();
      for (const [name, p] of m._parameters) if (p) local.set(name, p);
      for (const [name, b] of m._buffers) if (b && !m._nonPersistentBuffers.has(name)) local.set(name, b);
      for (const [name, dst] of local) {
        const key = prefix + name;
        const src = sd.get(key);
        if (src === undefined) {
          missingKeys.push(key);
          continue;
        }
        if (!(src instanceof Tensor)) {
          errors.push(`While copying the parameter named "${key}", expected a Tensor from checkpoint but received ${typeName(src)}`);
          continue;
        }
        if (!shapesEqual(src.shape, dst.shape)) {
          errors.push(`size mismatch for ${key}: copying a param with shape ${fmtShape(src.shape)} from checkpoint, the shape in current model is ${fmtShape(dst.shape)}.`);
          continue;
        }
        copies.push([dst, src]);
      }
      for (const key of sd.keys()) {
        if (!key.startsWith(prefix)) continue;
        const first = key.slice(prefix.length).split('.', 1)[0]!;
        if (!m._modules.has(first) && !local.has(first)) unexpectedKeys.push(key);
      }
      for (const [name, child] of m._modules) if (child) visit(child, `${prefix}${name}.`);
    };
    visit(this, '');
    if (strict) {
      if (unexpectedKeys.length) errors.unshift(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}. `);
      if (missingKeys.length) errors.unshift(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}. `);
    }
    if (errors.length) {
      throw new KindlingError('loadStateDict', `Error(s) in loading state_dict for ${this._getName()}:\n\t${errors.join('\n\t')}`);
    }
    noGrad(() => {
      for (const [dst, src] of copies) {
        if (src === dst) continue;
        if (src.device !== dst.device) {
          const moved = to(src, dst.device);
          dst.copy_(moved);
          moved.dispose();
        } else dst.copy_(src);
      }
    });
    for (const m of loaded) m.afterLoadStateDict();
    return { missingKeys, unexpectedKeys };
  }

  /** Called on each module after loadStateDict wrote its tensors (e.g. to refresh host mirrors). */
  protected afterLoadStateDict(): void {}

  /**
   * Moves every parameter and buffer to `device` (new tensors; their grads move along) and
   * returns this. Build optimizers after moving, as in PyTorch.
   */
  to(device: string): this {
    for (const m of this.modules()) {
      for (const [name, p] of m._parameters) {
        if (!p || p.device === device) continue;
        const moved = to(p, device);
        const np = new Parameter(moved, p.requiresGrad);
        moved.dispose();
        if (p.grad) np.grad = keep(to(p.grad, device));
        m.registerParameter(name, np);
        p.dispose();
      }
      for (const [name, b] of m._buffers) {
        if (!b || b.device === device) continue;
        m.registerBuffer(name, to(b, device), !m._nonPersistentBuffers.has(name));
        b.dispose();
      }
    }
    return this;
  }

  /** Frees every parameter, gradient and buffer of this module tree. The module is unusable after. */
  dispose(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
      p.dispose();
    }
    for (const b of this.buffers()) b.dispose();
  }

  // ---- printing ----

  /** The class name printed by toString() (torch's _get_name). */
  _getName(): string {
    return this.constructor.name;
  }

  /** The text inside the parentheses for a leaf (torch's extra_repr), e.g. `in_features=4, ...`. */
  extraRepr(): string {
    return '';
  }

  /** The module tree exactly as PyTorch's repr prints it. */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split('\n') : [];
    const childLines: string[] = [];
    for (const [key, m] of this._modules) childLines.push(`(${key}): ${addIndent(m ? m.toString() : 'None', 2)}`);
    const lines = [...extraLines, ...childLines];
    let s = `${this._getName()}(`;
    if (lines.length) {
      if (extraLines.length === 1 && childLines.length === 0) s += extraLines[0];
      else s += `\n  ${lines.join('\n  ')}\n`;
    }
    return `${s})`;
  }

  /** console.log(model) in Node prints the repr. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** Shape check shared by layers: a clear error naming the layer and the shape. */
export function expectInputRank(layer: string, x: Tensor, ranks: readonly number[], what: string): void {
  if (!ranks.includes(x.ndim)) throw new ShapeError(layer, `expected ${what} input (got ${x.ndim}D input ${fmtShape(x.shape)})`);
}
