/**
 * The native path's kernels, with the portable kernels' signatures: each takes core's views,
 * hands the CpuBuffers' arrays and element offsets to the addon (zero copy for contiguous views)
 * and, for any case the addon does not cover (a dtype other than float32, an op it lacks, a rank
 * above 12), runs the TypeScript kernel instead. Semantics are the TypeScript kernels' (see
 * ../kernels/*): the conformance suite runs on both paths.
 */
import type {
  AdamStepOptions, BinaryOp, Conv2dParams, FusedKernels, Operand, Pool2dParams, ReduceOp, SgdStepOptions, UnaryOp, View,
} from '@kindling/core';
import { dataOf } from '../buffer.js';
import { contiguousStridesOf, isContiguousView, numelOf } from '../strided.js';
import { unary as tsUnary } from '../kernels/unary.js';
import { binary as tsBinary } from '../kernels/binary.js';
import { reduce as tsReduce } from '../kernels/reduce.js';
import { matmul as tsMatmul } from '../kernels/matmul.js';
import { sgdStep as tsSgdStep, adamStep as tsAdamStep } from '../kernels/optim.js';
import { COMPARISON_OPS, axisWindow, checkPoolOutput } from '@kindling/core';
import { activationBackward as tsActivationBackward } from '../kernels/activation.js';
import { linear as tsLinear } from '../kernels/linear.js';
import { dimsNCL, updateRunningStats } from '../kernels/batchnorm.js';
import { ACTIVATION_CODE, BINARY_CODE, UNARY_CODE, type NativeAddon } from './addon.js';
import { copy as tsCopy, fill as tsFill } from '../kernels/copy.js';
import { denseF32, denseI32, withDenseOutF32, withDenseOutI32 } from './dense.js';

/** The primitives the native path accelerates. */
export interface NativePrimitives {
  copy(src: View, dst: View): void;
  fill(dst: View, value: number): void;
  matmul(a: View, b: View, out: View): void;
  unary(op: UnaryOp, x: View, out: View): void;
  binary(op: BinaryOp, a: Operand, b: Operand, out: View): void;
  reduce(op: ReduceOp, x: View, reduceDims: number, out: View): void;
}

export type NativeFused = Required<Pick<FusedKernels,
  'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardWeight' | 'maxPool2d' | 'maxPool2dBackward' | 'avgPool2d' |
  'avgPool2dBackward' | 'softmax' | 'softmaxBackward' | 'batchNormTrain' | 'batchNormBackward' | 'sgdStep' | 'adamStep' |
  'activationBackward' | 'linear'>>;

function f32Data(v: View): Float32Array | null {
  const d = dataOf(v);
  return d instanceof Float32Array ? d : null;
}

/** [nd, shape..., then per operand: offset, strides...] as native/src/addon.cc's StridedGeo reads it. */
function stridedGeo(shape: readonly number[], operands: readonly { offset: number; strides: readonly number[] }[]): Float64Array {
  const nd = shape.length;
  const g = new Float64Array(1 + nd + operands.length * (1 + nd));
  g[0] = nd;
  for (let d = 0; d < nd; d++) g[1 + d] = shape[d]!;
  let at = 1 + nd;
  for (const o of operands) {
    g[at++] = o.offset;
    // A scalar operand has no strides: zeros keep the packed geometry all integers (addon.cc checks).
    for (let d = 0; d < nd; d++) g[at++] = o.strides[d] ?? 0;
  }
  return g;
}

const SCALAR = { offset: 0, strides: [] as number[] };

function convGeo(xShape: readonly number[], wShape: readonly number[], yShape: readonly number[], p: Conv2dParams): Float64Array {
  return Float64Array.of(
    xShape[0]!, xShape[1]!, xShape[2]!, xShape[3]!, yShape[1]!, p.groups, wShape[2]!, wShape[3]!, yShape[2]!, yShape[3]!,
    p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.dilation[0], p.dilation[1],
  );
}

interface PoolArgs {
  geo: Float64Array;
  hwin: Int32Array;
  wwin: Int32Array;
}

