/**
 * conv2d forward and both backward passes as implicit GEMMs on the tiled template (matmul.ts):
 * the im2col matrix is never stored, its elements are computed inside the loaders. One GEMM
 * batch per group.
 *
 *   forward          out[n,o,p]   = Σ_k W[o,k] · col[k,(n,p)]             M=O/g  N=N·oH·oW  K=C/g·kH·kW
 *   backward input   gx[n,c,h,w]  = Σ_(o,kh,kw) W[o,c,kh,kw] · gy[n,o,oh,ow]  M=C/g  N=N·H·W    K=O/g·kH·kW
 *                    with oh = (h + pH − kh·dH)/sH when that divides exactly and is in range
 *   backward weight  gW[o,k]      = Σ_(n,p) gy[n,o,p] · col[k,(n,p)]       M=O/g  N=C/g·kH·kW K=N·oH·oW
 *
 * The input gradient is the transposed convolution written as a gather (each input pixel sums
 * the taps that reach it), so no float atomics and no col2im are needed and the result is
 * deterministic. The weight gradient reduces over the whole batch: with few output tiles it
 * splits K across workgroups and sums the partials (split-K). Strides, padding, dilation and
 * groups (depthwise included) are all index arithmetic in the loaders.
 */
import type { Conv2dParams, View } from '@kindling/core';
import type { WebGPUBuffer } from '../buffer.js';
import type { Binding, Engine } from '../engine.js';
import { numelOf } from '../strided.js';
import { pi, pw } from '../wgsl.js';
import { contiguous, withContiguousOut } from './copy.js';
import { chooseSplits, gemmParams, runGemm, sumSplits } from './matmul.js';

/**
 * The geometry, compiled into the shader as constants (and part of the pipeline key): the
 * loaders' index arithmetic divides by H, W, kH·kW, ..., and division by a constant compiles to
 * multiplies and shifts where a division by a uniform is a long instruction sequence on GPUs. A
 * network has a handful of conv shapes, so this costs a handful of pipelines.
 */
const GEO = ['N', 'C', 'H', 'W', 'O', 'oH', 'oW', 'kH', 'kW', 'sH', 'sW', 'pH', 'pW', 'dH', 'dW', 'Cg', 'Og'] as const;

interface Geometry {
  N: number; C: number; H: number; W: number; O: number; oH: number; oW: number;
  kH: number; kW: number; sH: number; sW: number; pH: number; pW: number; dH: number; dW: number; Cg: number; Og: number;
}

function geometry(xShape: readonly number[], wShape: readonly number[], outShape: readonly number[], p: Conv2dParams): Geometry {
  const [N, C, H, W] = xShape as [number, number, number, number];
  const [O, Cg, kH, kW] = wShape as [number, number, number, number];
  return {
    N, C, H, W, O, oH: outShape[2]!, oW: outShape[3]!, kH, kW,
    sH: p.stride[0], sW: p.stride[1], pH: p.padding[0], pW: p.padding[1], dH: p.dilation[0], dW: p.dilation[1],
    Cg, Og: O / p.groups,
  };
}

/** Params for a conv GEMM: the template's words, then the `extra` offsets; returns their word indices. */
function packGeometry(extra: number[]): { params: ReturnType<typeof gemmParams>; extraWords: number[] } {
  const params = gemmParams();
  const extraWords = extra.map((v) => params.i32(v));
  return { params, extraWords };
}

/** The geometry as a key fragment. */
function geoKey(g: Geometry): string {
  return GEO.map((k) => g[k]).join(',');
}

/** WGSL `let`s binding the geometry names to i32 constants (used inside the loader functions). */
function geoLets(g: Geometry): string {
  return GEO.map((k) => `let ${k} = ${g[k] | 0}i;`).join('\n  ');
}

