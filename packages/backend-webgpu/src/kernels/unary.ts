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
import type { UnaryOp, View } from '@kindling/core';
import type { WebGPUBuffer } from '../buffer.js';
import type { Engine } from '../engine.js';
import { collapseViews, numelOf } from '../strided.js';
import { Params, convert, dtOf, entry1d, packStrided, stridedNumel, stridedOffsets, type Dt } from '../wgsl.js';
import { materialize, sameWalk } from './copy.js';

/** Ops that stay integer on integer input (PyTorch keeps int dtype for these). */
const INT_CAPABLE: ReadonlySet<UnaryOp> = new Set(['neg', 'abs', 'sign', 'relu', 'square', 'floor', 'ceil', 'round']);

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

/** The WGSL expression of `op` on the value `x` of compute type dt. */
function unaryExpr(op: UnaryOp, x: string, dt: Dt): string {
  if (dt === 'i32') {
    switch (op) {
      case 'neg': return `-${x}`;
      case 'abs': return `abs(${x})`;
      case 'sign': return `(select(0, 1, ${x} > 0) - select(0, 1, ${x} < 0))`;
      case 'relu': return `max(${x}, 0)`;
      case 'square': return `(${x} * ${x})`;
      case 'floor': case 'ceil': case 'round': return x;
      default: throw new Error(`unary: '${op}' has no integer form`);
    }
  }
  switch (op) {
    case 'neg': return `-${x}`;
    case 'abs': return `abs(${x})`;
    case 'sign': return `(select(0.0, 1.0, ${x} > 0.0) - select(0.0, 1.0, ${x} < 0.0))`;
    case 'exp': return `exp(${x})`;
    case 'log': return `k_log(${x})`;
    case 'sqrt': return `k_sqrt(${x})`;
    case 'rsqrt': return `(1.0 / k_sqrt(${x}))`;
    case 'reciprocal': return `(1.0 / ${x})`;
    case 'square': return `(${x} * ${x})`;
    case 'sin': return `k_sin(${x})`;
    case 'cos': return `k_cos(${x})`;
    case 'tanh': return `k_tanh(${x})`;
    case 'sigmoid': return `k_sigmoid(${x})`;
    // x <= 0 gives +0 for -0 too; NaN fails the test and passes through.
    case 'relu': return `select(${x}, 0.0, ${x} <= 0.0)`;
    case 'erf': return `k_erf(${x})`;
    case 'floor': return `floor(${x})`;
    case 'ceil': return `ceil(${x})`;
    case 'round': return `round(${x})`; // WGSL round is half-to-even, like torch.round
    default: throw new Error(`unary: unknown op '${String(op)}'`);
  }
}

export function unary(e: Engine, op: UnaryOp, x: View, out: View): void {
  const n = numelOf(out.shape);
  if (n === 0) return;
  if ((x.buffer as WebGPUBuffer).gpu === (out.buffer as WebGPUBuffer).gpu && !sameWalk(x, out)) x = materialize(e, x);
  const L = collapseViews(out.shape, [x, out], 'unary');
  const r = L.shape.length;
  const from = dtOf(x.dtype);
  const to = dtOf(out.dtype);
  // Integer math for the int-preserving ops on integer input, else f32.
  const ct: Dt = op === 'logicalNot' ? from : from !== 'f32' && INT_CAPABLE.has(op) ? 'i32' : 'f32';
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
      const result = op === 'logicalNot' ? convert(`(${convert('xv', ct, 'bool')} ^ 1u)`, 'bool', to) : convert(unaryExpr(op, 'xv', ct), ct, to);
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
