/**
 * The native path's kernels, with the portable kernels' signatures: each takes core's views,
 * packs the CpuBuffers' arrays and element offsets into one addon call (zero copy for contiguous
 * views; pack.ts, with the layouts of native/src/dispatch.cc) and, for any case the addon does not
 * cover (a dtype other than float32, an op it lacks, a rank above 12), runs the TypeScript kernel
 * instead. Semantics are the TypeScript kernels' (see
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
import { COMPARISON_OPS, axisWindows, checkPoolOutput } from '@kindling/core';
import { activationBackward as tsActivationBackward } from '../kernels/activation.js';
import { linear as tsLinear } from '../kernels/linear.js';
import { dimsNCL, updateRunningStats } from '../kernels/batchnorm.js';
import type { NativeAddon } from './addon.js';
import { DTYPE_CODE } from '@kindling/core/backend';
import { ACTIVATION_CODE, BINARY_CODE, CpuPacker, ENTRY, REDUCE_CODE, UNARY_CODE } from './pack.js';
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

/** A strided walk over `shape`: rank and shape; the operands follow (CpuPacker.strided / operand). */
function walk(k: CpuPacker, shape: readonly number[]): CpuPacker {
  return k.num(shape.length).nums(shape);
}

/** A float32 operand of a binary op: [0, slot, offset, strides] or [1, value]. */
function operand(k: CpuPacker, x: number | View, data: Float32Array | number, nd: number): void {
  if (typeof x === 'number') k.num(1).num(x);
  else k.num(0).strided(data as Float32Array, x.offset, x.strides, nd);
}

/** conv2d's geometry: N C H W O G kH kW oH oW sH sW pH pW dH dW. */
function convGeo(k: CpuPacker, xShape: readonly number[], wShape: readonly number[], yShape: readonly number[], p: Conv2dParams): CpuPacker {
  return k.nums(xShape).num(yShape[1]!).num(p.groups).num(wShape[2]!).num(wShape[3]!).num(yShape[2]!).num(yShape[3]!)
    .nums(p.stride).nums(p.padding).nums(p.dilation);
}

/** One axis's windows [lo, hi, padded] per output position (core's axisWindows, so both paths share one definition). */
function windows(k: CpuPacker, p: Pool2dParams, a: 0 | 1, outs: number, size: number): void {
  for (const w of axisWindows(p, a, outs, size)) k.num(w.lo).num(w.hi).num(w.padded);
}

