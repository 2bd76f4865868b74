/**
 * Softmax / log-softmax over the last dim of a [rows, cols] view, and their backward. Long rows
 * get one workgroup each: the threads stride over the columns, then tree reductions in workgroup
 * memory give the row's max and sum. Short rows (classifier logits), and every row on CPU
 * implementations of WebGPU where barriers are costly, get one invocation each, with Kahan-
 * compensated sums. Max-shifted, so large logits cannot overflow exp; a row of all −∞ is shifted
 * by 0 and comes out NaN, as in PyTorch.
 *
 *   softmax      y = exp(x − max) · (1 / Σ exp(x − max))      gx = y · (gy − Σ gy·y)
 *   log-softmax  y = x − max − log Σ exp(x − max)             gx = gy − exp(y) · Σ gy
 */
import type { View } from '@kindling/core';
import type { WebGPUBuffer } from '../buffer.js';
import type { Binding, Engine } from '../engine.js';
import { numelOf } from '../strided.js';
import { Params, entry1d, pi, pw } from '../wgsl.js';
import { contiguous, withContiguousOut } from './copy.js';

function rowsCols(v: View): [number, number] {
  const cols = v.shape.length === 0 ? 1 : v.shape[v.shape.length - 1]!;
  return [cols === 0 ? 0 : numelOf(v.shape) / cols, cols];
}

/** Workgroup size for rows of `cols`: a power of two from 32 up to the device's 1-d size. */
function rowWorkgroup(e: Engine, cols: number): number {
  let wg = 32;
  while (wg < cols && wg < e.wg) wg *= 2;
  return Math.min(wg, e.wg);
}

/** WGSL: tree-combine `sh` (size wg) in place with `op`, leaving the result in sh[0]. */
function treeReduce(wg: number, combine: (a: string, b: string) => string): string {
  return `workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { sh[lid] = ${combine('sh[lid]', 'sh[lid + s]')}; }
    workgroupBarrier();
  }`;
}

const MAX_NAN = (a: string, b: string): string => `select(select(max(${a}, ${b}), ${b}, k_isnan(${b})), ${a}, k_isnan(${a}))`;

/** One invocation per row, or a workgroup per row (see the header). */
function perThread(e: Engine, rows: number, cols: number): boolean {
  return e.isSoftware ? !(rows < 8 && cols >= 4096) : cols < 128;
}

/** WGSL statements adding `v` into the Kahan pair (sum, comp). */
function kahan(sum: string, comp: string, v: string): string {
  return `{ let ky = (${v}) - ${comp}; let kt = ${sum} + ky; ${comp} = select((kt - ${sum}) - ky, 0.0, (bitcast<u32>(kt) & 0x7f800000u) == 0x7f800000u); ${sum} = kt; }`;
}

function rowHead(wg: number, rowsWord: number): string {
  return `var<workgroup> sh: array<f32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= ${pw(rowsWord)}) { return; }`;
}

/** The words every row kernel starts with: the row count (bound check) and the row length. */
function rowParams(rows: number, cols: number): { p: Params; wr: number; wc: number } {
  const p = new Params();
  return { p, wr: p.u32(rows), wc: p.u32(cols) };
}

/**
 * Runs a row kernel in the form perThread() picks: one invocation per row (`thread`, which has
 * the row in `gid`) or one workgroup per row (`group`, after rowHead: the row in `row`, the
 * workgroup size `wg`). The bodies come after the rows bound check. Softmax and its backward
 * share the choice, the keys and the dispatch sizes.
 */
function runRows(
  e: Engine, key: string, rows: number, cols: number, bindings: Binding[], p: Params, wr: number,
  thread: (v: Record<string, string>) => string, group: (v: Record<string, string>, wg: number) => string,
): void {
  if (perThread(e, rows, cols)) {
    const wg = e.wg;
    e.run({
      key: `${key}:thread`, bindings, params: p, groups: Math.ceil(rows / wg),
      source: (v) => `${entry1d(wg)}
  if (gid >= ${pw(wr)}) { return; }
  ${thread(v)}
}`,
    });
    return;
  }
  const wg = rowWorkgroup(e, cols);
  e.run({
    key: `${key}:${wg}`, bindings, params: p, groups: rows,
    source: (v) => `${rowHead(wg, wr)}
  ${group(v, wg)}
}`,
  });
}

