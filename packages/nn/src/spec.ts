/**
 * buildFromSpec: builds a Module from the architecture specs of the golden files
 * (../../shared/golden/README.md, "check = structure"):
 *
 *   { "type": "Conv2d", "in_channels": 1, "out_channels": 6, "kernel_size": 5 }   any layer: nn class + kwargs
 *   { "type": "Sequential", "layers": [ ... ] }                                  entries with "name" → OrderedDict
 *   { "type": "Custom", "class_name": "Model", "children": [{ "name": ..., ... }] }
 *   { ..., "share_id": "lin" } … { "ref": "lin" }                               one object in two places
 *
 * Keyword arguments are PyTorch's snake_case names; they map onto the Kindling constructors
 * (positional ones in PyTorch's order, the rest as camelCase options). Unknown types and unknown
 * kwargs are errors that name them.
 */
import { KindlingError } from '@kindling/core';
import { Module } from './module.js';
import { Linear, Identity } from './layers/linear.js';
import { Conv2d } from './layers/conv.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from './layers/pooling.js';
import { GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh } from './layers/activation.js';
import { Flatten } from './layers/flatten.js';
import { Dropout } from './layers/dropout.js';
import { BatchNorm1d, BatchNorm2d } from './layers/batchnorm.js';
import { CrossEntropyLoss, MSELoss, NLLLoss } from './layers/loss.js';
import { ModuleList, Sequential } from './layers/container.js';

/** A layer spec: `type` plus PyTorch kwargs, or a `ref` to a module shared earlier. */
export interface ModuleSpec {
  type?: string;
  name?: string;
  share_id?: string;
  ref?: string;
  layers?: ModuleSpec[];
  children?: ModuleSpec[];
  class_name?: string;
  [kwarg: string]: unknown;
}

export interface BuildOptions {
  /** Where parameters and buffers are created (default: the default device). */
  device?: string;
}

type Kwargs = Record<string, unknown>;

interface LayerFactory {
  /** PyTorch's positional parameter names, in order (required unless listed in `optional`). */
  positional: readonly string[];
  /** Every other accepted kwarg (snake_case). */
  options: readonly string[];
  /** Positional kwargs that may be omitted. */
  optionalPositional?: readonly string[];
  /** Kwargs PyTorch accepts that only have one supported value here (checked, not passed on). */
  fixed?: Readonly<Record<string, unknown>>;
  make(pos: unknown[], opts: Kwargs, device: string | undefined): Module;
}

const camel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** JSON lists become tuples ([h, w]) as PyTorch would receive them. */
const asOpts = (kw: Kwargs): Kwargs => Object.fromEntries(Object.entries(kw).map(([k, v]) => [camel(k), v]));

const FACTORIES: Record<string, LayerFactory> = {
  Linear: {
    positional: ['in_features', 'out_features'],
    options: ['bias'],
    make: ([i, o], opts, device) => new Linear(i as number, o as number, { ...opts, device }),
  },
  Conv2d: {
    positional: ['in_channels', 'out_channels', 'kernel_size'],
    options: ['stride', 'padding', 'dilation', 'groups', 'bias', 'padding_mode'],
    make: ([i, o, k], opts, device) => new Conv2d(i as number, o as number, k as number, { ...opts, device }),
  },
  MaxPool2d: {
    positional: ['kernel_size'],
    options: ['stride', 'padding', 'dilation', 'ceil_mode'],
    fixed: { return_indices: false },
    make: ([k], opts) => new MaxPool2d(k as number, opts),
  },
  AvgPool2d: {
    positional: ['kernel_size'],
    options: ['stride', 'padding', 'ceil_mode', 'count_include_pad', 'divisor_override'],
    make: ([k], opts) => new AvgPool2d(k as number, opts),
  },
  AdaptiveAvgPool2d: {
    positional: ['output_size'],
    options: [],
    make: ([o]) => new AdaptiveAvgPool2d(o as number),
  },
  Flatten: {
    positional: ['start_dim', 'end_dim'],
    optionalPositional: ['start_dim', 'end_dim'],
    options: [],
    make: ([s, e]) => new Flatten((s as number | undefined) ?? 1, (e as number | undefined) ?? -1),
  },
  ReLU: { positional: ['inplace'], optionalPositional: ['inplace'], options: [], make: ([i]) => new ReLU({ inplace: (i as boolean | undefined) ?? false }) },
  Sigmoid: { positional: [], options: [], make: () => new Sigmoid() },
  Tanh: { positional: [], options: [], make: () => new Tanh() },
  Identity: { positional: [], options: [], make: () => new Identity() },
  GELU: {
    positional: [],
    options: ['approximate'],
    make: (_p, opts) => new GELU((opts.approximate as 'none' | 'tanh' | undefined) ?? 'none'),
  },
  Softmax: {
    positional: ['dim'],
    optionalPositional: ['dim'],
    options: [],
    make: ([d]) => new Softmax((d as number | null | undefined) ?? null),
  },
  LogSoftmax: {
    positional: ['dim'],
    optionalPositional: ['dim'],
    options: [],
    make: ([d]) => new LogSoftmax((d as number | null | undefined) ?? null),
  },
  Dropout: {
    positional: ['p', 'inplace'],
    optionalPositional: ['p', 'inplace'],
    options: [],
    make: ([p, i]) => new Dropout((p as number | undefined) ?? 0.5, { inplace: (i as boolean | undefined) ?? false }),
  },
  BatchNorm1d: {
    positional: ['num_features'],
    options: ['eps', 'momentum', 'affine', 'track_running_stats'],
    make: ([n], opts, device) => new BatchNorm1d(n as number, { ...opts, device }),
  },
  BatchNorm2d: {
    positional: ['num_features'],
    options: ['eps', 'momentum', 'affine', 'track_running_stats'],
    make: ([n], opts, device) => new BatchNorm2d(n as number, { ...opts, device }),
  },
  CrossEntropyLoss: { positional: [], options: ['reduction', 'label_smoothing'], make: (_p, opts) => new CrossEntropyLoss(opts) },
  NLLLoss: { positional: [], options: ['reduction'], make: (_p, opts) => new NLLLoss(opts) },
  MSELoss: { positional: [], options: ['reduction'], make: (_p, opts) => new MSELoss(opts) },
};

