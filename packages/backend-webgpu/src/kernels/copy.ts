/**
 * Data movement: strided copy with dtype conversion, fill, and accumulate (copy's adjoint), plus
 * the helpers other kernel files use to get contiguous or non-aliased operands.
 *
 * accumulate into a self-overlapping view (col2im through asStrided windows, pooling grads in
 * core's reference decompositions) must let every add land. WGSL has atomics only for integers,
 * so when the destination may overlap itself (`isNonOverlapping` says no) float adds go through
 * a compare-exchange loop on the u32 bit pattern (`atomic<u32>`), int32 through atomicAdd and
 * bool through atomicOr. The order of the float adds is then up to the hardware, so the last bit
 * may differ between runs; the fused conv/pool backward kernels avoid this by gathering instead
 * (each output element sums the windows that touch it), which is deterministic.
 * A destination that cannot overlap itself takes a plain read-modify-write per element.
 */
import type { View } from '@kindling/core';
import type { WebGPUBuffer } from '../buffer.js';
import type { Binding, Engine } from '../engine.js';
import { collapseViews, contiguousStrides, isContiguousView, isNonOverlapping, numelOf, type Layout } from '../strided.js';
import { Params, convert, dtOf, entry1d, packStrided, pw, stridedNumel, stridedOffsets, valueBits, type Dt } from '../wgsl.js';

function buf(v: View): WebGPUBuffer {
  return v.buffer as WebGPUBuffer;
}

/**
 * copy, fill, accumulate, gather, scatterAdd and the optimizer steps run the same kind of kernel:
 * one invocation per element of the collapsed walk L (its params first, as stridedNumel and
 * stridedOffsets read them), with each operand's element offset in the variable `offsets` names.
 * `kernel` may append params and gives the statements that differ.
 */
export function runPerElement(
  e: Engine, key: string, L: Layout, bindings: Binding[], offsets: string[],
  kernel: (p: Params) => (v: Record<string, string>) => string,
): void {
  const p = new Params();
  packStrided(p, L.shape, L.strides, L.offsets, L.numel);
  const stmt = kernel(p);
  const wg = e.wg;
  e.run({
    key,
    bindings,
    params: p,
    groups: Math.ceil(L.numel / wg),
    source: (v) => `${entry1d(wg)}
  if (gid >= ${stridedNumel(0)}) { return; }
  ${stridedOffsets(0, L.shape.length, offsets, 'gid')}
  ${stmt(v)}
}`,
  });
}

/** dst = cast(src) over equal shapes; any strides. */
export function copy(e: Engine, src: View, dst: View): void {
  const n = numelOf(dst.shape);
  if (n === 0) return;
  if (src.dtype === dst.dtype && buf(src).gpu !== buf(dst).gpu && isContiguousView(src) && isContiguousView(dst)) {
    e.copyBytes(buf(src).gpu, src.offset * 4, buf(dst).gpu, dst.offset * 4, n * 4);
    return;
  }
  if (buf(src).gpu === buf(dst).gpu && !sameWalk(src, dst)) src = materialize(e, src);
  const L = collapseViews(dst.shape, [src, dst], 'copy');
  const from = dtOf(src.dtype);
  const to = dtOf(dst.dtype);
  const bindings: Binding[] = [
    { name: 'src', buffer: buf(src) },
    { name: 'dst', buffer: buf(dst), write: true },
  ];
  runPerElement(e, `copy:${from}>${to}:r${L.shape.length}`, L, bindings, ['os', 'od'], () => (v) => `${v.dst}[od] = ${convert(`${v.src}[os]`, from, to)};`);
}

/** Writes `value` (cast to dst's dtype) into every element of the view. */
export function fill(e: Engine, dst: View, value: number): void {
  const n = numelOf(dst.shape);
  if (n === 0) return;
  const bits = valueBits(value, dtOf(dst.dtype));
  if (bits === 0 && isContiguousView(dst)) {
    e.clearBytes(buf(dst).gpu, dst.offset * 4, n * 4);
    return;
  }
  const L = collapseViews(dst.shape, [dst], 'fill');
  runPerElement(e, `fill:r${L.shape.length}`, L, [{ name: 'dst', buffer: buf(dst), write: true, type: 'u32' }], ['od'], (p) => {
    const vw = p.u32(bits);
    return (v) => `${v.dst}[od] = ${pw(vw)};`;
  });
}

