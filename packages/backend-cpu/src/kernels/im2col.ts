/**
 * im2col / col2im for one image and one channel group, on dense row-major float32 data.
 *
 * col has shape [Cg·kH·kW, oH·oW]: row (c, kh, kw) holds, for every output position, the input
 * pixel that kernel tap sees (0 where the tap falls in the padding). For each tap the range of
 * output columns whose input column is in bounds is computed once, so the inner loops carry no
 * bounds checks. col2im is the adjoint: it adds each column entry back onto its input pixel.
 */
import type { Conv2dParams } from '@kindling/core';

export interface ConvGeometry {
  C: number; H: number; W: number;
  kH: number; kW: number;
  oH: number; oW: number;
  sH: number; sW: number;
  pH: number; pW: number;
  dH: number; dW: number;
}

export function convGeometry(
  xShape: readonly number[], kH: number, kW: number, oH: number, oW: number, p: Conv2dParams,
): ConvGeometry {
  return {
    C: xShape[1]!, H: xShape[2]!, W: xShape[3]!, kH, kW, oH, oW,
    sH: p.stride[0], sW: p.stride[1], pH: p.padding[0], pW: p.padding[1], dH: p.dilation[0], dW: p.dilation[1],
  };
}

/** [lo, hi): the output columns ow whose input column ow·s - pad + k·d lies in [0, W). */
function validRange(k: number, d: number, s: number, pad: number, W: number, oW: number): [number, number] {
  const shift = k * d - pad; // iw = ow·s + shift
  const lo = shift >= 0 ? 0 : Math.ceil(-shift / s);
  const hi = Math.min(oW, Math.floor((W - 1 - shift) / s) + 1);
  return [Math.min(lo, oW), Math.max(hi, 0)];
}

/** Fills col [Cg·kH·kW, oH·oW] from channels [0, Cg) of the image starting at x[xOff]. */
export function im2col(x: Float32Array, xOff: number, Cg: number, g: ConvGeometry, col: Float32Array): void {
  const { H, W, kH, kW, oH, oW, sH, sW, pH, pW, dH, dW } = g;
  const P = oH * oW;
  let row = 0;
  for (let c = 0; c < Cg; c++) {
    const plane = xOff + c * H * W;
    for (let kh = 0; kh < kH; kh++) {
      for (let kw = 0; kw < kW; kw++, row++) {
        const [lo, hi] = validRange(kw, dW, sW, pW, W, oW);
        const shiftW = kw * dW - pW;
        let dst = row * P;
        for (let oh = 0; oh < oH; oh++, dst += oW) {
          const ih = oh * sH - pH + kh * dH;
          if (ih < 0 || ih >= H || lo >= hi) {
            col.fill(0, dst, dst + oW);
            continue;
          }
          const src = plane + ih * W + shiftW;
          for (let ow = 0; ow < lo; ow++) col[dst + ow] = 0;
          if (sW === 1) for (let ow = lo; ow < hi; ow++) col[dst + ow] = x[src + ow]!;
          else for (let ow = lo; ow < hi; ow++) col[dst + ow] = x[src + ow * sW]!;
          for (let ow = hi; ow < oW; ow++) col[dst + ow] = 0;
        }
      }
    }
  }
}

/** gx[channels 0..Cg of the image at gxOff] += col2im(col): every overlapping tap adds. */
export function col2im(col: Float32Array, Cg: number, g: ConvGeometry, gx: Float32Array, gxOff: number): void {
  const { H, W, kH, kW, oH, oW, sH, sW, pH, pW, dH, dW } = g;
  const P = oH * oW;
  let row = 0;
  for (let c = 0; c < Cg; c++) {
    const plane = gxOff + c * H * W;
    for (let kh = 0; kh < kH; kh++) {
      for (let kw = 0; kw < kW; kw++, row++) {
        const [lo, hi] = validRange(kw, dW, sW, pW, W, oW);
        if (lo >= hi) continue;
        const shiftW = kw * dW - pW;
        let src = row * P;
        for (let oh = 0; oh < oH; oh++, src += oW) {
          const ih = oh * sH - pH + kh * dH;
          if (ih < 0 || ih >= H) continue;
          const dst = plane + ih * W + shiftW;
          if (sW === 1) for (let ow = lo; ow < hi; ow++) gx[dst + ow] += col[src + ow]!;
          else for (let ow = lo; ow < hi; ow++) gx[dst + ow * sW] += col[src + ow]!;
        }
      }
    }
  }
}
