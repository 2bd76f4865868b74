/**
 * BatchLoader: the DataLoader engine on typed arrays (no tensor library needed). It yields
 * RawBatch values { x: Float32Array [B, ...], xShape, y: Int32Array [B] }; the DataLoader of
 * dataloader.ts is the same engine yielding @kindling/core tensors.
 *
 * Epochs and reproducibility
 *   - One epoch = every sample once. Batches per epoch = ceil(N / batchSize), floor with dropLast.
 *   - The order of epoch e is randperm(N) drawn from the stream (seed, 'shuffle', e), and random
 *     transforms of the sample at position p of epoch e draw from the stream (seed, 'augment', e, p).
 *     Both are pure functions of (seed, e): the same every run, on the main thread and in workers.
 *   - Each `for await (… of loader)` runs the loader's current epoch and advances it by one
 *     (0, 1, 2, …). `setEpoch(e)` picks the epoch of the next iteration explicitly.
 *   - Resuming: save `loader.stateDict()` ({ seed, epoch, batch }) with the model checkpoint
 *     (taken inside the loop, `batch` counts the batches already handed out); after a restart,
 *     `loader.loadStateDict(state)` makes the next iteration continue epoch `epoch` at batch
 *     `batch`, with exactly the batches the interrupted run would have seen next. Leaving a loop
 *     early (`break`) ends that epoch, as in PyTorch: afterwards stateDict() describes the next
 *     epoch, so take it inside the loop.
 *
 * Prefetch
 *   - In-memory datasets (InMemoryDataset, TensorDataset, MNIST, FashionMNIST) with built-in
 *     transforms are assembled by worker threads (Node) that receive the pixel buffer once through
 *     a SharedArrayBuffer, `prefetch` batches ahead per worker, so decoding and resizing never
 *     stall a training step. Elsewhere (browsers, custom transforms, numWorkers: 0) the same batches
 *     are built on the main thread, scheduled as macrotasks ahead of the consumer.
 *   - Other datasets are read with `get(i)` (which may be async), `prefetch` batches ahead.
 */
import { assembleBatch, collateArrays, sampleGenerator } from './batch.js';
import { InMemoryDataset, type Dataset, type Sample } from './dataset.js';
import type { Sampler } from './distributed-sampler.js';
import { drawSeed, RandomStream, STREAM_SHUFFLE, type SeedSource } from './random.js';
import { unserializableTransform } from './transforms.js';
import type { HostArray, RawBatch } from './types.js';
import { WorkerPool } from './worker-pool.js';

/** Options of BatchLoader and DataLoader (PyTorch names in camelCase). */
export interface LoaderOptions<X = HostArray, B = RawBatch> {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Reshuffle every epoch (default false). */
  shuffle?: boolean;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /**
   * Seed of shuffling and random transforms. Default: drawn from `generator`; without one, a random
   * seed for BatchLoader, and a draw from @kindling/core's global generator for DataLoader (so
   * `manualSeed(s)` fixes the data order too, as torch.manual_seed does). Read it back from `loader.seed`.
   */
  seed?: number;
  /** A generator to draw the seed from (a RandomStream or a @kindling/core Generator), as PyTorch's `generator=`. */
  generator?: SeedSource;
  /** Turns a list of samples into a batch; disables the in-memory fast path. Its result is yielded as is. */
  collate?: (samples: Sample<X>[]) => B | Promise<B>;
  /**
   * Worker threads assembling batches: a number, 0 for the main thread, or 'auto' (default): one
   * worker when the dataset is in memory, its transforms are built-in and worker_threads exist,
   * else the main thread (see `loader.workerStatus`). An explicit count that cannot be honoured throws.
   */
  numWorkers?: number | 'auto';
  /** Batches prepared ahead per worker (or on the main thread); default 2. */
  prefetch?: number;
  /** Gives each epoch's indices instead of shuffle (e.g. a DistributedSampler); exclusive with shuffle, as in PyTorch. */
  sampler?: Sampler;
}

/** A loader's position, for checkpoints: the next iteration runs `epoch` from batch `batch`. */
export interface LoaderState {
  readonly seed: number;
  readonly epoch: number;
  readonly batch: number;
}

/** How subclasses turn raw batches and sample lists into what they yield. */
export interface LoaderHooks<X, B> {
  /** Wraps a batch built by the fast path (on the main thread, when it is yielded). */
  fromRaw(raw: RawBatch): B;
  /** Collates samples of a generic dataset when no `collate` option is given. */
  defaultCollate(samples: Sample<X>[]): B | Promise<B>;
}

/** What a prefetch job produces: a fast-path batch, or samples still to collate. */
type Produced<X> = { raw: RawBatch; samples?: undefined } | { raw?: undefined; samples: Sample<X>[] };

/** Runs a batch job; `depth` is how many may be in flight. */
interface Producer<X> {
  readonly depth: number;
  run(epoch: number, start: number, indices: Int32Array): Promise<Produced<X>>;
}

/** Runs fn as a macrotask (after pending I/O and timers), so prefetch work interleaves with the consumer. */
const macrotask: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => void setImmediate(fn) : (fn) => void setTimeout(fn, 0);

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`DataLoader: ${name} must be a positive integer, got ${v}`);
  return v;
}

