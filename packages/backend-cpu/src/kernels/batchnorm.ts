/**
 * Training-mode batch norm over x viewed as [N, C, L] (L = product of the trailing dims, 1 for
 * BatchNorm1d on [N, C]). Statistics are two-pass in float64 (mean, then Σ(x-mean)²), which stays
 * accurate when |mean| ≫ std. Normalisation uses the biased variance; the running variance is
 * updated with the unbiased one (·M/(M-1)), as PyTorch does.
 */
import type { View } from '@kindling/core';
import { contiguousF32, withContiguousOutF32 } from '../strided.js';

export function dimsNCL(shape: readonly number[]): [number, number, number] {
  const N = shape[0] ?? 1;
  const C = shape[1] ?? 1;
  let L = 1;
  for (let i = 2; i < shape.length; i++) L *= shape[i]!;
  return [N, C, L];
}

export function batchNormTrain(
  x: View, weight: View | null, bias: View | null, runningMean: View | null, runningVar: View | null,
  momentum: number, eps: number, out: View, mean: View, invstd: View,
): void {
  const X = contiguousF32(x, 'batchNormTrain');
  const Wt = weight ? contiguousF32(weight, 'batchNormTrain') : null;
  const B = bias ? contiguousF32(bias, 'batchNormTrain') : null;
  const [N, C, L] = dimsNCL(x.shape);
  const M = N * L;
  const means = new Float64Array(C);
  const vars = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * L;
      for (let l = 0; l < L; l++) s += X[o + l]!;
    }
    const mu = s / M;
    let ss = 0;
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * L;
      for (let l = 0; l < L; l++) {
        const d = X[o + l]! - mu;
        ss += d * d;
      }
    }
    means[c] = mu;
    vars[c] = ss / M;
  }
  withContiguousOutF32(out, 'batchNormTrain', false, (Y) => {
    for (let c = 0; c < C; c++) {
      const is = 1 / Math.sqrt(vars[c]! + eps);
      const scale = (Wt ? Wt[c]! : 1) * is;
      const shift = (B ? B[c]! : 0) - means[c]! * scale;
      for (let n = 0; n < N; n++) {
        const o = (n * C + c) * L;
        for (let l = 0; l < L; l++) Y[o + l] = X[o + l]! * scale + shift;
      }
    }
  });
  withContiguousOutF32(mean, 'batchNormTrain', false, (MU) => {
    for (let c = 0; c < C; c++) MU[c] = means[c]!;
  });
  withContiguousOutF32(invstd, 'batchNormTrain', false, (IS) => {
    for (let c = 0; c < C; c++) IS[c] = 1 / Math.sqrt(vars[c]! + eps);
  });
  updateRunningStats(runningMean, runningVar, means, vars, momentum, M);
}

/**
 * running = (1 − momentum)·running + momentum·batch statistic, with the unbiased variance
 * (·M/(M−1)) as PyTorch does. Shared by the portable and the native kernel (its float64 statistics).
 */
export function updateRunningStats(
  runningMean: View | null, runningVar: View | null, means: Float64Array, vars: Float64Array, momentum: number, M: number,
): void {
  const C = means.length;
  if (runningMean) {
    withContiguousOutF32(runningMean, 'batchNormTrain', true, (RM) => {
      for (let c = 0; c < C; c++) RM[c] = (1 - momentum) * RM[c]! + momentum * means[c]!;
    });
  }
  if (runningVar) {
    // M = 1 makes the unbiased variance undefined; PyTorch refuses such a batch before we get here.
    const unbias = M > 1 ? M / (M - 1) : Infinity;
    withContiguousOutF32(runningVar, 'batchNormTrain', true, (RV) => {
      for (let c = 0; c < C; c++) RV[c] = (1 - momentum) * RV[c]! + momentum * vars[c]! * unbias;
    });
  }
}

/**
 * With x̂ = (x - mean)·invstd and M = N·L per channel:
 *   gradBias   = Σ gy
 *   gradWeight = Σ gy·x̂
 *   gradIn     = w·invstd/M · (M·gy - Σ gy - x̂·Σ gy·x̂)
 */
export function batchNormBackward(
  gradOut: View, x: View, weight: View | null, mean: View, invstd: View,
  gradIn: View, gradWeight: View | null, gradBias: View | null,
): void {
  const GY = contiguousF32(gradOut, 'batchNormBackward');
  const X = contiguousF32(x, 'batchNormBackward');
  const Wt = weight ? contiguousF32(weight, 'batchNormBackward') : null;
  const MU = contiguousF32(mean, 'batchNormBackward');
  const IS = contiguousF32(invstd, 'batchNormBackward');
  const [N, C, L] = dimsNCL(x.shape);
  const M = N * L;
  const sumGy = new Float64Array(C);
  const sumGyXhat = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const mu = MU[c]!;
    const is = IS[c]!;
    let s = 0;
    let sx = 0;
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * L;
      for (let l = 0; l < L; l++) {
        const g = GY[o + l]!;
        s += g;
        sx += g * (X[o + l]! - mu) * is;
      }
    }
    sumGy[c] = s;
    sumGyXhat[c] = sx;
  }
  withContiguousOutF32(gradIn, 'batchNormBackward', false, (GX) => {
    for (let c = 0; c < C; c++) {
      const mu = MU[c]!;
      const is = IS[c]!;
      const k = ((Wt ? Wt[c]! : 1) * is) / M;
      const a = sumGy[c]!;
      const b = sumGyXhat[c]!;
      for (let n = 0; n < N; n++) {
        const o = (n * C + c) * L;
        for (let l = 0; l < L; l++) {
          const xhat = (X[o + l]! - mu) * is;
          GX[o + l] = k * (M * GY[o + l]! - a - xhat * b);
        }
      }
    }
  });
  if (gradWeight) {
    withContiguousOutF32(gradWeight, 'batchNormBackward', false, (GW) => {
      for (let c = 0; c < C; c++) GW[c] = sumGyXhat[c]!;
    });
  }
  if (gradBias) {
    withContiguousOutF32(gradBias, 'batchNormBackward', false, (GB) => {
      for (let c = 0; c < C; c++) GB[c] = sumGy[c]!;
    });
  }
}
