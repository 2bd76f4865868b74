/**
 * WGSL building blocks shared by the kernel files: element types per dtype, dtype conversions
 * with PyTorch's (and the CPU backend's) semantics, the uniform parameter block, strided index
 * arithmetic, and a prelude of scalar helpers.
 *
 * Parameters: every kernel gets one uniform block `kp` of u32 words (`array<vec4<u32>, n>`, since
 * uniform arrays need 16-byte elements). The host packs words with `Params`; the shader reads
 * word i as `kp.w[i/4].xyzw[i%4]` with constant indices, bitcast to i32/f32 where needed. Word
 * positions are fixed by the kernel's signature (rank, operand count), so generated code and
 * packing code agree by construction and pipelines are cached per signature.
 *
 * Floating point: WGSL lets implementations assume no NaN/Inf, so NaN tests go through the bit
 * pattern (`k_isnan`) and ±Inf/NaN constants are made at run time from bits (a const-expression
 * that evaluates to Inf is a shader-creation error).
 */
import type { DType } from '@kindling/core';

/** The value type a kernel computes in: f32, i32, or bool (held as u32 0/1). */
export type Dt = 'f32' | 'i32' | 'bool';

export function dtOf(dtype: DType): Dt {
  return dtype === 'float32' ? 'f32' : dtype === 'int32' ? 'i32' : 'bool';
}

/**
 * `expr` (a value of type `from`) converted to `to` the way the CPU backend's typed-array stores
 * do: float → int truncates toward zero and wraps modulo 2^32 (JS ToInt32, NaN → 0), anything →
 * bool is `x != 0` (NaN → true, -0 → false), bool → number is 0/1.
 */
