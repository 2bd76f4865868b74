/**
 * Device memory: Kindling buffers over GPUBuffers, and the size-bucketed pool behind them.
 *
 * Every element takes 4 bytes on the GPU: float32 as f32, int32 as i32 and bool as u32 (0/1),
 * since WGSL storage buffers have no 8-bit type; read() turns bool words back into bytes.
 *
 * The pool: creating and destroying GPUBuffers is slow (driver calls, zeroing), and a training
 * step frees and reallocates the same sizes every iteration. So free() returns the GPUBuffer to a
 * free list keyed by its bucket size, and alloc() takes from there first. Sizes are rounded up
 * to a bucket — the next power of two up to 64 KiB, above that the next multiple of 1/8 of a
 * power of two (at most 12.5 % slack) — so nearby sizes share buffers. Reuse needs no fence: the
 * queue runs commands in order, so a kernel encoded after the free sees the new owner's data, and
 * uploads flush pending kernels before they write (see engine.ts). Cached bytes above
 * `maxCachedBytes` are destroyed, oldest first.
 */
import type { DType, DeviceBuffer } from '@kindling/core';

export const BYTES_PER_ELEMENT = 4;

/** The bucket a request of `bytes` is served from. */
export function bucketBytes(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  const pow = 2 ** Math.ceil(Math.log2(b));
  if (pow <= 65536) return pow;
  const step = pow / 16; // (pow/2, pow] in 8 steps of pow/16
  return Math.ceil(b / step) * step;
}

export class WebGPUBuffer implements DeviceBuffer {
  private gpu_: GPUBuffer | null;

  constructor(
    readonly dtype: DType,
    /** Elements. */
    readonly size: number,
    gpu: GPUBuffer,
    /** The bucket size actually reserved. */
    readonly bytes: number,
  ) {
    this.gpu_ = gpu;
  }

  /** The GPUBuffer; throws after free() so a use-after-free is loud. */
  get gpu(): GPUBuffer {
    if (this.gpu_ === null) throw new Error(`webgpu: use of a freed ${this.dtype} buffer of ${this.size} elements`);
    return this.gpu_;
  }

  get freed(): boolean {
    return this.gpu_ === null;
  }

  /** Detaches the GPUBuffer (for the pool); idempotent. */
  release(): GPUBuffer | null {
    const g = this.gpu_;
    this.gpu_ = null;
    return g;
  }
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  /** Insertion-ordered, so trimming drops the buffers cached longest. */
  private readonly order = new Set<GPUBuffer>();
  private readonly sizes = new WeakMap<GPUBuffer, number>();
  liveBuffers = 0;
  liveBytes = 0;
  cachedBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    public maxCachedBytes: number,
    /** Called before destroying cached buffers, so no encoded-but-unsubmitted command refers to them. */
    private readonly beforeDestroy: () => void,
  ) {}

  acquire(bytes: number): { buffer: GPUBuffer; bytes: number } {
    const size = bucketBytes(bytes);
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.order.delete(buffer);
      this.cachedBytes -= size;
    } else {
      buffer = this.device.createBuffer({
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      this.sizes.set(buffer, size);
    }
    this.liveBuffers++;
    this.liveBytes += size;
    return { buffer, bytes: size };
  }

  release(buffer: GPUBuffer): void {
    const size = this.sizes.get(buffer)!;
    this.liveBuffers--;
    this.liveBytes -= size;
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    list.push(buffer);
    this.order.add(buffer);
    this.cachedBytes += size;
    if (this.cachedBytes > this.maxCachedBytes) this.trim(this.maxCachedBytes);
  }

  /** Destroys cached buffers until at most `target` bytes stay cached. */
  trim(target = 0): void {
    if (this.cachedBytes <= target) return;
    this.beforeDestroy();
    for (const buffer of this.order) {
      if (this.cachedBytes <= target) break;
      const size = this.sizes.get(buffer)!;
      const list = this.free.get(size)!;
      list.splice(list.indexOf(buffer), 1);
      this.order.delete(buffer);
      this.cachedBytes -= size;
      buffer.destroy();
    }
  }
}
