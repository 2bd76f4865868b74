/**
 * DistributedDataParallel, torch.nn.parallel.DistributedDataParallel's design:
 *  - wrapping broadcasts rank 0's parameters and buffers, so every replica starts equal;
 *  - parameters are grouped into buckets in reverse registration order (roughly the order
 *    backward produces their gradients): the first holds up to 1 MiB (or `bucketCapMb` when
 *    smaller), the others `bucketCapMb` (25 MB by default), PyTorch's sizes;
 *  - a post-accumulate-grad hook per parameter marks it ready during backward; a bucket whose
 *    parameters are all ready is flattened and its all-reduce (average) starts on the addon's
 *    thread while backward goes on with earlier layers. Buckets launch in index order on every
 *    rank, so Gloo sees the same sequence everywhere;
 *  - `noSync(fn)` accumulates gradients locally; the next synced backward reduces the sum.
 *
 * Kindling's backward is synchronous and cannot wait for the network, so the end of PyTorch's
 * backward (waiting for the buckets) is an explicit `await ddp.synchronize()` between
 * `loss.backward()` and `optimizer.step()`. It also broadcasts rank 0's buffers (BatchNorm's
 * running statistics), which PyTorch does at the start of the next forward: between the two no
 * code reads them, so every forward sees the same buffers as in PyTorch.
 */
import { type Tensor, cat, copyInto, keep, noGrad, tidy } from '@kindling/core';
import { Module } from '@kindling/nn';
import { DistributedError } from './errors.js';
import { defaultGroup, type ProcessGroup, type Work } from './process-group.js';

export interface DDPOptions {
  /** Bucket size in MB (2^20 bytes), PyTorch's bucket_cap_mb; default 25. */
  bucketCapMb?: number;
  /** Broadcast rank 0's buffers every iteration (PyTorch's broadcast_buffers); default true. */
  broadcastBuffers?: boolean;
  /** The group; the default group otherwise. */
  processGroup?: ProcessGroup;
}

const FIRST_BUCKET_BYTES = 1024 * 1024; // torch.distributed's _DEFAULT_FIRST_BUCKET_BYTES

interface Bucket {
  params: Tensor[];
  size: number;
  ready: number;
  flat: Tensor | null;
  work: Work | null;
}

export class DistributedDataParallel extends Module {
  declare module: Module;
  private readonly group: ProcessGroup;
  private readonly broadcastBuffers: boolean;
  private readonly buckets: Bucket[] = [];
  private readonly bucketOf = new Map<Tensor, Bucket>();
  private requireSync = true;
  private nextLaunch = 0;

  private constructor(module: Module, opts: DDPOptions) {
    super();
    this.module = module;
    this.group = opts.processGroup ?? defaultGroup('DistributedDataParallel');
    this.broadcastBuffers = opts.broadcastBuffers ?? true;
    const capMb = opts.bucketCapMb ?? 25;
    if (!(capMb > 0)) throw new DistributedError('DistributedDataParallel', `bucketCapMb must be positive, got ${capMb}`);
    const params = module.parameters().filter((p) => p.requiresGrad);
    for (const p of params) {
      if (p.dtype !== 'float32') throw new DistributedError('DistributedDataParallel', `parameters must be float32, got ${p.dtype}`);
    }
    let cur: Bucket | null = null;
    const capBytes = capMb * 1024 * 1024;
    // PyTorch's first bucket is 1 MiB; a smaller cap applies to it too.
    let cap = Math.min(FIRST_BUCKET_BYTES, capBytes);
    for (const p of [...params].reverse()) {
      if (!cur || (cur.size > 0 && (cur.size + p.size) * 4 > cap)) {
        if (cur) cap = capBytes;
        cur = { params: [], size: 0, ready: 0, flat: null, work: null };
        this.buckets.push(cur);
      }
      cur.params.push(p);
      cur.size += p.size;
      this.bucketOf.set(p, cur);
      p.registerPostAccumulateGradHook((leaf) => this.onGradReady(leaf));
    }
  }

  /** Wraps `module` once every rank's parameters and buffers equal rank 0's. */
  static async create(module: Module, opts: DDPOptions = {}): Promise<DistributedDataParallel> {
    const ddp = new DistributedDataParallel(module, opts);
    await Promise.all([...module.parameters(), ...module.buffers()].map((t) => ddp.group.broadcast(t, 0).wait()));
    return ddp;
  }

  /** The bucket sizes in elements, in launch order. */
  get bucketSizes(): number[] {
    return this.buckets.map((b) => b.size);
  }

  /** Buckets whose all-reduce has started in this iteration (after backward: all of them, before synchronize()). */
  get launchedBuckets(): number {
    return this.nextLaunch;
  }

  override forward(...args: unknown[]): unknown {
    return (this.module.call as (...a: unknown[]) => unknown)(...args);
  }

  /** Runs fn (sync or async) without gradient reduction: gradients accumulate locally. */
  noSync<T>(fn: () => T): T {
    this.requireSync = false;
    let out: T;
    try {
      out = fn();
    } catch (e) {
      this.requireSync = true;
      throw e;
    }
    if (out instanceof Promise) return out.finally(() => (this.requireSync = true)) as T;
    this.requireSync = true;
    return out;
  }

  private onGradReady(p: Tensor): void {
    if (!this.requireSync) return;
    const b = this.bucketOf.get(p)!;
    b.ready++;
    // Launch in bucket order only: every rank must issue the same sequence of all-reduces.
    while (this.nextLaunch < this.buckets.length && this.buckets[this.nextLaunch]!.ready === this.buckets[this.nextLaunch]!.params.length) {
      this.launch(this.buckets[this.nextLaunch++]!);
    }
  }

  private launch(b: Bucket): void {
    // The bucket's gradients in one buffer on their device (kept: backward's scope would free it).
    // Gloo reads it back at once on cpu, so the all-reduce starts inside backward; NCCL queues it
    // on the CUDA stream; Gloo with CUDA tensors starts it once the readback arrives.
    const flat = keep(noGrad(() => cat(b.params.map((p) => p.grad!.reshape([-1])), 0)));
    b.flat = flat;
    b.work = this.group.allReduce(flat, 'avg');
  }

  /**
   * Ends a backward: waits for every bucket's all-reduce and writes the averaged gradients into
   * .grad, then broadcasts rank 0's buffers. Call it after loss.backward(), before the optimizer.
   */
  async synchronize(): Promise<void> {
    try {
      if (this.nextLaunch > 0 || this.buckets.some((b) => b.ready > 0)) {
        if (this.nextLaunch < this.buckets.length) {
          const missing = this.module.namedParameters().filter(([, p]) => this.bucketOf.has(p) && !p.grad).map(([n]) => n);
          throw new DistributedError('DistributedDataParallel', `parameters without a gradient in this backward: ${missing.join(', ') || '(none: a hook did not run)'}; every parameter must take part in the loss`);
        }
        for (const b of this.buckets) {
          await b.work!.wait();
          let off = 0;
          noGrad(() =>
            tidy(() => {
              for (const p of b.params) {
                copyInto(p.grad!, b.flat!.narrow(0, off, p.size).reshape(p.grad!.shape));
                off += p.size;
              }
            }),
          );
        }
      }
    } finally {
      for (const b of this.buckets) {
        b.ready = 0;
        b.flat?.dispose();
        b.flat = null;
        b.work = null;
      }
      this.nextLaunch = 0;
    }
    if (this.broadcastBuffers) await Promise.all(this.module.buffers().map((t) => this.group.broadcast(t, 0).wait()));
  }
}
