import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '@kindling/core';
import { safetensors, type Module } from '@kindling/nn';
import type { LRScheduler, Optimizer, OptimizerStateDict, ParamState } from '@kindling/optim';
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

/** The checkpoint of the highest epoch, by number: epoch-10000 comes after epoch-9999. */
export function latestCheckpoint(out: string): string | null {
  const dir = dirOf(out);
  if (!existsSync(dir)) return null;
  let best: { file: string; epoch: number } | null = null;
  for (const f of readdirSync(dir)) {
    const m = /^epoch-(\d+)\.safetensors$/.exec(f);
    if (!m) continue;
    const epoch = Number(m[1]);
    if (!best || epoch > best.epoch) best = { file: f, epoch };
  }
  return best ? join(dir, best.file) : null;
}

/**
 * Removes the temporary files of checkpoint writes that never finished (safetensors.save names
 * them `.<file>.<pid>.<stamp>.tmp` and renames them when done): a kill during a write leaves one
 * behind. Files of a process that is still running are left alone. Returns the names removed.
 */
export function removeStaleTemps(out: string): string[] {
  const dir = dirOf(out);
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const f of readdirSync(dir)) {
    const m = /^\.epoch-\d+\.safetensors\.(\d+)\.[0-9a-z]+\.tmp$/.exec(f);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && isRunning(pid)) continue;
    rmSync(join(dir, f), { force: true });
    removed.push(f);
  }
  return removed;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
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

/** The checkpoint's metadata value `key` parsed as JSON; errors name the key. */
function metaJson(meta: Record<string, string>, key: string): unknown {
  const text = meta[key];
  if (typeof text !== 'string') throw new Error(`metadata has no ${key}`);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`metadata ${key} is not valid JSON (${(e as Error).message})`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The metadata is checked before anything is restored (model.loadStateDict and
 * optimizer.loadStateDict check their own parts), and keyed containers are Maps or null-prototype
 * objects: a key such as "__proto__" is then an ordinary (and rejected) key, never a way to reach
 * Object.prototype.
 */
function restore(path: string, model: Module, optimizer: Optimizer, scheduler: LRScheduler | null, o: TrainOptions): CheckpointState {
  const bytes = new Uint8Array(readFileSync(path));
  const meta = safetensors.readMetadata(bytes);
  if (!meta || meta.format !== FORMAT) throw new Error(`${path}: not a Kindling training checkpoint (metadata format ${meta?.format ?? 'missing'})`);
  const saved = metaJson(meta, 'options');
  if (!isObject(saved)) throw new Error('metadata options is not an object');
  for (const k of ['model', 'optimizer', 'scheduler', 'batchSize', 'resize', 'subset', 'seed'] as const) {
    if (saved[k] !== o[k]) throw new Error(`${path}: checkpoint was trained with ${k}=${JSON.stringify(saved[k])}, this run has ${JSON.stringify(o[k])}; resume with the same options`);
  }
  if (!/^(0|[1-9]\d{0,8})$/.test(meta.epoch ?? '')) throw new Error(`metadata epoch ${JSON.stringify(meta.epoch)} is not an epoch number`);
  const epoch = Number(meta.epoch);
  const history = metaJson(meta, 'history');
  if (!Array.isArray(history) || !history.every(isObject)) throw new Error('metadata history is not an array of epoch records');
  if (history.length !== epoch + 1) throw new Error(`metadata history has ${history.length} epoch records, epoch ${epoch} needs ${epoch + 1}`);
  const rng = metaJson(meta, 'rng');
  if (!isObject(rng) || !Number.isSafeInteger(rng.seed) || !Number.isSafeInteger(rng.counter) || (rng.counter as number) < 0) {
    throw new Error(`metadata rng ${JSON.stringify(rng)} is not a generator state { seed, counter }`);
  }
  const opt = metaJson(meta, 'optimizer');
  if (!isObject(opt) || !Array.isArray(opt.paramGroups) || !isObject(opt.numbers)) {
    throw new Error('metadata optimizer is not { paramGroups: [...], numbers: {...} }');
  }
  const sched = metaJson(meta, 'scheduler');
  if (sched !== null && !isObject(sched)) throw new Error('metadata scheduler is neither null nor an object');

  const tensors = safetensors.deserialize(bytes);
  try {
    const modelSd = new Map<string, Tensor>();
    // Optimizer state per parameter index (digits only), each a null-prototype record.
    const optimState = new Map<string, ParamState>();
    const stateOf = (i: string, what: string): ParamState => {
      if (!/^(0|[1-9]\d*)$/.test(i)) throw new Error(`${what}: ${JSON.stringify(i)} is not a parameter index`);
      let st = optimState.get(i);
      if (!st) optimState.set(i, (st = Object.create(null) as ParamState));
      return st;
    };
    for (const [k, t] of tensors) {
      if (k.startsWith('model.')) modelSd.set(k.slice('model.'.length), t);
      else if (k.startsWith('optim.')) {
        const [, i, ...rest] = k.split('.');
        stateOf(i!, `tensor ${k}`)[rest.join('.')] = t;
      }
    }
    for (const [i, nums] of Object.entries(opt.numbers)) {
      if (!isObject(nums)) throw new Error(`metadata optimizer numbers ${JSON.stringify(i)} is not an object`);
      const st = stateOf(i, 'metadata optimizer numbers');
      for (const [k, v] of Object.entries(nums)) st[k] = v as number; // loadStateDict checks each is a finite number
    }
    const state = Object.create(null) as Record<number, ParamState>;
    for (const [i, st] of optimState) state[Number(i)] = st;
    model.loadStateDict(modelSd);
    optimizer.loadStateDict({ state, paramGroups: opt.paramGroups as OptimizerStateDict['paramGroups'] });
    if (scheduler && sched) scheduler.loadStateDict(sched);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return { epoch, rng: { seed: rng.seed as number, counter: rng.counter as number }, history, options: saved as unknown as TrainOptions };
}
