/**
 * CudaBackend: Kindling's Backend interface over one device's native Context (addon.ts). Every
 * method packs its views (pack.ts) and queues kernels on the device's stream; only read() and
 * sync() wait, on a worker thread, so Node's event loop never blocks on the GPU.
 */
import type {
  AdamStepOptions, Backend, BackendInfo, BinaryOp, Conv2dParams, DType, DeviceBuffer, FusedKernelName, FusedKernels, MemoryInfo,
  Operand, Pool2dParams, ReduceOp, SgdStepOptions, TypedArray, UnaryOp, View,
} from '@kindling/core';
import { attachFused, bytesPerElement, checkFlags, flagBool, fusedEnabled, fusedNote } from '@kindling/core/backend';
import { cudaVersionText, type AddonStatus, type NativeContext } from './addon.js';
import { CudaBuffer, ownedBuffer } from './buffer.js';
import { ACTIVATION_CODE, BINARY_CODE, DTYPE_CODE, OP, Packer, REDUCE_CODE, UNARY_CODE } from './pack.js';

export interface CudaBackendOptions {
  /**
   * Expose the fused kernels (default true, or false when $KINDLING_CUDA_FUSED is '0'/'false').
   * With false, capabilities() is empty and core runs its reference decompositions.
   */
  fused?: boolean;
  /**
   * Let convolutions use TF32 tensor cores (cuDNN's default math, TF32 in the convolutions' own
   * products), as PyTorch's `torch.backends.cudnn.allow_tf32`, and on by default as there (and as
   * TensorFlow's TF32 execution): true unless $KINDLING_CUDA_ALLOW_TF32 is '0'/'false'/'off'. A
   * convolution then lands about 3e-4 (‖Δ‖/‖y‖) from FP32; false keeps full FP32, as cpu and webgpu.
   * Plain matmuls are always FP32 (PyTorch's `torch.backends.cuda.matmul.allow_tf32 = False`). The
   * backend's `allowTF32` property changes it later, for the calls after.
   */
  allowTF32?: boolean;
  /**
   * Choose each convolution's cuDNN algorithm by timing the candidates on its first call (per
   * geometry and pass), as PyTorch's `torch.backends.cudnn.benchmark = True` and TensorFlow's
   * default autotuning; false takes cuDNN's heuristic first choice, PyTorch's default. Default true,
   * or false when $KINDLING_CUDA_CUDNN_BENCHMARK is '0'/'false'/'off'. Results stay within the same
   * precision either way (FP32 FMA algorithms unless allowTF32); only the first call of a geometry
   * is slower. The backend's `cudnnBenchmark` property changes it later.
   */
  cudnnBenchmark?: boolean;
}

// The switches are read through core's flag registry (the addon's through kindling_flags.h, the
// same spelling).
export function fusedFromEnv(): boolean {
  return flagBool('KINDLING_CUDA_FUSED');
}

export function allowTF32FromEnv(): boolean {
  return flagBool('KINDLING_CUDA_ALLOW_TF32');
}

export function cudnnBenchmarkFromEnv(): boolean {
  return flagBool('KINDLING_CUDA_CUDNN_BENCHMARK');
}

// The fused kernels are instance properties set in the constructor (absent with fused: false);
// this declaration merge types them as optional members of the class.
export interface CudaBackend extends Partial<FusedKernels> {}

export class CudaBackend implements Backend {
  readonly name = 'cuda';
  private readonly caps: ReadonlySet<FusedKernelName>;
  private readonly pk: Packer;
  /** Identifies buffers of this device (shared by every backend instance on it). */
  private readonly owner: object;
  /** Convolutions may use TF32 tensor cores (see CudaBackendOptions.allowTF32). */
  allowTF32: boolean;
  /** cuDNN's convolution algorithms are chosen by timing them (see CudaBackendOptions.cudnnBenchmark). */
  cudnnBenchmark: boolean;