/** dst[i] += src[i]; dst may overlap itself (see the header). */
export function accumulate(e: Engine, src: View, dst: View): void {
  const n = numelOf(dst.shape);
  if (n === 0) return;
  const overlapping = !isNonOverlapping(dst.shape, dst.strides);
  if (buf(src).gpu === buf(dst).gpu && (overlapping || !sameWalk(src, dst))) src = materialize(e, src);
  const L = collapseViews(dst.shape, [src, dst], 'accumulate');
  const r = L.shape.length;
  const from = dtOf(src.dtype);
  const to = dtOf(dst.dtype);
  if (!overlapping) {
    const bindings: Binding[] = [
      { name: 'src', buffer: buf(src) },
      { name: 'dst', buffer: buf(dst), write: true },
    ];
    runPerElement(e, `accumulate:${from}>${to}:r${r}`, L, bindings, ['os', 'od'], () => (v) => `${v.dst}[od] = ${addExpr(`${v.dst}[od]`, `${v.src}[os]`, from, to)};`);
    return;
  }
  const atomicType = to === 'i32' ? 'i32' : 'u32';
  const casValue = to === 'f32' ? (w: string): string => `bitcast<f32>(${w})` : (w: string): string => w;
  const casWord = to === 'f32' ? (x: string): string => `bitcast<u32>(${x})` : (x: string): string => x;
  const bindings: Binding[] = [
    { name: 'src', buffer: buf(src) },
    { name: 'dst', buffer: buf(dst), atomic: true, type: atomicType },
  ];
  runPerElement(e, `accumulate-atomic:${from}>${to}:r${r}`, L, bindings, ['os', 'od'], () => (v) => {
    if (to === 'i32') return `atomicAdd(&${v.dst}[od], ${convert(`${v.src}[os]`, from, 'i32')});`;
    // Compare-exchange on the bit pattern until our add lands on the value we read.
    return `let add = ${v.src}[os];
  var old = atomicLoad(&${v.dst}[od]);
  loop {
    let res = atomicCompareExchangeWeak(&${v.dst}[od], old, ${casWord(addExpr(casValue('old'), 'add', from, to))});
    if (res.exchanged) { break; }
    old = res.old_value;
  }`;
  });
}

/**
 * d + s stored as `to` (d is a value of type `to`, s of type `from`), as the CPU's `d[j] += s`:
 * computed in the wider type; a bool destination stores whether the sum is non-zero.
 */
export function addExpr(d: string, s: string, from: Dt, to: Dt): string {
  if (to === 'bool') {
    return from === 'f32' ? `k_f2b(f32(${d}) + ${s})` : `select(0u, 1u, (i32(${d}) + ${convert(s, from, 'i32')}) != 0)`;
  }
  if (to === 'i32' && from === 'f32') return `k_f2i(f32(${d}) + ${s})`;
  return `${d} + ${convert(s, from, to)}`;
}

/** Whether two views walk the same memory in the same order (so an in-place elementwise kernel is race-free). */
export function sameWalk(a: View, b: View): boolean {
  if (a.offset !== b.offset || a.shape.length !== b.shape.length) return false;
  for (let i = 0; i < a.shape.length; i++) {
    if (a.shape[i] !== 1 && a.strides[i] !== b.strides[i]) return false;
  }
  return true;
}

/** A fresh contiguous copy of `v` on a temporary buffer (freed when the backend call returns, see Engine.temp). */
export function materialize(e: Engine, v: View): View {
  const b = e.temp(v.dtype, numelOf(v.shape));
  const out: View = { buffer: b, dtype: v.dtype, shape: v.shape, strides: contiguousStrides(v.shape), offset: 0 };
  copy(e, v, out);
  return out;
}

/** `v` itself when contiguous, else a contiguous temporary copy (freed with the call's temporaries). */
export function contiguous(e: Engine, v: View): View {
  return isContiguousView(v) ? v : materialize(e, v);
}

/** A contiguous temporary output of `like`'s shape and dtype (freed with the call's temporaries). */
export function scratchLike(e: Engine, like: View): View {
  const b = e.temp(like.dtype, numelOf(like.shape));
  return { buffer: b, dtype: like.dtype, shape: like.shape, strides: contiguousStrides(like.shape), offset: 0 };
}

/**
 * Runs `fn` on a contiguous stand-in for `out`: out itself when contiguous, else a scratch
 * buffer (pre-filled with out's values when `preload`, for kernels that update in place) that is
 * copied back into out afterwards.
 */
export function withContiguousOut(e: Engine, out: View, preload: boolean, fn: (dst: View) => void): void {
  if (isContiguousView(out)) {
    fn(out);
    return;
  }
  const tmp = scratchLike(e, out);
  if (preload) copy(e, out, tmp);
  fn(tmp);
  copy(e, tmp, out);
}
