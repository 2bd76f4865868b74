/**
 * The replay: the same K training iterations of a seed network in Kindling and in PyTorch, from the
 * same initial weights, on the same input tensors, with the same Dropout masks, so that the only
 * difference between the two runs is the frameworks' arithmetic.
 *
 * Kindling goes first (replayKindling): it builds the network as `pnpm train` does (manualSeed,
 * buildModel), writes its initial state dict (init.safetensors), then runs the chapter's step
 * (zeroGrad, forward, CrossEntropyLoss, backward, Adam/SGD step) on the first K batches of the
 * trainer's own loader (epoch 0 of the seed's order) and writes, per iteration, the exact input
 * batch, its labels and the Dropout keep-masks it drew (batches/NNNN.safetensors), the gradients
 * of iteration 0 (grads-0000.safetensors) and its log (kindling.json). scripts/replay_torch.py then
 * loads all of that into PyTorch's definition of the same network (scripts/seed_nets.py), runs
 * the same step and writes torch.json; compareReplays lines the two logs up.
 *
 * Logged per iteration: the loss, and for each top-level block that ends in a ReLU (NiN's
 * nin_blocks) the fraction of its outputs that are positive on that batch (dead ReLUs show as 0).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kd from '@kindling/core';
import '@kindling/autograd';
import { CrossEntropyLoss, Dropout, ReLU, Sequential, safetensors, type Module } from '@kindling/nn';
import { buildModel } from './models.js';
import { fashionMnistLoaders } from './data.js';
import { makeOptimizer } from './train.js';
import { RECIPES, type ModelName, type Recipe } from './options.js';

/** The networks PyTorch's side can build: scripts/seed_nets.py's NETS. */
export const REPLAY_MODELS = ['lenet', 'lenet-bn', 'lenet-bn-scratch', 'alexnet', 'vgg11', 'nin'] as const satisfies readonly ModelName[];
export type ReplayModel = (typeof REPLAY_MODELS)[number];

export interface ReplayOptions {
  model: ReplayModel;
  /** Iterations K to replay (the first K batches of epoch 0). */
  iters: number;
  seed: number;
  /**
   * masks: Kindling draws Dropout's keep-masks exactly as nn.Dropout does (same generator stream,
   * so the run is `pnpm train`'s) and PyTorch multiplies by the same masks; off: both skip Dropout.
   */
  dropout: 'masks' | 'off';
  out: string;
  dataDir: string | null;
  /** The recipe's optimizer, lr, batch size and resize (RECIPES[model] unless overridden). */
  recipe: Pick<Recipe, 'optimizer' | 'lr' | 'batchSize' | 'resize'>;
  /** Keep the per-iteration batch files (inputs, masks) after PyTorch has read them. */
  keepBatches: boolean;
}

export interface ReplayIteration {
  iteration: number;
  loss: number;
  /** Fraction of positive outputs of each watched block on this batch, by the block's name. */
  positive: Record<string, number>;
  seconds: number;
}

export interface ReplayLog {
  framework: string;
  model: ReplayModel;
  iterations: ReplayIteration[];
}

export interface TorchReplayLog extends ReplayLog {
  /**
   * Iteration 0's gradients per parameter: max|g_K − g_T| / max|g_T|, ||g_K − g_T|| / ||g_T||, and
   * each side's norm-wise distance from PyTorch's float64 gradient; the worst l2Rel and where.
   */
  grads0: { maxL2Rel: number; param: string; perParam: Record<string, { maxRel: number; l2Rel: number; kindlingVsF64?: number; torchVsF64?: number }> };
  /** The first batch: Kindling's resized input against PyTorch's own resizes of the same images. */
  inputCheck: { labelsEqual: boolean; interpolateMaxAbs: number; pilMaxAbs: number | null };
}

