/**
 * Elementwise unary ops over a strided input, with the CPU backend's (PyTorch's) semantics:
 * relu(NaN) = NaN, sign(NaN) = 0, round half to even, log/sqrt of negatives NaN, sigmoid without
 * overflow, and erf by the same Taylor / Chebyshev-erfc split as the CPU backend.
 *
 * Computation is f32 (i32 for the integer-preserving ops on int32/bool inputs). WGSL's builtins
 * leave some inputs undefined or inaccurate, so: log/sqrt handle x <= 0 explicitly; tanh is
 * clamped (SwiftShader's tanh returns NaN past |x| ≈ 44); sin/cos are our own (k_sin/k_cos in
 * wgsl.ts), since WGSL only bounds the builtins' absolute error by 2^-11 and SwiftShader's are
 * off by ~2e-5.
 */
import { INT_PRESERVING, type IntPreservingOp, type UnaryOp, type View } from '@kindling/core';
import type { WebGPUBuffer } from '../buffer.js';
import type { Engine } from '../engine.js';
import { collapseViews, numelOf } from '../strided.js';
import { Params, convert, dtOf, entry1d, packStrided, stridedNumel, stridedOffsets, type Dt } from '../wgsl.js';
import { materialize, sameWalk } from './copy.js';

/** WGSL helper functions for the float ops that need more than one builtin. */
export const UNARY_HELPERS = /* wgsl */ `
fn k_sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
fn k_tanh(x: f32) -> f32 {
  // tanh(9) rounds to 1 in f32; clamping keeps exp-based builtins from overflowing to NaN.
  return tanh(clamp(x, -9.0, 9.0));
}
fn k_erf(x: f32) -> f32 {
  let ax = abs(x);
  if (ax < 1.0) {
    // Taylor series of erf, 13 terms (the 14th is below 1e-11 for |x| < 1), as the CPU backend.
    let z = x * x;
    var p = 9.422759064650411e-11;
    p = p * z - 1.2290555301717926e-09;
    p = p * z + 1.4807192815879218e-08;
    p = p * z - 1.6365844691234924e-07;
    p = p * z + 1.6462114365889246e-06;
    p = p * z - 1.492565035840625e-05;
    p = p * z + 0.00012055332981789664;
    p = p * z - 0.0008548327023450852;
    p = p * z + 0.005223977625442188;
    p = p * z - 0.026866170645131252;
    p = p * z + 0.11283791670955126;
    p = p * z - 0.37612638903183754;
    p = p * z + 1.1283791670955126;
    return x * p;
  }
  if (k_isnan(x)) { return x; }
  // Numerical Recipes' erfcc (relative error < 1.2e-7).
  let t = 1.0 / (1.0 + 0.5 * ax);
  let erfc = t * exp(-ax * ax - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  let r = 1.0 - erfc;
  return select(r, -r, x < 0.0);
}
`;

type Expr = (x: string) => string;

/** logicalNot reads its input as bool (any dtype) and writes bool: (x != 0) ^ 1. */
export const BOOL_EXPR = {
  logicalNot: (b) => `(${b} ^ 1u)`,
} satisfies Record<'logicalNot', Expr>;

/**
 * The WGSL expression of every other op on an f32 value. With BOOL_EXPR it covers core's UnaryOp:
 * an op added to the table without WGSL here does not compile.
 */
export const F32_EXPR = {
  neg: (x) => `-${x}`,
  abs: (x) => `abs(${x})`,
  sign: (x) => `(select(0.0, 1.0, ${x} > 0.0) - select(0.0, 1.0, ${x} < 0.0))`,
  exp: (x) => `exp(${x})`,
  log: (x) => `k_log(${x})`,
  sqrt: (x) => `k_sqrt(${x})`,
  rsqrt: (x) => `(1.0 / k_sqrt(${x}))`,
  reciprocal: (x) => `(1.0 / ${x})`,
  square: (x) => `(${x} * ${x})`,
  sin: (x) => `k_sin(${x})`,
  cos: (x) => `k_cos(${x})`,
  tanh: (x) => `k_tanh(${x})`,
  sigmoid: (x) => `k_sigmoid(${x})`,
  // x <= 0 gives +0 for -0 too; NaN fails the test and passes through.
  relu: (x) => `select(${x}, 0.0, ${x} <= 0.0)`,
  erf: (x) => `k_erf(${x})`,
  floor: (x) => `floor(${x})`,
  ceil: (x) => `ceil(${x})`,
  round: (x) => `round(${x})`, // WGSL round is half-to-even, like torch.round
} satisfies Record<Exclude<UnaryOp, keyof typeof BOOL_EXPR>, Expr>;

/** The i32 form of each int-preserving op (core's table says which keep an int dtype). */
const I32_EXPR = {
  neg: (x) => `-${x}`,
  abs: (x) => `abs(${x})`,
  sign: (x) => `(select(0, 1, ${x} > 0) - select(0, 1, ${x} < 0))`,
  relu: (x) => `max(${x}, 0)`,
  square: (x) => `(${x} * ${x})`,
  floor: (x) => x,
  ceil: (x) => x,
  round: (x) => x,
} satisfies Record<IntPreservingOp, Expr>;

export function unary(e: Engine, op: UnaryOp, x: View, out: View): void {
  const n = numelOf(out.shape);
  if (n === 0) return;
  if ((x.buffer as WebGPUBuffer).gpu === (out.buffer as WebGPUBuffer).gpu && !sameWalk(x, out)) x = materialize(e, x);
  const L = collapseViews(out.shape, [x, out], 'unary');
  const r = L.shape.length;
  const from = dtOf(x.dtype);
  const to = dtOf(out.dtype);
  // Integer math for the int-preserving ops on integer input, else f32.
  const intOp = from !== 'f32' && INT_PRESERVING.has(op) ? (op as IntPreservingOp) : null;
  const ct: Dt = op === 'logicalNot' ? from : intOp ? 'i32' : 'f32';
  const p = new Params();
  packStrided(p, L.shape, L.strides, L.offsets, L.numel);
  const wg = e.wg;
  e.run({
    key: `unary:${op}:${from}>${to}:r${r}`,
    bindings: [
      { name: 'x', buffer: x.buffer as WebGPUBuffer },
      { name: 'out', buffer: out.buffer as WebGPUBuffer, write: true },
    ],
    params: p,
    groups: Math.ceil(n / wg),
    source: (v) => {
      // logicalNot: (x == 0) as bool; the rest compute in ct and convert on store.
      const result = op === 'logicalNot'
        ? convert(BOOL_EXPR[op](convert('xv', ct, 'bool')), 'bool', to)
        : convert(intOp ? I32_EXPR[intOp]('xv') : F32_EXPR[op]('xv'), ct, to);
      return `${UNARY_HELPERS}
${entry1d(wg)}
  if (gid >= ${stridedNumel(0)}) { return; }
  ${stridedOffsets(0, r, ['ox', 'oo'], 'gid')}
  let xv = ${convert(`${v.x}[ox]`, from, ct)};
  ${v.out}[oo] = ${result};
}`;
    },
  });
}
