/**
 * Training-mode batch norm over x viewed as [N, C, L] (L = product of the trailing dims), forward
 * and backward, each as two kernels:
 *
 *  1. statistics, one workgroup per channel: the threads stride over the N·L elements of the
 *     channel and tree-reduce in workgroup memory. Forward: two passes (mean, then Σ(x − mean)²),
 *     which stay accurate when |mean| ≫ std; writes mean and invstd = 1/√(var + eps) (biased
 *     var) and updates the running stats in place (rm = (1−m)·rm + m·mean,
 *     rv = (1−m)·rv + m·var·M/(M−1)). Backward: Σgy and Σgy·x̂.
 *  2. an elementwise pass: y = (x − mean)·(w·invstd) + b per channel, or
 *     gx = w·invstd/M · (M·gy − Σgy − x̂·Σgy·x̂).
 *
 * gradWeight = Σgy·x̂ and gradBias = Σgy are copied out of the statistics scratch.
 */
import type { View } from '@kindling/core';
import type { WebGPUBuffer } from '../buffer.js';
import type { Binding, Engine } from '../engine.js';
import { numelOf } from '../strided.js';
import { Params, entry1d, pf, pi, pw } from '../wgsl.js';
import { contiguous, copy, withContiguousOut } from './copy.js';

function dimsNCL(shape: readonly number[]): [number, number, number] {
  const N = shape[0] ?? 1;
  const C = shape[1] ?? 1;
  let L = 1;
  for (let i = 2; i < shape.length; i++) L *= shape[i]!;
  return [N, C, L];
}

/** A 1-d per-channel vector: its binding and its (offset, stride) words. */
interface Vec {
  name: string;
  view: View;
  off: number;
  stride: number;
}

function vec(p: Params, name: string, view: View | null): Vec | null {
  if (!view) return null;
  return { name, view, off: p.i32(view.offset), stride: p.i32(view.strides[0] ?? 1) };
}

/** WGSL element c of a per-channel vector. */
function at(v: Record<string, string>, x: Vec, c: string): string {
  return `${v[x.name]}[${pi(x.off)} + i32(${c}) * ${pi(x.stride)}]`;
}

/** The params the normalise pass and both backward passes start with: what they all read per channel. */
interface ChannelParams {
  p: Params;
  wC: number;
  wL: number;
  /** The elements (or channel entries) the pass walks. */
  wCount: number;
  wx: number;
  mu: Vec;
  is: Vec;
}

// Each of those passes walks x ([N, C, L]) with the saved mean and invstd: one packing for all three.
function channelParams(C: number, L: number, count: number, xc: View, mean: View, invstd: View): ChannelParams {
  const p = new Params();
  return { p, wC: p.u32(C), wL: p.u32(L), wCount: p.u32(count), wx: p.i32(xc.offset), mu: vec(p, 'mean', mean)!, is: vec(p, 'invstd', invstd)! };
}

function binding(x: Vec | null, write = false): Binding[] {
  return x ? [{ name: x.name, buffer: x.view.buffer as WebGPUBuffer, write }] : [];
}

function statsWorkgroup(e: Engine): number {
  return Math.min(256, e.wg);
}

/**
 * WGSL head of both statistics kernels: one workgroup per channel c, with C, L and M (elements
 * per channel) in scope and `arrays` of workgroup memory for the tree sums.
 */
function perChannelHead(wg: number, arrays: readonly string[], wC: number, wL: number, wM: number): string {
  return `${arrays.map((a) => `var<workgroup> ${a}: array<f32, ${wg}>;\n`).join('')}@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x + wid.y * nwg.x;
  let C = ${pw(wC)};
  if (c >= C) { return; }
  let L = ${pw(wL)};
  let M = ${pw(wM)};`;
}

/** WGSL: tree-sum `sh` into sh[0] (all invocations of the workgroup must reach it). */
function treeSum(wg: number, arr = 'sh'): string {
  return `workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { ${arr}[lid] = ${arr}[lid] + ${arr}[lid + s]; }
    workgroupBarrier();
  }`;
}

