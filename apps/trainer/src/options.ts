import { parseArgs } from 'node:util';
import { flagString } from '@kindling/core/backend';

/** The seed's chapter 5 networks (Dive-into-DL-PyTorch), then d2l.ai's variants under names that say so. */
export const MODELS = [
  'lenet', 'lenet-bn', 'lenet-bn-scratch', 'alexnet', 'vgg11', 'nin',
  'lenet-d2l', 'lenet-bn-d2l', 'alexnet-d2l', 'vgg11-d2l', 'nin-d2l',
] as const;
export type ModelName = (typeof MODELS)[number];
export const OPTIMIZERS = ['sgd', 'adam'] as const;
export const SCHEDULERS = ['none', 'step', 'cosine', 'onecycle'] as const;

export interface TrainOptions {
  model: ModelName;
  backend: string;
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: (typeof OPTIMIZERS)[number];
  /** Learning-rate schedule: step (×0.1 every third of the run), cosine (to 0), onecycle (per batch, max = lr). */
  scheduler: (typeof SCHEDULERS)[number];
  seed: number;
  /** Side length images are resized to (224 for AlexNet, VGG and NiN), or null. */
  resize: number | null;
  /** Train on the first N training images only. */
  subset: number | null;
  /** Evaluate on the first N test images only. */
  testSubset: number | null;
  /** Stop each epoch after N iterations (for quick looks at big models). */
  maxIters: number | null;
  /** Print (and record) the mean loss of every N iterations; 0 = only per epoch. */
  logEvery: number;
  out: string;
  resume: boolean;
  dataDir: string | null;
  /** Fetch the official files into the cache when none are found. */
  download: boolean;
  quiet: boolean;
}

export interface Recipe {
  optimizer: (typeof OPTIMIZERS)[number];
  lr: number;
  epochs: number;
  batchSize: number;
  /** Side length images are resized to, or null for 28×28. */
  resize: number | null;
}

/**
 * Each network's training settings as its source trains it: the seed's chapter 5 (Adam, PyTorch's
 * default initialisation) and d2l.ai's chapters 6.6, 7.1–7.3, 8.5 (SGD, Xavier initialisation).
 */
export const RECIPES: Record<ModelName, Recipe> = {
  lenet: { optimizer: 'adam', lr: 0.001, epochs: 5, batchSize: 256, resize: null },
  'lenet-bn': { optimizer: 'adam', lr: 0.001, epochs: 5, batchSize: 256, resize: null },
  'lenet-bn-scratch': { optimizer: 'adam', lr: 0.001, epochs: 5, batchSize: 256, resize: null },
  alexnet: { optimizer: 'adam', lr: 0.001, epochs: 5, batchSize: 128, resize: 224 },
  vgg11: { optimizer: 'adam', lr: 0.001, epochs: 5, batchSize: 64, resize: 224 },
  nin: { optimizer: 'adam', lr: 0.002, epochs: 5, batchSize: 128, resize: 224 },
  'lenet-d2l': { optimizer: 'sgd', lr: 0.9, epochs: 10, batchSize: 256, resize: null },
  'lenet-bn-d2l': { optimizer: 'sgd', lr: 1.0, epochs: 10, batchSize: 256, resize: null },
  'alexnet-d2l': { optimizer: 'sgd', lr: 0.01, epochs: 10, batchSize: 128, resize: 224 },
  'vgg11-d2l': { optimizer: 'sgd', lr: 0.05, epochs: 10, batchSize: 128, resize: 224 },
  'nin-d2l': { optimizer: 'sgd', lr: 0.1, epochs: 10, batchSize: 128, resize: 224 },
};

/** One line of the usage per network: its recipe, from RECIPES. */
const recipeLines = MODELS.map((m) => {
  const r = RECIPES[m];
  const size = r.resize ? `${r.resize}×${r.resize}` : '28×28';
  return `    ${m.padEnd(18)} ${r.optimizer} lr ${r.lr}, batch ${r.batchSize}, ${r.epochs} epochs, ${size}`;
}).join('\n');

