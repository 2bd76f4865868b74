#!/usr/bin/env node
/** pnpm replay --model nin --iters 40: the same iterations in Kindling and PyTorch (src/replay.ts). */
import '@kindling/backend-cpu';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OPTIMIZERS } from './options.js';
import { REPLAY_MODELS, compareReplays, recipeFor, replayKindling, replayTorch, type ReplayLog, type ReplayModel, type ReplayOptions, type TorchReplayLog } from './replay.js';

export const REPLAY_USAGE = `usage: pnpm replay --model NAME [options]

  --model NAME       one of the seed's networks: ${REPLAY_MODELS.join(', ')}
  --iters K          iterations to replay, the first K batches of epoch 0 (default 3)
  --seed N           as pnpm train's --seed: weights, data order, Dropout masks (default 0)
  --dropout MODE     masks (default: Kindling draws nn.Dropout's masks, PyTorch gets the same ones)
                     or off (both skip Dropout)
  --lr X, --batch-size N, --resize N, --optimizer sgd|adam
                     override the model's recipe (default: pnpm train's)
  --data-dir DIR     folder with the Fashion-MNIST IDX files (as pnpm train)
  --out DIR          where the files and logs go (default runs/replay/<model>)
  --python PATH      the Python with PyTorch (default /usr/bin/python3, Debian's python3-torch)
  --kindling-only    write Kindling's side only (PyTorch's: python3 apps/trainer/scripts/replay_torch.py DIR)
  --no-f64           skip PyTorch's float64 step of iteration 0 (minutes for the 224×224 networks)
  --keep-batches     keep DIR/batches (each iteration's input, labels and masks) afterwards
  --compare-only     run nothing: print the table of DIR/kindling.json against DIR/torch.json`;

function fail(msg: string): never {
  process.stderr.write(`replay: ${msg}\n\n${REPLAY_USAGE}\n`);
  process.exit(2);
}

function num(name: string, v: string | undefined, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0 && (!integer || Number.isInteger(n)))) fail(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got '${v}'`);
  return n;
}

async function main(): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        model: { type: 'string' }, iters: { type: 'string' }, seed: { type: 'string' }, dropout: { type: 'string' }, lr: { type: 'string' },
        'batch-size': { type: 'string' }, resize: { type: 'string' }, optimizer: { type: 'string' }, 'data-dir': { type: 'string' },
        out: { type: 'string' }, python: { type: 'string' }, 'kindling-only': { type: 'boolean' }, 'keep-batches': { type: 'boolean' },
        'compare-only': { type: 'boolean' }, 'no-f64': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${REPLAY_USAGE}\n`);
    return 0;
  }
  const model = values.model as string | undefined;
  if (!model || !(REPLAY_MODELS as readonly string[]).includes(model)) fail(`--model must be one of ${REPLAY_MODELS.join(', ')}, got '${model ?? ''}'`);
  const dropout = (values.dropout as string | undefined) ?? 'masks';
  if (dropout !== 'masks' && dropout !== 'off') fail(`--dropout must be masks or off, got '${dropout}'`);
  const optimizer = values.optimizer as string | undefined;
  if (optimizer !== undefined && !(OPTIMIZERS as readonly string[]).includes(optimizer)) fail(`--optimizer must be sgd or adam, got '${optimizer}'`);
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!(Number.isInteger(seed) && seed >= 0)) fail(`--seed must be an integer >= 0, got '${String(values.seed)}'`);
  const o: ReplayOptions = {
    model: model as ReplayModel,
    iters: num('iters', values.iters as string | undefined, true) ?? 3,
    seed,
    dropout,
    out: (values.out as string | undefined) ?? join('runs', 'replay', model!),
    dataDir: (values['data-dir'] as string | undefined) ?? null,
    recipe: recipeFor(model as ReplayModel, {
      lr: num('lr', values.lr as string | undefined, false),
      batchSize: num('batch-size', values['batch-size'] as string | undefined, true),
      resize: num('resize', values.resize as string | undefined, true),
      optimizer: optimizer as ReplayOptions['recipe']['optimizer'] | undefined,
    }),
    keepBatches: Boolean(values['keep-batches']) || Boolean(values['kindling-only']),
  };
  try {
    const log = (l: string) => process.stdout.write(`${l}\n`);
    if (values['compare-only']) {
      const read = (f: string) => JSON.parse(readFileSync(join(o.out, f), 'utf8')) as unknown;
      log(compareReplays(read('kindling.json') as ReplayLog, read('torch.json') as TorchReplayLog).table);
      return 0;
    }
    const k = await replayKindling(o, log);
    if (values['kindling-only']) {
      log(`Kindling's side is in ${o.out}; PyTorch's: /usr/bin/python3 apps/trainer/scripts/replay_torch.py ${o.out}`);
      return 0;
    }
    const t = replayTorch(o, { python: values.python as string | undefined, inherit: true, noF64: Boolean(values['no-f64']) });
    const c = compareReplays(k, t);
    writeFileSync(join(o.out, 'comparison.txt'), `${c.table}\n`);
    log(c.table);
    return 0;
  } catch (e) {
    process.stderr.write(`replay: ${(e as Error).message}\n`);
    return 1;
  }
}

process.exit(await main());