export function batchNormTrain(
  e: Engine, x: View, weight: View | null, bias: View | null, runningMean: View | null, runningVar: View | null,
  momentum: number, eps: number, out: View, mean: View, invstd: View,
): void {
  const [N, C, L] = dimsNCL(x.shape);
  const M = N * L;
  if (C === 0) return;
  const xc = contiguous(e, x);
  // The low part of the mean: mean = f32(mean) + lo exactly enough that normalising with both
  // loses nothing when |mean| ≫ std (the f32 mean alone is off by up to half an ulp of |mean|).
  const meanLo = e.temp('float32', C);
  // 1. statistics
  {
    const p = new Params();
    const wC = p.u32(C);
    const wL = p.u32(L);
    const wM = p.u32(M);
    const wx = p.i32(xc.offset);
    const wEps = p.f32(eps);
    const wMom = p.f32(momentum);
    const wUnb = p.f32(M > 1 ? M / (M - 1) : Infinity);
    const mu = vec(p, 'mean', mean)!;
    const is = vec(p, 'invstd', invstd)!;
    const rm = vec(p, 'rm', runningMean);
    const rv = vec(p, 'rv', runningVar);
    const wg = statsWorkgroup(e);
    e.run({
      key: `batchNormStats:${rm ? 'rm' : ''}${rv ? 'rv' : ''}:${wg}`,
      bindings: [
        { name: 'x', buffer: xc.buffer as WebGPUBuffer }, { name: 'lo', buffer: meanLo, write: true },
        ...binding(mu, true), ...binding(is, true), ...binding(rm, true), ...binding(rv, true),
      ],
      params: p,
      groups: C,
      source: (v) => `${perChannelHead(wg, ['sh'], wC, wL, wM)}
  let xb = ${pi(wx)};
  // Sums of x − x0 (x0 the channel's first element) keep the mean accurate when |mean| ≫ std.
  let x0 = select(0.0, ${v.x}[xb + i32(c * L)], M > 0u);
  var s = 0.0;
  for (var i = lid; i < M; i = i + ${wg}u) { s = s + (${v.x}[xb + i32(((i / L) * C + c) * L + i % L)] - x0); }
  sh[lid] = s;
  ${treeSum(wg)}
  let d0 = sh[0] / f32(M);
  let m = x0 + d0;
  let mb = m - x0;
  let mlo = (x0 - (m - mb)) + (d0 - mb); // what rounding m dropped (Knuth's TwoSum)
  workgroupBarrier();
  var q = 0.0;
  for (var i = lid; i < M; i = i + ${wg}u) {
    let d = (${v.x}[xb + i32(((i / L) * C + c) * L + i % L)] - m) - mlo;
    q = q + d * d;
  }
  sh[lid] = q;
  ${treeSum(wg)}
  if (lid == 0u) {
    let variance = sh[0] / f32(M);
    ${at(v, mu, 'c')} = m;
    ${v.lo}[c] = mlo;
    ${at(v, is, 'c')} = 1.0 / sqrt(variance + ${pf(wEps)});
    let mom = ${pf(wMom)};
    ${rm ? `${at(v, rm, 'c')} = (1.0 - mom) * ${at(v, rm, 'c')} + mom * m;` : ''}
    ${rv ? `${at(v, rv, 'c')} = (1.0 - mom) * ${at(v, rv, 'c')} + mom * variance * ${pf(wUnb)};` : ''}
  }
}`,
    });
  }
  // 2. normalise
  const n = numelOf(x.shape);
  if (n === 0) return;
  withContiguousOut(e, out, false, (y) => {
    const { p, wC, wL, wCount: wn, wx, mu, is } = channelParams(C, L, n, xc, mean, invstd);
    const wy = p.i32(y.offset);
    const wt = vec(p, 'w', weight);
    const bs = vec(p, 'b', bias);
    const wg = e.wg;
    e.run({
      key: `batchNormApply:${wt ? 'w' : ''}${bs ? 'b' : ''}`,
      bindings: [
        { name: 'x', buffer: xc.buffer as WebGPUBuffer },
        { name: 'y', buffer: y.buffer as WebGPUBuffer, write: true },
        { name: 'lo', buffer: meanLo },
        ...binding(mu), ...binding(is), ...binding(wt), ...binding(bs),
      ],
      params: p,
      groups: Math.ceil(n / wg),
      source: (v) => `${entry1d(wg)}
  if (gid >= ${pw(wn)}) { return; }
  let c = (gid / ${pw(wL)}) % ${pw(wC)};
  // (x − mean)·scale + bias rather than x·scale + shift: no cancellation when |mean| ≫ std.
  let scale = ${wt ? at(v, wt, 'c') : '1.0'} * ${at(v, is, 'c')};
  ${v.y}[${pi(wy)} + i32(gid)] = ((${v.x}[${pi(wx)} + i32(gid)] - ${at(v, mu, 'c')}) - ${v.lo}[c]) * scale + ${bs ? at(v, bs, 'c') : '0.0'};
}`,
    });
  });
}