export function softmax(e: Engine, x: View, log: boolean, out: View): void {
  const [rows, cols] = rowsCols(x);
  if (rows === 0 || cols === 0) return;
  const xc = contiguous(e, x);
  withContiguousOut(e, out, false, (y) => {
    const { p, wr, wc } = rowParams(rows, cols);
    const wx = p.i32(xc.offset);
    const wy = p.i32(y.offset);
    const bindings: Binding[] = [
      { name: 'x', buffer: xc.buffer as WebGPUBuffer },
      { name: 'y', buffer: y.buffer as WebGPUBuffer, write: true },
    ];
    runRows(e, `softmax:${log ? 'log' : 'exp'}`, rows, cols, bindings, p, wr, (v) => `let cols = ${pw(wc)};
  let xb = ${pi(wx)} + i32(gid * cols);
  let yb = ${pi(wy)} + i32(gid * cols);
  var m = -k_inf();
  for (var j = 0u; j < cols; j = j + 1u) { m = ${MAX_NAN('m', `${v.x}[xb + i32(j)]`)}; }
  let shift = select(m, 0.0, m == -k_inf());
  var s = 0.0;
  var comp = 0.0;
  for (var j = 0u; j < cols; j = j + 1u) ${kahan('s', 'comp', `exp(${v.x}[xb + i32(j)] - shift)`)}
  ${log
    ? `let lse = k_log(s); // log(0) = -inf, so an all -inf row gives NaN
  for (var j = 0u; j < cols; j = j + 1u) { ${v.y}[yb + i32(j)] = ${v.x}[xb + i32(j)] - shift - lse; }`
    : `let inv = 1.0 / s;
  for (var j = 0u; j < cols; j = j + 1u) { ${v.y}[yb + i32(j)] = exp(${v.x}[xb + i32(j)] - shift) * inv; }`}`, (v, wg) => `let cols = ${pw(wc)};
  let xb = ${pi(wx)} + i32(row * cols);
  let yb = ${pi(wy)} + i32(row * cols);
  var m = -k_inf();
  for (var j = lid; j < cols; j = j + ${wg}u) { m = ${MAX_NAN('m', `${v.x}[xb + i32(j)]`)}; }
  sh[lid] = m;
  ${treeReduce(wg, MAX_NAN)}
  let mx = sh[0];
  let shift = select(mx, 0.0, mx == -k_inf());
  workgroupBarrier();
  var s = 0.0;
  for (var j = lid; j < cols; j = j + ${wg}u) { s = s + exp(${v.x}[xb + i32(j)] - shift); }
  sh[lid] = s;
  ${treeReduce(wg, (a, b) => `${a} + ${b}`)}
  let total = sh[0];
  ${log
    ? `let lse = k_log(total); // log(0) = -inf, so an all -inf row gives NaN
  for (var j = lid; j < cols; j = j + ${wg}u) { ${v.y}[yb + i32(j)] = ${v.x}[xb + i32(j)] - shift - lse; }`
    : `let inv = 1.0 / total;
  for (var j = lid; j < cols; j = j + ${wg}u) { ${v.y}[yb + i32(j)] = exp(${v.x}[xb + i32(j)] - shift) * inv; }`}`);
  });
}

export function softmaxBackward(e: Engine, y: View, gradOut: View, log: boolean, gradIn: View): void {
  const [rows, cols] = rowsCols(y);
  if (rows === 0 || cols === 0) return;
  const yc = contiguous(e, y);
  const gy = contiguous(e, gradOut);
  withContiguousOut(e, gradIn, false, (gx) => {
    const { p, wr, wc } = rowParams(rows, cols);
    const wy = p.i32(yc.offset);
    const wgy = p.i32(gy.offset);
    const wgx = p.i32(gx.offset);
    const bindings: Binding[] = [
      { name: 'y', buffer: yc.buffer as WebGPUBuffer },
      { name: 'gy', buffer: gy.buffer as WebGPUBuffer },
      { name: 'gx', buffer: gx.buffer as WebGPUBuffer, write: true },
    ];
    runRows(e, `softmaxBackward:${log ? 'log' : 'exp'}`, rows, cols, bindings, p, wr, (v) => `let cols = ${pw(wc)};
  let yb = ${pi(wy)} + i32(gid * cols);
  let gyb = ${pi(wgy)} + i32(gid * cols);
  let gxb = ${pi(wgx)} + i32(gid * cols);
  var s = 0.0;
  var comp = 0.0;
  for (var j = 0u; j < cols; j = j + 1u) ${kahan('s', 'comp', log ? `${v.gy}[gyb + i32(j)]` : `${v.gy}[gyb + i32(j)] * ${v.y}[yb + i32(j)]`)}
  for (var j = 0u; j < cols; j = j + 1u) {
    let yv = ${v.y}[yb + i32(j)];
    let g = ${v.gy}[gyb + i32(j)];
    ${v.gx}[gxb + i32(j)] = ${log ? 'g - exp(yv) * s' : 'yv * (g - s)'};
  }`, (v, wg) => `let cols = ${pw(wc)};
  let yb = ${pi(wy)} + i32(row * cols);
  let gyb = ${pi(wgy)} + i32(row * cols);
  let gxb = ${pi(wgx)} + i32(row * cols);
  var s = 0.0;
  for (var j = lid; j < cols; j = j + ${wg}u) {
    ${log ? `s = s + ${v.gy}[gyb + i32(j)];` : `s = s + ${v.gy}[gyb + i32(j)] * ${v.y}[yb + i32(j)];`}
  }
  sh[lid] = s;
  ${treeReduce(wg, (a, b) => `${a} + ${b}`)}
  let total = sh[0];
  for (var j = lid; j < cols; j = j + ${wg}u) {
    let yv = ${v.y}[yb + i32(j)];
    let g = ${v.gy}[gyb + i32(j)];
    ${v.gx}[gxb + i32(j)] = ${log ? 'g - exp(yv) * total' : 'yv * (g - total)'};
  }`);
  });
}