export function convert(expr: string, from: Dt, to: Dt): string {
  if (from === to) return expr;
  if (to === 'f32') return `f32(${expr})`;
  if (to === 'i32') return from === 'f32' ? `k_f2i(${expr})` : `i32(${expr})`;
  return from === 'f32' ? `k_f2b(${expr})` : `select(0u, 1u, ${expr} != ${from === 'i32' ? '0' : '0u'})`;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

export function f32Bits(v: number): number {
  f32Scratch[0] = v;
  return u32Scratch[0]!;
}

/** The u32 word holding a JS number as a value of type dt (scalar operands, fill values). */
export function valueBits(v: number, dt: Dt): number {
  if (dt === 'f32') return f32Bits(v);
  if (dt === 'i32') return toInt32(v) >>> 0;
  return v !== 0 ? 1 : 0; // NaN !== 0 → true, as the CPU backend's bool conversion
}

/** JS ToInt32 (what an Int32Array store does). */
const i32Scratch = new Int32Array(1);
export function toInt32(v: number): number {
  i32Scratch[0] = v;
  return i32Scratch[0]!;
}

// ---- the uniform parameter block ----

const LANES = ['x', 'y', 'z', 'w'];

/** u32 word i of the uniform block. */
export function pw(i: number): string {
  return `kp.w[${i >> 2}].${LANES[i & 3]}`;
}
/** Word i as i32. */
export function pi(i: number): string {
  return `bitcast<i32>(${pw(i)})`;
}
/** Word i as f32. */
export function pf(i: number): string {
  return `bitcast<f32>(${pw(i)})`;
}
/** Word i as a value of type dt. */
export function pv(i: number, dt: Dt): string {
  return dt === 'f32' ? pf(i) : dt === 'i32' ? pi(i) : pw(i);
}

/** Host side of the uniform block: u32 words appended in order. */
export class Params {
  readonly words: number[] = [];

  /** Appends a word; returns its index. */
  u32(v: number): number {
    this.words.push(v >>> 0);
    return this.words.length - 1;
  }
  i32(v: number): number {
    return this.u32(v | 0);
  }
  f32(v: number): number {
    return this.u32(f32Bits(v));
  }
  /** A value of type dt. */
  value(v: number, dt: Dt): number {
    return this.u32(valueBits(v, dt));
  }
  get length(): number {
    return this.words.length;
  }
}

// ---- strided index arithmetic ----

/**
 * Word layout of a strided walk over a collapsed shape of rank r with k operands, from word
 * `base`: numel, shape[0..r), then per operand: offset, strides[0..r). Returns the next free word.
 */
export function stridedWords(rank: number, operands: number): number {
  return 1 + rank + operands * (1 + rank);
}

export function packStrided(p: Params, shape: readonly number[], strides: readonly (readonly number[])[], offsets: readonly number[], numel: number): void {
  p.u32(numel);
  for (const s of shape) p.u32(s);
  for (let k = 0; k < strides.length; k++) {
    p.i32(offsets[k]!);
    for (const s of strides[k]!) p.i32(s);
  }
}

/** The numel word of a strided block starting at `base`. */
export function stridedNumel(base: number): string {
  return pw(base);
}

/**
 * WGSL statements that turn the flat row-major index `idx` (a u32 expression) into element
 * offsets `names[k]` (i32 `let`s) of each operand, for the strided block at `base`.
 */
export function stridedOffsets(base: number, rank: number, names: readonly string[], idx: string, tmp = 'sr'): string {
  const lines: string[] = [];
  const shapeW = (d: number): number => base + 1 + d;
  const offW = (k: number): number => base + 1 + rank + k * (1 + rank);
  const strideW = (k: number, d: number): number => offW(k) + 1 + d;
  if (rank === 0) {
    for (let k = 0; k < names.length; k++) lines.push(`let ${names[k]} = ${pi(offW(k))};`);
    return lines.join('\n  ');
  }
  for (let k = 0; k < names.length; k++) lines.push(`var ${names[k]} = ${pi(offW(k))};`);
  lines.push(`var ${tmp} = ${idx};`);
  for (let d = rank - 1; d >= 0; d--) {
    const c = `${tmp}_c${d}`;
    if (d > 0) {
      lines.push(`let ${c} = i32(${tmp} % ${pw(shapeW(d))}); ${tmp} = ${tmp} / ${pw(shapeW(d))};`);
    } else {
      lines.push(`let ${c} = i32(${tmp});`);
    }
    for (let k = 0; k < names.length; k++) lines.push(`${names[k]} += ${c} * ${pi(strideW(k, d))};`);
  }
  return lines.join('\n  ');
}

// ---- entry points ----

/**
 * Opening of a 1-d kernel: `gid` is the global invocation index over a grid of workgroups that
 * the engine folds into two dims when it exceeds 65,535 (so `gid` may run past the work: check it).
 */
export function entry1d(wg: number): string {
  return `@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let group = wid.x + wid.y * nwg.x;
  let gid = group * ${wg}u + lid;`;
}

// ---- scalar helpers, included in every shader ----

export const PRELUDE = /* wgsl */ `
fn k_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn k_inf() -> f32 { var b = 0x7f800000u; return bitcast<f32>(b); }
fn k_nan() -> f32 { var b = 0x7fc00000u; return bitcast<f32>(b); }
// x != 0 through the bits: NaN is true, -0 is false.
fn k_f2b(x: f32) -> u32 { return select(0u, 1u, (bitcast<u32>(x) & 0x7fffffffu) != 0u); }
// JS ToInt32: truncate toward zero, wrap modulo 2^32, NaN/Inf -> 0.
fn k_f2i(x: f32) -> i32 {
  let b = bitcast<u32>(x);
  let ex = (b >> 23u) & 0xffu;
  let e = i32(ex) - 150;
  if (e < 0) { return i32(x); }
  if (e >= 32 || ex == 0xffu) { return 0; }
  let r = bitcast<i32>(((b & 0x7fffffu) | 0x800000u) << u32(e));
  return select(r, -r, (b >> 31u) != 0u);
}
// Natural log of a positive finite x to ~1 ulp (Cephes logf): x = 2^e·f with f in [√½, √2),
// log f from a minimax polynomial in f − 1 (exact by Sterbenz), so log stays relatively accurate
// near 1 where a plain log loses digits.
fn k_logf(x0: f32) -> f32 {
  let fe = frexp(x0);
  var x = fe.fract;
  var e = f32(fe.exp);
  if (x < 0.70710678118654752) { e = e - 1.0; x = x + x - 1.0; } else { x = x - 1.0; }
  let z = x * x;
  var y = (((((((( 7.0376836292e-2 * x - 1.1514610310e-1) * x + 1.1676998740e-1) * x - 1.2420140846e-1) * x
    + 1.4249322787e-1) * x - 1.6668057665e-1) * x + 2.0000714765e-1) * x - 2.4999993993e-1) * x + 3.3333331174e-1) * x * z;
  y = y - 2.12194440e-4 * e;
  y = y - 0.5 * z;
  return (x + y) + 0.693359375 * e;
}
fn k_log(x: f32) -> f32 {
  if (k_isnan(x) || x < 0.0) { return k_nan(); }
  if (x == 0.0) { return -k_inf(); }
  if (x == k_inf()) { return x; }
  return k_logf(x);
}
fn k_sqrt(x: f32) -> f32 {
  if (k_isnan(x) || x < 0.0) { return k_nan(); }
  return sqrt(x);
}
// sin and cos to ~1 ulp for moderate |x| (WGSL's builtins only promise 2^-11 absolute): reduce to
// r = x - k·π/2 in [-π/4, π/4] with a three-part π/2 (Cody–Waite), then Cephes' sinf/cosf
// minimax polynomials, and pick by the quadrant k mod 4.
fn k_quadrant(x: f32) -> vec2<f32> {
  let k = round(x * 0.6366197723675814);
  let r = ((x - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;
  return vec2<f32>(r, k);
}
fn k_sin_poly(r: f32) -> f32 {
  let z = r * r;
  return r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
}
fn k_cos_poly(r: f32) -> f32 {
  let z = r * r;
  return 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
}
// sin(x + shift·π/2): cos is sin one quadrant on, so both share the reduction and the table.
fn k_sin_shifted(x: f32, shift: i32) -> f32 {
  if (k_isnan(x) || abs(x) == k_inf()) { return k_nan(); }
  let q = k_quadrant(x);
  let s = k_sin_poly(q.x);
  let c = k_cos_poly(q.x);
  let j = (i32(q.y) + shift) & 3;
  if (j == 0) { return s; }
  if (j == 1) { return c; }
  if (j == 2) { return -s; }
  return -c;
}
fn k_sin(x: f32) -> f32 { return k_sin_shifted(x, 0); }
fn k_cos(x: f32) -> f32 { return k_sin_shifted(x, 1); }
`;
