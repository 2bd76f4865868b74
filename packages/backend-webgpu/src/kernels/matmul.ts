/**
 * Batched matmul, and the tiled GEMM template that the fused convolutions reuse.
 *
 * The template computes C[b] = A[b] · B[b] for A [M, K], B [K, N] whose elements come from
 * caller-supplied WGSL functions (`loadA(b, m, k)`, `loadB(b, k, n)`) and whose results go to
 * `storeC(b, split, m, n, v)`. So a plain strided matmul, an implicit-im2col convolution and its
 * gradients are the same kernel with different index arithmetic (conv2d.ts).
 *
 * Tiling: a workgroup of TX×TY threads computes a BM×BN tile (BM = TY·TM, BN = TX·TN) with each
 * thread holding a TM×TN block of accumulators in registers (2-D register blocking). K is walked
 * in slices of BK: the workgroup stages an A slice [BK, BM] and a B slice [BK, BN] in workgroup
 * memory, then every thread does TM·TN multiply-adds per k from registers. Staging loads are
 * ordered so consecutive threads read consecutive addresses along whichever dim of the operand is
 * unit-stride (the key records it), for coalescing on real GPUs. Out-of-range rows/cols load 0.
 * Thread (tx, ty) owns rows ty + i·TY and cols tx + j·TX (interleaved, so the register loads from
 * workgroup memory are conflict-free).
 *
 * Split-K: when the output has few tiles but K is long (conv2d's weight gradient: K = N·oH·oW),
 * the grid's z dim also splits K into chunks; each chunk stores a partial and a sum reduction
 * (reduce.ts) adds them in a fixed order, so results stay deterministic.
 */
import type { View } from '@kindling/core';
import type { WebGPUBuffer } from '../buffer.js';
import type { Binding, Engine } from '../engine.js';
import { contiguousStrides } from '../strided.js';
import { Params, convert, dtOf, entry1d, pi, pw, type Dt } from '../wgsl.js';
import { reduce } from './reduce.js';

export interface GemmTile {
  TX: number;
  TY: number;
  TM: number;
  TN: number;
  BK: number;
}

/**
 * The tile for a product of M×N outputs on this device (NT = threads per workgroup, 256 where
 * allowed): a square BM = BN = 4·√NT tile in general; a wide one (BM = 16) when M is small and a
 * tall one (BN = 16) when N is small, so thin products (conv2d's few output channels, a linear
 * layer's batch of 1) do not waste most of a square tile; 1×1 blocks for tiny products.
 * All tile dims are powers of two (the staging arithmetic uses shifts).
 */
export function gemmTile(e: Engine, M: number, N: number): GemmTile {
  const lim = e.limits;
  let NT = 256;
  while (NT > lim.maxComputeInvocationsPerWorkgroup) NT /= 2;
  const side = NT === 256 ? 16 : NT >= 64 ? 8 : 4;
  const fits = (TX: number, TY: number): boolean => TX <= lim.maxComputeWorkgroupSizeX && TY <= lim.maxComputeWorkgroupSizeY;
  if (M <= 16 && N <= 32 && fits(side, side)) return { TX: side, TY: side, TM: 1, TN: 1, BK: 16 };
  if (M <= 16 && N > 64 && fits(NT / 4, 4)) return { TX: NT / 4, TY: 4, TM: 4, TN: 4, BK: 16 };
  if (N <= 16 && M > 64 && fits(4, NT / 4)) return { TX: 4, TY: NT / 4, TM: 4, TN: 4, BK: 16 };
  return { TX: side, TY: side, TM: 4, TN: 4, BK: 16 };
}

/** Words 0..5 of every GEMM's params: M, N, K, kChunk, splits, batchBase. Callers' own words follow. */
export const GEMM_WORDS = 6;

