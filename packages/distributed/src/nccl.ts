/**
 * The 'nccl' backend: CUDA tensors reduced by NCCL on the device's own stream, with no host round
 * trip. Rank 0 makes NCCL's unique id and hands it out through the rendezvous store; each rank
 * opens its communicator on the device of LOCAL_RANK (cuda:LOCAL_RANK, as torchrun scripts do).
 * A collective queues NCCL's kernel on @kindling/backend-cuda's stream, after the kernels that
 * produced the tensor, and its Work completes when the stream has passed it (backend.sync()).
 */
import { cat, noGrad, zeros, type Tensor } from '@kindling/core';
import { DistributedError } from './errors.js';
import type { NativeAddon, NativeNcclComm } from './native.js';
import { ProcessGroup, Work, type ReduceOp } from './process-group.js';
import type { TCPStore, TCPStoreServer } from './store.js';

// NCCL's enum values (nccl.h): ncclInt32 2, ncclFloat32 7; ncclSum 0, ncclMax 2, ncclMin 3, ncclAvg 4 (NCCL ≥ 2.10).
const DTYPE: Record<string, number> = { int32: 2, float32: 7 };
const OP: Record<ReduceOp, number> = { sum: 0, max: 2, min: 3, avg: 4 };

interface Interop {
  interopHandles(buf: unknown, op: string): { ptr: number; stream: number; device: number };
  sync(): Promise<void>;
}

/** A CUDA tensor's device address (at its offset), stream and dtype code, or a clear refusal. */
function handles(t: Tensor, op: string): { ptr: number; stream: number; dtype: number; sync: () => Promise<void> } {
  t.assertAlive(op);
  const b = t.backend as unknown as Partial<Interop>;
  if (!t.device.startsWith('cuda') || !b.interopHandles) {
    throw new DistributedError(op, `backend 'nccl' reduces CUDA tensors; this one is on ${t.device}: move it with .to('cuda') or use backend 'gloo'`);
  }
  if (!t.isContiguous()) throw new DistributedError(op, 'internal: NCCL was handed a strided tensor');
  const dtype = DTYPE[t.dtype];
  if (dtype === undefined) throw new DistributedError(op, `tensors of dtype ${t.dtype} are not supported (float32 and int32 are)`);
  const h = b.interopHandles(t.storage_.buffer, op);
  return { ptr: h.ptr + t.offset * 4, stream: h.stream, dtype, sync: () => b.sync!() };
}

export class NcclProcessGroup extends ProcessGroup {
  constructor(rank: number, worldSize: number, timeoutMs: number, store: TCPStore, server: TCPStoreServer | null, private readonly comm: NativeNcclComm) {
    super('nccl', rank, worldSize, timeoutMs, store, null, server);
  }

  private enqueue(op: string, t: Tensor, run: (h: ReturnType<typeof handles>) => void): Work {
    const h = handles(t, op);
    try {
      run(h);
    } catch (e) {
      throw new DistributedError(op, `rank ${this.rank} of ${this.worldSize}: ${(e as Error).message}`);
    }
    return new Work(h.sync());
  }

  /** In place on `t`; a strided view goes through a contiguous copy on the device, copied back on the same stream. */
  private inPlace(op: string, t: Tensor, run: (h: ReturnType<typeof handles>) => void): Work {
    if (t.isContiguous()) return this.enqueue(op, t, run);
    handles(t, op); // the device check first
    const c = noGrad(() => t.contiguous());
    const work = this.enqueue(op, c, run);
    noGrad(() => t.copy_(c));
    return new Work(work.wait().finally(() => c.dispose()));
  }

  override allReduce(t: Tensor, op: ReduceOp = 'sum'): Work {
    if (!(op in OP)) throw new DistributedError('allReduce', `unknown op '${op}' (sum, avg, min, max)`);
    return this.inPlace('allReduce', t, (h) => this.comm.allReduce(h.ptr, t.size, h.dtype, OP[op], h.stream));
  }

  override broadcast(t: Tensor, src = 0): Work {
    this.checkRank('broadcast', 'src', src);
    return this.inPlace('broadcast', t, (h) => this.comm.broadcast(h.ptr, t.size, h.dtype, src, h.stream));
  }

  override allGather(outputs: Tensor[], input: Tensor): Work {
    this.checkList('allGather', outputs, input);
    // NCCL gathers into one buffer in rank order; the outputs are filled from it on the same stream.
    const src = noGrad(() => input.contiguous());
    const flat = zeros([this.worldSize, input.size], { device: input.device, dtype: input.dtype });
    const out = handles(flat, 'allGather');
    const work = this.enqueue('allGather', src, (h) => this.comm.allGather(h.ptr, out.ptr, input.size, h.dtype, h.stream));
    noGrad(() => outputs.forEach((o, r) => o.copy_(flat.select(0, r).reshape(o.shape))));
    return new Work(
      work.wait().finally(() => {
        flat.dispose();
        if (src !== input) src.dispose();
      }),
    );
  }

  override reduceScatter(output: Tensor, inputs: Tensor[], op: ReduceOp = 'sum'): Work {
    this.checkList('reduceScatter', inputs, output);
    if (!(op in OP)) throw new DistributedError('reduceScatter', `unknown op '${op}' (sum, avg, min, max)`);
    // One send buffer holding the inputs in rank order.
    const send = noGrad(() => cat(inputs.map((t) => t.reshape([-1])), 0));
    const s = handles(send, 'reduceScatter');
    const recv = zeros([output.size], { device: output.device, dtype: output.dtype });
    const work = this.enqueue('reduceScatter', recv, (h) => this.comm.reduceScatter(s.ptr, h.ptr, output.size, h.dtype, OP[op], h.stream));
    noGrad(() => output.copy_(recv.reshape(output.shape)));
    return new Work(
      work.wait().finally(() => {
        send.dispose();
        recv.dispose();
      }),
    );
  }

  override barrier(): Work {
    throw new DistributedError('barrier', "backend 'nccl' has no barrier of its own: allReduce a one-element CUDA tensor, or use a 'gloo' group");
  }

  override allReduceHost(): Work {
    throw new DistributedError('allReduce', "backend 'nccl' reduces CUDA tensors, not host memory");
  }

  override destroy(): void {
    this.comm.destroy();
    super.destroy();
  }
}

/** Rank 0's unique id through the store, then every rank's communicator on cuda:LOCAL_RANK. */
export async function ncclGroup(native: NativeAddon, store: TCPStore, server: TCPStoreServer | null, rank: number, worldSize: number, timeoutMs: number): Promise<ProcessGroup> {
  const key = 'kindling/nccl-unique-id';
  if (rank === 0) await store.set(key, native.ncclUniqueId());
  await store.wait([key]);
  const id = await store.get(key);
  const device = Number(process.env.LOCAL_RANK ?? 0);
  const comm = new native.NcclComm();
  await comm.init(id, worldSize, rank, device).catch((e: Error) => {
    throw new DistributedError('initProcessGroup', `rank ${rank}: NCCL could not connect the ranks on cuda:${device}: ${e.message}`);
  });
  return new NcclProcessGroup(rank, worldSize, timeoutMs, store, server, comm);
}