/** Pooling's geometry (planes H W oH oW sH sW pH pW dH dW), then the row and column windows. */
function poolGeo(k: CpuPacker, xShape: readonly number[], yShape: readonly number[], p: Pool2dParams): CpuPacker {
  const [N, C, H, W] = xShape as [number, number, number, number];
  const [, , oH, oW] = yShape as [number, number, number, number];
  k.num(N * C).num(H).num(W).num(oH).num(oW).nums(p.stride).nums(p.padding).nums(p.dilation);
  windows(k, p, 0, oH, H);
  windows(k, p, 1, oW, W);
  return k;
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
  const k = new CpuPacker(addon);
  /** matmul's operand: [slot, offset, batch stride, row stride, column stride]. */
  const mat = (data: Float32Array, offset: number, bs: number, rs: number, cs: number) => k.array(data, offset).num(bs).num(rs).num(cs);
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
      k.reset();
      // A right operand shared by the whole batch (nn.Linear) with evenly spaced rows: one tall product.
      if (Bt > 1 && bBs === 0 && aBs === M * aRs && cBs === M * cRs) {
        k.num(1).num(Bt * M).num(N).num(K).flag(false);
        mat(A, a.offset, 0, aRs, aCs); mat(B, b.offset, 0, bRs, bCs); mat(C, out.offset, 0, cRs, cCs);
      } else {
        k.num(Bt).num(M).num(N).num(K).flag(false);
        mat(A, a.offset, aBs, aRs, aCs); mat(B, b.offset, bBs, bRs, bCs); mat(C, out.offset, cBs, cRs, cCs);
      }
      k.run(ENTRY.matmul);
    },

    unary(op, x, out) {
      const X = f32Data(x), Y = f32Data(out);
      const nd = out.shape.length;
      if (!X || !Y || !walk(k.reset().num(UNARY_CODE[op]), out.shape).strided(X, x.offset, x.strides, nd).strided(Y, out.offset, out.strides, nd).run<boolean>(ENTRY.unary)) {
        tsUnary(op, x, out);
      }
    },

    fill(dst, value) {
      const Y = f32Data(dst);
      const n = numelOf(dst.shape);
      // Large dense float32 fills (zeroed gradients of pooling): split across the pool's threads.
      if (Y && n >= 1 << 18 && isContiguousView(dst)) k.reset().num(n).num(value).array(Y, dst.offset).run(ENTRY.fill);
      else tsFill(dst, value);
    },

    copy(src, dst) {
      const s = dataOf(src), d = dataOf(dst);
      // Same-dtype dense copies are one TypedArray.set (a memcpy) in the TypeScript kernel already;
      // a copy within one buffer keeps the sequential TypeScript order.
      const trivial = src.dtype === dst.dtype && isContiguousView(src) && isContiguousView(dst);
      if (trivial || src.buffer === dst.buffer) {
        tsCopy(src, dst);
        return;
      }
      const nd = dst.shape.length;
      walk(k.reset().num(DTYPE_CODE[src.dtype]).num(DTYPE_CODE[dst.dtype]), dst.shape).strided(s, src.offset, src.strides, nd).strided(d, dst.offset, dst.strides, nd);
      if (!k.run<boolean>(ENTRY.copy)) tsCopy(src, dst);
    },

    binary(op, a, b, out) {
      // A comparison writes a bool (Uint8Array) output; the others float32.
      const Y = dataOf(out);
      const A = typeof a === 'number' ? a : f32Data(a);
      const B = typeof b === 'number' ? b : f32Data(b);
      const outOk = COMPARISON_OPS.has(op) ? Y instanceof Uint8Array : Y instanceof Float32Array;
      if (!outOk || A === null || B === null) {
        tsBinary(op, a, b, out);
        return;
      }
      const nd = out.shape.length;
      walk(k.reset().num(BINARY_CODE[op]), out.shape);
      operand(k, a, A, nd);
      operand(k, b, B, nd);
      if (!k.strided(Y, out.offset, out.strides, nd).run<boolean>(ENTRY.binary)) tsBinary(op, a, b, out);
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
      // code, nk, kept shape, x's kept strides, out's strides, nr, reduced shape, x's reduced strides, x, out
      k.reset().num(REDUCE_CODE[op]).num(keep).nums(x.shape.slice(0, keep)).nums(x.strides.slice(0, keep)).nums(outStrides)
        .num(reduceDims).nums(x.shape.slice(keep)).nums(x.strides.slice(keep)).array(X, x.offset).array(Y, out.offset);
      if (!k.run<boolean>(ENTRY.reduce)) tsReduce(op, x, reduceDims, out);
    },
  };
}

