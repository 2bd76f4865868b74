/**
 * WebGPUBackend: Kindling's Backend interface over the engine (engine.ts) and the WGSL kernel
 * files (kernels/). Every method records its kernels and returns: nothing waits on the GPU
 * except read() and sync(). Temporaries a call makes (contiguous copies of strided inputs,
 * split-K partials) go back to the buffer pool when the call returns.
 */
import type {
  AdamStepOptions, Backend, BackendInfo, BinaryOp, Conv2dParams, DType, DeviceBuffer, FusedKernelName, FusedKernels, MemoryInfo,
  Operand, Pool2dParams, ReduceOp, SgdStepOptions, TypedArray, UnaryOp, View,
} from '@kindling/core';
import { attachFused, checkFlags, flagBool, fusedEnabled, fusedNote } from '@kindling/core/backend';
import { WebGPUBuffer } from './buffer.js';
import type { Engine } from './engine.js';
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

export interface WebGPUBackendOptions {
  /**
   * Expose the fused kernels (default true, or false when $KINDLING_WEBGPU_FUSED is '0'/'false').
   * With false, capabilities() is empty and the fused methods are absent, so core runs its
   * reference decompositions over the WGSL primitives.
   */
  fused?: boolean;
}

/** $KINDLING_WEBGPU_FUSED, read through core's flag registry. */
export function fusedFromEnv(): boolean {
  return flagBool('KINDLING_WEBGPU_FUSED');
}

function asBuffer(buf: DeviceBuffer, op: string): WebGPUBuffer {
  if (!(buf instanceof WebGPUBuffer)) {
    throw new TypeError(`${op}: got a buffer from another backend (${(buf as object)?.constructor?.name ?? typeof buf}); move tensors with .toAsync('webgpu') first`);
  }
  return buf;
}

function checkViews(op: string, ...views: (View | null | undefined)[]): void {
  for (const v of views) if (v) asBuffer(v.buffer, op);
}

function checkOperands(op: string, ...xs: Operand[]): void {
  for (const x of xs) if (typeof x !== 'number') asBuffer(x.buffer, op);
}

// The fused kernels are instance properties set in the constructor (absent with fused: false);
// this declaration merge types them as optional members of the class.
export interface WebGPUBackend extends Partial<FusedKernels> {}

export class WebGPUBackend implements Backend {
  readonly name = 'webgpu';
  readonly device = 'webgpu';
  private readonly caps: ReadonlySet<FusedKernelName>;

  constructor(
    readonly engine: Engine,
    private readonly origin: { origin: string; notes: string[] } = { origin: 'unknown', notes: [] },
    options: WebGPUBackendOptions = {},
  ) {
    checkFlags('backend-webgpu');
    const e = engine;
    this.caps = attachFused(this, fusedEnabled(options.fused, 'KINDLING_WEBGPU_FUSED'), (): FusedKernels => ({
        conv2d: (x, w, b, p: Conv2dParams, out) => this.call('conv2d', () => { checkViews('conv2d', x, w, b, out); conv2d(e, x, w, b, p, out); }),
        conv2dBackwardInput: (gy, w, p, gx) => this.call('conv2dBackwardInput', () => { checkViews('conv2dBackwardInput', gy, w, gx); conv2dBackwardInput(e, gy, w, p, gx); }),
        conv2dBackwardWeight: (gy, x, p, gw) => this.call('conv2dBackwardWeight', () => { checkViews('conv2dBackwardWeight', gy, x, gw); conv2dBackwardWeight(e, gy, x, p, gw); }),
        maxPool2d: (x, p: Pool2dParams, out, idx) => this.call('maxPool2d', () => { checkViews('maxPool2d', x, out, idx); maxPool2d(e, x, p, out, idx); }),
        maxPool2dBackward: (gy, idx, p, gx) => this.call('maxPool2dBackward', () => { checkViews('maxPool2dBackward', gy, idx, gx); maxPool2dBackward(e, gy, idx, p, gx); }),
        avgPool2d: (x, p, out) => this.call('avgPool2d', () => { checkViews('avgPool2d', x, out); avgPool2d(e, x, p, out); }),
        avgPool2dBackward: (gy, p, gx) => this.call('avgPool2dBackward', () => { checkViews('avgPool2dBackward', gy, gx); avgPool2dBackward(e, gy, p, gx); }),
        softmax: (x, log, out) => this.call('softmax', () => { checkViews('softmax', x, out); softmax(e, x, log, out); }),
        softmaxBackward: (y, gy, log, gx) => this.call('softmaxBackward', () => { checkViews('softmaxBackward', y, gy, gx); softmaxBackward(e, y, gy, log, gx); }),
        batchNormTrain: (x, w, b, rm, rv, mom, eps, out, mean, invstd) =>
          this.call('batchNormTrain', () => { checkViews('batchNormTrain', x, w, b, rm, rv, out, mean, invstd); batchNormTrain(e, x, w, b, rm, rv, mom, eps, out, mean, invstd); }),
        batchNormBackward: (gy, x, w, mean, invstd, gx, gw, gb) =>
          this.call('batchNormBackward', () => { checkViews('batchNormBackward', gy, x, w, mean, invstd, gx, gw, gb); batchNormBackward(e, gy, x, w, mean, invstd, gx, gw, gb); }),
        sgdStep: (p, g, buf, o: SgdStepOptions) => this.call('sgdStep', () => { checkViews('sgdStep', p, g, buf); sgdStep(e, p, g, buf, o); }),
        adamStep: (p, g, m, v, vmax, o: AdamStepOptions) => this.call('adamStep', () => { checkViews('adamStep', p, g, m, v, vmax); adamStep(e, p, g, m, v, vmax, o); }),
    }));
  }