/** What replay_torch.py reads: the run's settings and the batches' indices into the training set. */
export interface ReplayMeta {
  model: ReplayModel;
  iters: number;
  seed: number;
  dropout: 'masks' | 'off';
  optimizer: Recipe['optimizer'];
  lr: number;
  batchSize: number;
  resize: number | null;
  /** The training images file the indices point into. */
  trainImages: string;
  trainLabels: string;
  /** indices[i]: the training-set indices of batch i, in order. */
  indices: number[][];
  watched: string[];
}

const batchFile = (out: string, i: number) => join(out, 'batches', `${String(i).padStart(4, '0')}.safetensors`);

/** A top-level block whose output is a ReLU's: NiN's nin_blocks. */
const watched = (m: Module) => m instanceof Sequential && m.children().at(-1) instanceof ReLU;

interface StepContext {
  dropout: ReplayOptions['dropout'];
  masks: Map<string, kd.Tensor>;
  positive: Map<string, kd.Tensor>;
}

/**
 * The model's forward, walked through its Sequentials so that each Dropout's keep-mask can be
 * recorded (drawn as core's dropout draws it: rand(shape) < 1 − p, scaled by 1 / (1 − p)). A
 * Dropout hidden in a custom forward could not be fed to PyTorch, so it is refused.
 */
function forward(m: Module, x: kd.Tensor, path: string, ctx: StepContext): kd.Tensor {
  if (m instanceof Sequential) {
    let h = x;
    for (const [name, c] of m.namedChildren()) {
      const p = path ? `${path}.${name}` : name;
      h = forward(c, h, p, ctx);
      if (path === '' && watched(c)) {
        const y = h;
        ctx.positive.set(p, kd.noGrad(() => kd.mean(kd.cast(kd.binary('gt', y, 0), 'float32'))));
      }
    }
    return h;
  }
  if (m instanceof Dropout) {
    if (!m.training || m.p === 0 || ctx.dropout === 'off') return x;
    const keep = kd.cast(kd.binary('lt', kd.rand(x.shape, { device: x.device }), 1 - m.p), 'float32');
    ctx.masks.set(path, keep);
    return kd.binary('mul', x, kd.binary('mul', keep, 1 / (1 - m.p)));
  }
  if (m.modules().some((d) => d instanceof Dropout)) {
    throw new Error(`replay: ${path || 'the model'} (${m.constructor.name}) applies Dropout inside its own forward, ` +
      'where the replay cannot record its masks for PyTorch; only Dropout layers reached through Sequentials can be replayed');
  }
  return m.call(x);
}

