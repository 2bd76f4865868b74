/**
 * Datasets: map-style, as torch.utils.data.Dataset — a length and random access to samples
 * [x, y] with an integer label y.
 */
import { assembleBatch, sampleView, type ArraySource, type BatchContext } from './batch.js';
import { RandomStream, STREAM_DATASET } from './random.js';
import { Compose, Lambda, unserializableTransform, type Transform, type TransformFn, type TransformSpec } from './transforms.js';
import { fmtShape, numel, type HostArray, type HostData, type RawBatch } from './types.js';

/** One sample: the input and its integer class label. */
export type Sample<X = HostArray> = readonly [X, number];

/**
 * A map-style dataset. Subclasses define `length` and `get(i)`; `get` may be async (a sample read
 * from disk on demand). `rng`, when given, is the generator a random transform must draw from:
 * the DataLoader passes one derived from (seed, epoch, position) so that augmentations are
 * reproducible; datasets without randomness ignore it.
 */
export abstract class Dataset<X = HostArray> {
  abstract readonly length: number;
  abstract get(index: number, rng?: RandomStream): Sample<X> | Promise<Sample<X>>;
}

/** What a worker thread needs to build batches of an in-memory dataset (see InMemoryDataset.workerInit). */
export interface WorkerInit {
  readonly data: HostData;
  readonly sampleShape: readonly number[];
  readonly labels: Int32Array;
  readonly transform: TransformSpec | undefined;
}

/** Options of in-memory datasets. */
export interface InMemoryOptions {
  /** Applied to every sample [C,H,W] (see transforms.ts); a function is wrapped into a Lambda. */
  transform?: Transform | TransformFn | readonly (Transform | TransformFn)[];
  /** Seed of the generator used by random transforms in direct `get(i)` calls (random when omitted). */
  seed?: number;
}

function toTransform(t: InMemoryOptions['transform']): Transform | undefined {
  if (t === undefined) return undefined;
  if (typeof t === 'function') return new Lambda(t);
  if (Array.isArray(t)) return new Compose(t as readonly (Transform | TransformFn)[]);
  return t as Transform;
}

/**
 * A dataset held in memory as one typed array [N, ...sampleShape] plus int32 labels [N].
 * It gives the DataLoader a fast path: whole batches are assembled from the buffer straight into
 * a Float32Array (`getBatch`), and worker threads can build batches from the same memory shared
 * once through a SharedArrayBuffer (`workerInit`).
 *
 * `get(i)` returns [x, label] where x is a view of the buffer when there is no transform (do not
 * write to it), or the transform's result.
 */
export class InMemoryDataset extends Dataset<HostArray> {
  /** Shape of one sample, e.g. [1, 28, 28]. */
  readonly sampleShape: readonly number[];
  /** The transform applied by `get` and by the DataLoader's batches (may be replaced). */
  transform: Transform | undefined;
  /** RandomStream of direct `get(i)` calls without an explicit one. */
  readonly generator: RandomStream;
  private _data: HostData;
  private _labels: Int32Array;

