/**
 * CpuBackend: wires the kernel files into Kindling's Backend interface. Two implementations sit
 * behind it, chosen per instance:
 *  - native: the C++ addon (AVX2/FMA kernels, OpenBLAS sgemm, a pool of os.availableParallelism()
 *    threads) for matmul, conv2d, pooling, softmax, optimizer steps and float32 elementwise ops
 *    and sums, when the addon was built and loads (src/native/);
 *  - portable: the TypeScript kernels in src/kernels/, for everything else and everywhere else.
 * Everything runs synchronously (native kernels return when their threads are done), so
 * "launch" and "complete" coincide: read() resolves with final data and sync() has nothing to wait for.
 */
import type {
  Backend, BackendInfo, BinaryOp, DType, DeviceBuffer, FusedKernelName, FusedKernels, MemoryInfo, Operand,
  ReduceOp, TypedArray, UnaryOp, View,
} from '@kindling/core';
import { BufferCache, CpuBuffer, MemoryTracker } from './buffer.js';
import { accumulate, copy, fill } from './kernels/copy.js';
import { unary } from './kernels/unary.js';
import { binary } from './kernels/binary.js';
import { where } from './kernels/where.js';
import { reduce } from './kernels/reduce.js';
import { matmul } from './kernels/matmul.js';
import { gather, scatterAdd } from './kernels/gather.js';
import { random } from './kernels/random.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from './kernels/conv2d.js';
import { maxPool2d, maxPool2dBackward } from './kernels/maxpool.js';
import { avgPool2d, avgPool2dBackward } from './kernels/avgpool.js';
import { softmax, softmaxBackward } from './kernels/softmax.js';
import { batchNormBackward, batchNormTrain } from './kernels/batchnorm.js';
import { adamStep, sgdStep } from './kernels/optim.js';
import { activationBackward } from './kernels/activation.js';
import { linear } from './kernels/linear.js';
import { setExternalMemoryReporter } from '@kindling/core';
import { attachFused, checkFlags, flagInt, fusedEnabled, fusedNote } from '@kindling/core/backend';
import { nativeFromEnv, nativeStatus } from './native/addon.js';
import { nativeFused, nativePrimitives, type NativePrimitives } from './native/kernels.js';

export interface CpuBackendOptions {
  /**
   * Expose the fused kernels (default true, or false when $KINDLING_CPU_FUSED is '0'/'false').
   * With false, capabilities() is empty and the fused methods are absent, so core runs its
   * reference decompositions over the primitives: that is how those decompositions are tested.
   */
  fused?: boolean;
  /**
   * Use the native addon when it is available (default true, or false when $KINDLING_CPU_NATIVE
   * is '0'/'false'). With false, or without a usable addon, every kernel is TypeScript;
   * info().implementation says which path runs and why.
   */
  native?: boolean;
  /**
   * Bytes of freed buffers (of 64 KiB and more) kept for reuse by later allocations of the same
   * size (default $KINDLING_CPU_CACHE_BYTES, else 1 GiB; 0 turns the cache off). See BufferCache in buffer.ts.
   */
  cacheBytes?: number;
}

const DEFAULT_CACHE_BYTES = 1024 * 1024 * 1024;

/** The fused kernels, as a table so the constructor can attach all or none. */
const FUSED: Required<FusedKernels> = {
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  maxPool2d,
  maxPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  softmax,
  softmaxBackward,
  batchNormTrain,
  batchNormBackward,
  sgdStep,
  adamStep,
  activationBackward,
  linear,
};

function asCpuBuffer(buf: DeviceBuffer, op: string): CpuBuffer {
  if (!(buf instanceof CpuBuffer)) throw new TypeError(`${op}: not a cpu buffer`);
  return buf;
}