function isFastDataset(d: unknown): d is InMemoryDataset {
  return d instanceof InMemoryDataset;
}

export class BatchLoader<X = HostArray, B = RawBatch> implements AsyncIterable<B> {
  readonly dataset: Dataset<X>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly prefetch: number;
  readonly numWorkers: number | 'auto';
  readonly sampler: Sampler | undefined;
  private readonly collate: ((samples: Sample<X>[]) => B | Promise<B>) | undefined;
  private readonly hooks: LoaderHooks<X, B>;
  private _seed: number;
  private nextEpoch = 0;
  private resumeBatch = 0;
  private active: { epoch: number; done: number } | undefined;
  private pool: WorkerPool | undefined;
  private poolFailure: string | undefined;
  private _workerStatus = 'not started: no iteration yet';

  constructor(dataset: Dataset<X>, opts: LoaderOptions<X, B> = {}, hooks?: LoaderHooks<X, B>) {
    this.dataset = dataset;
    this.batchSize = positiveInt('batchSize', opts.batchSize ?? 1);
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    if (opts.sampler && this.shuffle) throw new Error('DataLoader: the sampler option is mutually exclusive with shuffle');
    this.sampler = opts.sampler;
    this.prefetch = positiveInt('prefetch', opts.prefetch ?? 2);
    this.collate = opts.collate;
    this._seed = opts.seed ?? (opts.generator ? drawSeed(opts.generator) : new RandomStream().seed);
    new RandomStream(this._seed); // validates the seed
    const nw = opts.numWorkers ?? 'auto';
    if (nw !== 'auto' && (!Number.isInteger(nw) || nw < 0)) {
      throw new Error(`DataLoader: numWorkers must be a non-negative integer or 'auto', got ${String(nw)}`);
    }
    this.numWorkers = nw;
    if (typeof nw === 'number' && nw > 0) {
      const why = this.workerObstacle();
      if (why) throw new Error(`DataLoader: numWorkers: ${nw} is not possible: ${why}; use numWorkers: 0 or 'auto'`);
    }
    this.hooks = hooks ?? {
      fromRaw: (raw) => raw as unknown as B,
      defaultCollate: (samples) => collateArrays(samples) as unknown as B,
    };
  }

  /** The seed of shuffling and augmentation (log it to reproduce a run). */
  get seed(): number {
    return this._seed;
  }