export interface GemmCall {
  key: string;
  bindings: readonly Binding[];
  /** Params whose first GEMM_WORDS words are left for the template (create with gemmParams()). */
  params: Params;
  batches: number;
  M: number;
  N: number;
  K: number;
  /** Accumulator type. */
  type: 'f32' | 'i32';
  /** Whether consecutive k are adjacent in memory for A (else consecutive m), and consecutive n for B (else k). */
  aKFast: boolean;
  bNFast: boolean;
  /** WGSL defining loadA(b: u32, m: u32, k: u32) -> T, loadB(b: u32, k: u32, n: u32) -> T, storeC(b: u32, split: u32, m: u32, n: u32, v: T). */
  functions: (names: Record<string, string>) => string;
  /** Number of K chunks (1 = no split). */
  splits?: number;
  /**
   * Optional WGSL for the direct (software-adapter) GEMM, which calls the loaders once per k for
   * each of its 4 rows and 4 columns: decoding work that depends only on the column or only on k
   * can be done once. Defines `ColInfo`, `KInfo`, prepCol(b, n) -> ColInfo (once per column,
   * before the k loop), prepK(b, k) -> KInfo (once per k), loadAk(b, m, k, ki) -> T and
   * loadBk(b, k, ki, ci) -> T. Without it they wrap loadA/loadB.
   */
  direct?: (names: Record<string, string>) => string;
}

/** Params with the template's words reserved (filled in by runGemm). */
export function gemmParams(): Params {
  const p = new Params();
  for (let i = 0; i < GEMM_WORDS; i++) p.u32(0);
  return p;
}

/** Writes the words both GEMM variants' kernels start with (M, N, K, each split's K length, splits) and returns them. */
function gemmWords(c: GemmCall, kChunk: number, splits: number): number[] {
  const words = c.params.words;
  words[0] = c.M;
  words[1] = c.N;
  words[2] = c.K;
  words[3] = kChunk;
  words[4] = splits;
  return words;
}

