/**
 * The engine: one GPUDevice and everything needed to launch WGSL kernels on it cheaply.
 *
 *  - Pipelines are cached per kernel signature (kernel, dtypes, rank, flags, and which operands
 *    share a buffer), so shader compilation happens once per signature.
 *  - Dispatches are recorded into one command encoder (in one compute pass while possible) and
 *    submitted lazily: on read()/sync(), before an upload, or after `maxBatch` dispatches.
 *  - Kernel parameters go into a per-submit uniform arena: each dispatch takes a 256-byte aligned
 *    slot of one uniform buffer, written with a single writeBuffer just before the submit. The
 *    queue orders that write after the previous submit, so the arena is reused without fences.
 *  - Each distinct GPUBuffer is bound once per dispatch (WebGPU rejects a buffer bound writable
 *    and bound again in the same dispatch), so operands that share a buffer — in-place updates,
 *    x·x — share one WGSL variable; the kernel's source gets the variable name for each operand.
 *  - read() copies into a MAP_READ staging buffer, submits and awaits mapAsync: the event loop
 *    never blocks. Validation errors (uncapturederror) and a lost device are kept and reported
 *    by the next read/sync, and a lost device makes every later call throw.
 *  - Kernels that can meet bad input they cannot throw for (an out-of-range gather index) set a
 *    bit in a device-side error word; every read() copies that word too and rejects when it is set.
 */
import type { DType, TypedArray } from '@kindling/core';
import { flagBool } from '@kindling/core/backend';
import { BYTES_PER_ELEMENT, BufferPool, WebGPUBuffer } from './buffer.js';
import { PRELUDE, Params } from './wgsl.js';

export interface EngineOptions {
  /** Dispatches recorded before a submit (default 64). */
  maxBatch?: number;
  /** Bytes the buffer pool may keep cached (default 256 MiB). */
  maxCachedBytes?: number;
  /**
   * Which kernel variants to prefer where there is a choice (see `isSoftware`): 'auto' (default)
   * picks by adapter; 'gpu' and 'software' force one set (tests use this to run the GPU variants
   * on SwiftShader too).
   */
  paths?: 'auto' | 'gpu' | 'software';
}

export interface Binding {
  /** How the kernel source refers to this operand (a key of the names map it receives). */
  name: string;
  buffer: WebGPUBuffer;
  write?: boolean;
  /** Declared as array<atomic<u32|i32>> (implies write). */
  atomic?: boolean;
  /** Element type override (default: from the buffer's dtype). */
  type?: 'f32' | 'i32' | 'u32';
}

export interface KernelCall {
  /** Identifies the generated source together with the binding pattern. */
  key: string;
  bindings: readonly Binding[];
  params: Params;
  /** Workgroups: a count (folded into a 2-d grid past 65,535) or an explicit [x, y, z]. */
  groups: number | readonly [number, number, number];
  /** WGSL after the declarations: receives the WGSL variable name of each binding. */
  source: (names: Record<string, string>) => string;
}

/** Bits of the device-side error word, and what they mean. */
export const ERROR_BITS: Record<number, string> = {
  1: 'gather: an index was out of range for the gathered dimension',
  2: 'scatterAdd: an index was out of range for the destination dimension',
};

const ARENA_BYTES = 64 * 1024;
const SLOT_ALIGN = 256;

interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

export class Engine {
  readonly limits: GPUSupportedLimits;
  readonly pool: BufferPool;
  /** 1-d workgroup size used by elementwise kernels. */
  readonly wg: number;
  readonly maxBatch: number;
  readonly hasF16: boolean;
  /**
   * A CPU implementation of WebGPU (SwiftShader, lavapipe, llvmpipe, WARP). There a workgroup
   * barrier switches coroutines and costs far more than on a GPU, so kernels with a choice take
   * their barrier-free variant: the direct GEMM instead of the tiled one, one invocation per
   * output row for reductions and softmax.
   */
  readonly isSoftware: boolean;

