/**
 * conv2d forward and backward through im2col + the packed sgemm, one image and one group at a
 * time (bounded scratch: one col matrix, never N of them).
 *
 *   forward:         out[n, g]  = W_g [Og, Kc] · col(x[n, g]) [Kc, P]           (+ bias)
 *   backward input:  gx[n, g]   = col2im( W_gᵀ [Kc, Og] · gy[n, g] [Og, P] )
 *   backward weight: gW_g      += gy[n, g] [Og, P] · col(x[n, g])ᵀ [P, Kc]       summed over n
 *
 * with Kc = C/g·kH·kW and P = oH·oW. A 1×1 kernel with stride 1 and no padding needs no im2col:
 * the image itself is the col matrix. Transposes are free: sgemm takes (row, col) strides.
 */
import type { Conv2dParams, View } from '@kindling/core';
import { dataOf } from '../buffer.js';
import { contiguousF32, withContiguousOutF32 } from '../strided.js';
import { sgemm } from './gemm.js';
import { col2im, convGeometry, im2col, type ConvGeometry } from './im2col.js';

/** The sizes all three passes work with: Og/Cg per group, Kc = Cg·kH·kW, P = oH·oW, HW = H·W. */
interface ConvPlan {
  geo: ConvGeometry;
  N: number; O: number; G: number; Og: number; Cg: number; Kc: number; P: number; HW: number;
  /** The im2col scratch (one image, one group), or null for a pointwise kernel, whose image is its col matrix. */
  col: Float32Array | null;
}

// Forward and both backwards walk the same (image, group) blocks; one plan keeps their sizes equal.
function convPlan(xShape: readonly number[], yShape: readonly number[], wShape: readonly number[], p: Conv2dParams): ConvPlan {
  const [N, O, oH, oW] = yShape as [number, number, number, number];
  const [, Cg, kH, kW] = wShape as [number, number, number, number];
  const geo = convGeometry(xShape, kH, kW, oH, oW, p);
  const Kc = Cg * kH * kW;
  const P = oH * oW;
  const pointwise = geo.kH === 1 && geo.kW === 1 && geo.sH === 1 && geo.sW === 1 && geo.pH === 0 && geo.pW === 0;
  return { geo, N, O, G: p.groups, Og: O / p.groups, Cg, Kc, P, HW: geo.H * geo.W, col: pointwise ? null : new Float32Array(Kc * P) };
}

export function conv2d(x: View, w: View, bias: View | null, p: Conv2dParams, out: View): void {
  const X = contiguousF32(x, 'conv2d');
  const Wt = contiguousF32(w, 'conv2d');
  const B = bias ? contiguousF32(bias, 'conv2d') : null;
  const { geo, N, O, G, Og, Cg, Kc, P, HW, col } = convPlan(x.shape, out.shape, w.shape, p);
  withContiguousOutF32(out, 'conv2d', false, (Y) => {
    for (let n = 0; n < N; n++) {
      for (let g = 0; g < G; g++) {
        const xOff = (n * geo.C + g * Cg) * HW;
        const yOff = (n * O + g * Og) * P;
        if (col) {
          im2col(X, xOff, Cg, geo, col);
          sgemm(Og, P, Kc, Wt, g * Og * Kc, Kc, 1, col, 0, P, 1, Y, yOff, P, 1, false);
        } else {
          sgemm(Og, P, Kc, Wt, g * Og * Kc, Kc, 1, X, xOff, P, 1, Y, yOff, P, 1, false);
        }
        if (B) {
          for (let o = 0; o < Og; o++) {
            const b = B[g * Og + o]!;
            const base = yOff + o * P;
            for (let i = 0; i < P; i++) Y[base + i] += b;
          }
        }
      }
    }
  });
}

export function conv2dBackwardInput(gradOut: View, w: View, p: Conv2dParams, gradIn: View): void {
  const GY = contiguousF32(gradOut, 'conv2dBackwardInput');
  const Wt = contiguousF32(w, 'conv2dBackwardInput');
  const { geo, N, O, G, Og, Cg, Kc, P, HW, col } = convPlan(gradIn.shape, gradOut.shape, w.shape, p);
  withContiguousOutF32(gradIn, 'conv2dBackwardInput', false, (GX) => {
    GX.fill(0); // col2im accumulates; pixels no tap reaches (stride > kernel) stay 0
    for (let n = 0; n < N; n++) {
      for (let g = 0; g < G; g++) {
        const gyOff = (n * O + g * Og) * P;
        const gxOff = (n * geo.C + g * Cg) * HW;
        // W_gᵀ: element (k, o) of the transposed [Kc, Og] matrix is W[g·Og + o, k].
        if (col) {
          sgemm(Kc, P, Og, Wt, g * Og * Kc, 1, Kc, GY, gyOff, P, 1, col, 0, P, 1, false);
          col2im(col, Cg, geo, GX, gxOff);
        } else {
          sgemm(Kc, P, Og, Wt, g * Og * Kc, 1, Kc, GY, gyOff, P, 1, GX, gxOff, P, 1, false);
        }
      }
    }
  });
}

export function conv2dBackwardWeight(gradOut: View, x: View, p: Conv2dParams, gradW: View): void {
  const GY = contiguousF32(gradOut, 'conv2dBackwardWeight');
  const X = contiguousF32(x, 'conv2dBackwardWeight');
  const { geo, N, O, G, Og, Cg, Kc, P, HW, col } = convPlan(x.shape, gradOut.shape, gradW.shape, p);
  dataOf(gradW); // ownership check before any work
  withContiguousOutF32(gradW, 'conv2dBackwardWeight', false, (GW) => {
    if (N === 0) GW.fill(0);
    for (let n = 0; n < N; n++) {
      for (let g = 0; g < G; g++) {
        const gyOff = (n * O + g * Og) * P;
        const xOff = (n * geo.C + g * Cg) * HW;
        // colᵀ: element (p, k) of the [P, Kc] matrix is col[k·P + p].
        const src = col ?? X;
        const srcOff = col ? 0 : xOff;
        if (col) im2col(X, xOff, Cg, geo, col);
        sgemm(Og, Kc, P, GY, gyOff, P, 1, src, srcOff, 1, P, GW, g * Og * Kc, Kc, 1, n > 0);
      }
    }
  });
}