export function batchNormBackward(
  e: Engine, gradOut: View, x: View, weight: View | null, mean: View, invstd: View,
  gradIn: View, gradWeight: View | null, gradBias: View | null,
): void {
  const [N, C, L] = dimsNCL(x.shape);
  const M = N * L;
  if (C === 0) return;
  const xc = contiguous(e, x);
  const gy = contiguous(e, gradOut);
  // 1. per-channel sums into scratch: [0, C) Σgy, [C, 2C) Σgy·x̂
  const stats = e.temp('float32', 2 * C);
  {
    const { p, wC, wL, wCount: wM, wx, mu, is } = channelParams(C, L, M, xc, mean, invstd);
    const wgy = p.i32(gy.offset);
    const wg = statsWorkgroup(e);
    e.run({
      key: `batchNormBackwardStats:${wg}`,
      bindings: [
        { name: 'x', buffer: xc.buffer as WebGPUBuffer },
        { name: 'gy', buffer: gy.buffer as WebGPUBuffer },
        ...binding(mu), ...binding(is),
        { name: 'stats', buffer: stats, write: true },
      ],
      params: p,
      groups: C,
      source: (v) => `${perChannelHead(wg, ['sh', 'sh2'], wC, wL, wM)}
  let m = ${at(v, mu, 'c')};
  let istd = ${at(v, is, 'c')};
  var s = 0.0;
  var sx = 0.0;
  for (var i = lid; i < M; i = i + ${wg}u) {
    let k = i32(((i / L) * C + c) * L + i % L);
    let g = ${v.gy}[${pi(wgy)} + k];
    s = s + g;
    sx = sx + g * (${v.x}[${pi(wx)} + k] - m) * istd;
  }
  sh[lid] = s;
  sh2[lid] = sx;
  workgroupBarrier();
  for (var t = ${wg / 2}u; t > 0u; t = t >> 1u) {
    if (lid < t) {
      sh[lid] = sh[lid] + sh[lid + t];
      sh2[lid] = sh2[lid] + sh2[lid + t];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    ${v.stats}[c] = sh[0];
    ${v.stats}[C + c] = sh2[0];
  }
}`,
    });
  }
  // 2. the input gradient
  const n = numelOf(x.shape);
  if (n > 0) {
    withContiguousOut(e, gradIn, false, (gx) => {
      const { p, wC, wL, wCount: wn, wx, mu, is } = channelParams(C, L, n, xc, mean, invstd);
      const wM = p.f32(M);
      const wgy = p.i32(gy.offset);
      const wgx = p.i32(gx.offset);
      const wt = vec(p, 'w', weight);
      const wg = e.wg;
      e.run({
        key: `batchNormBackwardInput:${wt ? 'w' : ''}`,
        bindings: [
          { name: 'x', buffer: xc.buffer as WebGPUBuffer },
          { name: 'gy', buffer: gy.buffer as WebGPUBuffer },
          { name: 'gx', buffer: gx.buffer as WebGPUBuffer, write: true },
          { name: 'stats', buffer: stats },
          ...binding(mu), ...binding(is), ...binding(wt),
        ],
        params: p,
        groups: Math.ceil(n / wg),
        source: (v) => `${entry1d(wg)}
  if (gid >= ${pw(wn)}) { return; }
  let C = ${pw(wC)};
  let c = (gid / ${pw(wL)}) % C;
  let istd = ${at(v, is, 'c')};
  let M = ${pf(wM)};
  let k = (${wt ? at(v, wt, 'c') : '1.0'} * istd) / M;
  let xhat = (${v.x}[${pi(wx)} + i32(gid)] - ${at(v, mu, 'c')}) * istd;
  ${v.gx}[${pi(wgx)} + i32(gid)] = k * (M * ${v.gy}[${pi(wgy)} + i32(gid)] - ${v.stats}[c] - xhat * ${v.stats}[C + c]);
}`,
      });
    });
  }
  const statView = (from: number): View => ({ buffer: stats, dtype: 'float32', shape: [C], strides: [1], offset: from });
  if (gradBias) copy(e, statView(0), gradBias);
  if (gradWeight) copy(e, statView(C), gradWeight);
}
