/**
 * The Backend interface: what a device must implement for Kindling to run every model on it.
 *
 * Two layers (docs/architecture.md in the repository has the whole picture and the recipes for
 * adding an op, a fused kernel or a backend):
 *  - required primitives (memory, strided copy and its adjoint, gather/scatter-add, elementwise,
 *    where, reductions, batched matmul, Philox random numbers). Core composes every op from these.
 *  - optional fused kernels (`FusedKernels`), used when present; core holds a reference
 *    decomposition of each, so a new backend runs everything once the primitives pass conformance.
 *
 * Conventions that keep this serviceable by CPU, WebGPU and CUDA alike:
 *  - Core allocates every output (`alloc`) and passes it in: backends never decide lifetimes,
 *    and in-place updates (optimizers, running stats) are just kernels writing into an existing view.
 *  - Inputs arrive as strided `View`s (shape, strides, offset in elements). Broadcasting is already
 *    resolved by core: an input of an elementwise op has the output's shape, with stride 0 on
 *    broadcast dims. A GPU kernel passes shape/strides as uniforms; nothing needs a host round trip.
 *  - Kernels launch and return: nothing but `read`/`readSync` waits on the device. Results that
 *    decide shapes never come from the device (there is no nonzero()), so a GPU never stalls.
 *  - Outputs are contiguous unless a kernel is documented to write into a strided view.
 */
import type { DType, TypedArray } from './dtype.js';

/** A backend's own buffer object. Core only reads `dtype` and `size` (elements). */
export interface DeviceBuffer {
  readonly dtype: DType;
  readonly size: number;
}

/** A strided window onto a buffer. `offset` and `strides` count elements, not bytes. */
export interface View {
  readonly buffer: DeviceBuffer;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** An elementwise operand: a view broadcast to the output's shape, or a scalar constant. */
export type Operand = View | number;

// The op-name types come from the op table (ops/table.ts), the single place that names the ops.
import type { ActivationOp, BinaryOp, ReduceOp, UnaryOp } from './ops/table.js';
export type { ActivationOp, ArithmeticOp, BinaryOp, CompareOp, DifferentiableOp, IntPreservingOp, OpAttrs, OpName, ReduceOp, UnaryOp } from './ops/table.js';

export interface MemoryInfo {
  /** Buffers currently allocated by Kindling on this device (live tensors' storages). */
  buffers: number;
  /** Bytes those buffers hold. */
  bytes: number;
  /** Bytes a caching allocator keeps for reuse (not live, not yet returned to the device). */
  cachedBytes?: number;
}

export interface BackendInfo {
  /** 'cpu', 'webgpu', 'cuda'. */
  name: string;
  /** The device string this instance serves: 'cpu', 'webgpu', 'cuda:0'. */
  device: string;
  /** Which implementation runs and why (e.g. 'typescript (portable)', adapter name, GPU name). */
  implementation: string;
  notes?: string[];
}

/** Conv2d geometry, already validated and normalised by core. */
export interface Conv2dParams {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

export interface Pool2dParams {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  ceilMode: boolean;
  /** avg pool only. */
  countIncludePad: boolean;
  divisorOverride: number | null;
}

/**
 * Optional fused kernels. Each has a reference decomposition in core (see ops/).
 * Entries added after the first backends were written are optional members (`?`) as well, so a
 * backend that builds a complete `FusedKernels` table of the original kernels still compiles.
 */
export interface FusedKernels {
  /** x [N,C,H,W], w [O,C/g,kH,kW], bias [O] or null, out [N,O,oH,oW]. */
  conv2d(x: View, w: View, bias: View | null, p: Conv2dParams, out: View): void;
  /** gradOut [N,O,oH,oW], w → gradIn [N,C,H,W]. */
  conv2dBackwardInput(gradOut: View, w: View, p: Conv2dParams, gradIn: View): void;
  /** gradOut [N,O,oH,oW], x → gradW [O,C/g,kH,kW]. */
  conv2dBackwardWeight(gradOut: View, x: View, p: Conv2dParams, gradW: View): void;
  /** out [N,C,oH,oW]; indices int32 [N,C,oH,oW], flat index into each H*W plane (PyTorch's). */
  maxPool2d(x: View, p: Pool2dParams, out: View, indices: View): void;
  /** gradIn (zero-filled by core) += scatter of gradOut at indices. */
  maxPool2dBackward(gradOut: View, indices: View, p: Pool2dParams, gradIn: View): void;
  avgPool2d(x: View, p: Pool2dParams, out: View): void;
  /** gradIn is zero-filled by core. */
  avgPool2dBackward(gradOut: View, p: Pool2dParams, gradIn: View): void;
  /** Softmax (or log-softmax) over the last dim of a contiguous [rows, cols] view. */
  softmax(x: View, log: boolean, out: View): void;
  /** Given y = softmax/logSoftmax output and gy, writes gx, all [rows, cols]. */
  softmaxBackward(y: View, gradOut: View, log: boolean, gradIn: View): void;
  /**
   * Training-mode batch norm over x viewed as [N, C, L] (contiguous): writes out, the batch mean
   * and inverse std (biased var, for backward), and updates running stats in place
   * (rm = (1-m)·rm + m·mean, rv = (1-m)·rv + m·var_unbiased) when they are given.
   */
  batchNormTrain(
    x: View, weight: View | null, bias: View | null, runningMean: View | null, runningVar: View | null,
    momentum: number, eps: number, out: View, mean: View, invstd: View,
  ): void;
  /** Grads of training-mode batch norm; gradWeight/gradBias may be null when not needed. */
  batchNormBackward(
    gradOut: View, x: View, weight: View | null, mean: View, invstd: View,
    gradIn: View, gradWeight: View | null, gradBias: View | null,
  ): void;
  /** In place: SGD with PyTorch's semantics (momentum buffer initialised to grad on step 1). */
  sgdStep(p: View, grad: View, momentumBuf: View | null, o: SgdStepOptions): void;
  /** In place: Adam / AdamW with bias correction at step `o.step` (1-based). */
  adamStep(p: View, grad: View, expAvg: View, expAvgSq: View, maxExpAvgSq: View | null, o: AdamStepOptions): void;
  /**
   * An activation's backward from its saved output y, in one pass: gradIn = gradOut · f'(y), with
   * f'(y) = y·(1 − y) for sigmoid, 1 − y² for tanh and [y > 0] for relu (relu'(0) = 0, as PyTorch).
   * Rounding as core's decomposition: each product and difference rounded to float32 in the order
   * written (gradOut · (y · (1 − y)), gradOut · (1 − y·y), gradOut · mask), no fused multiply-add.
   * y, gradOut and gradIn are contiguous views of one shape.
   */
  activationBackward?(op: ActivationOp, y: View, gradOut: View, gradIn: View): void;
  /**
   * nn.Linear's forward in one call: out [M,N] = x [M,K] · weightᵀ (weight [N,K]) + bias [N] (bias
   * may be null), all contiguous float32.
   */
  linear?(x: View, weight: View, bias: View | null, out: View): void;
}

export interface SgdStepOptions {
  lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; maximize: boolean;
  /** True on the first step: the momentum buffer is set to the (decayed) gradient. */
  firstStep: boolean;
}

export interface AdamStepOptions {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number;
  /** AdamW: decoupled weight decay (p *= 1 - lr·wd) instead of L2 added to the gradient. */
  decoupled: boolean; amsgrad: boolean; maximize: boolean; step: number;
}

export type FusedKernelName = keyof FusedKernels;

/** The required primitives. A backend that misses one does not compile. */
export interface Backend extends Partial<FusedKernels> {
  readonly name: string;
  readonly device: string;
  info(): BackendInfo;
  /** Which fused kernels this backend has (core uses only those listed). */
  capabilities(): ReadonlySet<FusedKernelName>;