export const USAGE = `usage: pnpm train --model NAME [options]

  --model NAME         network (required), trained by default with its source's recipe: the seed's
                       chapter 5 (Dive-into-DL-PyTorch: PyTorch's default init, Adam) under the plain
                       names, d2l.ai's (Xavier init, SGD) under the -d2l names:
${recipeLines}
  --backend DEVICE     cpu (default: $KINDLING_DEVICE or cpu)
  --epochs N           epochs (default: the model's recipe, above)
  --batch-size N       minibatch size (default: the recipe's)
  --lr X               learning rate (default: the recipe's)
  --optimizer NAME     sgd or adam (default: the recipe's)
  --scheduler NAME     none (default), step, cosine or onecycle
  --seed N             seed for weights, shuffling and dropout (default 0)
  --resize N           resize images to N×N (default: the recipe's, 224 for AlexNet, VGG-11, NiN)
  --subset N           train on the first N training images
  --test-subset N      evaluate on the first N test images
  --max-iters N        stop each epoch after N iterations
  --log-every N        print the mean loss of every N iterations (one readback each)
  --data-dir DIR       folder with the Fashion-MNIST IDX files (else $KINDLING_DATA_DIR, the cache,
                       /usr/share/datasets/fashion-mnist)
  --download           fetch the official Fashion-MNIST files (MD5-checked) when none are found
  --out DIR            where metrics.jsonl, plot.svg, summary.txt and checkpoints go (runs/<model>)
  --resume             continue from the last checkpoint in --out
  --quiet              no progress bar
  --nproc N            data-parallel over N processes on this machine (Gloo, DistributedDataParallel;
                       the batch is split across them; no checkpoints or plots: src/distributed.ts)
  --help               this text`;

export class UsageError extends Error {
  override name = 'UsageError';
}

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return Number(v);
}

export function parseOptions(argv: string[]): TrainOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' }, backend: { type: 'string' }, epochs: { type: 'string' }, 'batch-size': { type: 'string' },
        lr: { type: 'string' }, optimizer: { type: 'string' }, scheduler: { type: 'string' }, seed: { type: 'string' }, resize: { type: 'string' },
        subset: { type: 'string' }, 'test-subset': { type: 'string' }, 'max-iters': { type: 'string' }, 'log-every': { type: 'string' }, out: { type: 'string' },
        'data-dir': { type: 'string' }, download: { type: 'boolean' }, resume: { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return 'help';
  const model = values.model as string | undefined;
  if (!model) throw new UsageError('--model is required');
  if (!(MODELS as readonly string[]).includes(model)) throw new UsageError(`--model must be one of ${MODELS.join(', ')}, got '${model}'`);
  const d = RECIPES[model as ModelName];
  const optimizer = (values.optimizer as string | undefined) ?? d.optimizer;
  if (!(OPTIMIZERS as readonly string[]).includes(optimizer)) throw new UsageError(`--optimizer must be sgd or adam, got '${optimizer}'`);
  const scheduler = (values.scheduler as string | undefined) ?? 'none';
  if (!(SCHEDULERS as readonly string[]).includes(scheduler)) throw new UsageError(`--scheduler must be one of ${SCHEDULERS.join(', ')}, got '${scheduler}'`);
  let lr = d.lr;
  if (values.lr !== undefined) {
    lr = Number(values.lr);
    if (!Number.isFinite(lr) || lr <= 0) throw new UsageError(`--lr must be a positive number, got '${values.lr}'`);
  }
  const backend = (values.backend as string | undefined) ?? flagString('KINDLING_DEVICE') ?? 'cpu';
  if (!/^[a-z]+(:\d+)?$/.test(backend)) throw new UsageError(`--backend must be a device like cpu, webgpu or cuda:0, got '${backend}'`);
  const resize = int('resize', values.resize as string | undefined, 1) ?? d.resize;
  if (resize !== null && d.resize !== null && resize < 32) {
    throw new UsageError(`--resize ${resize} is too small for ${model}: its feature maps shrink below 1×1 (its recipe uses ${d.resize})`);
  }
  return {
    model: model as ModelName,
    backend,
    epochs: int('epochs', values.epochs as string | undefined, 1) ?? d.epochs,
    batchSize: int('batch-size', values['batch-size'] as string | undefined, 1) ?? d.batchSize,
    lr,
    optimizer: optimizer as TrainOptions['optimizer'],
    scheduler: scheduler as TrainOptions['scheduler'],
    seed: int('seed', values.seed as string | undefined, 0) ?? 0,
    resize,
    subset: int('subset', values.subset as string | undefined, 1) ?? null,
    testSubset: int('test-subset', values['test-subset'] as string | undefined, 1) ?? null,
    maxIters: int('max-iters', values['max-iters'] as string | undefined, 1) ?? null,
    logEvery: int('log-every', values['log-every'] as string | undefined, 1) ?? 0,
    out: (values.out as string | undefined) ?? `runs/${model}`,
    resume: Boolean(values.resume),
    dataDir: (values['data-dir'] as string | undefined) ?? null,
    download: Boolean(values.download),
    quiet: Boolean(values.quiet),
  };
}
