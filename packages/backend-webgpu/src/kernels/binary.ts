/**
 * Elementwise binary ops over broadcast strided operands (stride 0 on broadcast dims, as core
 * hands them) or scalar constants, which travel in the uniform block instead of a buffer.
 *
 * Compute type: f32 when the output is float32, an operand is float32, a scalar is fractional,
 * or the op is div (true division); else i32, whose add/sub/mul wrap like the CPU backend's
 * (two's complement) and whose pow is integer exponentiation by squaring. Comparisons and
 * logicalAnd/Or write bool (u32 0/1). NaN is tested through bit patterns, so maximum/minimum
 * propagate NaN and comparisons with NaN are false (ne true) whatever the driver assumes.
 */
import { COMPARISON_OPS, type BinaryOp, type Operand, type View } from '@kindling/core';
import type { WebGPUBuffer } from '../buffer.js';
import type { Engine } from '../engine.js';
import { collapseViews, numelOf } from '../strided.js';
import { Params, convert, dtOf, entry1d, packStrided, pv, stridedNumel, stridedOffsets, type Dt } from '../wgsl.js';
import { materialize, sameWalk } from './copy.js';

export const BINARY_HELPERS = /* wgsl */ `
fn k_maximum(a: f32, b: f32) -> f32 {
  if (k_isnan(a)) { return a; }
  if (k_isnan(b)) { return b; }
  return max(a, b);
}
fn k_minimum(a: f32, b: f32) -> f32 {
  if (k_isnan(a)) { return a; }
  if (k_isnan(b)) { return b; }
  return min(a, b);
}
// C's pow (PyTorch's): negative bases need an integral exponent, zero and infinite cases explicit.
fn k_pow(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (k_isnan(x) || k_isnan(y)) { return k_nan(); }
  if (y == 1.0) { return x; }
  if (y == 2.0) { return x * x; }
  if (y == 3.0) { return x * x * x; }
  if (y == -1.0) { return 1.0 / x; }
  if (y == 0.5 && x >= 0.0) { return sqrt(x); }
  let inf = k_inf();
  let ax = abs(x);
  let ay = abs(y);
  if (ay == inf) {
    if (ax == 1.0) { return 1.0; }
    return select(0.0, inf, (ax > 1.0) == (y > 0.0));
  }
  let yInt = floor(y) == y;
  let odd = yInt && ay < 16777216.0 && (i32(ay) & 1) == 1;
  var mag: f32;
  if (ax == 0.0) {
    mag = select(inf, 0.0, y > 0.0);
  } else if (ax == inf) {
    mag = select(0.0, inf, y > 0.0);
  } else {
    mag = exp2(y * log2(ax));
  }
  // Sign: only a negative (or -0) base with an odd integral exponent gives a negative result; a
  // finite negative base with a fractional exponent is NaN (±0 and -inf bases never are).
  if ((bitcast<u32>(x) >> 31u) == 1u) {
    if (!yInt) { return select(mag, k_nan(), ax != 0.0 && ax != inf); }
    return select(mag, -mag, odd);
  }
  return mag;
}
// Integer power with wrap-around, as C integer pow: negative exponents give 0 except for bases ±1.
fn k_ipow(base: i32, e: i32) -> i32 {
  if (e < 0) {
    if (base == 1) { return 1; }
    if (base == -1) { return select(-1, 1, (e & 1) == 0); }
    return 0;
  }
  var r = 1;
  var b = base;
  var k = e;
  loop {
    if (k == 0) { break; }
    if ((k & 1) == 1) { r = r * b; }
    b = b * b;
    k = k >> 1u;
  }
  return r;
}
`;

function cmp(expr: string, a: string, b: string, dt: Dt): string {
  if (dt !== 'f32') return `select(0u, 1u, ${expr})`;
  return `select(0u, 1u, !(k_isnan(${a}) || k_isnan(${b})) && ${expr})`;
}

type Expr = (a: string, b: string, dt: Dt) => string;

/** logicalAnd/logicalOr on operands read as bool (u32 0/1). */
export const LOGICAL_EXPR = {
  logicalAnd: (a, b) => `(${a} & ${b})`,
  logicalOr: (a, b) => `(${a} | ${b})`,
} satisfies Record<'logicalAnd' | 'logicalOr', (a: string, b: string) => string>;
type LogicalOp = keyof typeof LOGICAL_EXPR;

/**
 * The WGSL expression of every other op on a and b of compute type dt; comparisons give u32 0/1.
 * With LOGICAL_EXPR it covers core's BinaryOp: an op added to the table without WGSL does not compile.
 */