/** The Kindling side: writes init.safetensors, meta.json, batches/, grads-0000.safetensors, kindling.json. */
export async function replayKindling(o: ReplayOptions, log: (line: string) => void = () => {}): Promise<ReplayLog> {
  await kd.initDevice('cpu');
  kd.setDefaultDevice('cpu');
  rmSync(join(o.out, 'batches'), { recursive: true, force: true });
  mkdirSync(join(o.out, 'batches'), { recursive: true });

  // As train() does: the seed fixes the weights, then the loader's order (its own seed) and the
  // Dropout masks (the global generator, after buildModel).
  kd.manualSeed(o.seed);
  const model = buildModel(o.model);
  await safetensors.save(model.stateDict(), join(o.out, 'init.safetensors'));
  const optimizer = makeOptimizer(o.recipe, model);
  const lossFn = new CrossEntropyLoss();
  const data = await fashionMnistLoaders({
    batchSize: o.recipe.batchSize, resize: o.recipe.resize, dataDir: o.dataDir, subset: null, testSubset: 1, download: false, seed: o.seed,
  });
  data.train.setEpoch(0);
  const order = data.train.order(0);
  const iters = Math.min(o.iters, data.train.length);
  const bs = o.recipe.batchSize;
  const meta: ReplayMeta = {
    model: o.model, iters, seed: o.seed, dropout: o.dropout, optimizer: o.recipe.optimizer, lr: o.recipe.lr, batchSize: bs,
    resize: o.recipe.resize,
    trainImages: join(data.root, 'train-images-idx3-ubyte.gz'),
    trainLabels: join(data.root, 'train-labels-idx1-ubyte.gz'),
    indices: Array.from({ length: iters }, (_, i) => Array.from(order.subarray(i * bs, Math.min((i + 1) * bs, order.length)))),
    watched: model instanceof Sequential ? model.namedChildren().filter(([, c]) => watched(c)).map(([n]) => n) : [],
  };
  writeFileSync(join(o.out, 'meta.json'), `${JSON.stringify(meta)}\n`);

  model.train();
  const iterations: ReplayIteration[] = [];
  const result: ReplayLog = { framework: 'kindling', model: o.model, iterations };
  let it = 0;
  for await (const [x, y] of data.train) {
    const t0 = performance.now();
    const r = kd.tidy(() => {
      const ctx: StepContext = { dropout: o.dropout, masks: new Map(), positive: new Map() };
      optimizer.zeroGrad();
      const loss = lossFn.call(forward(model, x, '', ctx), y);
      loss.backward();
      // Copies taken before the step, in case an optimizer updates in place.
      const grads = it === 0 ? model.namedParameters().map(([n, p]) => [n, p.grad!.clone()] as [string, kd.Tensor]) : [];
      optimizer.step();
      return { loss, grads, masks: [...ctx.masks], positive: [...ctx.positive] };
    });
    const loss = await r.loss.item();
    const positive: Record<string, number> = {};
    for (const [n, t] of r.positive) positive[n] = await t.item();
    const seconds = (performance.now() - t0) / 1000;
    const files = new Map<string, kd.Tensor>([['x', x], ['y', y], ...r.masks.map(([n, t]) => [`mask.${n}`, t] as [string, kd.Tensor])]);
    await safetensors.save(files, batchFile(o.out, it));
    if (it === 0) await safetensors.save(new Map(r.grads), join(o.out, 'grads-0000.safetensors'));
    for (const t of [r.loss, ...r.grads.map(([, g]) => g), ...r.masks.map(([, m]) => m), ...r.positive.map(([, p]) => p), x, y]) t.dispose();
    iterations.push({ iteration: it, loss, positive, seconds });
    log(`kindling ${o.model} iteration ${it}: loss ${loss.toFixed(6)}${fmtPositive(positive)}, ${seconds.toFixed(1)} s`);
    // Rewritten each iteration: a run cut short still leaves a log to compare.
    writeFileSync(join(o.out, 'kindling.json'), `${JSON.stringify(result, null, 1)}\n`);
    if (++it >= iters) break;
  }
  await data.train.close();
  await data.test.close();
  model.dispose();
  return result;
}

const fmtPositive = (p: Record<string, number>) => Object.entries(p).map(([n, v]) => `, block ${n} ${(100 * v).toFixed(1)} % > 0`).join('');

export const TORCH_SCRIPT = fileURLToPath(new URL('../scripts/replay_torch.py', import.meta.url));

/**
 * The PyTorch side: runs scripts/replay_torch.py on the files replayKindling wrote (Debian's
 * python3-torch 1.13 at /usr/bin/python3 unless told otherwise) and reads its torch.json.
 */