export function runGemm(e: Engine, c: GemmCall): void {
  const { M, N, K, batches } = c;
  if (M === 0 || N === 0 || batches === 0) return;
  if (e.isSoftware) {
    runDirectGemm(e, c);
    return;
  }
  const t = gemmTile(e, M, N);
  const BM = t.TY * t.TM;
  const BN = t.TX * t.TN;
  const NT = t.TX * t.TY;
  const splits = Math.max(1, c.splits ?? 1);
  const kChunk = splits > 1 ? Math.ceil(K / splits / t.BK) * t.BK : Math.max(K, 1);
  const words = gemmWords(c, kChunk, splits);
  const gx = Math.ceil(N / BN);
  const gy = Math.ceil(M / BM);
  const maxZ = e.limits.maxComputeWorkgroupsPerDimension;
  const T = c.type;
  const zero = T === 'f32' ? '0.0' : '0';
  const aLoads = (BM * t.BK) / NT;
  const bLoads = (BN * t.BK) / NT;
  const key = `gemm:${c.key}:${T}:${t.TX}x${t.TY}x${t.TM}x${t.TN}x${t.BK}:${c.aKFast ? 'ak' : 'am'}${c.bNFast ? 'bn' : 'bk'}`;
  const log2 = (x: number): number => Math.log2(x);
  // Staging index split: e → (kk, mm) with power-of-two tile sizes, as shifts and masks.
  const aSplit = c.aKFast
    ? `let kk = e & ${t.BK - 1}u;\n      let mm = e >> ${log2(t.BK)}u;`
    : `let mm = e & ${BM - 1}u;\n      let kk = e >> ${log2(BM)}u;`;
  const bSplit = c.bNFast
    ? `let nn = e & ${BN - 1}u;\n      let kk = e >> ${log2(BN)}u;`
    : `let kk = e & ${t.BK - 1}u;\n      let nn = e >> ${log2(t.BK)}u;`;
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  // The register block is unrolled into scalars (c_i_j, a_i, b_j): no dynamically indexed arrays,
  // which software rasterisers (SwiftShader) and some GPU compilers would keep in memory.
  const accDecl = range(t.TM).map((i) => range(t.TN).map((j) => `var c${i}_${j}: ${T} = ${zero};`).join(' ')).join('\n  ');
  const regLoads = [
    ...range(t.TM).map((i) => `let a${i} = As[kb + ty + ${i * t.TY}u];`),
    ...range(t.TN).map((j) => `let b${j} = Bs[nb + tx + ${j * t.TX}u];`),
  ].join('\n      ');
  // Each BK slice is summed on its own (t), then added to the total (c): two-level summation
  // keeps the rounding error of long K near that of a tree.
  const fmas = range(t.TM).map((i) => range(t.TN).map((j) => `t${i}_${j} = t${i}_${j} + a${i} * b${j};`).join(' ')).join('\n      ');
  const sliceDecl = range(t.TM).map((i) => range(t.TN).map((j) => `var t${i}_${j}: ${T} = ${zero};`).join(' ')).join('\n    ');
  const sliceAdd = range(t.TM).map((i) => range(t.TN).map((j) => `c${i}_${j} = c${i}_${j} + t${i}_${j};`).join(' ')).join('\n    ');
  const stores = range(t.TM)
    .map((i) => {
      const row = `let gm${i} = m0 + ty + ${i * t.TY}u;`;
      const cols = range(t.TN).map((j) => `if (gm${i} < M && n0 + tx + ${j * t.TX}u < N) { storeC(batch, split, gm${i}, n0 + tx + ${j * t.TX}u, c${i}_${j}); }`);
      return [row, ...cols].join('\n  ');
    })
    .join('\n  ');
  // A and B tiles are staged into workgroup memory alike: `loads` elements per thread, e split
  // into (kk, the tile's other index `mn`), zero outside the matrix or past this split's K.
  const stage = (loads: number, split: string, mn: string, g: string, origin: string, bound: string, load: string, tile: string, width: string): string =>
    range(loads)
      .map((l) => `{
      let e = ${l * NT}u + tid;
      ${split}
      let ${g} = ${origin} + ${mn};
      let gk = k0 + kk;
      var v = ${zero};
      if (${g} < ${bound} && gk < kEnd) { v = ${load}; }
      ${tile}[kk * ${width} + ${mn}] = v;
    }`)
      .join('\n    ');
  const stageA = stage(aLoads, aSplit, 'mm', 'gm', 'm0', 'M', 'loadA(batch, gm, gk)', 'As', 'BM');
  const stageB = stage(bLoads, bSplit, 'nn', 'gn', 'n0', 'N', 'loadB(batch, gk, gn)', 'Bs', 'BN');
  const source = (v: Record<string, string>): string => `${c.functions(v)}
const BM = ${BM}u;
const BN = ${BN}u;
const BK = ${t.BK}u;
var<workgroup> As: array<${T}, ${BM * t.BK}>;
var<workgroup> Bs: array<${T}, ${BN * t.BK}>;
@compute @workgroup_size(${t.TX}, ${t.TY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let M = ${pw(0)};
  let N = ${pw(1)};
  let K = ${pw(2)};
  let kChunk = ${pw(3)};
  let splits = ${pw(4)};
  let z = wid.z + ${pw(5)};
  let batch = z / splits;
  let split = z % splits;
  let kBegin = split * kChunk;
  let kEnd = min(K, kBegin + kChunk);
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let tx = lid3.x;
  let ty = lid3.y;
  ${accDecl}
  for (var k0 = kBegin; k0 < kEnd; k0 = k0 + BK) {
    ${stageA}
    ${stageB}
    workgroupBarrier();
    ${sliceDecl}
    for (var kk = 0u; kk < BK; kk = kk + 1u) {
      let kb = kk * BM;
      let nb = kk * BN;
      ${regLoads}
      ${fmas}
    }
    ${sliceAdd}
    workgroupBarrier();
  }
  ${stores}
}`;
  const totalZ = batches * splits;
  for (let base = 0; base < totalZ; base += maxZ) {
    const p = new Params();
    p.words.push(...words);
    p.words[5] = base;
    e.run({ key, bindings: c.bindings, params: p, groups: [gx, gy, Math.min(maxZ, totalZ - base)], source });
  }
}

/**
 * The GEMM for CPU implementations of WebGPU (SwiftShader and friends), where a workgroup barrier
 * switches coroutines and costs more than the memory traffic it saves: no workgroup memory and no
 * barriers; each invocation owns a 4×4 block of C and reads A and B straight from the loaders
 * (the CPU's caches do the staging). Rows/cols past the edge read a clamped, valid element and
 * are simply not stored, so the k loop has no branches.
 */