export function nativeFused(addon: NativeAddon): NativeFused {
  const k = new CpuPacker(addon);
  return {
    activationBackward(op, y, gradOut, gradIn) {
      const Y = f32Data(y), G = f32Data(gradOut), X = f32Data(gradIn);
      const n = numelOf(y.shape);
      const dense = isContiguousView(y) && isContiguousView(gradOut) && isContiguousView(gradIn) &&
        numelOf(gradOut.shape) === n && numelOf(gradIn.shape) === n;
      if (!Y || !G || !X || !dense ||
          !k.reset().num(ACTIVATION_CODE[op]).num(n).array(Y, y.offset).array(G, gradOut.offset).array(X, gradIn.offset).run<boolean>(ENTRY.activationBackward)) {
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
      k.reset().num(M).num(weight.shape[0]!).num(K).array(X!, x.offset).array(W!, weight.offset).array(B, bias ? bias.offset : 0).array(Y!, out.offset)
        .run(ENTRY.linear);
    },

    conv2d(x, w, bias, p, out) {
      const X = denseF32(x, 'conv2d'), Wt = denseF32(w, 'conv2d'), Bs = bias ? denseF32(bias, 'conv2d') : null;
      withDenseOutF32(out, 'conv2d', false, (Y) =>
        convGeo(k.reset(), x.shape, w.shape, out.shape, p).array(X.data, X.offset).array(Wt.data, Wt.offset).array(Bs?.data, Bs?.offset ?? 0)
          .array(Y.data, Y.offset).run(ENTRY.conv2d));
    },

    conv2dBackwardInput(gradOut, w, p, gradIn) {
      const GY = denseF32(gradOut, 'conv2dBackwardInput'), Wt = denseF32(w, 'conv2dBackwardInput');
      withDenseOutF32(gradIn, 'conv2dBackwardInput', false, (GX) =>
        convGeo(k.reset(), gradIn.shape, w.shape, gradOut.shape, p).array(GY.data, GY.offset).array(Wt.data, Wt.offset).array(GX.data, GX.offset)
          .run(ENTRY.conv2dBackwardInput));
    },

    conv2dBackwardWeight(gradOut, x, p, gradW) {
      const GY = denseF32(gradOut, 'conv2dBackwardWeight'), X = denseF32(x, 'conv2dBackwardWeight');
      withDenseOutF32(gradW, 'conv2dBackwardWeight', false, (GW) =>
        convGeo(k.reset(), x.shape, gradW.shape, gradOut.shape, p).array(GY.data, GY.offset).array(X.data, X.offset).array(GW.data, GW.offset)
          .run(ENTRY.conv2dBackwardWeight));
    },

    maxPool2d(x, p, out, indices) {
      checkPoolOutput('maxPool2d', x.shape, out.shape, p);
      const X = denseF32(x, 'maxPool2d');
      withDenseOutF32(out, 'maxPool2d', false, (Y) =>
        withDenseOutI32(indices, 'maxPool2d', (I) =>
          poolGeo(k.reset(), x.shape, out.shape, p).array(X.data, X.offset).array(Y.data, Y.offset).array(I.data, I.offset).run(ENTRY.maxPool2d)));
    },

    maxPool2dBackward(gradOut, indices, p, gradIn) {
      const GY = denseF32(gradOut, 'maxPool2dBackward'), I = denseI32(indices, 'maxPool2dBackward');
      const [, , H, W] = gradIn.shape as [number, number, number, number];
      // The indices carry the geometry; the windows are only part of the layout (unit windows).
      const unit = { ...p, kernel: [1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1] } as Pool2dParams;
      withDenseOutF32(gradIn, 'maxPool2dBackward', true, (GX) => {
        const bad = poolGeo(k.reset(), gradIn.shape, gradOut.shape, unit).array(GY.data, GY.offset).array(I.data, I.offset).array(GX.data, GX.offset)
          .run<number | null>(ENTRY.maxPool2dBackward);
        if (bad !== null) throw new RangeError(`maxPool2dBackward: index ${bad} is out of bounds for an input plane of ${H}x${W}`);
      });
    },

    avgPool2d(x, p, out) {
      checkPoolOutput('avgPool2d', x.shape, out.shape, p);
      const X = denseF32(x, 'avgPool2d');
      withDenseOutF32(out, 'avgPool2d', false, (Y) =>
        poolGeo(k.reset(), x.shape, out.shape, p).num(divisorOverride(p)).flag(p.countIncludePad).array(X.data, X.offset).array(Y.data, Y.offset)
          .run(ENTRY.avgPool2d));
    },

    avgPool2dBackward(gradOut, p, gradIn) {
      checkPoolOutput('avgPool2dBackward', gradIn.shape, gradOut.shape, p);
      const GY = denseF32(gradOut, 'avgPool2dBackward');
      // The Backend contract: core zero-fills gradIn before this call (gradInIsZero).
      withDenseOutF32(gradIn, 'avgPool2dBackward', true, (GX) =>
        poolGeo(k.reset(), gradIn.shape, gradOut.shape, p).num(divisorOverride(p)).flag(p.countIncludePad).flag(true)
          .array(GY.data, GY.offset).array(GX.data, GX.offset).run(ENTRY.avgPool2dBackward));
    },

    softmax(x, log, out) {
      const X = denseF32(x, 'softmax');
      const [rows, cols] = rowsCols(x);
      withDenseOutF32(out, 'softmax', false, (Y) =>
        k.reset().num(rows).num(cols).flag(log).array(X.data, X.offset).array(Y.data, Y.offset).run(ENTRY.softmax));
    },

    softmaxBackward(y, gradOut, log, gradIn) {
      const Y = denseF32(y, 'softmaxBackward'), GY = denseF32(gradOut, 'softmaxBackward');
      const [rows, cols] = rowsCols(y);
      withDenseOutF32(gradIn, 'softmaxBackward', false, (GX) =>
        k.reset().num(rows).num(cols).flag(log).array(Y.data, Y.offset).array(GY.data, GY.offset).array(GX.data, GX.offset).run(ENTRY.softmaxBackward));
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
            k.reset().num(N).num(C).num(L).num(eps).array(X.data, X.offset).array(Wt?.data, Wt?.offset ?? 0).array(Bs?.data, Bs?.offset ?? 0)
              .array(Y.data, Y.offset).array(MU.data, MU.offset).array(IS.data, IS.offset).array(stats, 0).run(ENTRY.batchNormTrain))));
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
            k.reset().num(N).num(C).num(L).array(GY.data, GY.offset).array(X.data, X.offset).array(Wt?.data, Wt?.offset ?? 0)
              .array(MU.data, MU.offset).array(IS.data, IS.offset).array(GX.data, GX.offset).array(GW?.data, GW?.offset ?? 0)
              .array(GB?.data, GB?.offset ?? 0).run(ENTRY.batchNormBackward))));
    },

    sgdStep(p: View, grad: View, momentumBuf: View | null, o: SgdStepOptions) {
      const useMomentum = o.momentum !== 0;
      const P = f32Data(p), G = f32Data(grad), Bf = useMomentum && momentumBuf ? f32Data(momentumBuf) : null;
      // In place on dense tensors only; anything else (strided state, a missing buffer's error) goes to TypeScript.
      if (!P || !G || (useMomentum && !Bf) || !isContiguousView(p) || !isContiguousView(grad) || (momentumBuf && useMomentum && !isContiguousView(momentumBuf))) {
        tsSgdStep(p, grad, momentumBuf, o);
        return;
      }
      k.reset().num(numelOf(p.shape)).sgd(o).array(P, p.offset).array(G, grad.offset).array(Bf, Bf ? momentumBuf!.offset : 0).run(ENTRY.sgdStep);
    },

    adamStep(p: View, grad: View, expAvg: View, expAvgSq: View, maxExpAvgSq: View | null, o: AdamStepOptions) {
      const views = [p, grad, expAvg, expAvgSq, ...(o.amsgrad && maxExpAvgSq ? [maxExpAvgSq] : [])];
      const arrays = views.map(f32Data);
      if ((o.amsgrad && !maxExpAvgSq) || arrays.some((a) => a === null) || views.some((v) => !isContiguousView(v))) {
        tsAdamStep(p, grad, expAvg, expAvgSq, maxExpAvgSq, o);
        return;
      }
      const [P, G, M, V, X] = arrays as Float32Array[];
      k.reset().num(numelOf(p.shape)).adam(o).array(P, p.offset).array(G, grad.offset).array(M, expAvg.offset).array(V, expAvgSq.offset)
        .array(X, X ? maxExpAvgSq!.offset : 0).run(ENTRY.adamStep);
    },
  };
}
