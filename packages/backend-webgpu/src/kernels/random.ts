/**
 * Philox-4x32-10 random numbers, following core's reference mapping (philox.ts) bit for bit:
 * element i of the output draws from block (counter + floor(i / 4)) for uniform, (counter +
 * floor(i / 2)) for normal, lane i % 4 (pairs for Box–Muller), under `key`. One invocation
 * computes one block and writes its 4 uniforms (or 2 normals).
 *
 * WGSL has no 64-bit multiply, so the high word of the 32×32 products is built from 16-bit limbs
 * (`k_mulhi`); the low word is the wrapping u32 product. The 64-bit block counter is carried as
 * two u32 words with an explicit carry. Uniforms are (w >>> 8)·2^-24, exact in f32, so they match
 * the CPU backend bit for bit. Normals use f32 log/cos/sqrt where the CPU backend uses float64
 * before rounding, so they agree to a few ulps, not bitwise (log and cos are k_logf and k_cos, see wgsl.ts).
 *
 * A strided output gets draw i at its logical (row-major) element i, as on the CPU backend.
 */
import type { View } from '@kindling/core';
import type { WebGPUBuffer } from '../buffer.js';
import type { Engine } from '../engine.js';
import { collapseViews, numelOf } from '../strided.js';
import { Params, convert, dtOf, entry1d, packStrided, pw, stridedOffsets } from '../wgsl.js';

export const PHILOX_WGSL = /* wgsl */ `
// High 32 bits of a 32x32-bit product, from 16-bit limbs (no partial sum overflows u32).
fn k_mulhi(a: u32, b: u32) -> u32 {
  let al = a & 0xffffu;
  let ah = a >> 16u;
  let bl = b & 0xffffu;
  let bh = b >> 16u;
  let ll = al * bl;
  let lh = al * bh;
  let hl = ah * bl;
  let hh = ah * bh;
  let cross = (ll >> 16u) + (lh & 0xffffu) + hl;
  return hh + (lh >> 16u) + (cross >> 16u);
}
fn k_philox(c0_: u32, c1_: u32, k0_: u32, k1_: u32) -> vec4<u32> {
  var c0 = c0_;
  var c1 = c1_;
  var c2 = 0u;
  var c3 = 0u;
  var k0 = k0_;
  var k1 = k1_;
  for (var r = 0u; r < 10u; r = r + 1u) {
    if (r > 0u) {
      k0 = k0 + 0x9e3779b9u;
      k1 = k1 + 0xbb67ae85u;
    }
    let hi0 = k_mulhi(0xd2511f53u, c0);
    let lo0 = 0xd2511f53u * c0;
    let hi1 = k_mulhi(0xcd9e8d57u, c2);
    let lo1 = 0xcd9e8d57u * c2;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  return vec4<u32>(c0, c1, c2, c3);
}
`;

export function random(e: Engine, dist: 'uniform' | 'normal', key: readonly [number, number], counter: number, out: View): void {
  const n = numelOf(out.shape);
  if (n === 0) return;
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError(`random: counter must be a non-negative safe integer, got ${counter}`);
  const L = collapseViews(out.shape, [out], 'random');
  const r = L.shape.length;
  const perBlock = dist === 'uniform' ? 4 : 2;
  const blocks = Math.ceil(n / perBlock);
  const p = new Params();
  packStrided(p, L.shape, L.strides, L.offsets, L.numel);
  const wKey0 = p.u32(key[0] >>> 0);
  const wKey1 = p.u32(key[1] >>> 0);
  const wCtrLo = p.u32(counter % 4294967296);
  const wCtrHi = p.u32(Math.floor(counter / 4294967296));
  const wBlocks = p.u32(blocks);
  const to = dtOf(out.dtype);
  const wg = e.wg;
  // Element i's offset in the (possibly strided) output.
  const offsetFn = `fn outOffset(i: u32) -> i32 {
  ${stridedOffsets(0, r, ['o'], 'i')}
  return o;
}`;
  e.run({
    key: `random:${dist}>${to}:r${r}`,
    bindings: [{ name: 'out', buffer: out.buffer as WebGPUBuffer, write: true }],
    params: p,
    groups: Math.ceil(blocks / wg),
    source: (v) => `${PHILOX_WGSL}
${offsetFn}
${entry1d(wg)}
  if (gid >= ${pw(wBlocks)}) { return; }
  let lo = ${pw(wCtrLo)} + gid;
  let hi = ${pw(wCtrHi)} + select(0u, 1u, lo < gid);
  let w = k_philox(lo, hi, ${pw(wKey0)}, ${pw(wKey1)});
  let n = ${pw(0)};
  ${dist === 'uniform'
    ? `for (var l = 0u; l < 4u; l = l + 1u) {
    let i = gid * 4u + l;
    if (i < n) { ${v.out}[outOffset(i)] = ${convert('f32(w[l] >> 8u) * 5.9604644775390625e-8', 'f32', to)}; }
  }`
    : `for (var j = 0u; j < 2u; j = j + 1u) {
    let i = gid * 2u + j;
    if (i < n) {
      let u1 = f32((w[2u * j] >> 8u) + 1u) * 5.9604644775390625e-8;
      let u2 = f32(w[2u * j + 1u] >> 8u) * 5.9604644775390625e-8;
      let z = sqrt(-2.0 * k_logf(u1)) * k_cos(6.283185307179586 * u2);
      ${v.out}[outOffset(i)] = ${convert('z', 'f32', to)};
    }
  }`}
}`,
  });
}
