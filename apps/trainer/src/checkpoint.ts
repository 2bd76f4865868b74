import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '@kindling/core';
import { safetensors, type Module } from '@kindling/nn';
import type { LRScheduler, Optimizer, OptimizerStateDict } from '@kindling/optim';
import type { TrainOptions } from './options.js';

/**
 * A training checkpoint is one safetensors file per epoch (checkpoints/epoch-0003.safetensors):
 * the model's stateDict under `model.<name>` (PyTorch's names), the optimizer's tensor state
 * under `optim.<param index>.<key>`, and everything else — epoch, RNG state, the optimizer's
 * numbers and param groups, the scheduler's state, the history so far, the options — as JSON in
 * `__metadata__`.
 * Files are written atomically (temp file + rename), so a crash leaves the previous epoch intact.
 */
const FORMAT = 'kindling-checkpoint-1';

export interface CheckpointExtra {
  history: unknown[];
  rng: { seed: number; counter: number };
  options: TrainOptions;
}

export interface CheckpointState extends CheckpointExtra {
  epoch: number;
}

const dirOf = (out: string) => join(out, 'checkpoints');
const fileOf = (out: string, epoch: number) => join(dirOf(out), `epoch-${String(epoch + 1).padStart(4, '0')}.safetensors`);

export async function saveCheckpoint(
  out: string, epoch: number, model: Module, optimizer: Optimizer, scheduler: LRScheduler | null, extra: CheckpointExtra,
): Promise<string> {
  mkdirSync(dirOf(out), { recursive: true });
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of model.stateDict()) tensors.set(`model.${k}`, t);
  const sd = optimizer.stateDict();
  const numbers: Record<string, Record<string, number>> = {};
  for (const [i, s] of Object.entries(sd.state)) {
    for (const [k, v] of Object.entries(s)) {
      if (v instanceof Tensor) tensors.set(`optim.${i}.${k}`, v);
      else (numbers[i] ??= {})[k] = v;
    }
  }
  const path = fileOf(out, epoch);
  await safetensors.save(tensors, path, {
    metadata: {
      format: FORMAT,
      epoch: String(epoch),
      rng: JSON.stringify(extra.rng),
      history: JSON.stringify(extra.history),
      options: JSON.stringify(extra.options),
      optimizer: JSON.stringify({ paramGroups: sd.paramGroups, numbers }),
      scheduler: JSON.stringify(scheduler ? scheduler.stateDict() : null),
    },
  });
  return path;
}

export function latestCheckpoint(out: string): string | null {
  const dir = dirOf(out);
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir).filter((f) => /^epoch-\d+\.safetensors$/.test(f)).sort();
  return files.length ? join(dir, files[files.length - 1]!) : null;
}

/** Restores model and optimizer from `path` and returns the rest; errors name the file. */
export async function loadCheckpoint(path: string, model: Module, optimizer: Optimizer, scheduler: LRScheduler | null, o: TrainOptions): Promise<CheckpointState> {
  try {
    return restore(path, model, optimizer, scheduler, o);
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith(path) ? msg : `${path}: ${msg}`);
  }
}

function restore(path: string, model: Module, optimizer: Optimizer, scheduler: LRScheduler | null, o: TrainOptions): CheckpointState {
  const bytes = new Uint8Array(readFileSync(path));
  const meta = safetensors.readMetadata(bytes);
  if (!meta || meta.format !== FORMAT) throw new Error(`${path}: not a Kindling training checkpoint (metadata format ${meta?.format ?? 'missing'})`);
  const saved = JSON.parse(meta.options!) as TrainOptions;
  for (const k of ['model', 'optimizer', 'scheduler', 'batchSize', 'resize', 'subset', 'seed'] as const) {
    if (saved[k] !== o[k]) throw new Error(`${path}: checkpoint was trained with ${k}=${JSON.stringify(saved[k])}, this run has ${JSON.stringify(o[k])}; resume with the same options`);
  }
  const tensors = safetensors.deserialize(bytes);
  const modelSd = new Map<string, Tensor>();
  const optimTensors: Record<string, Record<string, Tensor | number>> = {};
  for (const [k, t] of tensors) {
    if (k.startsWith('model.')) modelSd.set(k.slice('model.'.length), t);
    else if (k.startsWith('optim.')) {
      const [, i, ...rest] = k.split('.');
      (optimTensors[i!] ??= {})[rest.join('.')] = t;
    }
  }
  model.loadStateDict(modelSd);
  const opt = JSON.parse(meta.optimizer!) as { paramGroups: OptimizerStateDict['paramGroups']; numbers: Record<string, Record<string, number>> };
  for (const [i, nums] of Object.entries(opt.numbers)) Object.assign((optimTensors[i] ??= {}), nums);
  optimizer.loadStateDict({ state: optimTensors, paramGroups: opt.paramGroups });
  const sched = JSON.parse(meta.scheduler ?? 'null');
  if (scheduler && sched) scheduler.loadStateDict(sched);
  for (const t of tensors.values()) t.dispose();
  return { epoch: Number(meta.epoch), rng: JSON.parse(meta.rng!), history: JSON.parse(meta.history!), options: saved };
}
