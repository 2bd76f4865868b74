/**
 * The golden families that need @kindling/nn and @kindling/optim: module traversal (structure),
 * optimizers (3 steps), and end-to-end (a LeNet train step; shape traces of d2l's networks).
 * Importing this module registers their case runners; when nn/optim are not installed the import
 * fails and the runner reports those families as skipped, with the reason.
 */
import * as kd from '@kindling/core';
import type { Tensor } from '@kindling/core';
import { BatchNorm1d, BatchNorm2d, buildFromSpec, Parameter, Sequential, torchSize, type Module } from '@kindling/nn';
import { optimizerFromTorch, SGD } from '@kindling/optim';
import type { Mismatch } from '../compare.js';
import { compareTensor } from '../compare.js';
import { type GoldenCase, kindlingDType, toTensor } from '../golden.js';
import { registerCaseRunner } from '../runner.js';

const fail = (what: string, message: string): Mismatch => ({ what, message, maxAbs: NaN, maxRel: NaN });

/** Deep equality for the structure checks; reports the first differing path. */
function firstDifference(actual: unknown, expected: unknown, path = ''): string | null {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected a list`;
    if (actual.length !== expected.length) return `${path}: ${actual.length} entries, expected ${expected.length}`;
    for (let i = 0; i < expected.length; i++) {
      const d = firstDifference(actual[i], expected[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return `${path}: expected an object`;
    for (const k of Object.keys(expected)) {
      const d = firstDifference((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return actual === expected ? null : `${path}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`;
}

function check(out: Mismatch[], what: string, actual: unknown, expected: unknown): void {
  if (expected === undefined) return;
  const d = firstDifference(actual, expected);
  if (d) out.push(fail(what, d));
}

/** Python's print(*args). */
const pyPrint = (...args: string[]): string => `${args.join(' ')}\n`;

/** The Python loops the golden files print, written with Kindling's API (keyed by their code). */
const PRINTERS: Record<string, (m: Module) => string> = {
  'print(model)': (m) => pyPrint(String(m)),
  'for m in model.modules():\n    print(m)': (m) => m.modules().map((x) => pyPrint(String(x))).join(''),
  'for name, m in model.named_modules():\n    print(name, m)': (m) => m.namedModules().map(([n, x]) => pyPrint(n, String(x))).join(''),
  'for c in model.children():\n    print(c)': (m) => m.children().map((x) => pyPrint(String(x))).join(''),
  'for name, c in model.named_children():\n    print(name, c)': (m) => m.namedChildren().map(([n, x]) => pyPrint(n, String(x))).join(''),
  'for name, p in model.named_parameters():\n    print(name, p.shape)': (m) => m.namedParameters().map(([n, p]) => pyPrint(n, torchSize(p.shape))).join(''),
  'for k, v in model.state_dict().items():\n    print(k, v.shape)': (m) => [...m.stateDict()].map(([k, v]) => pyPrint(k, torchSize(v.shape))).join(''),
};

const typeRepr = (m: Module) => ({ type: m._getName(), repr: String(m) });
const entry = (name: string, t: { shape: readonly number[]; dtype: string }) => ({ name, shape: [...t.shape], dtype: t.dtype });
const kdDtypes = (list: { name: string; shape: number[]; dtype: string }[] | undefined) =>
  list?.map((x) => ({ ...x, dtype: kindlingDType(x.dtype as 'float32') }));

async function moduleTraversal(c: GoldenCase, device: string): Promise<Mismatch[]> {
  const e = c.expected as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const model = buildFromSpec(c.attrs!.architecture as never, { device });
  const out: Mismatch[] = [];
  try {
    check(out, 'repr', String(model), e.repr);
    check(out, 'modules', model.modules().map(typeRepr), e.modules);
    check(out, 'named_modules', model.namedModules().map(([name, m]) => ({ name, ...typeRepr(m) })), e.named_modules);
    check(out, 'children', model.children().map(typeRepr), e.children);
    check(out, 'named_children', model.namedChildren().map(([name, m]) => ({ name, ...typeRepr(m) })), e.named_children);
    check(out, 'named_parameters', model.namedParameters().map(([name, p]) => ({ name, shape: [...p.shape] })), e.named_parameters);
    check(out, 'num_parameters', model.parameters().reduce((a, p) => a + p.size, 0), e.num_parameters);
    check(out, 'named_buffers', model.namedBuffers().map(([n, b]) => entry(n, b)), kdDtypes(e.named_buffers));
    check(out, 'state_dict', [...model.stateDict()].map(([n, t]) => entry(n, t)), kdDtypes(e.state_dict));
    printedLoops(out, model, e.printed);
  } finally {
    model.dispose();
  }
  return out;
}

function printedLoops(out: Mismatch[], model: Module, printed: { code: string; stdout: string }[] | undefined): void {
  for (const p of printed ?? []) {
    const printer = PRINTERS[p.code];
    if (!printer) out.push(fail('printed', `no Kindling mirror of the loop:\n${p.code}`));
    else check(out, `printed ${JSON.stringify(p.code.split('\n')[0])}`, printer(model), p.stdout);
  }
}

async function shapeTrace(c: GoldenCase, device: string): Promise<Mismatch[]> {
  const e = c.expected as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const net = buildFromSpec(c.attrs!.architecture as never, { device });
  const out: Mismatch[] = [];
  try {
    if (!(net instanceof Sequential)) return [fail('architecture', 'a shape trace needs a Sequential')];
    net.eval();
    check(out, 'repr', String(net), e.repr);
    check(out, 'named_parameters', net.namedParameters().map(([name, p]) => ({ name, shape: [...p.shape] })), e.named_parameters);
    check(out, 'num_parameters', net.parameters().reduce((a, p) => a + p.size, 0), e.num_parameters);
    // Leaves report their output shapes through forward hooks, in call order.
    const leafName = new Map<Module, string>(net.namedModules().filter(([, m]) => m.children().length === 0).map(([n, m]) => [m, n]));
    const leaves: { name: string; type: string; output_shape: number[] }[] = [];
    const hooks = [...leafName.keys()].map((m) =>
      m.registerForwardHook((mod, _in, o) => void leaves.push({ name: leafName.get(mod)!, type: mod._getName(), output_shape: [...(o as Tensor).shape] })),
    );
    const top: { index: number; type: string; output_shape: number[] }[] = [];
    let stdout = '';
    kd.noGrad(() =>
      kd.tidy(() => {
        // d2l: X = torch.zeros(input_shape); for layer in net: X = layer(X); print(name, 'output shape:\t', X.shape)
        let X = kd.zeros(c.attrs!.input_shape as number[], { device });
        [...net].forEach((layer, index) => {
          X = layer.call(X) as Tensor;
          top.push({ index, type: layer._getName(), output_shape: [...X.shape] });
          stdout += pyPrint(layer._getName(), 'output shape:\t', torchSize(X.shape));
        });
      }),
    );
    for (const h of hooks) h.remove();
    check(out, 'top_level', top, e.top_level);
    check(out, 'leaf_level', leaves, e.leaf_level);
    check(out, 'printed', stdout, e.printed?.stdout);
  } finally {
    net.dispose();
  }
  return out;
}

async function trainStep(c: GoldenCase, device: string): Promise<Mismatch[]> {
  const tol = c.tolerance!;
  const attrs = c.attrs as { architecture: never; param_names: string[]; optimizer: string; lr: number };
  if (attrs.optimizer !== 'SGD') return [fail('optimizer', `train_step with ${attrs.optimizer} is not supported by this runner`)];
  const net = buildFromSpec(attrs.architecture, { device });
  const out: Mismatch[] = [];
  const made: Tensor[] = [];
  const up = <T extends Tensor>(t: T): T => (made.push(t), t);
  try {
    net.loadStateDict(new Map(attrs.param_names.map((n) => [n, up(toTensor(c.inputs![n]!, device))] as const)));
    const logits = up(net.call(up(toTensor(c.inputs!.x!, device))) as Tensor);
    const loss = up(kd.crossEntropy(logits, up(toTensor(c.inputs!.target!, device))));
    for (const [k, t] of [['loss', loss], ['logits', logits]] as const) {
      const m = await compareTensor(`output ${k}`, t, c.outputs![k]!, tol);
      if (m) out.push(m);
    }
    loss.backward(up(toTensor(c.upstream!.loss!, device))); // grads of loss · upstream
    const params = new Map(net.namedParameters());
    for (const n of attrs.param_names) {
      const g = params.get(n)?.grad;
      const m = g ? await compareTensor(`grad ${n}`, g, c.grads![n]!, tol) : fail(`grad ${n}`, 'missing');
      if (m) out.push(m);
    }
    const opt = new SGD(net.parameters(), { lr: attrs.lr });
    opt.step();
    for (const n of attrs.param_names) {
      const m = await compareTensor(`updated.${n}`, params.get(n)!, c.outputs![`updated.${n}`]!, tol);
      if (m) out.push(m);
    }
    opt.zeroGrad();
  } finally {
    for (const t of made) t.dispose();
    net.dispose();
  }
  return out;
}

async function optimizerSteps(c: GoldenCase, device: string): Promise<Mismatch[]> {
  const attrs = c.attrs as { optimizer: string; hyperparameters: Record<string, unknown>; steps: number; param_names: string[] };
  const params = attrs.param_names.map((n) => new Parameter(toTensor(c.inputs![n]!, device)));
  const opt = optimizerFromTorch(attrs.optimizer as never, params, attrs.hyperparameters);
  const out: Mismatch[] = [];
  try {
    for (let s = 1; s <= attrs.steps; s++) {
      params.forEach((p, i) => (p.grad = kd.keep(toTensor(c.inputs![`${attrs.param_names[i]}.grad.step${s}`]!, device))));
      opt.step();
      for (const [i, p] of params.entries()) {
        const name = `${attrs.param_names[i]}.step${s}`;
        if (!c.outputs![name]) continue;
        const m = await compareTensor(name, p, c.outputs![name]!, c.tolerance!);
        if (m) out.push(m);
      }
      opt.zeroGrad();
    }
  } finally {
    opt.dispose();
    for (const p of params) p.dispose();
  }
  return out;
}

/** batch_norm through nn.BatchNorm1d/2d: the module's running stats and num_batches_tracked. */
async function batchNormModule(c: GoldenCase, device: string): Promise<Mismatch[]> {
  const a = c.attrs as { module: string; num_features: number; eps: number; momentum: number; affine: boolean; track_running_stats: boolean; training: boolean };
  const Ctor = a.module === 'BatchNorm1d' ? BatchNorm1d : a.module === 'BatchNorm2d' ? BatchNorm2d : null;
  if (!Ctor) return [fail('module', `unknown batch-norm module ${a.module}`)];
  const bn = new Ctor(a.num_features, { eps: a.eps, momentum: a.momentum, affine: a.affine, trackRunningStats: a.track_running_stats, device });
  const made: Tensor[] = [];
  const up = <T extends Tensor>(t: T): T => (made.push(t), t);
  const out: Mismatch[] = [];
  const cmp = async (what: string, t: Tensor | null | undefined, k: string, table: GoldenCase['outputs']) => {
    const expected = table?.[k];
    if (!expected) return;
    const m = t ? await compareTensor(what, t, expected, c.tolerance!) : fail(what, 'missing');
    if (m) out.push(m);
  };
  try {
    const keys = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].filter((k) => c.inputs![k]);
    bn.loadStateDict(new Map(keys.map((k) => [k, up(toTensor(c.inputs![k]!, device))] as const)));
    bn.train(a.training);
    const x = up(toTensor(c.inputs!.x!, device, true));
    const y = up(bn.call(x));
    await cmp('output out', y, 'out', c.outputs);
    await cmp('output running_mean', bn.runningMean, 'running_mean', c.outputs);
    await cmp('output running_var', bn.runningVar, 'running_var', c.outputs);
    await cmp('output num_batches_tracked', bn.numBatchesTracked, 'num_batches_tracked', c.outputs);
    y.backward(up(toTensor(c.upstream!.out!, device)));
    await cmp('grad x', x.grad, 'x', c.grads);
    await cmp('grad weight', bn.weight?.grad, 'weight', c.grads);
    await cmp('grad bias', bn.bias?.grad, 'bias', c.grads);
    x.grad?.dispose();
  } finally {
    for (const t of made) t.dispose();
    bn.dispose();
  }
  return out;
}

registerCaseRunner('batch_norm', batchNormModule);
registerCaseRunner('module_traversal', moduleTraversal);
registerCaseRunner('shape_trace', shapeTrace);
registerCaseRunner('train_step', trainStep);
registerCaseRunner('optimizer', optimizerSteps);