  /**
   * @param ctx the device's native context (shared by every backend instance on the device)
   * @param owner identifies buffers of this device (they are interchangeable between instances)
   */
  constructor(
    readonly device: string,
    private readonly ctx: NativeContext,
    private readonly status: AddonStatus,
    owner: object,
    options: CudaBackendOptions = {},
  ) {
    checkFlags('backend-cuda');
    this.pk = new Packer(owner, device);
    this.owner = owner;
    this.allowTF32 = options.allowTF32 ?? allowTF32FromEnv();
    this.cudnnBenchmark = options.cudnnBenchmark ?? cudnnBenchmarkFromEnv();
    this.caps = attachFused(this, fusedEnabled(options.fused, 'KINDLING_CUDA_FUSED'), (): FusedKernels => ({
        conv2d: (x, w, b, p, out) => this.conv(OP.conv2d, 'conv2d', [x, w, b, out], p),
        conv2dBackwardInput: (gy, w, p, gx) => this.conv(OP.conv2dBackwardInput, 'conv2dBackwardInput', [gy, w, null, gx], p),
        conv2dBackwardWeight: (gy, x, p, gw) => this.conv(OP.conv2dBackwardWeight, 'conv2dBackwardWeight', [gy, x, null, gw], p),
        maxPool2d: (x, p, out, idx) => this.pool(OP.maxPool2d, 'maxPool2d', [x, out, idx], p),
        maxPool2dBackward: (gy, idx, p, gx) => this.pool(OP.maxPool2dBackward, 'maxPool2dBackward', [gy, idx, gx], p),
        avgPool2d: (x, p, out) => this.pool(OP.avgPool2d, 'avgPool2d', [x, out, null], p),
        avgPool2dBackward: (gy, p, gx) => this.pool(OP.avgPool2dBackward, 'avgPool2dBackward', [gy, gx, null], p),
        softmax: (x, log, out) => this.exec(OP.softmax, this.pk.reset().view(x, 'softmax').flag(log).view(out, 'softmax')),
        softmaxBackward: (y, gy, log, gx) =>
          this.exec(OP.softmaxBackward, this.pk.reset().view(y, 'softmaxBackward').view(gy, 'softmaxBackward').flag(log).view(gx, 'softmaxBackward')),
        batchNormTrain: (x, w, b, rm, rv, momentum, eps, out, mean, invstd) => {
          const n = 'batchNormTrain';
          this.exec(OP.batchNormTrain, this.pk.reset().view(x, n).view(w, n).view(b, n).view(rm, n).view(rv, n).num(momentum).num(eps).view(out, n).view(mean, n).view(invstd, n));
        },
        batchNormBackward: (gy, x, w, mean, invstd, gx, gw, gb) => {
          const n = 'batchNormBackward';
          this.exec(OP.batchNormBackward, this.pk.reset().view(gy, n).view(x, n).view(w, n).view(mean, n).view(invstd, n).view(gx, n).view(gw, n).view(gb, n));
        },
        sgdStep: (p, g, buf, o: SgdStepOptions) => {
          const n = 'sgdStep';
          this.exec(OP.sgdStep, this.pk.reset().view(p, n).view(g, n).view(buf, n).sgd(o));
        },
        adamStep: (p, g, m, v, vmax, o: AdamStepOptions) => {
          const n = 'adamStep';
          this.exec(OP.adamStep, this.pk.reset().view(p, n).view(g, n).view(m, n).view(v, n).view(vmax, n).adam(o));
        },
        activationBackward: (act, y, gy, gx) => {
          const n = 'activationBackward';
          this.exec(OP.activationBackward, this.pk.reset().num(ACTIVATION_CODE[act]).view(y, n).view(gy, n).view(gx, n));
        },
        linear: (x, w, b, out) => this.exec(OP.linear, this.pk.reset().view(x, 'linear').view(w, 'linear').view(b, 'linear').view(out, 'linear')),
    }));
  }

  private exec(op: number, k: Packer): void {
    this.ctx.run(op, k.data, k.count);
  }