  // ---- memory ----
  alloc(dtype: DType, size: number): DeviceBuffer;
  /** Uploads `data` (same dtype as buf) to elements [offset, offset + data.length). */
  write(buf: DeviceBuffer, data: TypedArray, offset?: number): void;
  /** Reads `size` elements from `offset`; resolves after every kernel queued before it has run. */
  read(buf: DeviceBuffer, offset: number, size: number): Promise<TypedArray>;
  /** Blocking read, where the device allows it (CPU); absent elsewhere. */
  readSync?(buf: DeviceBuffer, offset: number, size: number): TypedArray;
  free(buf: DeviceBuffer): void;
  memory(): MemoryInfo;
  /** Resolves when every queued kernel has completed. */
  sync(): Promise<void>;

  // ---- data movement ----
  /** dst[i] = cast(src[i]) for every index of the (equal) shapes; any strides; dst never self-overlaps. */
  copy(src: View, dst: View): void;
  /** dst[i] += src[i]; dst may overlap itself (col2im, pooling grads): overlapping adds all land. */
  accumulate(src: View, dst: View): void;
  fill(dst: View, value: number): void;
  /** torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] for axis 1; index int32, out has index's shape. */
  gather(x: View, axis: number, index: View, out: View): void;
  /** dst[i][index[i][j][k]][k] += src[i][j][k] for axis 1 (the adjoint of gather). */
  scatterAdd(dst: View, axis: number, index: View, src: View): void;

  // ---- compute ----
  unary(op: UnaryOp, x: View, out: View): void;
  /** Operands are broadcast to out.shape and already cast to the compute dtype (a's dtype). */
  binary(op: BinaryOp, a: Operand, b: Operand, out: View): void;
  where(cond: View, a: Operand, b: Operand, out: View): void;
  /**
   * Reduces the trailing `reduceDims` dims of x: x.shape = [...out.shape, ...reduced].
   * Empty reductions: sum → 0, max/min → ±Infinity.
   */
  reduce(op: ReduceOp, x: View, reduceDims: number, out: View): void;
  /**
   * Batched matmul: a [B,M,K] · b [B,K,N] → out [B,M,N] (contiguous). Each matrix of a and b has
   * unit stride in one of its two dims (row-major, or transposed); batch strides are free (0 broadcasts).
   */
  matmul(a: View, b: View, out: View): void;
  /**
   * Philox-4x32-10 random numbers (see philox.ts for the exact mapping): element i of out draws from
   * counter (counter + floor(i/4)), lane i % 4, under `key`. 'uniform' is [0,1); 'normal' is N(0,1)
   * by Box–Muller over lane pairs.
   */
  random(dist: 'uniform' | 'normal', key: readonly [number, number], counter: number, out: View): void;

  /** Releases the device (pools, contexts). */
  dispose?(): void;
}
