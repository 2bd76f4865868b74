/**
 * torch.gather and Tensor.scatter_add_ along an axis (index is int32 with the operand's rank).
 *
 * gather: one invocation per index element reads x at the indexed position of the axis.
 *
 * scatterAdd is written as a gather too, so it needs no atomics and is deterministic: one
 * invocation per destination element (within index's extent on the other dims) walks the index
 * positions along the axis in order and adds each source element whose index names it. The adds
 * therefore land in the CPU backend's order, with the same f32 roundings. The cost is
 * dst-elements × index-length-along-axis, which suits the classification uses (one-hot grads:
 * a length of 1).
 *
 * An out-of-range index cannot throw on the GPU: gather writes 0, scatterAdd skips it, and both
 * set a bit in the engine's error word, so the next read() rejects naming the op.
 */
import type { View } from '@kindling/core';
import type { WebGPUBuffer } from '../buffer.js';
import type { Binding, Engine } from '../engine.js';
import { collapse, numelOf } from '../strided.js';
import { convert, dtOf, pi, pw } from '../wgsl.js';
import { addExpr, materialize, runPerElement } from './copy.js';

function withAxisStride(strides: readonly number[], axis: number, s: number): number[] {
  const r = strides.slice();
  r[axis] = s;
  return r;
}

export function gather(e: Engine, x: View, axis: number, index: View, out: View): void {
  const n = numelOf(index.shape);
  if (n === 0) return;
  if ((x.buffer as WebGPUBuffer).gpu === (out.buffer as WebGPUBuffer).gpu) x = materialize(e, x);
  const L = collapse(index.shape, [index.strides, withAxisStride(x.strides, axis, 0), out.strides], [index.offset, x.offset, out.offset], 'gather');
  const from = dtOf(x.dtype);
  const to = dtOf(out.dtype);
  const bindings: Binding[] = [
    { name: 'index', buffer: index.buffer as WebGPUBuffer },
    { name: 'x', buffer: x.buffer as WebGPUBuffer },
    { name: 'out', buffer: out.buffer as WebGPUBuffer, write: true },
    { name: 'err', buffer: e.errorWord, atomic: true, type: 'u32' },
  ];
  runPerElement(e, `gather:${from}>${to}:r${L.shape.length}`, L, bindings, ['oi', 'ox', 'oo'], (p) => {
    const wSize = p.i32(x.shape[axis]!);
    const wStep = p.i32(x.strides[axis]!);
    return (v) => `let k = ${convert(`${v.index}[oi]`, dtOf(index.dtype), 'i32')};
  if (k < 0 || k >= ${pi(wSize)}) {
    atomicOr(&${v.err}[0], 1u);
    ${v.out}[oo] = ${convert('0', 'i32', to)};
    return;
  }
  ${v.out}[oo] = ${convert(`${v.x}[ox + k * ${pi(wStep)}]`, from, to)};`;
  });
}

export function scatterAdd(e: Engine, dst: View, axis: number, index: View, src: View): void {
  // The walk: index's extent on every dim but the axis, dst's along it.
  const shape = index.shape.slice();
  shape[axis] = dst.shape[axis]!;
  const J = index.shape[axis]!;
  const n = numelOf(shape);
  if (n === 0 || J === 0) return;
  const dstGpu = (dst.buffer as WebGPUBuffer).gpu;
  if ((src.buffer as WebGPUBuffer).gpu === dstGpu) src = materialize(e, src);
  if ((index.buffer as WebGPUBuffer).gpu === dstGpu) index = materialize(e, index);
  // Operand 3 has stride 1 on the axis and 0 elsewhere: its offset is the element's axis coordinate.
  const coord = index.shape.map((_, d) => (d === axis ? 1 : 0));
  const L = collapse(
    shape,
    [dst.strides, withAxisStride(index.strides, axis, 0), withAxisStride(src.strides, axis, 0), coord],
    [dst.offset, index.offset, src.offset, 0],
    'scatterAdd',
  );
  const from = dtOf(src.dtype);
  const to = dtOf(dst.dtype);
  const bindings: Binding[] = [
    { name: 'dst', buffer: dst.buffer as WebGPUBuffer, write: true },
    { name: 'index', buffer: index.buffer as WebGPUBuffer },
    { name: 'src', buffer: src.buffer as WebGPUBuffer },
    { name: 'err', buffer: e.errorWord, atomic: true, type: 'u32' },
  ];
  runPerElement(e, `scatterAdd:${from}>${to}:r${L.shape.length}`, L, bindings, ['od', 'oi', 'os', 'k'], (p) => {
    const wJ = p.u32(J);
    const wIStep = p.i32(index.strides[axis]!);
    const wSStep = p.i32(src.strides[axis]!);
    const wSize = p.i32(dst.shape[axis]!);
    return (v) => `var acc = ${v.dst}[od];
  var bad = false;
  for (var j = 0u; j < ${pw(wJ)}; j = j + 1u) {
    let t = ${convert(`${v.index}[oi + i32(j) * ${pi(wIStep)}]`, dtOf(index.dtype), 'i32')};
    bad = bad || t < 0 || t >= ${pi(wSize)};
    if (t == k) { acc = ${addExpr('acc', `${v.src}[os + i32(j) * ${pi(wSStep)}]`, from, to)}; }
  }
  if (bad && k == 0) { atomicOr(&${v.err}[0], 2u); }
  ${v.dst}[od] = acc;`;
  });
}