  /** A convolution: four views (the third absent for the backward passes), the geometry, then how cuDNN may run it. */
  private conv(op: number, name: string, views: [View, View, View | null, View], p: Conv2dParams): void {
    const k = this.pk.reset().view(views[0], name).view(views[1], name).view(views[2], name).view(views[3], name);
    k.num(p.stride[0]).num(p.stride[1]).num(p.padding[0]).num(p.padding[1]).num(p.dilation[0]).num(p.dilation[1]).num(p.groups);
    this.exec(op, k.flag(this.allowTF32).flag(this.cudnnBenchmark));
  }

  private pool(op: number, name: string, views: [View, View, View | null], p: Pool2dParams): void {
    const k = this.pk.reset().view(views[0], name).view(views[1], name).view(views[2], name);
    k.num(p.kernel[0]).num(p.kernel[1]).num(p.stride[0]).num(p.stride[1]).num(p.padding[0]).num(p.padding[1])
      .num(p.dilation[0]).num(p.dilation[1]).flag(p.ceilMode).flag(p.countIncludePad).num(p.divisorOverride ?? 0);
    this.exec(op, k);
  }

  info(): BackendInfo {
    const i = this.ctx.info();
    const s = this.status;
    const v = (c?: number): string => (c ? cudaVersionText(c) : '?');
    return {
      name: this.name,
      device: this.device,
      implementation: `CUDA on ${i.name} (sm_${i.computeCapability.replace('.', '')}, ${i.multiProcessors} SMs, ${(i.totalMemory / 2 ** 30).toFixed(0)} GiB)`,
      notes: [
        fusedNote(this.caps),
        `matmul: ${i.matmul}`,
        `conv: ${i.conv}; ${this.allowTF32 ? 'TF32 tensor cores allowed (allowTF32)' : 'full FP32 (allowTF32 off)'}; ` +
          `cuDNN algorithms ${this.cudnnBenchmark ? 'timed on first use (cudnnBenchmark)' : 'by its heuristics (cudnnBenchmark off)'}`,
        `CUDA runtime ${v(s.runtimeVersion)} (static), driver ${v(s.driverVersion)}; addon ${s.path ?? '?'}`,
      ],
    };
  }

  capabilities(): ReadonlySet<FusedKernelName> {
    return this.caps;
  }

  // ---- memory ----