/** The implicit im2col element col[k, (n, p)] of the input x (0 in the padding). */
function colFn(g0: Geometry, x: string, xOff: string): string {
  return `fn colAt(g: u32, k: u32, col: u32) -> f32 {
  ${geoLets(g0)}
  let P = u32(oH * oW);
  let n = i32(col / P);
  let p = i32(col % P);
  let oh = p / oW;
  let ow = p % oW;
  let KK = u32(kH * kW);
  let c = i32(k / KK);
  let r = i32(k % KK);
  let kh = r / kW;
  let kw = r % kW;
  let ih = oh * sH - pH + kh * dH;
  let iw = ow * sW - pW + kw * dW;
  if (ih < 0 || ih >= H || iw < 0 || iw >= W) { return 0.0; }
  return ${x}[${xOff} + ((n * C + i32(g) * Cg + c) * H + ih) * W + iw];
}`;
}

export function conv2d(e: Engine, x: View, w: View, bias: View | null, p: Conv2dParams, out: View): void {
  if (numelOf(out.shape) === 0) return;
  const xc = contiguous(e, x);
  const wc = contiguous(e, w);
  const g = geometry(x.shape, w.shape, out.shape, p);
  withContiguousOut(e, out, false, (y) => {
    const { params, extraWords } = packGeometry([xc.offset, wc.offset, y.offset, bias?.offset ?? 0, bias?.strides[0] ?? 0]);
    const [wx, ww, wy, wb, wbs] = extraWords as [number, number, number, number, number];
    const bindings: Binding[] = [
      { name: 'x', buffer: xc.buffer as WebGPUBuffer },
      { name: 'w', buffer: wc.buffer as WebGPUBuffer },
      { name: 'y', buffer: y.buffer as WebGPUBuffer, write: true },
    ];
    if (bias) bindings.push({ name: 'bias', buffer: bias.buffer as WebGPUBuffer });
    const Kc = g.Cg * g.kH * g.kW;
    runGemm(e, {
      key: `conv2d${bias ? ':bias' : ''}:${geoKey(g)}`,
      bindings,
      params,
      batches: p.groups,
      M: g.Og,
      N: g.N * g.oH * g.oW,
      K: Kc,
      type: 'f32',
      aKFast: true,
      bNFast: true,
      direct: (v) => `
struct ColInfo { xb: i32, ih0: i32, iw0: i32 }
struct KInfo { co: i32, dh: i32, dw: i32 }
fn prepCol(g: u32, col: u32) -> ColInfo {
  ${geoLets(g)}
  let n = i32(col) / (oH * oW);
  let p = i32(col) % (oH * oW);
  return ColInfo(${pi(wx)} + (n * C + i32(g) * Cg) * H * W, (p / oW) * sH - pH, (p % oW) * sW - pW);
}
fn prepK(g: u32, k: u32) -> KInfo {
  ${geoLets(g)}
  let c = i32(k) / (kH * kW);
  let r = i32(k) % (kH * kW);
  return KInfo(c * H * W, (r / kW) * dH, (r % kW) * dW);
}
fn loadAk(g: u32, m: u32, k: u32, ki: KInfo) -> f32 { return loadA(g, m, k); }
fn loadBk(g: u32, k: u32, ki: KInfo, ci: ColInfo) -> f32 {
  ${geoLets(g)}
  let ih = ci.ih0 + ki.dh;
  let iw = ci.iw0 + ki.dw;
  if (ih < 0 || ih >= H || iw < 0 || iw >= W) { return 0.0; }
  return ${v.x}[ci.xb + ki.co + ih * W + iw];
}`,
      functions: (v) => `
${colFn(g, v.x!, pi(wx))}
fn loadA(g: u32, m: u32, k: u32) -> f32 {
  ${geoLets(g)}
  let Kc = u32(Cg * kH * kW);
  return ${v.w}[${pi(ww)} + i32((g * u32(Og) + m) * Kc + k)];
}
fn loadB(g: u32, k: u32, col: u32) -> f32 { return colAt(g, k, col); }
fn storeC(g: u32, split: u32, m: u32, col: u32, val: f32) {
  ${geoLets(g)}
  let P = u32(oH * oW);
  let n = col / P;
  let p = col % P;
  let o = g * u32(Og) + m;
  ${bias ? `let b = ${v.bias}[${pi(wb)} + i32(o) * ${pi(wbs)}];` : 'let b = 0.0;'}
  ${v.y}[${pi(wy)} + i32((n * u32(O) + o) * P + p)] = val + b;
}`,
    });
  });
}