/** The layer types buildFromSpec knows (besides Sequential, ModuleList and Custom). */
export const SPEC_LAYER_TYPES: readonly string[] = Object.keys(FACTORIES);

const STRUCTURAL = new Set(['type', 'name', 'share_id']);

/**
 * A Module subclass named `className` whose forward runs its children in order (the spec
 * format does not describe a custom forward; registration order is the children's order).
 */
export function customModuleClass(className: string): new () => Module {
  const holder = {
    [className]: class extends Module {
      override forward(input: unknown): unknown {
        let x = input;
        for (const m of this._modules.values()) if (m) x = m.call(x);
        return x;
      }
    },
  };
  return holder[className]!;
}

/** Builds a Module from a spec (see the file comment). */
export function buildFromSpec(spec: ModuleSpec, opts: BuildOptions = {}): Module {
  const shared = new Map<string, Module>();
  const build = (s: ModuleSpec, where: string): Module => {
    if (s.ref !== undefined) {
      const m = shared.get(s.ref);
      if (!m) throw new KindlingError('buildFromSpec', `${where}: ref '${s.ref}' names no module defined earlier with share_id`);
      return m;
    }
    const m = buildOne(s, where);
    if (s.share_id !== undefined) {
      if (shared.has(s.share_id)) throw new KindlingError('buildFromSpec', `${where}: share_id '${s.share_id}' is defined twice`);
      shared.set(s.share_id, m);
    }
    return m;
  };
  const buildOne = (s: ModuleSpec, where: string): Module => {
    const type = s.type;
    if (typeof type !== 'string') throw new KindlingError('buildFromSpec', `${where}: a spec needs a "type" (or a "ref")`);
    if (type === 'Sequential' || type === 'ModuleList') {
      const layers = s.layers ?? [];
      if (!Array.isArray(layers)) throw new KindlingError('buildFromSpec', `${where}: ${type}.layers must be a list`);
      const built = layers.map((l, i) => [l.name, build(l, `${where}.${l.name ?? i}`)] as const);
      if (type === 'ModuleList') return new ModuleList(built.map(([, m]) => m));
      const named = built.some(([n]) => n !== undefined);
      if (!named) return new Sequential(...built.map(([, m]) => m));
      return new Sequential(
        built.map(([n, m], i) => {
          if (n === undefined) throw new KindlingError('buildFromSpec', `${where}: entry ${i} of a named Sequential has no "name"`);
          return [n, m] as const;
        }),
      );
    }
    if (type === 'Custom') {
      const className = s.class_name;
      if (typeof className !== 'string' || !className) throw new KindlingError('buildFromSpec', `${where}: Custom needs a "class_name"`);
      const Cls = customModuleClass(className);
      const m = new Cls();
      for (const [i, c] of (s.children ?? []).entries()) {
        if (typeof c.name !== 'string') throw new KindlingError('buildFromSpec', `${where}: child ${i} of Custom ${className} has no "name"`);
        // Plain assignment, as the Python class does `self.<name> = ...` in order.
        (m as unknown as Record<string, unknown>)[c.name] = build(c, `${where}.${c.name}`);
      }
      return m;
    }
    const f = FACTORIES[type];
    if (!f) throw new KindlingError('buildFromSpec', `${where}: unknown module type '${type}' (known: Sequential, ModuleList, Custom, ${SPEC_LAYER_TYPES.join(', ')})`);
    const kwargs: Kwargs = {};
    for (const [k, v] of Object.entries(s)) if (!STRUCTURAL.has(k)) kwargs[k] = v;
    const pos: unknown[] = [];
    for (const name of f.positional) {
      if (!(name in kwargs) && !f.optionalPositional?.includes(name)) {
        throw new KindlingError('buildFromSpec', `${where}: ${type} missing required argument '${name}'`);
      }
      pos.push(kwargs[name]);
      delete kwargs[name];
    }
    for (const [k, v] of Object.entries(f.fixed ?? {})) {
      if (k in kwargs) {
        if (kwargs[k] !== v) throw new KindlingError('buildFromSpec', `${where}: ${type}(${k}=${JSON.stringify(kwargs[k])}) is not supported`);
        delete kwargs[k];
      }
    }
    const unknown = Object.keys(kwargs).filter((k) => !f.options.includes(k));
    if (unknown.length) {
      throw new KindlingError('buildFromSpec', `${where}: ${type} got unexpected keyword argument(s) ${unknown.map((k) => `'${k}'`).join(', ')}`);
    }
    return f.make(pos, asOpts(kwargs), opts.device);
  };
  return build(spec, spec.type ?? 'model');
}