  alloc(dtype: DType, size: number): DeviceBuffer {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`alloc: invalid size ${size}`);
    const ptr = this.ctx.alloc(Math.max(1, size) * bytesPerElement(dtype));
    return new CudaBuffer(dtype, size, ptr, this.owner, this.device);
  }

  private own(buf: DeviceBuffer, op: string): CudaBuffer {
    return ownedBuffer(buf, this.owner, this.device, op);
  }

  write(buf: DeviceBuffer, data: TypedArray, offset = 0): void {
    const b = this.own(buf, 'write');
    if (offset < 0 || offset + data.length > b.size) {
      throw new RangeError(`write: ${data.length} elements at offset ${offset} overflow a buffer of ${b.size}`);
    }
    let words: Float32Array | Int32Array | Uint8Array;
    if (b.dtype === 'float32') words = data instanceof Float32Array ? data : Float32Array.from(data);
    else if (b.dtype === 'int32') words = data instanceof Int32Array ? data : Int32Array.from(data);
    else {
      // bool is one byte per element, stored as 0/1 whatever the source values.
      words = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) words[i] = data[i] !== 0 ? 1 : 0;
    }
    this.ctx.write(b.ptr, offset * bytesPerElement(b.dtype), words);
  }

  read(buf: DeviceBuffer, offset: number, size: number): Promise<TypedArray> {
    try {
      const b = this.own(buf, 'read');
      if (offset < 0 || size < 0 || offset + size > b.size) {
        throw new RangeError(`read: ${size} elements at offset ${offset} overflow a buffer of ${b.size}`);
      }
      const e = bytesPerElement(b.dtype);
      return this.ctx.read(b.ptr, offset * e, size * e, DTYPE_CODE[b.dtype]);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  free(buf: DeviceBuffer): void {
    const b = this.own(buf, 'free');
    b.freed = true;
    this.ctx.free(b.ptr);
  }

  memory(): MemoryInfo {
    const [buffers, bytes, cachedBytes] = this.ctx.memory();
    return { buffers, bytes, cachedBytes };
  }

  /**
   * With KINDLING_CUDA_PROFILE=1, per op since the last call: calls, host µs (packing, checks and
   * launches) and device µs (the kernels' span on the stream). Waits for the device.
   */
  profile(): Record<string, { calls: number; hostUs: number; deviceUs: number }> {
    // The addon keys unary / binary / reduce calls by the op's name (kindling_ops.h), others by entry point.
    const raw = this.ctx.profile();
    return Object.fromEntries(Object.entries(raw).map(([k, [calls, hostUs, deviceUs]]) => [k, { calls, hostUs, deviceUs }]));
  }

  /** Returns the caching allocator's free blocks to the driver (torch.cuda.empty_cache). */
  emptyCache(): void {
    this.ctx.emptyCache();
  }

  /**
   * For libraries that work on device memory in place of a host round trip (NCCL in
   * @kindling/distributed): the buffer's device address, the device's stream (work queued on it
   * is ordered with this backend's kernels) and the device ordinal. sync() tells when it is done.
   */
  interopHandles(buf: DeviceBuffer, op: string): { ptr: number; stream: number; device: number } {
    const b = ownedBuffer(buf, this.owner, this.device, op);
    return { ptr: b.ptr, stream: this.ctx.stream(), device: Number(this.device.split(':')[1] ?? 0) };
  }

  sync(): Promise<void> {
    try {
      return this.ctx.sync();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  // ---- data movement ----

  copy(src: View, dst: View): void {
    this.exec(OP.copy, this.pk.reset().view(src, 'copy').view(dst, 'copy'));
  }

  accumulate(src: View, dst: View): void {
    this.exec(OP.accumulate, this.pk.reset().view(src, 'accumulate').view(dst, 'accumulate'));
  }

  fill(dst: View, value: number): void {
    this.exec(OP.fill, this.pk.reset().view(dst, 'fill').num(value));
  }

  gather(x: View, axis: number, index: View, out: View): void {
    this.exec(OP.gather, this.pk.reset().view(x, 'gather').num(axis).view(index, 'gather').view(out, 'gather'));
  }

  scatterAdd(dst: View, axis: number, index: View, src: View): void {
    this.exec(OP.scatterAdd, this.pk.reset().view(dst, 'scatterAdd').num(axis).view(index, 'scatterAdd').view(src, 'scatterAdd'));
  }

  // ---- compute ----

  unary(op: UnaryOp, x: View, out: View): void {
    this.exec(OP.unary, this.pk.reset().num(UNARY_CODE[op]).view(x, op).view(out, op));
  }

  binary(op: BinaryOp, a: Operand, b: Operand, out: View): void {
    this.exec(OP.binary, this.pk.reset().num(BINARY_CODE[op]).operand(a, op).operand(b, op).view(out, op));
  }

  where(cond: View, a: Operand, b: Operand, out: View): void {
    this.exec(OP.where, this.pk.reset().view(cond, 'where').operand(a, 'where').operand(b, 'where').view(out, 'where'));
  }

  reduce(op: ReduceOp, x: View, reduceDims: number, out: View): void {
    this.exec(OP.reduce, this.pk.reset().num(REDUCE_CODE[op]).view(x, op).num(reduceDims).view(out, op));
  }

  matmul(a: View, b: View, out: View): void {
    this.exec(OP.matmul, this.pk.reset().view(a, 'matmul').view(b, 'matmul').view(out, 'matmul'));
  }

  random(dist: 'uniform' | 'normal', key: readonly [number, number], counter: number, out: View): void {
    this.exec(OP.random, this.pk.reset().num(dist === 'normal' ? 1 : 0).num(key[0] >>> 0).num(key[1] >>> 0).num(counter).view(out, 'random'));
  }
}
