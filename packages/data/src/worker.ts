/**
 * Worker-thread entry of the DataLoader's prefetch (Node's worker_threads).
 *
 * workerData carries the dataset once: its sample buffer and labels live in SharedArrayBuffers,
 * so every worker reads the same memory and nothing is copied per batch. Each job message names
 * the indices of one batch and its place in the epoch; the worker assembles the batch with the
 * same code as the main thread (assembleBatch) and sends back x and y, transferring their buffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { assembleBatch, type ArraySource } from './batch.js';
import { transformFromSpec, type Transform, type TransformSpec } from './transforms.js';

/** A batch request from the pool. */
export interface WorkerJob {
  readonly id: number;
  readonly indices: Int32Array;
  readonly seed: number;
  readonly epoch: number;
  readonly start: number;
  /** JSON of the transform spec ('' for none); rebuilt only when it changes. */
  readonly transform: string;
}

/** A worker's answer. */
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'batch'; readonly id: number; readonly x: Float32Array; readonly xShape: number[]; readonly y: Int32Array }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

if (parentPort) {
  const port = parentPort;
  const init = workerData as ArraySource;
  let specJson = '';
  let transform: Transform | undefined;

  port.on('message', (job: WorkerJob) => {
    try {
      if (job.transform !== specJson) {
        transform = job.transform === '' ? undefined : transformFromSpec(JSON.parse(job.transform) as TransformSpec);
        specJson = job.transform;
      }
      const b = assembleBatch(init, transform, job.indices, job);
      const reply: WorkerReply = { type: 'batch', id: job.id, x: b.x, xShape: [...b.xShape], y: b.y };
      // The batch arrays are freshly allocated (never shared), so their buffers can be transferred.
      port.postMessage(reply, [b.x.buffer as ArrayBuffer, b.y.buffer as ArrayBuffer]);
    } catch (e) {
      const reply: WorkerReply = { type: 'error', id: job.id, message: e instanceof Error ? e.message : String(e) };
      port.postMessage(reply);
    }
  });
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
}