  /**
   * @param data   the samples, row-major [N, ...sampleShape]
   * @param shape  [N, ...sampleShape]
   * @param labels N integer labels
   */
  constructor(data: HostData, shape: readonly number[], labels: ArrayLike<number>, opts: InMemoryOptions = {}) {
    super();
    const name = new.target.name;
    if (shape.length < 1 || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`${name}: bad shape ${fmtShape(shape)}`);
    }
    if (data.length !== numel(shape)) {
      throw new Error(`${name}: shape ${fmtShape(shape)} needs ${numel(shape)} elements, data has ${data.length}`);
    }
    if (labels.length !== shape[0]) {
      throw new Error(`${name}: ${shape[0]} samples but ${labels.length} labels`);
    }
    const lab = labels instanceof Int32Array ? labels : Int32Array.from(labels);
    for (let i = 0; i < labels.length; i++) {
      if (lab[i] !== labels[i]) throw new Error(`${name}: label ${labels[i]} at index ${i} is not an int32 integer`);
    }
    this._data = data;
    this._labels = lab;
    this.sampleShape = shape.slice(1);
    this.transform = toTransform(opts.transform);
    this.generator = new RandomStream(opts.seed, 0, 0, STREAM_DATASET);
  }

  get length(): number {
    return this._labels.length;
  }
  /** The whole sample buffer [N, ...sampleShape]. */
  get data(): HostData {
    return this._data;
  }
  /** All labels, int32 [N]. */
  get labels(): Int32Array {
    return this._labels;
  }
  /** The source the batch builder reads. */
  get source(): ArraySource {
    return { data: this._data, sampleShape: this.sampleShape, labels: this._labels };
  }

  get(index: number, rng?: RandomStream): Sample<HostArray> {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`${this.constructor.name}.get: index ${index} out of range [0, ${this.length})`);
    }
    const x = sampleView(this.source, index);
    return [this.transform ? this.transform.apply(x, rng ?? this.generator) : x, this._labels[index]!];
  }

  /**
   * The batch of the given indices as typed arrays (the DataLoader's fast path): the same values
   * as collating `get(i, generatorOf(position))` one by one, without the intermediate samples.
   */
  getBatch(indices: ArrayLike<number>, ctx: BatchContext): RawBatch {
    return assembleBatch(this.source, this.transform, indices, ctx);
  }

  /**
   * Moves the sample and label buffers into SharedArrayBuffers (once; a no-op afterwards) and
   * returns what a worker thread needs, or a string saying why workers cannot be used.
   */
  workerInit(): WorkerInit | string {
    if (typeof SharedArrayBuffer === 'undefined') return 'SharedArrayBuffer is not available';
    const bad = unserializableTransform(this.transform);
    if (bad !== undefined) return `the transform ${bad} cannot be sent to a worker thread`;
    if (!(this._data.buffer instanceof SharedArrayBuffer)) {
      const shared = this._data instanceof Uint8Array
        ? new Uint8Array(new SharedArrayBuffer(this._data.byteLength))
        : new Float32Array(new SharedArrayBuffer(this._data.byteLength));
      shared.set(this._data);
      this._data = shared;
    }
    if (!(this._labels.buffer instanceof SharedArrayBuffer)) {
      const shared = new Int32Array(new SharedArrayBuffer(this._labels.byteLength));
      shared.set(this._labels);
      this._labels = shared;
    }
    return { data: this._data, sampleShape: this.sampleShape, labels: this._labels, transform: this.transform?.toSpec() };
  }
}

/** The structural subset of a @kindling/core Tensor that TensorDataset.from reads. */
export interface TensorLike {
  readonly shape: readonly number[];
  readonly dtype: string;
  data(): Promise<ArrayLike<number> & { length: number }>;
}

function isTensorLike(v: unknown): v is TensorLike {
  return typeof v === 'object' && v !== null && typeof (v as TensorLike).data === 'function' && Array.isArray((v as TensorLike).shape);
}

/**
 * Samples given as arrays, as torch.utils.data.TensorDataset(x, y): sample i is
 * [x[i], y[i]] with x of shape [N, ...] and integer labels y of shape [N].
 *
 * ```ts
 * new TensorDataset({ data: float32, shape: [100, 3] }, labels);
 * await TensorDataset.from(xTensor, yTensor);   // reads the tensors back once
 * ```
 */
export class TensorDataset extends InMemoryDataset {
  constructor(x: HostArray, y: ArrayLike<number>, opts: InMemoryOptions = {}) {
    super(x.data, x.shape, y, opts);
  }

  /**
   * Builds a TensorDataset from @kindling/core tensors (read back once with `await t.data()`;
   * non-float32 x is converted to float32) or from arrays.
   */
  static async from(
    x: TensorLike | HostArray, y: TensorLike | ArrayLike<number>, opts: InMemoryOptions = {},
  ): Promise<TensorDataset> {
    let xs: HostArray;
    if (isTensorLike(x)) {
      const v = await x.data();
      xs = { data: v instanceof Float32Array ? v : Float32Array.from(v), shape: [...x.shape] };
    } else {
      xs = x;
    }
    let ys: ArrayLike<number>;
    if (isTensorLike(y)) {
      if (y.shape.length !== 1) throw new Error(`TensorDataset.from: labels must be 1-d, got shape ${fmtShape(y.shape)}`);
      ys = await y.data();
    } else {
      ys = y;
    }
    return new TensorDataset(xs, ys, opts);
  }
}
