/**
 * DataLoader: the BatchLoader engine (loader.ts) yielding @kindling/core tensors — the only
 * module of this package that touches tensors.
 *
 * ```ts
 * const train = await FashionMNIST.load({ train: true, transform: new Compose([new Resize(224), new ToTensor()]) });
 * const loader = new DataLoader(train, { batchSize: 256, shuffle: true, seed: 0 });
 * for await (const [x, y] of loader) {  // x: float32 [256, 1, 224, 224], y: int32 [256]
 *   …
 *   x.dispose(); y.dispose();
 * }
 * ```
 *
 * Labels are int32 tensors (PyTorch uses int64; Kindling's losses and metrics take int32).
 * The batches belong to the caller: dispose them (or use tidy / `using`). Batches prefetched but
 * not yet handed out are typed arrays, so abandoning an iteration early leaks no tensors.
 */
import { globalGenerator, stack, tensor, type Tensor } from '@kindling/core';
import { collateArrays } from './batch.js';
import type { Dataset, Sample } from './dataset.js';
import { BatchLoader, type LoaderOptions } from './loader.js';
import { drawSeed } from './random.js';
import type { HostArray, RawBatch } from './types.js';

/** Wraps a raw batch into tensors: x float32 [B, ...], y int32 [B]. */
export function toTensors(raw: RawBatch): [Tensor, Tensor] {
  const x = tensor(raw.x, { shape: [...raw.xShape], dtype: 'float32' });
  const y = tensor(raw.y, { shape: [raw.y.length], dtype: 'int32' });
  return [x, y];
}

function isTensor(v: unknown): v is Tensor {
  return (
    typeof v === 'object' && v !== null &&
    typeof (v as { dispose?: unknown }).dispose === 'function' &&
    typeof (v as { data?: unknown }).data === 'function' &&
    Array.isArray((v as { shape?: unknown }).shape)
  );
}

/**
 * The default collate of DataLoader: samples [HostArray, label] become [float32 x, int32 y]
 * tensors; samples [Tensor, label] are stacked along a new first dimension with `stack`.
 */
export function defaultCollate<X>(samples: Sample<X>[]): [Tensor, Tensor] {
  if (samples.length > 0 && isTensor(samples[0]![0])) {
    const xs = samples.map(([x], k) => {
      if (!isTensor(x)) throw new Error(`collate: sample ${k} is not a Tensor while sample 0 is`);
      return x;
    });
    const labels = new Int32Array(samples.length);
    samples.forEach(([, y], k) => {
      if (!Number.isInteger(y)) throw new Error(`collate: label of sample ${k} is ${String(y)}, expected an integer`);
      labels[k] = y;
    });
    return [stack(xs, 0), tensor(labels, { shape: [labels.length], dtype: 'int32' })];
  }
  return toTensors(collateArrays(samples));
}

/**
 * PyTorch's DataLoader: iterate with `for await`, yielding [x, y] tensors (or what `collate`
 * returns). See BatchLoader for options, epochs, seeding, resuming and prefetch.
 */
export class DataLoader<X = HostArray, B = [Tensor, Tensor]> extends BatchLoader<X, B> {
  constructor(dataset: Dataset<X>, opts: LoaderOptions<X, B> = {}) {
    // Without a seed or generator, draw the seed from core's global generator (PyTorch's behaviour:
    // torch.manual_seed(s) fixes the DataLoader's order).
    const seeded = opts.seed !== undefined || opts.generator !== undefined ? opts : { ...opts, seed: drawSeed(globalGenerator) };
    super(dataset, seeded, {
      fromRaw: (raw) => toTensors(raw) as unknown as B,
      defaultCollate: (samples) => defaultCollate(samples) as unknown as B,
    });
  }
}
