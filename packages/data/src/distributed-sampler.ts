/**
 * DistributedSampler (torch.utils.data.distributed.DistributedSampler): each of `numReplicas`
 * ranks visits its own 1/numReplicas of the dataset.
 *
 * PyTorch's semantics: with shuffle, epoch e's order is a permutation seeded by seed + e (the same
 * on every rank, so the shards are disjoint); without dropLast the order is padded by repeating
 * its start until it divides evenly (every rank gets ceil(N / numReplicas) samples), with dropLast
 * it is cut to floor(N / numReplicas) per rank; rank r takes positions r, r + numReplicas, ….
 * Call `setEpoch(e)` before each epoch, as in PyTorch, or every epoch repeats epoch 0's order.
 * The permutation is @kindling/data's Philox randperm, not torch.randperm's bits.
 */
import { RandomStream, STREAM_SHUFFLE } from './random.js';

/** What a DataLoader's `sampler` option takes: the indices of one epoch, in order. */
export interface Sampler {
  readonly length: number;
  indices(): Int32Array;
}

export interface DistributedSamplerOptions {
  /** World size; default $WORLD_SIZE. */
  numReplicas?: number;
  /** This process's rank; default $RANK. */
  rank?: number;
  /** Default true. */
  shuffle?: boolean;
  /** Must be the same on every rank; default 0. */
  seed?: number;
  /** Drop the tail instead of padding; default false. */
  dropLast?: boolean;
}

function fromEnv(name: string): number | undefined {
  const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
  return v === undefined || v === '' ? undefined : Number(v);
}

export class DistributedSampler implements Sampler {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Samples per rank. */
  readonly length: number;
  private readonly n: number;
  private epoch = 0;

  constructor(dataset: number | { readonly length: number }, opts: DistributedSamplerOptions = {}) {
    this.n = typeof dataset === 'number' ? dataset : dataset.length;
    const numReplicas = opts.numReplicas ?? fromEnv('WORLD_SIZE');
    const rank = opts.rank ?? fromEnv('RANK');
    if (numReplicas === undefined || !Number.isInteger(numReplicas) || numReplicas < 1) {
      throw new Error(`DistributedSampler: numReplicas must be a positive integer (or $WORLD_SIZE set), got ${numReplicas}`);
    }
    if (rank === undefined || !Number.isInteger(rank) || rank < 0 || rank >= numReplicas) {
      throw new Error(`DistributedSampler: invalid rank ${rank}, rank should be in the interval [0, ${numReplicas - 1}]`);
    }
    if (!Number.isInteger(this.n) || this.n < 0) throw new Error(`DistributedSampler: bad dataset length ${this.n}`);
    this.numReplicas = numReplicas;
    this.rank = rank;
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    new RandomStream(this.seed); // validates
    this.dropLast = opts.dropLast ?? false;
    this.length = this.dropLast && this.n % numReplicas !== 0 ? Math.ceil((this.n - numReplicas) / numReplicas) : Math.ceil(this.n / numReplicas);
  }

  /** The epoch whose order indices() gives (torch's set_epoch). */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`DistributedSampler.setEpoch: bad epoch ${epoch}`);
    this.epoch = epoch;
  }

  indices(): Int32Array {
    const n = this.n;
    const total = this.length * this.numReplicas;
    let order: Int32Array;
    if (this.shuffle) order = RandomStream.stream(this.seed + this.epoch, STREAM_SHUFFLE).randperm(n);
    else order = Int32Array.from({ length: n }, (_, i) => i);
    const padded = new Int32Array(total);
    // Padding repeats the order from its start (as often as needed when total > 2n); dropLast cuts.
    for (let i = 0; i < total; i++) padded[i] = order[i % n]!;
    const mine = new Int32Array(this.length);
    for (let i = 0; i < this.length; i++) mine[i] = padded[this.rank + i * this.numReplicas]!;
    return mine;
  }
}