export function conv2dBackwardInput(e: Engine, gradOut: View, w: View, p: Conv2dParams, gradIn: View): void {
  if (numelOf(gradIn.shape) === 0) return;
  const gy = contiguous(e, gradOut);
  const wc = contiguous(e, w);
  const g = geometry(gradIn.shape, w.shape, gradOut.shape, p);
  withContiguousOut(e, gradIn, false, (gx) => {
    const { params, extraWords } = packGeometry([gy.offset, wc.offset, gx.offset]);
    const [wgy, ww, wgx] = extraWords as [number, number, number];
    runGemm(e, {
      key: `conv2dBackwardInput:${geoKey(g)}`,
      bindings: [
        { name: 'gy', buffer: gy.buffer as WebGPUBuffer },
        { name: 'w', buffer: wc.buffer as WebGPUBuffer },
        { name: 'gx', buffer: gx.buffer as WebGPUBuffer, write: true },
      ],
      params,
      batches: p.groups,
      M: g.Cg,
      N: g.N * g.H * g.W,
      K: g.Og * g.kH * g.kW,
      type: 'f32',
      aKFast: true,
      bNFast: true,
      direct: (v) => `
struct ColInfo { gyb: i32, th0: i32, tw0: i32 }
struct KInfo { wo: i32, oo: i32, dh: i32, dw: i32 }
fn prepCol(g: u32, col: u32) -> ColInfo {
  ${geoLets(g)}
  let n = i32(col) / (H * W);
  let q = i32(col) % (H * W);
  return ColInfo(${pi(wgy)} + (n * O + i32(g) * Og) * oH * oW, q / W + pH, q % W + pW);
}
fn prepK(g: u32, k: u32) -> KInfo {
  ${geoLets(g)}
  let o = i32(k) / (kH * kW);
  let r = i32(k) % (kH * kW);
  return KInfo(${pi(ww)} + (i32(g) * Og + o) * Cg * kH * kW + r, o * oH * oW, (r / kW) * dH, (r % kW) * dW);
}
fn loadAk(g: u32, c: u32, k: u32, ki: KInfo) -> f32 {
  ${geoLets(g)}
  return ${v.w}[ki.wo + i32(c) * kH * kW];
}
fn loadBk(g: u32, k: u32, ki: KInfo, ci: ColInfo) -> f32 {
  ${geoLets(g)}
  let th = ci.th0 - ki.dh;
  let tw = ci.tw0 - ki.dw;
  if (th < 0 || tw < 0 || th % sH != 0 || tw % sW != 0) { return 0.0; }
  let oh = th / sH;
  let ow = tw / sW;
  if (oh >= oH || ow >= oW) { return 0.0; }
  return ${v.gy}[ci.gyb + ki.oo + oh * oW + ow];
}`,
      functions: (v) => `
fn loadA(g: u32, c: u32, k: u32) -> f32 {
  ${geoLets(g)}
  let KK = u32(kH * kW);
  let o = k / KK;
  let r = k % KK;
  return ${v.w}[${pi(ww)} + i32(((g * u32(Og) + o) * u32(Cg) + c) * KK + r)];
}
fn loadB(g: u32, k: u32, col: u32) -> f32 {
  ${geoLets(g)}
  let HW = u32(H * W);
  let n = i32(col / HW);
  let q = i32(col % HW);
  let h = q / W;
  let wq = q % W;
  let KK = u32(kH * kW);
  let o = i32(k / KK);
  let r = i32(k % KK);
  let kh = r / kW;
  let kw = r % kW;
  let th = h + pH - kh * dH;
  let tw = wq + pW - kw * dW;
  if (th < 0 || tw < 0 || th % sH != 0 || tw % sW != 0) { return 0.0; }
  let oh = th / sH;
  let ow = tw / sW;
  if (oh >= oH || ow >= oW) { return 0.0; }
  return ${v.gy}[${pi(wgy)} + ((n * O + i32(g) * Og + o) * oH + oh) * oW + ow];
}
fn storeC(g: u32, split: u32, c: u32, col: u32, val: f32) {
  ${geoLets(g)}
  let HW = u32(H * W);
  let n = col / HW;
  let q = col % HW;
  ${v.gx}[${pi(wgx)} + i32((n * u32(C) + g * u32(Cg) + c) * HW + q)] = val;
}`,
    });
  });
}

