/**
 * Host memory for the CPU backend: one typed array per buffer, plus the live-allocation counters
 * behind `memory()`. The element type follows the dtype (float32 → Float32Array, int32 →
 * Int32Array, bool → Uint8Array holding 0/1), so reads hand back exactly what core expects.
 */
import type { DType, DeviceBuffer, TypedArray, View } from '@kindling/core';

/** Counters shared by every buffer of one backend instance. */
export class MemoryTracker {
  buffers = 0;
  bytes = 0;
}

export function bytesPer(dtype: DType): number {
  return dtype === 'bool' ? 1 : 4;
}

export function newTypedArray(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'bool':
      return new Uint8Array(size);
    default:
      throw new TypeError(`cpu: unknown dtype '${String(dtype)}'`);
  }
}

export class CpuBuffer implements DeviceBuffer {
  private array: TypedArray | null;

  constructor(
    readonly dtype: DType,
    readonly size: number,
    private readonly tracker: MemoryTracker,
  ) {
    this.array = newTypedArray(dtype, size);
    tracker.buffers++;
    tracker.bytes += size * bytesPer(dtype);
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
    this.array = null;
    this.tracker.buffers--;
    this.tracker.bytes -= this.size * bytesPer(this.dtype);
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

/** The Float32Array behind a float32 view (fused kernels are float32-only, as in PyTorch's CPU paths we mirror). */
export function f32Of(v: View, op: string): Float32Array {
  const d = dataOf(v);
  if (!(d instanceof Float32Array)) throw new TypeError(`${op}: expected a float32 tensor, got ${v.dtype}`);
  return d;
}