/** Geometry and per-row/column windows (core's axisWindow, so both paths share one definition). */
function poolArgs(xShape: readonly number[], yShape: readonly number[], p: Pool2dParams): PoolArgs {
  const [N, C, H, W] = xShape as [number, number, number, number];
  const [, , oH, oW] = yShape as [number, number, number, number];
  const hwin = new Int32Array(3 * oH);
  const wwin = new Int32Array(3 * oW);
  for (let o = 0; o < oH; o++) {
    const a = axisWindow(o * p.stride[0] - p.padding[0], p.kernel[0], p.dilation[0], H, p.padding[0]);
    hwin[3 * o] = a.lo; hwin[3 * o + 1] = a.hi; hwin[3 * o + 2] = a.padded;
  }
  for (let o = 0; o < oW; o++) {
    const a = axisWindow(o * p.stride[1] - p.padding[1], p.kernel[1], p.dilation[1], W, p.padding[1]);
    wwin[3 * o] = a.lo; wwin[3 * o + 1] = a.hi; wwin[3 * o + 2] = a.padded;
  }
  const geo = Float64Array.of(N * C, H, W, oH, oW, p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.dilation[0], p.dilation[1]);
  return { geo, hwin, wwin };
}

function divisorOverride(p: Pool2dParams): number {
  return p.divisorOverride !== null && p.divisorOverride !== undefined ? p.divisorOverride : 0;
}

function rowsCols(v: View): [number, number] {
  const cols = v.shape.length === 0 ? 1 : v.shape[v.shape.length - 1]!;
  let rows = 1;
  for (let i = 0; i < v.shape.length - 1; i++) rows *= v.shape[i]!;
  return [rows, cols];
}

export function nativePrimitives(addon: NativeAddon): NativePrimitives {
  return {
    matmul(a, b, out) {
      const A = f32Data(a), B = f32Data(b), C = f32Data(out);
      if (!A || !B || !C || a.shape.length !== 3 || b.shape.length !== 3 || out.shape.length !== 3) {
        tsMatmul(a, b, out);
        return;
      }
      const [Bt, M, K] = a.shape as [number, number, number];
      const N = b.shape[2]!;
      const [aBs, aRs, aCs] = a.strides as [number, number, number];
      const [bBs, bRs, bCs] = b.strides as [number, number, number];
      const [cBs, cRs, cCs] = out.strides as [number, number, number];
      // A right operand shared by the whole batch (nn.Linear) with evenly spaced rows: one tall product.
      if (Bt > 1 && bBs === 0 && aBs === M * aRs && cBs === M * cRs) {
        addon.matmul(1, Bt * M, N, K, A, a.offset, 0, aRs, aCs, B, b.offset, 0, bRs, bCs, C, out.offset, 0, cRs, cCs, false);
        return;
      }
      addon.matmul(Bt, M, N, K, A, a.offset, aBs, aRs, aCs, B, b.offset, bBs, bRs, bCs, C, out.offset, cBs, cRs, cCs, false);
    },

    unary(op, x, out) {
      const X = f32Data(x), Y = f32Data(out);
      if (!X || !Y || !addon.unary(UNARY_CODE[op], stridedGeo(out.shape, [x, out]), X, Y)) tsUnary(op, x, out);
    },

    fill(dst, value) {
      const Y = f32Data(dst);
      const n = numelOf(dst.shape);
      // Large dense float32 fills (zeroed gradients of pooling): split across the pool's threads.
      if (Y && n >= 1 << 18 && isContiguousView(dst)) addon.fill(Y, dst.offset, n, value);
      else tsFill(dst, value);
    },

    copy(src, dst) {
      const s = dataOf(src), d = dataOf(dst);
      // Same-dtype dense copies are one TypedArray.set (a memcpy) in the TypeScript kernel already;
      // a copy within one buffer keeps the sequential TypeScript order.
      const trivial = src.dtype === dst.dtype && isContiguousView(src) && isContiguousView(dst);
      if (trivial || src.buffer === dst.buffer || !addon.copy(stridedGeo(dst.shape, [src, dst]), s as Float32Array, d as Float32Array)) tsCopy(src, dst);
    },

    binary(op, a, b, out) {
      const code = BINARY_CODE[op];
      if (COMPARISON_OPS.has(op)) {
        const Yb = dataOf(out);
        const A = typeof a === 'number' ? a : f32Data(a);
        const B = typeof b === 'number' ? b : f32Data(b);
        if (!(Yb instanceof Uint8Array) || A === null || B === null ||
            !addon.compare(code, stridedGeo(out.shape, [typeof a === 'number' ? SCALAR : a, typeof b === 'number' ? SCALAR : b, out]), A, B, Yb)) {
          tsBinary(op, a, b, out);
        }
        return;
      }
      const Y = f32Data(out);
      const A = typeof a === 'number' ? a : f32Data(a);
      const B = typeof b === 'number' ? b : f32Data(b);
      if (!Y || A === null || B === null ||
          !addon.binary(code, stridedGeo(out.shape, [typeof a === 'number' ? SCALAR : a, typeof b === 'number' ? SCALAR : b, out]), A, B, Y)) {
        tsBinary(op, a, b, out);
      }
    },

    reduce(op, x, reduceDims, out) {
      const X = f32Data(x), Y = f32Data(out);
      const keep = x.shape.length - reduceDims;
      // out may be a contiguous view of another rank (keepdim-style), as the TypeScript kernel allows.
      const outStrides = out.shape.length === keep ? out.strides : isContiguousView(out) ? contiguousStridesOf(x.shape.slice(0, keep)) : null;
      if (op !== 'sum' || !X || !Y || !outStrides) {
        tsReduce(op, x, reduceDims, out);
        return;
      }
      const nr = reduceDims;
      const g = new Float64Array(1 + 3 * keep + 1 + 2 * nr + 2);
      let at = 0;
      g[at++] = keep;
      for (let d = 0; d < keep; d++) g[at++] = x.shape[d]!;
      for (let d = 0; d < keep; d++) g[at++] = x.strides[d]!;
      for (let d = 0; d < keep; d++) g[at++] = outStrides[d]!;
      g[at++] = nr;
      for (let d = keep; d < x.shape.length; d++) g[at++] = x.shape[d]!;
      for (let d = keep; d < x.shape.length; d++) g[at++] = x.strides[d]!;
      g[at++] = x.offset;
      g[at++] = out.offset;
      if (!addon.reduceSum(g, X, Y)) tsReduce(op, x, reduceDims, out);
    },
  };
}