export const VALUE_EXPR = {
  add: (a, b) => `(${a} + ${b})`,
  sub: (a, b) => `(${a} - ${b})`,
  mul: (a, b) => `(${a} * ${b})`,
  div: (a, b) => `(${a} / ${b})`,
  pow: (a, b, dt) => (dt === 'f32' ? `k_pow(${a}, ${b})` : `k_ipow(${a}, ${b})`),
  maximum: (a, b, dt) => (dt === 'f32' ? `k_maximum(${a}, ${b})` : `max(${a}, ${b})`),
  minimum: (a, b, dt) => (dt === 'f32' ? `k_minimum(${a}, ${b})` : `min(${a}, ${b})`),
  eq: (a, b, dt) => cmp(`${a} == ${b}`, a, b, dt),
  ne: (a, b, dt) => (dt === 'f32' ? `select(0u, 1u, k_isnan(${a}) || k_isnan(${b}) || ${a} != ${b})` : `select(0u, 1u, ${a} != ${b})`),
  lt: (a, b, dt) => cmp(`${a} < ${b}`, a, b, dt),
  le: (a, b, dt) => cmp(`${a} <= ${b}`, a, b, dt),
  gt: (a, b, dt) => cmp(`${a} > ${b}`, a, b, dt),
  ge: (a, b, dt) => cmp(`${a} >= ${b}`, a, b, dt),
} satisfies Record<Exclude<BinaryOp, LogicalOp>, Expr>;

const isLogical = (op: BinaryOp): op is LogicalOp => op in LOGICAL_EXPR;

export interface OperandPlan {
  /** The operand's value as a WGSL expression of its own type (after the offsets are computed). */
  load: (names: Record<string, string>) => string;
  dt: Dt;
  keyPart: string;
}

/**
 * Lays out a mix of view and scalar operands plus the output for one elementwise kernel: views
 * become bindings with strided offsets (`o<name>`), scalars words in the uniform block.
 * Inputs that share the output's buffer but walk it differently are copied first (race-free).
 */
export function planElementwise(
  e: Engine, op: string, inputs: { name: string; x: Operand }[], out: View, scalarDt: Dt,
): { params: Params; rank: number; plans: OperandPlan[]; bindings: { name: string; buffer: WebGPUBuffer; write?: boolean }[]; offsets: string } {
  const outBuf = out.buffer as WebGPUBuffer;
  const views: View[] = [];
  const viewNames: string[] = [];
  for (const inp of inputs) {
    if (typeof inp.x === 'number') continue;
    let v = inp.x;
    if ((v.buffer as WebGPUBuffer).gpu === outBuf.gpu && !sameWalk(v, out)) v = materialize(e, v);
    inp.x = v;
    views.push(v);
    viewNames.push(inp.name);
  }
  views.push(out);
  viewNames.push('out');
  const L = collapseViews(out.shape, views, op);
  const rank = L.shape.length;
  const params = new Params();
  packStrided(params, L.shape, L.strides, L.offsets, L.numel);
  const plans: OperandPlan[] = inputs.map((inp) => {
    if (typeof inp.x === 'number') {
      const w = params.value(inp.x, scalarDt);
      return { load: () => pv(w, scalarDt), dt: scalarDt, keyPart: `s${scalarDt}` };
    }
    const dt = dtOf(inp.x.dtype);
    const name = inp.name;
    return { load: (v) => `${v[name]}[o${name}]`, dt, keyPart: `v${dt}` };
  });
  const bindings = [
    ...inputs.filter((i) => typeof i.x !== 'number').map((i) => ({ name: i.name, buffer: (i.x as View).buffer as WebGPUBuffer })),
    { name: 'out', buffer: outBuf, write: true },
  ];
  const offsets = stridedOffsets(0, rank, viewNames.map((n) => `o${n}`), 'gid');
  return { params, rank, plans, bindings, offsets };
}

export function binary(e: Engine, op: BinaryOp, a: Operand, b: Operand, out: View): void {
  const n = numelOf(out.shape);
  if (n === 0) return;
  const to = dtOf(out.dtype);
  const isCmp = COMPARISON_OPS.has(op);
  const isFloat = (x: Operand): boolean => (typeof x === 'number' ? !Number.isInteger(x) : x.dtype === 'float32');
  const ct: Dt = op === 'div' || isFloat(a) || isFloat(b) || (to === 'f32' && !isCmp) ? 'f32' : 'i32';
  // Scalars travel in the compute type (logical ops only test them against zero, which f32 keeps).
  const plan = planElementwise(e, 'binary', [{ name: 'a', x: a }, { name: 'b', x: b }], out, isLogical(op) ? 'f32' : ct);
  const [pa, pb] = plan.plans as [OperandPlan, OperandPlan];
  const wg = e.wg;
  e.run({
    key: `binary:${op}:${pa.keyPart},${pb.keyPart}>${to}:r${plan.rank}`,
    bindings: plan.bindings,
    params: plan.params,
    groups: Math.ceil(n / wg),
    source: (v) => {
      let result: string;
      if (isLogical(op)) {
        result = convert(LOGICAL_EXPR[op](convert('av', pa.dt, 'bool'), convert('bv', pb.dt, 'bool')), 'bool', to);
      } else {
        const expr = VALUE_EXPR[op](convert('av', pa.dt, ct), convert('bv', pb.dt, ct), ct);
        result = isCmp ? convert(expr, 'bool', to) : convert(expr, ct, to);
      }
      return `${BINARY_HELPERS}
${entry1d(wg)}
  if (gid >= ${stridedNumel(0)}) { return; }
  ${plan.offsets}
  let av = ${pa.load(v)};
  let bv = ${pb.load(v)};
  ${v.out}[oout] = ${result};
}`;
    },
  });
}
