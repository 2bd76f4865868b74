/**
 * initProcessGroup() and the collectives, torch.distributed's way. Every collective is in place on
 * its tensors (as PyTorch's), returns a Work that can be awaited, and never blocks the event loop:
 * the tensor is read back to the host (Gloo reduces host memory), the addon's worker thread runs
 * Gloo, and the result is written back into the tensor.
 */
import { hostname as osHostname } from 'node:os';
import { type Tensor, type TypedArray, tensor as makeTensor, copyInto, noGrad, fmtShape } from '@kindling/core';
import { DistributedError } from './errors.js';
import { nativeStatus, requireNative, type NativeGlooGroup, type ReduceCode } from './native.js';
import { TCPStore, TCPStoreServer } from './store.js';

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'avg' | 'min' | 'max';

export interface InitOptions {
  backend: Backend;
  /** 'env://' (default: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE as torchrun sets them) or 'tcp://host:port'. */
  initMethod?: string;
  rank?: number;
  worldSize?: number;
  /** For rendezvous and for every collective; PyTorch's default is 30 minutes. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;
const REDUCE: Record<Exclude<ReduceOp, 'avg'>, ReduceCode> = { sum: 0, min: 1, max: 2 };

/** An awaitable collective, as torch's Work: `await work` or `await work.wait()`. */
export class Work implements PromiseLike<void> {
  private done = false;
  constructor(private readonly promise: Promise<void>) {
    promise.then(
      () => (this.done = true),
      () => (this.done = true),
    );
  }
  isCompleted(): boolean {
    return this.done;
  }
  wait(): Promise<void> {
    return this.promise;
  }
  then<A = void, B = never>(ok?: ((v: void) => A | PromiseLike<A>) | null, err?: ((e: unknown) => B | PromiseLike<B>) | null): PromiseLike<A | B> {
    return this.promise.then(ok, err);
  }
}

function env(name: string, op: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') throw new DistributedError(op, `environment variable ${name} is not set (use kindling-run, or pass it / an initMethod explicitly)`);
  return v;
}

function intOption(name: string, v: string | number, op: string, min: number): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < min) throw new DistributedError(op, `${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

type Host = Float32Array | Int32Array;

/** A host copy of `t`: at once where the backend can read synchronously (cpu), else a promise. */
function hostArray(t: Tensor, op: string): Host | Promise<Host> {
  t.assertAlive(op);
  if (t.dtype === 'bool') throw new DistributedError(op, `tensors of dtype bool are not supported (float32 and int32 are)`);
  return (t.backend.readSync ? t.dataSync() : t.data()) as Host | Promise<Host>;
}

/** Writes host data back into `t` (any backend, any strides). */
function writeBack(t: Tensor, data: TypedArray): void {
  noGrad(() => {
    if (t.isContiguous()) t.backend.write(t.storage_.buffer, data, t.offset);
    else {
      const src = makeTensor(data, { shape: t.shape, dtype: t.dtype, device: t.device });
      copyInto(t, src);
      src.dispose();
    }
  });
}

export class ProcessGroup {
  /** Collectives launch in call order on every rank; this chain keeps that order across the async reads. */
  private order: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly backend: Backend,
    readonly rank: number,
    readonly worldSize: number,
    readonly timeoutMs: number,
    readonly store: TCPStore,
    private readonly glooGroup: NativeGlooGroup | null,
    private readonly server: TCPStoreServer | null,
  ) {}

  /** Gloo's group (null in NcclProcessGroup, which overrides every collective). */
  private get native(): NativeGlooGroup {
    if (!this.glooGroup) throw new DistributedError(this.backend, 'this process group has no Gloo engine');
    return this.glooGroup;
  }

  /** Reads not yet resolved: while any is, later collectives queue behind it to keep call order. */
  private reading = 0;

  /**
   * Starts a collective: `read` gives its host data (a value starts it now, inside the caller;
   * a promise starts it once resolved, after earlier collectives have started).
   */
  protected launch<T>(op: string, read: T | Promise<T>, run: (x: T) => Promise<void>): Work {
    if (this.closed) throw new DistributedError(op, 'the process group was destroyed');
    let done: Promise<void>;
    if (!(read instanceof Promise) && this.reading === 0) {
      done = run(read);
    } else {
      this.reading++;
      const started = this.order.then(async () => {
        try {
          return { done: run(await read) };
        } finally {
          this.reading--;
        }
      });
      this.order = started.catch(() => undefined);
      done = started.then((s) => s.done);
    }
    return new Work(
      done.catch((e: Error) => {
        if (e instanceof DistributedError) throw e;
        throw new DistributedError(op, `rank ${this.rank} of ${this.worldSize}: ${e.message} (a peer exited, or the timeout of ${this.timeoutMs} ms passed)`);
      }),
    );
  }

  /** Reduces `t` across ranks, in place: sum, avg (sum ÷ world size, float32 only), min or max. */
  allReduce(t: Tensor, op: ReduceOp = 'sum'): Work {
    if (!(op in REDUCE) && op !== 'avg') throw new DistributedError('allReduce', `unknown op '${op}' (sum, avg, min, max)`);
    if (op === 'avg' && t.dtype !== 'float32') throw new DistributedError('allReduce', `op 'avg' needs a float32 tensor, got ${t.dtype}`);
    return this.launch('allReduce', hostArray(t, 'allReduce'), async (x) => {
      await this.native.allReduce(x, REDUCE[op === 'avg' ? 'sum' : op]);
      if (op === 'avg') for (let i = 0; i < x.length; i++) x[i] = x[i]! / this.worldSize;
      writeBack(t, x);
    });
  }

  /** Copies rank `src`'s `t` into every rank's `t`. */
  broadcast(t: Tensor, src = 0): Work {
    this.checkRank('broadcast', 'src', src);
    return this.launch('broadcast', hostArray(t, 'broadcast'), async (x) => {
      await this.native.broadcast(x, src);
      writeBack(t, x);
    });
  }

  /** outputs[r] ← rank r's `input`, on every rank (torch.distributed.all_gather). */
  allGather(outputs: Tensor[], input: Tensor): Work {
    this.checkList('allGather', outputs, input);
    return this.launch('allGather', hostArray(input, 'allGather'), async (x) => {
      const out = x instanceof Float32Array ? new Float32Array(x.length * this.worldSize) : new Int32Array(x.length * this.worldSize);
      await this.native.allGather(x, out);
      outputs.forEach((o, r) => writeBack(o, out.subarray(r * x.length, (r + 1) * x.length)));
    });
  }

  /** output ← the reduction over ranks of their inputs[this rank] (torch.distributed.reduce_scatter). */
  reduceScatter(output: Tensor, inputs: Tensor[], op: ReduceOp = 'sum'): Work {
    this.checkList('reduceScatter', inputs, output);
    if (!(op in REDUCE) && op !== 'avg') throw new DistributedError('reduceScatter', `unknown op '${op}' (sum, avg, min, max)`);
    const n = output.size;
    const reads = inputs.map((t) => hostArray(t, 'reduceScatter'));
    const read = reads.some((r) => r instanceof Promise) ? Promise.all(reads) : (reads as Host[]);
    return this.launch('reduceScatter', read, async (parts) => {
      const flat = output.dtype === 'float32' ? new Float32Array(n * this.worldSize) : new Int32Array(n * this.worldSize);
      parts.forEach((p, r) => flat.set(p, r * n));
      await this.native.reduceScatter(flat, new Int32Array(this.worldSize).fill(n), REDUCE[op === 'avg' ? 'sum' : op]);
      // Gloo's halving-doubling reduce-scatter leaves this rank's share at the start of the buffer.
      const mine = flat.subarray(0, n);
      if (op === 'avg') for (let i = 0; i < n; i++) mine[i] = mine[i]! / this.worldSize;
      writeBack(output, mine);
    });
  }

  /** Resolves once every rank has called barrier(). */
  barrier(): Work {
    return this.launch('barrier', null, () => this.native.barrier());
  }

  /** Allreduce of raw host memory (DDP's buckets): no tensor read or write. */
  allReduceHost(data: Float32Array, op: 'sum' | 'avg' = 'sum'): Work {
    return this.launch('allReduce', data, async (x) => {
      await this.native.allReduce(x, REDUCE.sum);
      if (op === 'avg') for (let i = 0; i < x.length; i++) x[i] = x[i]! / this.worldSize;
    });
  }

  /** Waits for queued collectives, then closes the connections and (rank 0) the store. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.glooGroup?.close();
    this.store.close();
    this.server?.close();
  }

  protected checkRank(op: string, name: string, r: number): void {
    if (!Number.isInteger(r) || r < 0 || r >= this.worldSize) throw new DistributedError(op, `${name} must be a rank in [0, ${this.worldSize}), got ${r}`);
  }

  protected checkList(op: string, list: Tensor[], one: Tensor): void {
    if (list.length !== this.worldSize) throw new DistributedError(op, `the list must hold world size = ${this.worldSize} tensors, got ${list.length}`);
    for (const t of list) {
      if (t.size !== one.size || t.dtype !== one.dtype) {
        throw new DistributedError(op, `every tensor must match ${fmtShape(one.shape)} ${one.dtype}, got ${fmtShape(t.shape)} ${t.dtype}`);
      }
    }
  }
}

let current: ProcessGroup | null = null;

/** Where rendezvous happens and who this process is, from options and torchrun's variables. */
function resolveConfig(opts: InitOptions): { addr: string; port: number; rank: number; worldSize: number } {
  const op = 'initProcessGroup';
  const method = opts.initMethod ?? 'env://';
  let addr: string;
  let port: string;
  if (method === 'env://') {
    addr = env('MASTER_ADDR', op);
    port = env('MASTER_PORT', op);
  } else {
    const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(method);
    if (!m) throw new DistributedError(op, `initMethod must be 'env://' or 'tcp://host:port', got '${method}'`);
    addr = m[1]!.replace(/^\[|\]$/g, '');
    port = m[2]!;
  }
  const worldSize = intOption('worldSize (WORLD_SIZE)', opts.worldSize ?? env('WORLD_SIZE', op), op, 1);
  const rank = intOption('rank (RANK)', opts.rank ?? env('RANK', op), op, 0);
  if (rank >= worldSize) throw new DistributedError(op, `rank ${rank} is not below the world size ${worldSize}`);
  const p = intOption('MASTER_PORT', port, op, 1);
  if (p > 65535) throw new DistributedError(op, `MASTER_PORT must be at most 65535, got ${p}`);
  return { addr, port: p, rank, worldSize };
}

/** This rank's announcement in the store, checked by the others. */
interface Hello {
  worldSize: number;
  backend: Backend;
  host: string;
  pid: number;
}

async function checkPeers(store: TCPStore, rank: number, worldSize: number, backend: Backend): Promise<void> {
  const op = 'initProcessGroup';
  if ((await store.add(`kindling/rankcount/${rank}`, 1)) > 1) throw new DistributedError(op, `two processes claim rank ${rank} (check RANK / --node-rank)`);
  const me: Hello = { worldSize, backend, host: osHostname(), pid: process.pid };
  const keys = Array.from({ length: worldSize }, (_, r) => `kindling/hello/${r}`);
  const check = (r: number, h: Hello) => {
    if (h.worldSize !== worldSize) {
      throw new DistributedError(op, `mismatched world size: rank ${rank} has WORLD_SIZE=${worldSize} but rank ${r} (pid ${h.pid} on ${h.host}) has WORLD_SIZE=${h.worldSize}`);
    }
    if (h.backend !== backend) throw new DistributedError(op, `mismatched backend: rank ${rank} uses '${backend}' but rank ${r} uses '${h.backend}'`);
  };
  const hello = async (r: number) => JSON.parse((await store.get(keys[r]!)).toString()) as Hello;
  // Rank 0's view is read before this rank announces itself: once rank 0 sees a mismatch it exits
  // and takes the store with it, and this rank must still be able to say what was wrong (without
  // waiting for ranks that will never come).
  if (rank === 0) await store.set(keys[0]!, JSON.stringify(me));
  else {
    await store.wait([keys[0]!]);
    const h0 = await hello(0);
    const announced = store.set(keys[rank]!, JSON.stringify(me));
    try {
      check(0, h0);
    } catch (e) {
      await announced.catch(() => undefined); // rank 0 may already be gone
      throw e;
    }
    await announced;
  }
  try {
    await store.wait(keys);
  } catch (e) {
    const joined = await Promise.all(keys.map((k) => store.get(k).then(() => true, () => false)));
    const missing = joined.flatMap((j, r) => (j ? [] : [r]));
    throw new DistributedError(op, `rank ${rank}: ranks ${missing.join(', ')} did not join within ${store.timeoutMs} ms (WORLD_SIZE=${worldSize})${missing.length ? '' : `: ${(e as Error).message}`}`);
  }
  for (let r = 1; r < worldSize; r++) check(r, await hello(r));
}

/** NCCL's status on this machine: `nccl unavailable: <reason>` when it cannot run. */
export function ncclStatus(): { available: boolean; version?: string; reason?: string } {
  const a = nativeStatus().addon;
  if (!a) return { available: false, reason: nativeStatus().reason };
  return a.ncclProbe();
}

/**
 * Joins the default process group (torch.distributed.init_process_group). Rank 0 serves the
 * rendezvous store on MASTER_ADDR:MASTER_PORT; every rank checks the others' world size and
 * backend, then Gloo connects a full mesh of TCP pairs.
 */
export async function initProcessGroup(opts: InitOptions): Promise<ProcessGroup> {
  const op = 'initProcessGroup';
  if (current) throw new DistributedError(op, 'the default process group is already initialized (destroyProcessGroup first)');
  if (opts.backend !== 'gloo' && opts.backend !== 'nccl') throw new DistributedError(op, `backend must be 'gloo' or 'nccl', got '${String(opts.backend)}'`);
  const timeoutMs = intOption('timeoutMs', opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, op, 1);
  const cfg = resolveConfig(opts);
  if (opts.backend === 'nccl') {
    const s = ncclStatus();
    if (!s.available) throw new DistributedError(op, `nccl unavailable: ${s.reason}`);
  }
  const native = requireNative(op, (o, m) => new DistributedError(o, m));
  const server = cfg.rank === 0 ? await TCPStoreServer.listen(cfg.addr, cfg.port) : null;
  let store: TCPStore | null = null;
  let group: NativeGlooGroup | null = null;
  try {
    store = await TCPStore.connect(cfg.addr, cfg.port, timeoutMs);
    await checkPeers(store, cfg.rank, cfg.worldSize, opts.backend);
    if (opts.backend === 'nccl') {
      // Imported here: nccl.ts extends ProcessGroup, so it must load after this module.
      const { ncclGroup } = await import('./nccl.js');
      current = await ncclGroup(native, store, server, cfg.rank, cfg.worldSize, timeoutMs);
      return current;
    }
    const loopback = /^(127\.|localhost$|::1$)/.test(cfg.addr);
    group = new native.GlooProcessGroup(cfg.rank, cfg.worldSize, timeoutMs, process.env.GLOO_SOCKET_HOSTNAME ?? (loopback ? '127.0.0.1' : osHostname()), process.env.GLOO_SOCKET_IFNAME ?? '');
    await group.connect(store.bridge()).catch((e: Error) => {
      throw new DistributedError(op, `rank ${cfg.rank}: Gloo could not connect the ranks: ${e.message}`);
    });
  } catch (e) {
    group?.close();
    store?.close();
    server?.close();
    throw e;
  }
  current = new ProcessGroup(opts.backend, cfg.rank, cfg.worldSize, timeoutMs, store, group, server);
  return current;
}

/** The default group, or a clear error naming `op`. */
export function defaultGroup(op: string): ProcessGroup {
  if (!current) throw new DistributedError(op, 'the default process group is not initialized (await initProcessGroup({ backend }) first)');
  return current;
}

export function isInitialized(): boolean {
  return current !== null;
}

export function getRank(): number {
  return defaultGroup('getRank').rank;
}

export function getWorldSize(): number {
  return defaultGroup('getWorldSize').worldSize;
}

/** Closes the default group's connections and store (torch.distributed.destroy_process_group). */
export function destroyProcessGroup(): void {
  current?.destroy();
  current = null;
}