export function replayTorch(
  o: Pick<ReplayOptions, 'out' | 'keepBatches'>, opts: { python?: string; inherit?: boolean; timeoutMs?: number; noF64?: boolean } = {},
): TorchReplayLog {
  const python = opts.python ?? '/usr/bin/python3';
  const args = [TORCH_SCRIPT, o.out, ...(opts.noF64 ? ['--no-f64'] : [])];
  const r = spawnSync(python, args, {
    encoding: 'utf8', stdio: opts.inherit ? ['ignore', 'inherit', 'inherit'] : 'pipe', timeout: opts.timeoutMs, maxBuffer: 64 << 20,
  });
  if (r.error) throw new Error(`replay: running ${python} ${args.join(' ')} failed: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`replay: ${python} ${args.join(' ')} exited with status ${r.status ?? r.signal}${r.stderr ? `:\n${r.stderr.slice(-2000)}` : ''}`);
  }
  if (!o.keepBatches) rmSync(join(o.out, 'batches'), { recursive: true, force: true });
  return JSON.parse(readFileSync(join(o.out, 'torch.json'), 'utf8')) as TorchReplayLog;
}

/** |a − b| / |b|: the relative difference of Kindling's figure a from PyTorch's b. */
export const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

export interface ReplayComparison {
  table: string;
  /** Largest relative loss difference over all iterations. */
  maxLossRel: number;
  /** The first iteration whose losses differ by more than 1e-3 relative, or null. */
  firstDivergence: number | null;
}

/** The side-by-side table of the two logs, and where (if anywhere) the losses part. */
export function compareReplays(k: ReplayLog, t: TorchReplayLog): ReplayComparison {
  const blocks = Object.keys(k.iterations[0]?.positive ?? {});
  const head = ['iter', 'loss kindling', 'loss pytorch', 'rel diff', ...blocks.map((b) => `block ${b} > 0 (K / T)`), 's (K / T)'];
  const rows: string[][] = [];
  let maxLossRel = 0;
  let firstDivergence: number | null = null;
  for (let i = 0; i < Math.min(k.iterations.length, t.iterations.length); i++) {
    const a = k.iterations[i]!;
    const b = t.iterations[i]!;
    const d = relDiff(a.loss, b.loss);
    maxLossRel = Math.max(maxLossRel, d);
    if (firstDivergence === null && !(d <= 1e-3)) firstDivergence = i;
    rows.push([
      String(i), a.loss.toFixed(6), b.loss.toFixed(6), d.toExponential(1),
      ...blocks.map((n) => `${(100 * a.positive[n]!).toFixed(1)} % / ${(100 * b.positive[n]!).toFixed(1)} %`),
      `${a.seconds.toFixed(1)} / ${b.seconds.toFixed(1)}`,
    ]);
  }
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((v, c) => v.padStart(widths[c]!)).join('  ');
  const ic = t.inputCheck;
  const table = [
    `${k.model}: Kindling against ${t.framework}, the same initial weights, input tensors and Dropout masks`,
    line(head),
    ...rows.map(line),
    'iteration 0 gradients, ||g_K − g_T|| / ||g_T|| (and each side against PyTorch\'s float64 step, when run):',
    ...Object.entries(t.grads0.perParam).map(([n, g]) => `  ${n.padEnd(Math.max(...Object.keys(t.grads0.perParam).map((p) => p.length)))}  ` +
      `${g.l2Rel.toExponential(1)}  (max-abs ${g.maxRel.toExponential(1)}` +
      (g.kindlingVsF64 === undefined ? ')' : `; Kindling ${g.kindlingVsF64.toExponential(1)}, PyTorch ${g.torchVsF64!.toExponential(1)} from float64)`)),
    `first batch: labels ${ic.labelsEqual ? 'equal' : 'DIFFER'}; Kindling's resized input vs torch F.interpolate(bilinear) max |diff| ${ic.interpolateMaxAbs.toExponential(2)}` +
      (ic.pilMaxAbs === null ? '' : `, vs PIL resize (torchvision's Resize on PIL images) ${ic.pilMaxAbs.toExponential(2)}`),
    firstDivergence === null ? `losses agree to ${maxLossRel.toExponential(1)} relative at every iteration`
      : `losses first differ by more than 1e-3 relative at iteration ${firstDivergence}`,
  ].join('\n');
  return { table, maxLossRel, firstDivergence };
}

export function recipeFor(model: ReplayModel, over: Partial<ReplayOptions['recipe']> = {}): ReplayOptions['recipe'] {
  const r = RECIPES[model];
  return { optimizer: over.optimizer ?? r.optimizer, lr: over.lr ?? r.lr, batchSize: over.batchSize ?? r.batchSize, resize: over.resize === undefined ? r.resize : over.resize };
}