export function nativeFused(addon: NativeAddon): NativeFused {
  return {
    activationBackward(op, y, gradOut, gradIn) {
      const Y = f32Data(y), G = f32Data(gradOut), X = f32Data(gradIn);
      const n = numelOf(y.shape);
      const dense = isContiguousView(y) && isContiguousView(gradOut) && isContiguousView(gradIn) &&
        numelOf(gradOut.shape) === n && numelOf(gradIn.shape) === n;
      if (!Y || !G || !X || !dense || !addon.activationBackward(ACTIVATION_CODE[op], Y, y.offset, G, gradOut.offset, X, gradIn.offset, n)) {
        tsActivationBackward(op, y, gradOut, gradIn);
      }
    },

    linear(x, weight, bias, out) {
      const X = f32Data(x), W = f32Data(weight), B = bias ? f32Data(bias) : null, Y = f32Data(out);
      const ok = X && W && Y && (!bias || B) && x.shape.length === 2 && weight.shape.length === 2 && out.shape.length === 2 &&
        isContiguousView(x) && isContiguousView(weight) && isContiguousView(out) && (!bias || isContiguousView(bias)) &&
        weight.shape[1] === x.shape[1] && out.shape[0] === x.shape[0] && out.shape[1] === weight.shape[0] &&
        (!bias || (bias.shape.length === 1 && bias.shape[0] === weight.shape[0]));
      if (!ok) {
        tsLinear(x, weight, bias, out);
        return;
      }
      const [M, K] = x.shape as [number, number];
      addon.linear(M, weight.shape[0]!, K, X!, x.offset, W!, weight.offset, B ?? null, bias ? bias.offset : 0, Y!, out.offset);
    },

    conv2d(x, w, bias, p, out) {
      const X = denseF32(x, 'conv2d'), Wt = denseF32(w, 'conv2d'), Bs = bias ? denseF32(bias, 'conv2d') : null;
      const geo = convGeo(x.shape, w.shape, out.shape, p);
      withDenseOutF32(out, 'conv2d', false, (Y) =>
        addon.conv2d(geo, X.data, X.offset, Wt.data, Wt.offset, Bs?.data ?? null, Bs?.offset ?? 0, Y.data, Y.offset));
    },

    conv2dBackwardInput(gradOut, w, p, gradIn) {
      const GY = denseF32(gradOut, 'conv2dBackwardInput'), Wt = denseF32(w, 'conv2dBackwardInput');
      const geo = convGeo(gradIn.shape, w.shape, gradOut.shape, p);
      withDenseOutF32(gradIn, 'conv2dBackwardInput', false, (GX) =>
        addon.conv2dBackwardInput(geo, GY.data, GY.offset, Wt.data, Wt.offset, GX.data, GX.offset));
    },

    conv2dBackwardWeight(gradOut, x, p, gradW) {
      const GY = denseF32(gradOut, 'conv2dBackwardWeight'), X = denseF32(x, 'conv2dBackwardWeight');
      const geo = convGeo(x.shape, gradW.shape, gradOut.shape, p);
      withDenseOutF32(gradW, 'conv2dBackwardWeight', false, (GW) =>
        addon.conv2dBackwardWeight(geo, GY.data, GY.offset, X.data, X.offset, GW.data, GW.offset));
    },

    maxPool2d(x, p, out, indices) {
      checkPoolOutput('maxPool2d', x.shape, out.shape, p);
      const X = denseF32(x, 'maxPool2d');
      const { geo, hwin, wwin } = poolArgs(x.shape, out.shape, p);
      withDenseOutF32(out, 'maxPool2d', false, (Y) =>
        withDenseOutI32(indices, 'maxPool2d', (I) => addon.maxPool2d(geo, hwin, wwin, X.data, X.offset, Y.data, Y.offset, I.data, I.offset)));
    },

    maxPool2dBackward(gradOut, indices, p, gradIn) {
      const GY = denseF32(gradOut, 'maxPool2dBackward'), I = denseI32(indices, 'maxPool2dBackward');
      const [, , H, W] = gradIn.shape as [number, number, number, number];
      // The indices carry the geometry; windows are only needed for the argument layout.
      const { geo, hwin, wwin } = poolArgs(gradIn.shape, gradOut.shape, { ...p, kernel: [1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1] });
      withDenseOutF32(gradIn, 'maxPool2dBackward', true, (GX) => {
        const bad = addon.maxPool2dBackward(geo, hwin, wwin, GY.data, GY.offset, I.data, I.offset, GX.data, GX.offset);
        if (bad !== null) throw new RangeError(`maxPool2dBackward: index ${bad} is out of bounds for an input plane of ${H}x${W}`);
      });
    },

    avgPool2d(x, p, out) {
      checkPoolOutput('avgPool2d', x.shape, out.shape, p);
      const X = denseF32(x, 'avgPool2d');
      const { geo, hwin, wwin } = poolArgs(x.shape, out.shape, p);
      withDenseOutF32(out, 'avgPool2d', false, (Y) =>
        addon.avgPool2d(geo, hwin, wwin, divisorOverride(p), p.countIncludePad, X.data, X.offset, Y.data, Y.offset));
    },

    avgPool2dBackward(gradOut, p, gradIn) {
      checkPoolOutput('avgPool2dBackward', gradIn.shape, gradOut.shape, p);
      const GY = denseF32(gradOut, 'avgPool2dBackward');
      const { geo, hwin, wwin } = poolArgs(gradIn.shape, gradOut.shape, p);
      // The Backend contract: core zero-fills gradIn before this call.
      withDenseOutF32(gradIn, 'avgPool2dBackward', true, (GX) =>
        addon.avgPool2dBackward(geo, hwin, wwin, divisorOverride(p), p.countIncludePad, GY.data, GY.offset, GX.data, GX.offset, true));
    },

    softmax(x, log, out) {
      const X = denseF32(x, 'softmax');
      const [rows, cols] = rowsCols(x);
      withDenseOutF32(out, 'softmax', false, (Y) => addon.softmax(X.data, X.offset, Y.data, Y.offset, rows, cols, log));
    },

    softmaxBackward(y, gradOut, log, gradIn) {
      const Y = denseF32(y, 'softmaxBackward'), GY = denseF32(gradOut, 'softmaxBackward');
      const [rows, cols] = rowsCols(y);
      withDenseOutF32(gradIn, 'softmaxBackward', false, (GX) =>
        addon.softmaxBackward(Y.data, Y.offset, GY.data, GY.offset, GX.data, GX.offset, rows, cols, log));
    },

    batchNormTrain(x, weight, bias, runningMean, runningVar, momentum, eps, out, mean, invstd) {
      const [N, C, L] = dimsNCL(x.shape);
      const X = denseF32(x, 'batchNormTrain');
      const Wt = weight ? denseF32(weight, 'batchNormTrain') : null;
      const Bs = bias ? denseF32(bias, 'batchNormTrain') : null;
      const stats = new Float64Array(2 * C);
      withDenseOutF32(out, 'batchNormTrain', false, (Y) =>
        withDenseOutF32(mean, 'batchNormTrain', false, (MU) =>
          withDenseOutF32(invstd, 'batchNormTrain', false, (IS) =>
            addon.batchNormTrain(X.data, X.offset, Wt?.data ?? null, Wt?.offset ?? 0, Bs?.data ?? null, Bs?.offset ?? 0,
              Y.data, Y.offset, MU.data, MU.offset, IS.data, IS.offset, stats, N, C, L, eps))));
      updateRunningStats(runningMean, runningVar, stats.subarray(0, C), stats.subarray(C), momentum, N * L);
    },

    batchNormBackward(gradOut, x, weight, mean, invstd, gradIn, gradWeight, gradBias) {
      const [N, C, L] = dimsNCL(x.shape);
      const GY = denseF32(gradOut, 'batchNormBackward'), X = denseF32(x, 'batchNormBackward');
      const Wt = weight ? denseF32(weight, 'batchNormBackward') : null;
      const MU = denseF32(mean, 'batchNormBackward'), IS = denseF32(invstd, 'batchNormBackward');
      const withOptOut = (v: View | null, fn: (d: { data: Float32Array; offset: number } | null) => void) =>
        v ? withDenseOutF32(v, 'batchNormBackward', false, fn) : fn(null);
      withDenseOutF32(gradIn, 'batchNormBackward', false, (GX) =>
        withOptOut(gradWeight, (GW) =>
          withOptOut(gradBias, (GB) =>
            addon.batchNormBackward(GY.data, GY.offset, X.data, X.offset, Wt?.data ?? null, Wt?.offset ?? 0, MU.data, MU.offset,
              IS.data, IS.offset, GX.data, GX.offset, GW?.data ?? null, GW?.offset ?? 0, GB?.data ?? null, GB?.offset ?? 0, N, C, L))));
    },

    sgdStep(p: View, grad: View, momentumBuf: View | null, o: SgdStepOptions) {
      const useMomentum = o.momentum !== 0;
      const P = f32Data(p), G = f32Data(grad), Bf = useMomentum && momentumBuf ? f32Data(momentumBuf) : null;
      // In place on dense tensors only; anything else (strided state, a missing buffer's error) goes to TypeScript.
      if (!P || !G || (useMomentum && !Bf) || !isContiguousView(p) || !isContiguousView(grad) || (momentumBuf && useMomentum && !isContiguousView(momentumBuf))) {
        tsSgdStep(p, grad, momentumBuf, o);
        return;
      }
      let n = 1;
      for (const s of p.shape) n *= s;
      addon.sgdStep(P, p.offset, G, grad.offset, Bf, Bf ? momentumBuf!.offset : 0, n,
        o.lr, o.momentum, o.dampening, o.weightDecay, o.nesterov, o.maximize, o.firstStep);
    },

    adamStep(p: View, grad: View, expAvg: View, expAvgSq: View, maxExpAvgSq: View | null, o: AdamStepOptions) {
      const views = [p, grad, expAvg, expAvgSq, ...(o.amsgrad && maxExpAvgSq ? [maxExpAvgSq] : [])];
      const arrays = views.map(f32Data);
      if ((o.amsgrad && !maxExpAvgSq) || arrays.some((a) => a === null) || views.some((v) => !isContiguousView(v))) {
        tsAdamStep(p, grad, expAvg, expAvgSq, maxExpAvgSq, o);
        return;
      }
      let n = 1;
      for (const s of p.shape) n *= s;
      const [P, G, M, V, X] = arrays as Float32Array[];
      addon.adamStep(P!, p.offset, G!, grad.offset, M!, expAvg.offset, V!, expAvgSq.offset, X ?? null, X ? maxExpAvgSq!.offset : 0, n,
        o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.decoupled, o.amsgrad, o.maximize, o.step);
    },
  };
}