  /** Runs one backend call: device check, the kernels, then the call's temporaries back to the pool. */
  private call(op: string, fn: () => void): void {
    this.engine.check(op);
    try {
      fn();
    } finally {
      this.engine.releaseTemps();
    }
  }

  info(): BackendInfo {
    const e = this.engine;
    const a = e.adapterInfo;
    const adapter = [a.vendor, a.architecture, a.device, a.description].filter((s) => s).join(' / ') || 'unknown adapter';
    return {
      name: this.name,
      device: this.device,
      implementation: `WGSL on ${adapter} via ${this.origin.origin}`,
      notes: [
        fusedNote(this.caps),
        `shader-f16: ${e.hasF16 ? 'available (kernels compute in f32)' : 'not available'}`,
        `workgroup size ${e.wg}; max storage binding ${e.limits.maxStorageBufferBindingSize} bytes`,
        ...this.origin.notes,
      ],
    };
  }

  capabilities(): ReadonlySet<FusedKernelName> {
    return this.caps;
  }

  // ---- memory ----

  alloc(dtype: DType, size: number): DeviceBuffer {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`alloc: invalid size ${size}`);
    return this.engine.alloc(dtype, size);
  }

  write(buf: DeviceBuffer, data: TypedArray, offset = 0): void {
    const b = asBuffer(buf, 'write');
    if (offset < 0 || offset + data.length > b.size) {
      throw new RangeError(`write: ${data.length} elements at offset ${offset} overflow a buffer of ${b.size}`);
    }
    // 4-byte words of the buffer's own type, converted as a typed-array store would (bool: x != 0).
    let words: Float32Array | Int32Array | Uint32Array;
    if (b.dtype === 'float32') words = data instanceof Float32Array ? data : Float32Array.from(data);
    else if (b.dtype === 'int32') words = data instanceof Int32Array ? data : Int32Array.from(data);
    else {
      words = new Uint32Array(data.length);
      for (let i = 0; i < data.length; i++) words[i] = data[i] !== 0 ? 1 : 0;
    }
    this.engine.write(b, words, offset);
  }

  read(buf: DeviceBuffer, offset: number, size: number): Promise<TypedArray> {
    try {
      const b = asBuffer(buf, 'read');
      if (offset < 0 || size < 0 || offset + size > b.size) {
        throw new RangeError(`read: ${size} elements at offset ${offset} overflow a buffer of ${b.size}`);
      }
      return this.engine.read(b, offset, size);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  free(buf: DeviceBuffer): void {
    this.engine.free(asBuffer(buf, 'free'));
  }

  /** Live buffers and their bytes as reserved on the GPU (bucket sizes, 4 bytes per element), and the pool's cache. */
  memory(): MemoryInfo {
    const p = this.engine.pool;
    return { buffers: p.liveBuffers, bytes: p.liveBytes, cachedBytes: p.cachedBytes };
  }

  sync(): Promise<void> {
    try {
      return this.engine.sync();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  // ---- data movement ----

  copy(src: View, dst: View): void {
    this.call('copy', () => {
      checkViews('copy', src, dst);
      copy(this.engine, src, dst);
    });
  }

  accumulate(src: View, dst: View): void {
    this.call('accumulate', () => {
      checkViews('accumulate', src, dst);
      accumulate(this.engine, src, dst);
    });
  }

  fill(dst: View, value: number): void {
    this.call('fill', () => {
      checkViews('fill', dst);
      fill(this.engine, dst, value);
    });
  }

  gather(x: View, axis: number, index: View, out: View): void {
    this.call('gather', () => {
      checkViews('gather', x, index, out);
      gather(this.engine, x, axis, index, out);
    });
  }

  scatterAdd(dst: View, axis: number, index: View, src: View): void {
    this.call('scatterAdd', () => {
      checkViews('scatterAdd', dst, index, src);
      scatterAdd(this.engine, dst, axis, index, src);
    });
  }

  // ---- compute ----

  unary(op: UnaryOp, x: View, out: View): void {
    this.call(op, () => {
      checkViews(op, x, out);
      unary(this.engine, op, x, out);
    });
  }

  binary(op: BinaryOp, a: Operand, b: Operand, out: View): void {
    this.call(op, () => {
      checkOperands(op, a, b);
      checkViews(op, out);
      binary(this.engine, op, a, b, out);
    });
  }

  where(cond: View, a: Operand, b: Operand, out: View): void {
    this.call('where', () => {
      checkOperands('where', cond, a, b);
      checkViews('where', out);
      where(this.engine, cond, a, b, out);
    });
  }

  reduce(op: ReduceOp, x: View, reduceDims: number, out: View): void {
    this.call(op, () => {
      checkViews(op, x, out);
      reduce(this.engine, op, x, reduceDims, out);
    });
  }

  matmul(a: View, b: View, out: View): void {
    this.call('matmul', () => {
      checkViews('matmul', a, b, out);
      matmul(this.engine, a, b, out);
    });
  }

  random(dist: 'uniform' | 'normal', key: readonly [number, number], counter: number, out: View): void {
    this.call('random', () => {
      checkViews('random', out);
      random(this.engine, dist, key, counter, out);
    });
  }

  /** Releases the pool and the device; tensors on it become unusable. */
  dispose(): void {
    this.engine.dispose();
  }
}