  /** Batches per epoch: ceil(N / batchSize), or floor with dropLast. */
  get length(): number {
    const n = this.sampler ? this.sampler.length : this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The epoch the next iteration runs. */
  get epoch(): number {
    return this.nextEpoch;
  }

  /** Makes the next iteration run epoch `e` from its first batch (as DistributedSampler.set_epoch). */
  setEpoch(e: number): void {
    if (!Number.isInteger(e) || e < 0 || e >= 2 ** 32) throw new Error(`DataLoader.setEpoch: bad epoch ${e}`);
    this.nextEpoch = e;
    this.resumeBatch = 0;
  }

  /** Where the loader stands; see the module comment on resuming. */
  stateDict(): LoaderState {
    if (this.active) {
      const { epoch, done } = this.active;
      return done >= this.length ? { seed: this._seed, epoch: epoch + 1, batch: 0 } : { seed: this._seed, epoch, batch: done };
    }
    return { seed: this._seed, epoch: this.nextEpoch, batch: this.resumeBatch };
  }

  /** Restores a stateDict(): the next iteration continues epoch `epoch` at batch `batch`. */
  loadStateDict(state: LoaderState): void {
    new RandomStream(state.seed); // validates
    this.setEpoch(state.epoch);
    if (!Number.isInteger(state.batch) || state.batch < 0 || state.batch > this.length) {
      throw new Error(`DataLoader.loadStateDict: batch ${state.batch} is outside 0..${this.length}`);
    }
    this._seed = state.seed;
    this.resumeBatch = state.batch;
  }

  /** The order in which epoch `e` visits the dataset. */
  order(epoch: number): Int32Array {
    if (this.sampler) return this.sampler.indices();
    const n = this.dataset.length;
    if (this.shuffle) return RandomStream.stream(this._seed, STREAM_SHUFFLE, 0, epoch).randperm(n);
    const o = new Int32Array(n);
    for (let i = 0; i < n; i++) o[i] = i;
    return o;
  }

  /** Whether batches are built by worker threads, and if not, why ('not started' before the first iteration). */
  get workerStatus(): string {
    return this._workerStatus;
  }

  /** Iterates the next epoch (and advances the epoch counter). */
  [Symbol.asyncIterator](): AsyncIterator<B> {
    return this.iter();
  }

  /**
   * Iterates one epoch: by default the loader's next epoch from the resume point, advancing the
   * counter; with `epoch` given, that epoch from `startBatch` (default 0), leaving the counter alone.
   */
  iter(opts: { epoch?: number; startBatch?: number } = {}): AsyncGenerator<B, void, undefined> {
    let epoch: number;
    let start: number;
    if (opts.epoch === undefined) {
      epoch = this.nextEpoch;
      start = opts.startBatch ?? this.resumeBatch;
      this.nextEpoch = epoch + 1;
      this.resumeBatch = 0;
    } else {
      epoch = opts.epoch;
      start = opts.startBatch ?? 0;
    }
    if (!Number.isInteger(start) || start < 0) throw new Error(`DataLoader: bad startBatch ${start}`);
    return this.run(epoch, start);
  }

  private async *run(epoch: number, startBatch: number): AsyncGenerator<B, void, undefined> {
    const nb = this.length;
    if (startBatch >= nb) return;
    const state = { epoch, done: startBatch };
    this.active = state;
    try {
      yield* this.batches(epoch, startBatch, nb, state);
    } finally {
      if (this.active === state) this.active = undefined;
    }
  }

  private async *batches(
    epoch: number, startBatch: number, nb: number, state: { done: number },
  ): AsyncGenerator<B, void, undefined> {
    const order = this.order(epoch);
    const producer = await this.producer();
    const bs = this.batchSize;
    const queue: Promise<Produced<X>>[] = [];
    let next = startBatch;
    const launch = () => {
      while (queue.length < producer.depth && next < nb) {
        const start = next * bs;
        const p = producer.run(epoch, start, order.slice(start, Math.min(start + bs, order.length)));
        p.catch(() => undefined); // rejections surface when awaited in order, never as unhandled
        queue.push(p);
        next++;
      }
    };
    launch();
    for (let b = startBatch; b < nb; b++) {
      const produced = await queue.shift()!;
      launch(); // keep the workers busy while the consumer works on this batch
      const value = produced.raw
        ? this.hooks.fromRaw(produced.raw)
        : await (this.collate ?? this.hooks.defaultCollate)(produced.samples);
      state.done = b + 1;
      yield value;
    }
  }

  /** Why worker threads cannot serve this loader, judged from the dataset and options alone. */
  private workerObstacle(): string | undefined {
    if (this.collate) return 'a custom collate function runs on the main thread';
    if (!isFastDataset(this.dataset)) {
      return `${this.dataset.constructor.name} is not an in-memory dataset (workers serve InMemoryDataset, TensorDataset, MNIST, FashionMNIST)`;
    }
    const bad = unserializableTransform(this.dataset.transform);
    if (bad) return `the transform ${bad} cannot be sent to a worker thread`;
    return undefined;
  }

  /** Picks how this iteration's batches are built: worker pool, main-thread fast path, or get(i). */
  private async producer(): Promise<Producer<X>> {
    const ds = this.dataset;
    if (!this.collate && isFastDataset(ds)) {
      const pool = await this.workerPool();
      if (pool) {
        const t = ds.transform?.toSpec();
        const spec = t ? JSON.stringify(t) : '';
        return {
          depth: this.prefetch * pool.size,
          run: async (epoch, start, indices) => ({ raw: await pool.run({ indices, seed: this._seed, epoch, start, transform: spec }) }),
        };
      }
      return {
        depth: this.prefetch,
        run: (epoch, start, indices) =>
          new Promise((resolve, reject) =>
            macrotask(() => {
              try {
                resolve({ raw: assembleBatch(ds.source, ds.transform, indices, { seed: this._seed, epoch, start }) });
              } catch (e) {
                reject(e);
              }
            }),
          ),
      };
    }
    this._workerStatus = `main thread: ${this.workerObstacle() ?? 'numWorkers is 0'}`;
    return {
      depth: this.prefetch,
      run: async (epoch, start, indices) => {
        const samples = await Promise.all(
          Array.from(indices, (i, k) => this.dataset.get(i, sampleGenerator(this._seed, epoch, start + k))),
        );
        return { samples };
      },
    };
  }

  /** The worker pool for the fast path, started on first use; undefined → main thread. */
  private async workerPool(): Promise<WorkerPool | undefined> {
    const ds = this.dataset as unknown as InMemoryDataset;
    const want = this.numWorkers === 'auto' ? 1 : this.numWorkers;
    if (want === 0) {
      this._workerStatus = 'main thread: numWorkers is 0';
      return undefined;
    }
    const obstacle = this.workerObstacle();
    if (obstacle) return this.noWorkers(obstacle);
    if (this.pool) return this.pool;
    if (this.poolFailure) return this.noWorkers(this.poolFailure);
    const init = ds.workerInit();
    if (typeof init === 'string') return this.noWorkers(init);
    try {
      this.pool = await WorkerPool.create(want, init);
      this._workerStatus = `${want} worker thread${want > 1 ? 's' : ''}`;
      return this.pool;
    } catch (e) {
      this.poolFailure = e instanceof Error ? e.message : String(e);
      return this.noWorkers(this.poolFailure);
    }
  }

  private noWorkers(why: string): undefined {
    if (this.numWorkers !== 'auto') throw new Error(`DataLoader: cannot use numWorkers: ${this.numWorkers}: ${why}`);
    this._workerStatus = `main thread: ${why}`;
    return undefined;
  }

  /** Stops the worker threads (they are also unref'd while idle, so an open loader never blocks exit). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
