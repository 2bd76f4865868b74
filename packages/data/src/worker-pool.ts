/**
 * A small pool of worker threads that assemble batches of an in-memory dataset off the main
 * thread (Node only; `node:worker_threads` is imported lazily so that browsers never load it).
 *
 * The dataset reaches each worker once, as SharedArrayBuffer-backed views in workerData; jobs
 * carry only indices. Workers are unref'd while idle so that an idle pool never keeps the process
 * alive, and ref'd while a job is pending so that a script awaiting a batch does not exit.
 */
import type { Worker as NodeWorker } from 'node:worker_threads';
import type { WorkerInit } from './dataset.js';
import type { RawBatch } from './types.js';
import type { WorkerJob, WorkerReply } from './worker.js';

/** A batch job: the indices of one batch and its place in the epoch. */
export interface PoolJob {
  readonly indices: Int32Array;
  readonly seed: number;
  readonly epoch: number;
  readonly start: number;
  /** JSON of the transform spec, '' for none. */
  readonly transform: string;
}

interface Pending {
  resolve(b: RawBatch): void;
  reject(e: Error): void;
}

interface Slot {
  readonly worker: NodeWorker;
  readonly pending: Map<number, Pending>;
}

/** The compiled worker script: ./worker.js next to this module (dist/ when running from src/). */
async function workerScript(): Promise<URL> {
  const here = import.meta.url;
  const fromSource = /\.[cm]?ts$/.test(here);
  const url = fromSource ? new URL('../dist/worker.js', here) : new URL('./worker.js', here);
  if (url.protocol === 'file:') {
    const { existsSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const path = fileURLToPath(url);
    if (!existsSync(path)) {
      throw new Error(
        `the worker script ${path} does not exist` +
          (fromSource ? ' (running @kindling/data from source: build it with `tsc -b packages/data`)' : ''),
      );
    }
  }
  return url;
}

export class WorkerPool {
  private readonly slots: Slot[];
  private nextId = 0;
  private next = 0;
  private failure: Error | undefined;
  private closed = false;

  private constructor(slots: Slot[]) {
    this.slots = slots;
    for (const slot of slots) this.listen(slot);
  }

  /**
   * Starts `n` workers on the dataset and waits until each has loaded. Rejects with the reason when
   * worker threads are unavailable or a worker fails to start.
   */
  static async create(n: number, init: WorkerInit): Promise<WorkerPool> {
    let threads: typeof import('node:worker_threads');
    try {
      threads = await import('node:worker_threads');
    } catch {
      throw new Error('worker_threads is not available on this platform');
    }
    const url = await workerScript();
    const data = { data: init.data, sampleShape: [...init.sampleShape], labels: init.labels };
    // Workers inherit the process's Node flags; drop --input-type, which a worker started from a
    // file rejects (it is set when the main script was given with --eval or on stdin).
    const execArgv: string[] = [];
    for (let i = 0; i < process.execArgv.length; i++) {
      const a = process.execArgv[i]!;
      if (a === '--input-type') i++;
      else if (!a.startsWith('--input-type=')) execArgv.push(a);
    }
    const workers: NodeWorker[] = [];
    try {
      for (let i = 0; i < n; i++) {
        workers.push(new threads.Worker(url, { workerData: data, execArgv, name: `kindling-data-${i}` }));
      }
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              const onMessage = (m: WorkerReply) => {
                if (m.type !== 'ready') return;
                cleanup();
                resolve();
              };
              const onError = (e: Error) => {
                cleanup();
                reject(e);
              };
              const onExit = (code: number) => {
                cleanup();
                reject(new Error(`worker exited with code ${code} while starting`));
              };
              const cleanup = () => {
                w.off('message', onMessage);
                w.off('error', onError);
                w.off('exit', onExit);
              };
              w.on('message', onMessage);
              w.on('error', onError);
              w.on('exit', onExit);
            }),
        ),
      );
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate().catch(() => 0)));
      throw new Error(`a data worker failed to start: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    for (const w of workers) w.unref();
    return new WorkerPool(workers.map((worker) => ({ worker, pending: new Map() })));
  }

  /** Number of worker threads. */
  get size(): number {
    return this.slots.length;
  }

  private listen(slot: Slot): void {
    slot.worker.on('message', (m: WorkerReply) => {
      if (m.type === 'ready') return;
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if (slot.pending.size === 0) slot.worker.unref();
      if (m.type === 'batch') p.resolve({ x: m.x, xShape: m.xShape, y: m.y });
      else p.reject(new Error(`data worker: ${m.message}`));
    });
    const fail = (e: Error) => {
      this.failure ??= e;
      for (const p of slot.pending.values()) p.reject(e);
      slot.pending.clear();
    };
    slot.worker.on('error', (e) => fail(new Error(`data worker crashed: ${e.message}`, { cause: e })));
    slot.worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`data worker exited unexpectedly with code ${code}`));
    });
  }

  /** Builds one batch on the next worker (round robin). */
  run(job: PoolJob): Promise<RawBatch> {
    if (this.closed) return Promise.reject(new Error('data worker pool is closed'));
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.slots[this.next]!;
    this.next = (this.next + 1) % this.slots.length;
    const id = this.nextId++;
    return new Promise<RawBatch>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve, reject });
      const msg: WorkerJob = { id, ...job };
      slot.worker.postMessage(msg);
    });
  }

  /** Stops the workers; pending jobs reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('data worker pool was closed');
    for (const slot of this.slots) {
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate().catch(() => 0)));
  }
}
