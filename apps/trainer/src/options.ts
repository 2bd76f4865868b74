import { parseArgs } from 'node:util';

export const MODELS = ['lenet', 'lenet-bn', 'alexnet', 'vgg11', 'nin'] as const;
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
  /** Side length images are resized to (d2l uses 224 for AlexNet, VGG and NiN), or null. */
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

/** d2l's settings for each network on Fashion-MNIST (chapters 6.6, 7.1–7.3, 8.5). */
export const D2L_DEFAULTS: Record<ModelName, { lr: number; epochs: number; batchSize: number; resize: number | null }> = {
  lenet: { lr: 0.9, epochs: 10, batchSize: 256, resize: null },
  'lenet-bn': { lr: 1.0, epochs: 10, batchSize: 256, resize: null },
  alexnet: { lr: 0.01, epochs: 10, batchSize: 128, resize: 224 },
  vgg11: { lr: 0.05, epochs: 10, batchSize: 128, resize: 224 },
  nin: { lr: 0.1, epochs: 10, batchSize: 128, resize: 224 },
};

export const USAGE = `usage: pnpm train --model lenet|lenet-bn|alexnet|vgg11|nin [options]

  --model NAME         network, as d2l defines it for Fashion-MNIST (required)
  --backend DEVICE     cpu (default: $KINDLING_DEVICE or cpu)
  --epochs N           epochs (d2l: 10)
  --batch-size N       minibatch size (d2l: 256 for LeNet, 128 for the 224×224 networks)
  --lr X               learning rate (d2l: LeNet 0.9, LeNet-BN 1.0, AlexNet 0.01, VGG 0.05, NiN 0.1)
  --optimizer NAME     sgd (default, as d2l) or adam
  --scheduler NAME     none (default, as d2l), step, cosine or onecycle
  --seed N             seed for weights, shuffling and dropout (default 0)
  --resize N           resize images to N×N (d2l: 224 for AlexNet, VGG-11, NiN)
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
  const d = D2L_DEFAULTS[model as ModelName];
  const optimizer = (values.optimizer as string | undefined) ?? 'sgd';
  if (!(OPTIMIZERS as readonly string[]).includes(optimizer)) throw new UsageError(`--optimizer must be sgd or adam, got '${optimizer}'`);
  const scheduler = (values.scheduler as string | undefined) ?? 'none';
  if (!(SCHEDULERS as readonly string[]).includes(scheduler)) throw new UsageError(`--scheduler must be one of ${SCHEDULERS.join(', ')}, got '${scheduler}'`);
  let lr = d.lr;
  if (values.lr !== undefined) {
    lr = Number(values.lr);
    if (!Number.isFinite(lr) || lr <= 0) throw new UsageError(`--lr must be a positive number, got '${values.lr}'`);
  }
  const backend = (values.backend as string | undefined) ?? process.env.KINDLING_DEVICE ?? 'cpu';
  if (!/^[a-z]+(:\d+)?$/.test(backend)) throw new UsageError(`--backend must be a device like cpu, webgpu or cuda:0, got '${backend}'`);
  const resize = int('resize', values.resize as string | undefined, 1) ?? d.resize;
  if (resize !== null && model !== 'lenet' && model !== 'lenet-bn' && resize < 32) {
    throw new UsageError(`--resize ${resize} is too small for ${model}: its feature maps shrink below 1×1 (d2l uses 224)`);
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