export function conv2dBackwardWeight(e: Engine, gradOut: View, x: View, p: Conv2dParams, gradW: View): void {
  if (numelOf(gradW.shape) === 0) return;
  const gy = contiguous(e, gradOut);
  const xc = contiguous(e, x);
  const g = geometry(x.shape, gradW.shape, gradOut.shape, p);
  const Kc = g.Cg * g.kH * g.kW;
  const Kred = g.N * g.oH * g.oW;
  const splits = chooseSplits(e, p.groups, g.Og, Kc, Kred);
  withContiguousOut(e, gradW, false, (gw) => {
    const partial = splits > 1 ? e.temp('float32', numelOf(gradW.shape) * splits) : null;
    const { params, extraWords } = packGeometry([gy.offset, xc.offset, gw.offset]);
    const [wgy, wx, wgw] = extraWords as [number, number, number];
    runGemm(e, {
      key: `conv2dBackwardWeight:${partial ? 'split' : 'direct'}:${geoKey(g)}`,
      bindings: [
        { name: 'gy', buffer: gy.buffer as WebGPUBuffer },
        { name: 'x', buffer: xc.buffer as WebGPUBuffer },
        { name: 'gw', buffer: partial ?? (gw.buffer as WebGPUBuffer), write: true },
      ],
      params,
      batches: p.groups,
      M: g.Og,
      N: Kc,
      K: Kred,
      type: 'f32',
      aKFast: true,
      bNFast: false,
      splits,
      direct: (v) => `
struct ColInfo { co: i32, dh: i32, dw: i32 }
struct KInfo { xb: i32, ih0: i32, iw0: i32, gyo: i32 }
fn prepCol(g: u32, col: u32) -> ColInfo {
  ${geoLets(g)}
  let c = i32(col) / (kH * kW);
  let r = i32(col) % (kH * kW);
  return ColInfo(c * H * W, (r / kW) * dH, (r % kW) * dW);
}
fn prepK(g: u32, k: u32) -> KInfo {
  ${geoLets(g)}
  let n = i32(k) / (oH * oW);
  let p = i32(k) % (oH * oW);
  return KInfo(${pi(wx)} + (n * C + i32(g) * Cg) * H * W, (p / oW) * sH - pH, (p % oW) * sW - pW, ${pi(wgy)} + (n * O + i32(g) * Og) * oH * oW + p);
}
fn loadAk(g: u32, m: u32, k: u32, ki: KInfo) -> f32 {
  ${geoLets(g)}
  return ${v.gy}[ki.gyo + i32(m) * oH * oW];
}
fn loadBk(g: u32, k: u32, ki: KInfo, ci: ColInfo) -> f32 {
  ${geoLets(g)}
  let ih = ki.ih0 + ci.dh;
  let iw = ki.iw0 + ci.dw;
  if (ih < 0 || ih >= H || iw < 0 || iw >= W) { return 0.0; }
  return ${v.x}[ki.xb + ci.co + ih * W + iw];
}`,
      functions: (v) => `
${colFn(g, v.x!, pi(wx))}
fn loadA(g: u32, m: u32, k: u32) -> f32 {
  ${geoLets(g)}
  let P = u32(oH * oW);
  let n = k / P;
  let p = k % P;
  return ${v.gy}[${pi(wgy)} + i32((n * u32(O) + g * u32(Og) + m) * P + p)];
}
fn loadB(g: u32, k: u32, col: u32) -> f32 { return colAt(g, col, k); }
fn storeC(g: u32, split: u32, m: u32, col: u32, val: f32) {
  ${geoLets(g)}
  let Kc = u32(Cg * kH * kW);
  let e = (g * u32(Og) + m) * Kc + col;
  ${partial ? `${v.gw}[e * ${pw(4)} + split] = val;` : `${v.gw}[${pi(wgw)} + i32(e)] = val;`}
}`,
    });
    if (partial) sumSplits(e, partial, splits, gw);
  });
}
