/**
 * Host memory for the CPU backend: one typed array per buffer, plus the live-allocation counters
 * behind `memory()`. The element type follows the dtype (float32 → Float32Array, int32 →
 * Int32Array, bool → Uint8Array holding 0/1), so reads hand back exactly what core expects.
 */
import type { DType, DeviceBuffer, TypedArray, View } from '@kindling/core';
import { bytesPerElement, typedArrayFor } from '@kindling/core/backend';

/** Counters shared by every buffer of one backend instance. */
export class MemoryTracker {
  buffers = 0;
  bytes = 0;
  /** Where freed arrays go for reuse (null: no caching). */
  cache: BufferCache | null = null;
}

/**
 * A caching allocator, like PyTorch's: freed arrays of at least `minBytes` are kept, keyed by
 * dtype and exact length, and handed out again by the next allocation of that size, so a training
 * loop that allocates the same activations every step stops paying for fresh pages (page faults
 * and the kernel's zeroing cost more than the kernels on them). Reused arrays are NOT zeroed:
 * core treats alloc() as uninitialised (`empty`) and fills explicitly where it needs zeros.
 * At most `maxBytes` are held; beyond that the least recently freed arrays are dropped to the GC.
 */
export class BufferCache {
  private readonly free = new Map<string, TypedArray[]>();
  /** Insertion-ordered for eviction: each entry is one cached array. */
  private readonly order: { key: string; array: TypedArray }[] = [];
  bytes = 0;

  constructor(readonly maxBytes: number, readonly minBytes = 1 << 16) {}

  take(dtype: DType, size: number): TypedArray | null {
    const list = this.free.get(`${dtype}:${size}`);
    const a = list?.pop();
    if (!a) return null;
    this.bytes -= a.byteLength;
    const i = this.order.findIndex((e) => e.array === a);
    if (i >= 0) this.order.splice(i, 1);
    return a;
  }

  give(dtype: DType, a: TypedArray): void {
    if (a.byteLength < this.minBytes || a.byteLength > this.maxBytes) return;
    const key = `${dtype}:${a.length}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(a);
    this.order.push({ key, array: a });
    this.bytes += a.byteLength;
    while (this.bytes > this.maxBytes && this.order.length > 0) {
      const old = this.order.shift()!;
      const l = this.free.get(old.key)!;
      l.splice(l.indexOf(old.array), 1);
      this.bytes -= old.array.byteLength;
    }
  }

  /** Drops every cached array (torch.cuda.empty_cache's counterpart). */
  clear(): void {
    this.free.clear();
    this.order.length = 0;
    this.bytes = 0;
  }
}

export class CpuBuffer implements DeviceBuffer {
  private array: TypedArray | null;

  constructor(
    readonly dtype: DType,
    readonly size: number,
    private readonly tracker: MemoryTracker,
  ) {
    this.array = tracker.cache?.take(dtype, size) ?? typedArrayFor(dtype, size);
    tracker.buffers++;
    tracker.bytes += size * bytesPerElement(dtype);
  }

  /** The backing array. Throws after free() so a use-after-free is loud instead of reading zeros. */
  get data(): TypedArray {
    if (this.array === null) throw new Error(`cpu: use of a freed ${this.dtype} buffer of ${this.size} elements`);
    return this.array;
  }

  get freed(): boolean {
    return this.array === null;
  }

  /** Idempotent: freeing twice does not double-count. */
  free(): void {
    if (this.array === null) return;
    this.tracker.cache?.give(this.dtype, this.array);
    this.array = null;
    this.tracker.buffers--;
    this.tracker.bytes -= this.size * bytesPerElement(this.dtype);
  }
}

/** The typed array behind a view, checking that the view is ours. */
export function dataOf(v: View): TypedArray {
  const b = v.buffer;
  if (!(b instanceof CpuBuffer)) {
    throw new TypeError(`cpu: got a buffer from another backend (${(b as object)?.constructor?.name ?? typeof b}); move tensors with .to('cpu') first`);
  }
  return b.data;
}

/** An array type the fused kernels take (float32 data, int32 pooling indices) and how errors name it. */
export interface DenseKind<A extends Float32Array | Int32Array> {
  Ctor: new (n: number) => A;
  name: 'a float32' | 'an int32';
}
export const F32: DenseKind<Float32Array> = { Ctor: Float32Array, name: 'a float32' };
export const I32: DenseKind<Int32Array> = { Ctor: Int32Array, name: 'an int32' };

/** The typed array behind a view of the given kind, or a TypeError naming the op and the view's dtype. */
export function typedOf<A extends Float32Array | Int32Array>(v: View, op: string, kind: DenseKind<A>, role: 'tensor' | 'output' = 'tensor'): A {
  const d = dataOf(v);
  if (!(d instanceof kind.Ctor)) throw new TypeError(`${op}: expected ${kind.name} ${role}, got ${v.dtype}`);
  return d;
}

/** The Float32Array behind a float32 view (fused kernels are float32-only, as in PyTorch's CPU paths we mirror). */
export function f32Of(v: View, op: string): Float32Array {
  return typedOf(v, op, F32);
}
