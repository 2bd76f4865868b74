/**
 * Batch assembly on typed arrays, shared by the main thread and the worker threads so that both
 * produce bit-identical batches.
 */
import { RandomStream, STREAM_AUGMENT } from './random.js';
import type { Transform } from './transforms.js';
import { fmtShape, isHostArray, numel, type HostArray, type HostData, type RawBatch } from './types.js';

/** An in-memory array dataset as the batch builder sees it: N samples of `sampleShape` each. */
export interface ArraySource {
  readonly data: HostData;
  readonly sampleShape: readonly number[];
  readonly labels: Int32Array;
}

/** Where a batch sits in its epoch: the random stream of sample k is (seed, epoch, start + k). */
export interface BatchContext {
  readonly seed: number;
  readonly epoch: number;
  /** Position in the epoch's order of the batch's first sample. */
  readonly start: number;
}

/**
 * The generator that feeds the random transforms of the sample at `position` of `epoch`: a pure
 * function of (seed, epoch, position), whichever thread builds the batch and in whatever order.
 */
export function sampleGenerator(seed: number, epoch: number, position: number): RandomStream {
  return RandomStream.stream(seed, STREAM_AUGMENT, position, epoch);
}

/** A view of sample i of an array source (no copy). */
export function sampleView(src: ArraySource, i: number): HostArray {
  const size = numel(src.sampleShape);
  return { data: src.data.subarray(i * size, (i + 1) * size), shape: src.sampleShape };
}

/**
 * Builds the batch of the given dataset indices straight into one Float32Array: every sample is
 * read as a view of the source buffer, transformed (with its own position-derived generator) and
 * copied into its slot; uint8 values are converted by value (0..255) when no ToTensor scaled them.
 */
export function assembleBatch(
  src: ArraySource, transform: Transform | undefined, indices: ArrayLike<number>, ctx: BatchContext,
): RawBatch {
  const b = indices.length;
  const n = src.labels.length;
  const y = new Int32Array(b);
  let x: Float32Array | undefined;
  let itemShape: readonly number[] = src.sampleShape;
  let itemSize = numel(itemShape);
  for (let k = 0; k < b; k++) {
    const i = indices[k]!;
    if (!(i >= 0 && i < n)) throw new RangeError(`batch: index ${i} out of range for a dataset of ${n} samples`);
    let item = sampleView(src, i);
    if (transform) item = transform.apply(item, sampleGenerator(ctx.seed, ctx.epoch, ctx.start + k));
    if (x === undefined) {
      itemShape = [...item.shape];
      itemSize = numel(itemShape);
      x = new Float32Array(b * itemSize);
    } else if (!sameShape(item.shape, itemShape)) {
      throw new Error(
        `batch: sample ${i} has shape ${fmtShape(item.shape)} after transforms, the first sample of the batch ${fmtShape(itemShape)}`,
      );
    }
    if (item.data.length !== itemSize) {
      throw new Error(`batch: sample ${i} has shape ${fmtShape(item.shape)} but ${item.data.length} elements`);
    }
    x.set(item.data, k * itemSize);
    y[k] = src.labels[i]!;
  }
  return { x: x ?? new Float32Array(0), xShape: [b, ...itemShape], y };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Default collate for samples whose x is a HostArray: stacks x into float32 [B, ...shape]
 * (uint8 converted by value) and the labels into int32 [B].
 */
export function collateArrays(samples: readonly (readonly [unknown, number])[]): RawBatch {
  const b = samples.length;
  const y = new Int32Array(b);
  if (b === 0) return { x: new Float32Array(0), xShape: [0], y };
  const first = samples[0]![0];
  if (!isHostArray(first)) {
    throw new Error(
      'collate: the default collate stacks samples of the form [{ data: Float32Array | Uint8Array, shape }, label]; ' +
        `got ${describe(first)}. Pass a collate function for other sample types`,
    );
  }
  const shape = [...first.shape];
  const size = numel(shape);
  const x = new Float32Array(b * size);
  for (let k = 0; k < b; k++) {
    const [xi, yi] = samples[k]!;
    if (!isHostArray(xi) || !sameShape(xi.shape, shape) || xi.data.length !== size) {
      throw new Error(`collate: sample ${k} is ${describe(xi)}, expected an array of shape ${fmtShape(shape)} like sample 0`);
    }
    if (!Number.isInteger(yi) || yi < -2147483648 || yi > 2147483647) {
      throw new Error(`collate: label of sample ${k} is ${String(yi)}, expected an int32 integer`);
    }
    x.set(xi.data, k * size);
    y[k] = yi;
  }
  return { x, xShape: [b, ...shape], y };
}

function describe(v: unknown): string {
  if (isHostArray(v)) return `an array of shape ${fmtShape(v.shape)}`;
  if (v === null) return 'null';
  if (typeof v === 'object') return `an object (${(v as object).constructor?.name ?? 'Object'})`;
  return typeof v;
}