function runDirectGemm(e: Engine, c: GemmCall): void {
  const { M, N, K, batches } = c;
  const TM = 4;
  const TN = 4;
  const splits = Math.max(1, c.splits ?? 1);
  const kChunk = splits > 1 ? Math.ceil(K / splits) : Math.max(K, 1);
  const rowBlocks = Math.ceil(M / TM);
  const colBlocks = Math.ceil(N / TN);
  const perBatch = rowBlocks * colBlocks;
  const total = perBatch * batches * splits;
  const words = gemmWords(c, kChunk, splits);
  words[5] = colBlocks;
  const wg = Math.min(64, e.wg);
  const T = c.type;
  const zero = T === 'f32' ? '0.0' : '0';
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  const p = new Params();
  p.words.push(...words);
  const wTotal = p.u32(total);
  const wPer = p.u32(perBatch);
  const hooks = (v: Record<string, string>): string =>
    c.direct
      ? c.direct(v)
      : `alias ColInfo = u32;
alias KInfo = u32;
fn prepCol(b: u32, n: u32) -> ColInfo { return n; }
fn prepK(b: u32, k: u32) -> KInfo { return k; }
fn loadAk(b: u32, m: u32, k: u32, ki: KInfo) -> ${T} { return loadA(b, m, k); }
fn loadBk(b: u32, k: u32, ki: KInfo, ci: ColInfo) -> ${T} { return loadB(b, k, ci); }`;
  const source = (v: Record<string, string>): string => `${c.functions(v)}
${hooks(v)}
${entry1d(wg)}
  if (gid >= ${pw(wTotal)}) { return; }
  let M = ${pw(0)};
  let N = ${pw(1)};
  let K = ${pw(2)};
  let kChunk = ${pw(3)};
  let splits = ${pw(4)};
  let colBlocks = ${pw(5)};
  let z = gid / ${pw(wPer)};
  let r = gid % ${pw(wPer)};
  let batch = z / splits;
  let split = z % splits;
  let mb = (r / colBlocks) * ${TM}u;
  let nb = (r % colBlocks) * ${TN}u;
  let kBegin = split * kChunk;
  let kEnd = min(K, kBegin + kChunk);
  ${range(TM).map((i) => `let m${i} = min(mb + ${i}u, M - 1u);`).join(' ')}
  ${range(TN).map((j) => `let n${j} = min(nb + ${j}u, N - 1u);`).join(' ')}
  ${range(TN).map((j) => `let ci${j} = prepCol(batch, n${j});`).join(' ')}
  ${range(TM).map((i) => range(TN).map((j) => `var c${i}_${j}: ${T} = ${zero};`).join(' ')).join('\n  ')}
  for (var k0 = kBegin; k0 < kEnd; k0 = k0 + 64u) {
    // Two-level summation: each run of 64 products is summed on its own, then added to the total,
    // which keeps the rounding error of long K (conv weight gradients) near that of a tree.
    ${range(TM).map((i) => range(TN).map((j) => `var t${i}_${j}: ${T} = ${zero};`).join(' ')).join('\n    ')}
    let k1 = min(k0 + 64u, kEnd);
    for (var k = k0; k < k1; k = k + 1u) {
      let ki = prepK(batch, k);
      ${range(TM).map((i) => `let a${i} = loadAk(batch, m${i}, k, ki);`).join(' ')}
      ${range(TN).map((j) => `let b${j} = loadBk(batch, k, ki, ci${j});`).join(' ')}
      ${range(TM).map((i) => range(TN).map((j) => `t${i}_${j} = t${i}_${j} + a${i} * b${j};`).join(' ')).join('\n      ')}
    }
    ${range(TM).map((i) => range(TN).map((j) => `c${i}_${j} = c${i}_${j} + t${i}_${j};`).join(' ')).join('\n    ')}
  }
  ${range(TM).map((i) => range(TN).map((j) => `if (mb + ${i}u < M && nb + ${j}u < N) { storeC(batch, split, mb + ${i}u, nb + ${j}u, c${i}_${j}); }`).join('\n  ')).join('\n  ')}
}`;
  e.run({ key: `gemm-direct:${c.key}:${c.direct ? 'hooks' : 'plain'}:${T}:${wg}`, bindings: c.bindings, params: p, groups: Math.ceil(total / wg), source });
}

/**
 * How many K chunks to use: enough to give the device ~64 workgroups (or, on a CPU adapter, ~256
 * invocations) when the output alone gives few, each chunk at least 256 deep.
 */
