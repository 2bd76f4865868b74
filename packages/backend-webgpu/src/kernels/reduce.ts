/**
 * Reductions over the trailing `reduceDims` dims: x.shape = [...out.shape, ...reduced].
 *
 * Both the kept and the reduced dims are collapsed on the host, so the shader walks a
 * reduced extent of R elements whose flat index j is the row-major index argmax/argmin report.
 * Two shapes of kernel (useRowMode picks):
 *  - one thread per output element looping over R (short extents, or many outputs): f32 sums use
 *    Kahan compensation, so a long sequential sum stays as accurate as a tree;
 *  - one workgroup per output element (long extents, few outputs): each thread strides over R,
 *    then a tree reduction in workgroup memory combines the partials.
 *
 * Semantics (PyTorch's, the CPU backend's): max/min propagate NaN; argmax/argmin take the first
 * occurrence on ties and the first NaN (partials carry their index, and a tie keeps the smaller);
 * empty reductions give 0 for sum and ∓Infinity for max/min.
 */
import type { ReduceOp, View } from '@kindling/core';
import type { WebGPUBuffer } from '../buffer.js';
import type { Engine } from '../engine.js';
import { collapse, contiguousStrides, isContiguousView, numelOf } from '../strided.js';
import { Params, convert, dtOf, entry1d, packStrided, pw, stridedOffsets, stridedWords, type Dt } from '../wgsl.js';

/**
 * Whether to give each output element a workgroup: for long extents with too few outputs to keep
 * the device busy one thread each. On CPU implementations of WebGPU (barriers are expensive, and
 * a workgroup only buys SIMD lanes) only for a handful of outputs over a very long extent.
 */
export function useRowMode(e: Engine, numOut: number, R: number): boolean {
  if (e.isSoftware) return numOut < 8 && R >= 4096;
  return R >= 256 && numOut < 16384;
}

/** WGSL for one reduction: the accumulator declaration, the per-element step, and the combine of two partials. */
interface Reduction { acc: string; step: (v: string, j: string) => string; combineInto: (a: string, b: string) => string; result: string; resultDt: Dt }

function extremum(op: 'max' | 'min', dt: Dt): Reduction {
  const f = dt === 'f32';
  const fn = op;
  const init = f ? (op === 'max' ? '-k_inf()' : 'k_inf()') : op === 'max' ? 'i32(-2147483647 - 1)' : 'i32(2147483647)';
  const comb = f
    ? (a: string, b: string): string => `if (!k_isnan(${a})) { if (k_isnan(${b})) { ${a} = ${b}; } else { ${a} = ${fn}(${a}, ${b}); } }`
    : (a: string, b: string): string => `${a} = ${fn}(${a}, ${b});`;
  return { acc: `var acc: ${f ? 'f32' : 'i32'} = ${init};`, step: (v) => comb('acc', v), combineInto: comb, result: 'acc', resultDt: f ? 'f32' : 'i32' };
}

function argExtremum(op: 'argmax' | 'argmin', dt: Dt): Reduction {
  const f = dt === 'f32';
  const gt = op === 'argmax' ? '>' : '<';
  const init = f ? (op === 'argmax' ? '-k_inf()' : 'k_inf()') : op === 'argmax' ? 'i32(-2147483647 - 1)' : 'i32(2147483647)';
  // (vb, ib) replaces (va, ia) when it is NaN first, or strictly better, or equal with a smaller index.
  const better = f
    ? (va: string, ia: string, vb: string, ib: string): string =>
        `(select(select(${vb} ${gt} ${va} || (${vb} == ${va} && ${ib} < ${ia}), true, k_isnan(${vb})), k_isnan(${vb}) && ${ib} < ${ia}, k_isnan(${va})))`
    : (va: string, ia: string, vb: string, ib: string): string => `(${vb} ${gt} ${va} || (${vb} == ${va} && ${ib} < ${ia}))`;
  return {
    acc: `var acc: ${f ? 'f32' : 'i32'} = ${init};\n  var accI = 0xffffffffu;`,
    step: (v, j) => `{ let vv = ${v}; if (${better('acc', 'accI', 'vv', j)}) { acc = vv; accI = ${j}; } }`,
    combineInto: (a, b) =>
      `if (${better(a, `${a}I`, b, `${b}I`)}) { ${a} = ${b}; ${a}I = ${b}I; }`,
    result: 'i32(select(accI, 0u, accI == 0xffffffffu))',
    resultDt: 'i32',
  };
}