// The fused kernels are instance properties set in the constructor (absent with fused: false);
// this declaration merge types them as optional members of the class.
export interface CpuBackend extends Partial<FusedKernels> {}

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly device = 'cpu';
  private readonly tracker = new MemoryTracker();
  private readonly caps: ReadonlySet<FusedKernelName>;
  /** The native primitives, or null on the portable path. */
  private readonly nativePrims: NativePrimitives | null;
  private readonly implementation: string;

  constructor(options: CpuBackendOptions = {}) {
    checkFlags('backend-cpu');
    const fused = fusedEnabled(options.fused, 'KINDLING_CPU_FUSED');
    const cacheBytes = options.cacheBytes ?? flagInt('KINDLING_CPU_CACHE_BYTES') ?? DEFAULT_CACHE_BYTES;
    if (cacheBytes > 0) this.tracker.cache = new BufferCache(cacheBytes);
    const wantNative = options.native ?? nativeFromEnv();
    const status = wantNative ? nativeStatus() : null;
    const addon = status?.addon ?? null;
    this.nativePrims = addon ? nativePrimitives(addon) : null;
    if (addon) {
      this.implementation = status!.description;
      // Tensor storage of every device is reported to V8 through this addon (core's turn.ts says
      // why); an addon built before adjustExternalMemory existed simply does not report.
      if (typeof addon.adjustExternalMemory === 'function') setExternalMemoryReporter((d) => void addon.adjustExternalMemory(d));
    } else {
      const why = status ? status.reason : options.native === false ? 'native path disabled by the native: false option' : 'native path disabled by KINDLING_CPU_NATIVE';
      this.implementation = `typescript (portable, single-threaded): ${why}`;
    }
    // Native fused kernels replace their TypeScript twins where the addon has them.
    this.caps = attachFused(this, fused, () => ({ ...FUSED, ...(addon ? nativeFused(addon) : {}) }));
  }

  /** True when the native addon runs this backend's hot kernels. */
  get isNative(): boolean {
    return this.nativePrims !== null;
  }

  info(): BackendInfo {
    return {
      name: this.name,
      device: this.device,
      implementation: this.implementation,
      notes: [fusedNote(this.caps)],
    };
  }

  capabilities(): ReadonlySet<FusedKernelName> {
    return this.caps;
  }

  // ---- memory ----

  alloc(dtype: DType, size: number): DeviceBuffer {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`alloc: invalid size ${size}`);
    return new CpuBuffer(dtype, size, this.tracker);
  }

  write(buf: DeviceBuffer, data: TypedArray, offset = 0): void {
    const b = asCpuBuffer(buf, 'write');
    if (offset < 0 || offset + data.length > b.size) {
      throw new RangeError(`write: ${data.length} elements at offset ${offset} overflow a buffer of ${b.size}`);
    }
    const dst = b.data;
    if (b.dtype === 'bool') {
      // Keep the bool invariant (every byte 0 or 1) whatever the caller's bytes were.
      for (let i = 0; i < data.length; i++) dst[offset + i] = data[i] !== 0 ? 1 : 0;
    } else {
      dst.set(data, offset);
    }
  }

  read(buf: DeviceBuffer, offset: number, size: number): Promise<TypedArray> {
    try {
      return Promise.resolve(this.readSync(buf, offset, size));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  readSync(buf: DeviceBuffer, offset: number, size: number): TypedArray {
    const b = asCpuBuffer(buf, 'read');
    if (offset < 0 || size < 0 || offset + size > b.size) {
      throw new RangeError(`read: ${size} elements at offset ${offset} overflow a buffer of ${b.size}`);
    }
    // slice() copies: callers may keep or mutate the result without touching the tensor.
    return b.data.slice(offset, offset + size);
  }

  free(buf: DeviceBuffer): void {
    asCpuBuffer(buf, 'free').free();
  }

  memory(): MemoryInfo {
    return { buffers: this.tracker.buffers, bytes: this.tracker.bytes, cachedBytes: this.tracker.cache?.bytes ?? 0 };
  }

  /** Returns every cached (freed, kept for reuse) buffer to the garbage collector. */
  emptyCache(): void {
    this.tracker.cache?.clear();
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  // ---- data movement ----

  copy(src: View, dst: View): void {
    if (this.nativePrims) this.nativePrims.copy(src, dst);
    else copy(src, dst);
  }

  accumulate(src: View, dst: View): void {
    accumulate(src, dst);
  }

  fill(dst: View, value: number): void {
    if (this.nativePrims) this.nativePrims.fill(dst, value);
    else fill(dst, value);
  }

  gather(x: View, axis: number, index: View, out: View): void {
    gather(x, axis, index, out);
  }

  scatterAdd(dst: View, axis: number, index: View, src: View): void {
    scatterAdd(dst, axis, index, src);
  }

  // ---- compute ----

  unary(op: UnaryOp, x: View, out: View): void {
    if (this.nativePrims) this.nativePrims.unary(op, x, out);
    else unary(op, x, out);
  }

  binary(op: BinaryOp, a: Operand, b: Operand, out: View): void {
    if (this.nativePrims) this.nativePrims.binary(op, a, b, out);
    else binary(op, a, b, out);
  }

  where(cond: View, a: Operand, b: Operand, out: View): void {
    where(cond, a, b, out);
  }

  reduce(op: ReduceOp, x: View, reduceDims: number, out: View): void {
    if (this.nativePrims) this.nativePrims.reduce(op, x, reduceDims, out);
    else reduce(op, x, reduceDims, out);
  }

  matmul(a: View, b: View, out: View): void {
    if (this.nativePrims) this.nativePrims.matmul(a, b, out);
    else matmul(a, b, out);
  }

  random(dist: 'uniform' | 'normal', key: readonly [number, number], counter: number, out: View): void {
    random(dist, key, counter, out);
  }

  dispose(): void {
    this.emptyCache();
    // Buffers are garbage-collected typed arrays; there is no device context to release.
  }
}