export function chooseSplits(e: Engine, batches: number, M: number, N: number, K: number): number {
  if (e.isSoftware) {
    // The direct GEMM: one invocation per 4×4 block; a few hundred keep a CPU's cores busy.
    const threads = batches * Math.ceil(M / 4) * Math.ceil(N / 4);
    if (threads >= 256 || K < 1024) return 1;
    return Math.max(1, Math.min(Math.ceil(256 / threads), Math.floor(K / 256), 64));
  }
  const t = gemmTile(e, M, N);
  const tiles = batches * Math.ceil(M / (t.TY * t.TM)) * Math.ceil(N / (t.TX * t.TN));
  if (tiles >= 32 || K < 1024) return 1;
  return Math.max(1, Math.min(Math.ceil(64 / tiles), Math.floor(K / 256), 64));
}

/** Sums split-K partials laid out contiguously as [...out.shape, splits] in `partial` into `out` (any strides). */
export function sumSplits(e: Engine, partial: WebGPUBuffer, splits: number, out: View): void {
  const shape = [...out.shape, splits];
  const x: View = { buffer: partial, dtype: partial.dtype, shape, strides: contiguousStrides(shape), offset: 0 };
  reduce(e, 'sum', x, 1, out);
}

/**
 * a [B,M,K] · b [B,K,N] → out [B,M,N]. Any strides (transposes and batch stride 0 included);
 * float32 accumulates in f32, integer operands with an int32 output in wrapping i32.
 */
export function matmul(e: Engine, a: View, b: View, out: View): void {
  if (a.shape.length !== 3 || b.shape.length !== 3 || out.shape.length !== 3) {
    throw new Error(`matmul: expected 3-d views [B,M,K]·[B,K,N]→[B,M,N], got [${a.shape.join(',')}], [${b.shape.join(',')}], [${out.shape.join(',')}]`);
  }
  const [B, M, K] = a.shape as [number, number, number];
  const N = b.shape[2]!;
  const to = dtOf(out.dtype);
  const T: 'f32' | 'i32' = to === 'f32' ? 'f32' : 'i32';
  if (T === 'i32' && (a.dtype === 'float32' || b.dtype === 'float32')) {
    throw new TypeError(`matmul: an int32 output needs integer operands, got ${a.dtype} and ${b.dtype}`);
  }
  const ad: Dt = dtOf(a.dtype);
  const bd: Dt = dtOf(b.dtype);
  const splits = chooseSplits(e, B, M, N, K);
  const p = gemmParams();
  const w = (v: number): number => p.i32(v);
  const aw = [a.offset, ...a.strides].map(w);
  const bw = [b.offset, ...b.strides].map(w);
  const cw = [out.offset, ...out.strides].map(w);
  let partial: WebGPUBuffer | null = null;
  if (splits > 1) partial = e.temp(out.dtype, B * M * N * splits);
  const bindings: Binding[] = [
    { name: 'a', buffer: a.buffer as WebGPUBuffer },
    { name: 'b', buffer: b.buffer as WebGPUBuffer },
    { name: 'c', buffer: partial ?? (out.buffer as WebGPUBuffer), write: true },
  ];
  // Element (b, r, c) of a 3-d operand with words [offset, batch stride, row stride, col stride].
  const idx = (ws: number[], r: string, c: string): string =>
    `${pi(ws[0]!)} + i32(b) * ${pi(ws[1]!)} + i32(${r}) * ${pi(ws[2]!)} + i32(${c}) * ${pi(ws[3]!)}`;
  runGemm(e, {
    key: `matmul:${ad},${bd}:${splits > 1 ? 'split' : 'direct'}`,
    bindings,
    params: p,
    batches: B,
    M,
    N,
    K,
    type: T,
    aKFast: a.strides[2] === 1,
    bNFast: b.strides[2] === 1,
    splits,
    functions: (v) => `
fn loadA(b: u32, m: u32, k: u32) -> ${T} { return ${convert(`${v.a}[${idx(aw, 'm', 'k')}]`, ad, T)}; }
fn loadB(b: u32, k: u32, n: u32) -> ${T} { return ${convert(`${v.b}[${idx(bw, 'k', 'n')}]`, bd, T)}; }
fn storeC(b: u32, split: u32, m: u32, n: u32, v: ${T}) {
  ${splits > 1
    ? `${v.c}[((b * ${pw(0)} + m) * ${pw(1)} + n) * ${pw(4)} + split] = v;`
    : `${v.c}[${idx(cw, 'm', 'n')}] = v;`}
}`,
  });
  if (partial) sumSplits(e, partial, splits, out);
}