/** Every reduce op of core's table; one added there without WGSL here does not compile. */
export const REDUCTIONS = {
  sum: (dt) =>
    dt === 'f32'
      ? {
          acc: 'var acc = 0.0;\n  var comp = 0.0;',
          // Kahan: comp carries the low bits lost by the previous add (reset once the sum is not finite).
          step: (v) => `{ let y = ${v} - comp; let t = acc + y; comp = select((t - acc) - y, 0.0, (bitcast<u32>(t) & 0x7f800000u) == 0x7f800000u); acc = t; }`,
          combineInto: (a, b) => `${a} = ${a} + ${b};`,
          result: 'acc',
          resultDt: 'f32',
        }
      : { acc: 'var acc = 0;', step: (v) => `acc = acc + ${v};`, combineInto: (a, b) => `${a} = ${a} + ${b};`, result: 'acc', resultDt: 'i32' },
  max: (dt) => extremum('max', dt),
  min: (dt) => extremum('min', dt),
  argmax: (dt) => argExtremum('argmax', dt),
  argmin: (dt) => argExtremum('argmin', dt),
} satisfies Record<ReduceOp, (dt: Dt) => Reduction>;

function reduction(op: ReduceOp, dt: Dt): Reduction {
  return REDUCTIONS[op](dt);
}

export function reduce(e: Engine, op: ReduceOp, x: View, reduceDims: number, out: View): void {
  const keep = x.shape.length - reduceDims;
  const outShape = x.shape.slice(0, keep);
  let outStrides: readonly number[];
  if (out.shape.length === keep) outStrides = out.strides;
  else if (isContiguousView(out) && numelOf(out.shape) === numelOf(outShape)) outStrides = contiguousStrides(outShape);
  else throw new Error(`reduce: out shape [${out.shape.join(',')}] does not match the kept dims [${outShape.join(',')}] of x`);
  const numOut = numelOf(outShape);
  if (numOut === 0) return;
  const outer = collapse(outShape, [x.strides.slice(0, keep), outStrides], [x.offset, out.offset], 'reduce');
  const inner = collapse(x.shape.slice(keep), [x.strides.slice(keep)], [0], 'reduce');
  const R = inner.numel;
  const ro = outer.shape.length;
  const ri = inner.shape.length;
  const p = new Params();
  packStrided(p, outer.shape, outer.strides, outer.offsets, numOut);
  const innerBase = p.length;
  packStrided(p, inner.shape, inner.strides, inner.offsets, R);
  if (innerBase !== stridedWords(ro, 2)) throw new Error('reduce: parameter layout mismatch');
  const xdt = dtOf(x.dtype);
  const dt: Dt = xdt === 'f32' ? 'f32' : 'i32';
  const to = dtOf(out.dtype);
  const red = reduction(op, dt);
  const rowMode = useRowMode(e, numOut, R);
  const wg = e.wg;
  const load = (xs: string): string => convert(`${xs}[ox + oj]`, xdt, dt);
  const isArg = op === 'argmax' || op === 'argmin';
  const bindings = [
    { name: 'x', buffer: x.buffer as WebGPUBuffer },
    { name: 'out', buffer: out.buffer as WebGPUBuffer, write: true },
  ];
  const Rw = pw(innerBase);
  if (!rowMode) {
    e.run({
      key: `reduce:${op}:${xdt}>${to}:r${ro},${ri}:thread`,
      bindings,
      params: p,
      groups: Math.ceil(numOut / wg),
      source: (v) => `${entry1d(wg)}
  if (gid >= ${pw(0)}) { return; }
  ${stridedOffsets(0, ro, ['ox', 'oo'], 'gid')}
  ${red.acc}
  for (var j = 0u; j < ${Rw}; j = j + 1u) {
    ${stridedOffsets(innerBase, ri, ['oj'], 'j', 'si')}
    ${red.step(load(v.x), 'j')}
  }
  ${v.out}[oo] = ${convert(red.result, red.resultDt, to)};
}`,
    });
    return;
  }
  const vt = dt === 'f32' ? 'f32' : 'i32';
  e.run({
    key: `reduce:${op}:${xdt}>${to}:r${ro},${ri}:row${wg}`,
    bindings,
    params: p,
    groups: numOut,
    source: (v) => `var<workgroup> shv: array<${vt}, ${wg}>;
${isArg ? `var<workgroup> shi: array<u32, ${wg}>;` : ''}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= ${pw(0)}) { return; }
  ${stridedOffsets(0, ro, ['ox', 'oo'], 'row')}
  ${red.acc}
  for (var j = lid; j < ${Rw}; j = j + ${wg}u) {
    ${stridedOffsets(innerBase, ri, ['oj'], 'j', 'si')}
    ${red.step(load(v.x), 'j')}
  }
  shv[lid] = acc;
  ${isArg ? 'shi[lid] = accI;' : ''}
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      var a = shv[lid];
      let b = shv[lid + s];
      ${isArg ? 'var aI = shi[lid];\n      let bI = shi[lid + s];' : ''}
      ${red.combineInto('a', 'b')}
      shv[lid] = a;
      ${isArg ? 'shi[lid] = aI;' : ''}
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let acc = shv[0];
    ${isArg ? 'let accI = shi[0];' : ''}
    ${v.out}[oo] = ${convert(red.result, red.resultDt, to)};
  }
}`,
  });
}