  private readonly pipelines = new Map<string, CachedPipeline>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private readonly arena: GPUBuffer;
  private readonly arenaData = new ArrayBuffer(ARENA_BYTES);
  private readonly arenaWords = new Uint32Array(this.arenaData);
  private arenaUsed = 0;
  /** The device-side error word (see ERROR_BITS). */
  readonly errorWord: WebGPUBuffer;
  private lostMessage: string | null = null;
  private uncaptured: string | null = null;
  private disposed = false;

  constructor(
    readonly device: GPUDevice,
    readonly adapterInfo: GPUAdapterInfo,
    options: EngineOptions = {},
    /** The GPU object behind the device, held so it lives as long as the engine (see gpu.ts). */
    readonly gpuRoot: unknown = null,
  ) {
    this.limits = device.limits;
    this.maxBatch = options.maxBatch ?? 64;
    this.hasF16 = device.features.has('shader-f16');
    const desc = `${adapterInfo.vendor} ${adapterInfo.architecture} ${adapterInfo.device} ${adapterInfo.description}`.toLowerCase();
    const detected = /swiftshader|llvmpipe|lavapipe|warp|software/.test(desc) || (adapterInfo as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
    this.isSoftware = options.paths === 'software' || (options.paths !== 'gpu' && detected);
    // A power of two (tree reductions halve it), at most 256 and within the device's limits.
    const cap = Math.min(256, this.limits.maxComputeInvocationsPerWorkgroup, this.limits.maxComputeWorkgroupSizeX);
    this.wg = 2 ** Math.floor(Math.log2(cap));
    this.pool = new BufferPool(device, options.maxCachedBytes ?? 256 * 1024 * 1024, () => this.flush());
    this.arena = device.createBuffer({ size: ARENA_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'kindling params' });
    const err = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label: 'kindling error word' });
    this.errorWord = new WebGPUBuffer('int32', 4, err, 16);
    device.lost.then((info) => {
      this.lostMessage = `${info.reason}${info.message ? `: ${info.message}` : ''}`;
    });
    device.addEventListener('uncapturederror', (ev) => {
      const msg = (ev as GPUUncapturedErrorEvent).error.message;
      this.uncaptured ??= msg;
    });
  }

  get isLost(): boolean {
    return this.lostMessage !== null;
  }

  /** Throws when the device is gone; called at the top of every backend method. */
  check(op: string): void {
    if (this.lostMessage !== null) {
      throw new Error(
        `${op}: the WebGPU device was lost (${this.lostMessage}); tensors on 'webgpu' are gone. Other devices (cpu) keep working; restart the program to use WebGPU again`,
      );
    }
    if (this.disposed) throw new Error(`${op}: the WebGPU backend was disposed`);
  }

  /** A GPU error reported since the last check, as an Error (and cleared), or null. */
  takeError(): Error | null {
    if (this.uncaptured === null) return null;
    const e = new Error(`webgpu: a kernel failed on the device: ${this.uncaptured}`);
    this.uncaptured = null;
    return e;
  }

  // ---- memory ----

  alloc(dtype: DType, size: number): WebGPUBuffer {
    this.check('alloc');
    const need = Math.max(1, size) * BYTES_PER_ELEMENT;
    if (need > this.limits.maxStorageBufferBindingSize) {
      throw new RangeError(`alloc: ${size} ${dtype} elements (${need} bytes) exceed this adapter's largest storage binding of ${this.limits.maxStorageBufferBindingSize} bytes`);
    }
    const { buffer, bytes } = this.pool.acquire(need);
    return new WebGPUBuffer(dtype, size, buffer, bytes);
  }

  private readonly temps: WebGPUBuffer[] = [];

  /**
   * A scratch buffer for the backend call being recorded (a contiguous copy of a strided input,
   * a partial sum). The backend frees every temporary when the call returns: their kernels are
   * recorded by then, and the queue runs in order, so the pool may hand them out again at once.
   */
  temp(dtype: DType, size: number): WebGPUBuffer {
    const b = this.alloc(dtype, size);
    this.temps.push(b);
    return b;
  }

  releaseTemps(): void {
    while (this.temps.length > 0) this.free(this.temps.pop()!);
  }

  free(buf: WebGPUBuffer): void {
    const g = buf.release();
    if (g && this.lostMessage === null && !this.disposed) this.pool.release(g);
  }

  /** Uploads 4-byte elements at element `offset`. Pending kernels are submitted first (see the header). */
  write(buf: WebGPUBuffer, data: Float32Array | Int32Array | Uint32Array, offset: number): void {
    this.check('write');
    if (data.length === 0) return;
    if (this.pending > 0) this.flush();
    this.device.queue.writeBuffer(buf.gpu, offset * BYTES_PER_ELEMENT, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  }

  /** Reads `size` elements from element `offset`, converting to the dtype's JS array. */
  async read(buf: WebGPUBuffer, offset: number, size: number): Promise<TypedArray> {
    this.check('read');
    const bytes = size * BYTES_PER_ELEMENT;
    const staging = this.device.createBuffer({ size: bytes + 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.copyEncoder();
    if (bytes > 0) enc.copyBufferToBuffer(buf.gpu, offset * BYTES_PER_ELEMENT, staging, 0, bytes);
    enc.copyBufferToBuffer(this.errorWord.gpu, 0, staging, bytes, 4);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      staging.destroy();
      this.check('read');
      throw new Error(`read: mapping the result failed: ${(e as Error).message}`);
    }
    const raw = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    const gpuError = this.takeError();
    if (gpuError) throw gpuError;
    const code = new Uint32Array(raw, bytes, 1)[0]!;
    if (code !== 0) {
      this.device.queue.writeBuffer(this.errorWord.gpu, 0, new Uint32Array(1));
      const what = Object.entries(ERROR_BITS)
        .filter(([bit]) => (code & Number(bit)) !== 0)
        .map(([, m]) => m);
      throw new RangeError(`webgpu: a kernel queued before this read met invalid input: ${what.join('; ')}`);
    }
    switch (buf.dtype) {
      case 'float32':
        return new Float32Array(raw, 0, size);
      case 'int32':
        return new Int32Array(raw, 0, size);
      default:
        return Uint8Array.from(new Uint32Array(raw, 0, size));
    }
  }

  async sync(): Promise<void> {
    this.check('sync');
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check('sync');
    const e = this.takeError();
    if (e) throw e;
  }

  // ---- encoding ----

  /** The encoder, with no compute pass open (for copies and clears). */
  copyEncoder(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    this.encoder ??= this.device.createCommandEncoder();
    this.pending++;
    return this.encoder;
  }

  /** Copies `bytes` between buffers (never the same GPUBuffer). */
  copyBytes(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.copyEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.afterCommand();
  }

  clearBytes(dst: GPUBuffer, offset: number, bytes: number): void {
    this.copyEncoder().clearBuffer(dst, offset, bytes);
    this.afterCommand();
  }

  private afterCommand(): void {
    if (this.pending >= this.maxBatch) this.flush();
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (!this.encoder) return;
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arena, 0, this.arenaData, 0, this.arenaUsed);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.pending = 0;
    this.arenaUsed = 0;
  }

  /** Records one kernel launch. */
  run(call: KernelCall): void {
    this.check(call.key.split(':')[0] ?? 'kernel');
    // Bind each GPUBuffer once; operands sharing one share its variable.
    const unique: { buffer: WebGPUBuffer; write: boolean; atomic: boolean; type: string }[] = [];
    const slotOf: number[] = [];
    for (const b of call.bindings) {
      const gpu = b.buffer.gpu;
      let slot = unique.findIndex((u) => u.buffer.gpu === gpu);
      const type = b.type ?? (b.buffer.dtype === 'float32' ? 'f32' : b.buffer.dtype === 'int32' ? 'i32' : 'u32');
      if (slot < 0) {
        slot = unique.length;
        unique.push({ buffer: b.buffer, write: !!b.write || !!b.atomic, atomic: !!b.atomic, type });
      } else {
        const u = unique[slot]!;
        if (u.type !== type || u.atomic !== !!b.atomic) {
          throw new Error(`${call.key}: operands '${b.name}' and another share a buffer but need different WGSL types; copy one first`);
        }
        u.write ||= !!b.write;
      }
      slotOf.push(slot);
    }
    const nVec = Math.max(1, Math.ceil(call.params.length / 4));
    const sig = unique.map((u) => `${u.atomic ? 'a' : u.write ? 'w' : 'r'}${u.type}`).join(',');
    const key = `${call.key}|${slotOf.join(',')}|${sig}|${nVec}`;
    let cached = this.pipelines.get(key);
    if (!cached) {
      cached = this.compile(key, call, unique, slotOf, nVec);
      this.pipelines.set(key, cached);
    }

    // Parameters into the arena.
    const paramBytes = nVec * 16;
    let off = Math.ceil(this.arenaUsed / SLOT_ALIGN) * SLOT_ALIGN;
    if (off + paramBytes > ARENA_BYTES) {
      this.flush();
      off = 0;
    }
    this.arenaWords.fill(0, off / 4, off / 4 + nVec * 4);
    const words = call.params.words;
    for (let i = 0; i < words.length; i++) this.arenaWords[off / 4 + i] = words[i]!;
    this.arenaUsed = off + paramBytes;

    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.arena, offset: off, size: paramBytes } }];
    unique.forEach((u, i) => entries.push({ binding: i + 1, resource: { buffer: u.buffer.gpu } }));
    const bindGroup = this.device.createBindGroup({ layout: cached.layout, entries });

    let [x, y, z] = typeof call.groups === 'number' ? this.grid(call.groups) : call.groups;
    if (x === 0 || y === 0 || z === 0) return;
    const maxDim = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxDim || y > maxDim || z > maxDim) throw new Error(`${call.key}: a grid of ${x}x${y}x${z} workgroups exceeds the device limit of ${maxDim} per dimension`);
    this.encoder ??= this.device.createCommandEncoder();
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    this.pass.setPipeline(cached.pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    this.pending++;
    this.afterCommand();
  }

  /** A count of workgroups as a 2-d grid within the per-dimension limit. */
  grid(count: number): [number, number, number] {
    const maxDim = this.limits.maxComputeWorkgroupsPerDimension;
    if (count <= maxDim) return [count, 1, 1];
    const y = Math.ceil(count / maxDim);
    return [Math.ceil(count / y), y, 1];
  }

  private compile(
    key: string, call: KernelCall, unique: { write: boolean; atomic: boolean; type: string }[], slotOf: number[], nVec: number,
  ): CachedPipeline {
    const names: Record<string, string> = {};
    call.bindings.forEach((b, i) => {
      names[b.name] = `b${slotOf[i]}`;
    });
    const decls = unique
      .map((u, i) => {
        const elem = u.atomic ? `atomic<${u.type}>` : u.type;
        return `@group(0) @binding(${i + 1}) var<storage, ${u.write ? 'read_write' : 'read'}> b${i}: array<${elem}>;`;
      })
      .join('\n');
    const code = `struct Params { w: array<vec4<u32>, ${nVec}> }
@group(0) @binding(0) var<uniform> kp: Params;
${decls}
${PRELUDE}
${call.source(names)}`;
    const layoutKey = unique.map((u) => (u.write ? 'w' : 'r')).join('');
    let layout = this.layouts.get(layoutKey);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } }];
      unique.forEach((u, i) =>
        entries.push({ binding: i + 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: u.write ? 'storage' : 'read-only-storage' } }),
      );
      layout = this.device.createBindGroupLayout({ entries });
      this.layouts.set(layoutKey, layout);
    }
    const module = this.device.createShaderModule({ code, label: key });
    if (debugShaders()) {
      void module.getCompilationInfo().then((info) => {
        for (const m of info.messages) if (m.type === 'error') console.error(`webgpu shader ${key}: ${m.message} (line ${m.lineNum})\n${code}`);
      });
    }
    const pipeline = this.device.createComputePipeline({
      label: key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    return { pipeline, layout };
  }

  /** Number of cached pipelines (for tests and info). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  dispose(): void {
    if (this.disposed) return;
    this.flush();
    this.disposed = true;
    this.pool.trim(0);
    this.device.destroy();
  }
}

function debugShaders(): boolean {
  return flagBool('KINDLING_WEBGPU_DEBUG');
}
