/**
 * Pooling geometry shared by the max and average pooling kernels: the WGSL helpers that clip a
 * window to the input, and the launch every pooling kernel shares (core's checkPoolOutput on the
 * host, contiguous operands, one invocation per output element forward and per input element
 * backward, as gathers).
 */
import { type Pool2dParams, type View, checkPoolOutput } from '@kindling/core';
import type { WebGPUBuffer } from './buffer.js';
import type { Engine } from './engine.js';
import { contiguous, withContiguousOut } from './kernels/copy.js';
import { Params, entry1d, pi, pw } from './wgsl.js';

/**
 * WGSL: along one axis, for a window starting at `start` (= o·stride − pad) with k taps spaced
 * d: the first in-bounds tap, one past the last, and how many taps land before size + pad
 * (count_include_pad's clipped window). And the range of outputs whose window can hold input
 * position `i` (for the gather-style backward passes).
 */
export const POOL_WGSL = /* wgsl */ `
fn k_ceil_div(a: i32, b: i32) -> i32 {
  if (a <= 0) { return -((-a) / b); }
  return (a + b - 1) / b;
}
fn k_floor_div(a: i32, b: i32) -> i32 {
  if (a >= 0) { return a / b; }
  return -((-a + b - 1) / b);
}
fn k_win_lo(start: i32, k: i32, d: i32) -> i32 { return min(select(k_ceil_div(-start, d), 0, start >= 0), k); }
fn k_win_hi(start: i32, k: i32, d: i32, size: i32) -> i32 { return max(min(k, k_floor_div(size - 1 - start, d) + 1), 0); }
fn k_win_padded(start: i32, k: i32, d: i32, size: i32, pad: i32) -> i32 { return max(0, min(k, k_floor_div(size + pad - 1 - start, d) + 1)); }
// Outputs o in [first, last] whose window (o·s − pad + t·d, t < k) can contain position i.
fn k_out_first(i: i32, k: i32, s: i32, pad: i32, d: i32) -> i32 { return max(0, k_ceil_div(i + pad - (k - 1) * d, s)); }
fn k_out_last(i: i32, s: i32, pad: i32, outSize: i32) -> i32 { return min(outSize - 1, k_floor_div(i + pad, s)); }
`;

/** Host words for the window geometry, in the order `poolGeometryWgsl` reads them. */
export function poolWords(xShape: readonly number[], outShape: readonly number[], p: Pool2dParams): number[] {
  return [
    xShape[0]! * xShape[1]!, xShape[2]!, xShape[3]!, outShape[2]!, outShape[3]!,
    p.kernel[0], p.kernel[1], p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.dilation[0], p.dilation[1],
  ];
}

/** WGSL `let`s for the words written by poolWords starting at word `base` (read with the given accessor). */
export function poolLets(base: number, word: (i: number) => string): string {
  const names = ['planes', 'H', 'W', 'oH', 'oW', 'kH', 'kW', 'sH', 'sW', 'pH', 'pW', 'dH', 'dW'];
  return names.map((n, i) => `let ${n} = i32(${word(base + i)});`).join('\n  ');
}

/**
 * WGSL for a forward invocation: output element o = gid → its plane, (oh, ow), window start
 * (hs, ws), and the in-bounds taps [hlo, hhi) × [wlo, whi).
 */
export const POOL_OUTPUT_WINDOW = /* wgsl */ `let o = i32(gid);
  let ow = o % oW;
  let oh = (o / oW) % oH;
  let plane = o / (oW * oH);
  let hs = oh * sH - pH;
  let ws = ow * sW - pW;
  let hlo = k_win_lo(hs, kH, dH);
  let hhi = k_win_hi(hs, kH, dH, H);
  let wlo = k_win_lo(ws, kW, dW);
  let whi = k_win_hi(ws, kW, dW, W);`;

/**
 * WGSL for a backward invocation: input element i = gid → its plane, (h, w), and the outputs whose
 * window can hold it, rows [ohFirst, ohLast] × columns [owFirst, owLast].
 */
export const POOL_INPUT_OUTPUTS = /* wgsl */ `let i = i32(gid);
  let w = i % W;
  let h = (i / W) % H;
  let plane = i / (W * H);
  let ohFirst = k_out_first(h, kH, sH, pH, dH);
  let ohLast = k_out_last(h, sH, pH, oH);
  let owFirst = k_out_first(w, kW, sW, pW, dW);
  let owLast = k_out_last(w, sW, pW, oW);`;

export interface PoolKernel {
  key: string;
  /** The pooling's input [N,C,H,W] and output [N,C,oH,oW] shapes (checked, and the geometry words). */
  xShape: readonly number[];
  outShape: readonly number[];
  p: Pool2dParams;
  /** Invocations: output elements forward, input elements backward. */
  n: number;
  /** Operands read, by WGSL name (passed contiguous). */
  reads: Record<string, View>;
  /** Operands written, by WGSL name (through a contiguous stand-in when they are not). */
  writes: Record<string, View>;
  /** Whether the written operands start from their contents (backward accumulates into them). */
  preload: boolean;
  /** Appends the kernel's own words to the geometry words; returns WGSL functions the body calls. */
  functions?: (params: Params) => string;
  /**
   * The entry point's body after the geometry lets: receives each operand's WGSL variable and the
   * WGSL expression of its element offset, by name.
   */
  body: (v: Record<string, string>, at: Record<string, string>) => string;
}

/** Runs a pooling kernel: one invocation per element, the geometry words read as WGSL lets. */
export function runPool(e: Engine, k: PoolKernel): void {
  checkPoolOutput(k.key, k.xShape, k.outShape, k.p);
  if (k.n === 0) return;
  const reads = Object.entries(k.reads).map(([name, v]) => [name, contiguous(e, v)] as const);
  const outs = Object.entries(k.writes);
  const launch = (writes: (readonly [string, View])[]): void => {
    if (writes.length < outs.length) {
      const [name, out] = outs[writes.length]!;
      withContiguousOut(e, out, k.preload, (dst) => launch([...writes, [name, dst]]));
      return;
    }
    const prm = new Params();
    for (const w of poolWords(k.xShape, k.outShape, k.p)) prm.i32(w);
    const functions = k.functions?.(prm) ?? '';
    const at: Record<string, string> = {};
    for (const [name, v] of [...reads, ...writes]) at[name] = pi(prm.i32(v.offset));
    const wn = prm.u32(k.n);
    const wg = e.wg;
    e.run({
      key: k.key,
      bindings: [
        ...reads.map(([name, v]) => ({ name, buffer: v.buffer as WebGPUBuffer })),
        ...writes.map(([name, v]) => ({ name, buffer: v.buffer as WebGPUBuffer, write: true })),
      ],
      params: prm,
      groups: Math.ceil(k.n / wg),
      source: (v) => `${POOL_WGSL}
${functions}
${entry1d(wg)}
  if (gid >= ${pw(wn)}) { return; }
  ${poolLets(0, pi)}
  ${k.body(v, at)}
}`,
    });
  };
  launch([]);
}
