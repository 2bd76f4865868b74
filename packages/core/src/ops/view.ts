import { KindlingError, ShapeError, fmtShape } from '../errors.js';
import { apply } from '../grad-mode.js';
import { contiguousStrides, inferShape, normalizeDim, numel, viewStrides } from '../shape.js';
import { Tensor, makeView } from '../tensor.js';
import { alloc, backendOf } from './util.js';

/** A contiguous copy (torch's .contiguous() when needed, .clone() always). */
export function clone(x: Tensor): Tensor {
  const b = backendOf('clone', x);
  return apply('clone', [x], {}, () => {
    const out = alloc(b, x.shape, x.dtype);
    b.copy(x.backendView(), out.backendView());
    return [out];
  })[0]!;
}

/** Returns x itself when already contiguous (a new handle sharing storage), else a copy. */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return alias(x);
  return clone(x);
}

/** A second handle onto the same view; recorded as an identity so autograd sees it. */
export function alias(x: Tensor): Tensor {
  return apply('alias', [x], {}, () => [makeView(x, x.shape, x.strides, x.offset)])[0]!;
}

/** torch.view: fails when the strides cannot express the new shape. */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  const s = inferShape('view', x.shape, shape);
  const strides = viewStrides(x.shape, x.strides, s);
  if (!strides) {
    throw new ShapeError(
      'view',
      `view size ${fmtShape(s)} is not compatible with input ${fmtShape(x.shape)} strides ${fmtShape(x.strides)}; use reshape() (which copies)`,
    );
  }
  return apply('reshape', [x], { shape: x.shape }, () => [makeView(x, s, strides, x.offset)])[0]!;
}

/** torch.reshape: a view when possible, a copy otherwise. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = inferShape('reshape', x.shape, shape);
  const strides = viewStrides(x.shape, x.strides, s);
  if (strides) return apply('reshape', [x], { shape: x.shape }, () => [makeView(x, s, strides, x.offset)])[0]!;
  const c = clone(x);
  const r = view(c, s);
  c.dispose();
  return r;
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const r = x.ndim;
  if (dims.length !== r) throw new ShapeError('permute', `dims ${fmtShape(dims)} must list all ${r} dims of input ${fmtShape(x.shape)}`);
  const d = dims.map((v) => normalizeDim('permute', v, r));
  if (new Set(d).size !== r) throw new ShapeError('permute', `dims ${fmtShape(dims)} repeat a dim`);
  return apply('permute', [x], { dims: d }, () => [
    makeView(x, d.map((i) => x.shape[i]!), d.map((i) => x.strides[i]!), x.offset),
  ])[0]!;
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const r = x.ndim;
  const a = normalizeDim('transpose', dim0, r);
  const b = normalizeDim('transpose', dim1, r);
  if (r === 0) return alias(x);
  const dims = [...Array(r).keys()];
  dims[a] = b;
  dims[b] = a;
  return permute(x, dims);
}

/** torch.expand: size -1 keeps a dim; new leading dims may be added. A view with stride 0. */
export function expand(x: Tensor, size: readonly number[]): Tensor {
  const lead = size.length - x.ndim;
  if (lead < 0) throw new ShapeError('expand', `the number of sizes ${fmtShape(size)} must be >= the input's ${x.ndim} dims ${fmtShape(x.shape)}`);
  const shape: number[] = [];
  const strides: number[] = [];
  size.forEach((s, i) => {
    const src = i - lead;
    if (src < 0) {
      if (s < 0) throw new ShapeError('expand', `size -1 is not allowed in a new leading dim (${fmtShape(size)})`);
      shape.push(s);
      strides.push(0);
      return;
    }
    const d = x.shape[src]!;
    const t = s === -1 ? d : s;
    if (d !== t && d !== 1) {
      throw new ShapeError('expand', `cannot expand ${fmtShape(x.shape)} to ${fmtShape(size)}: dim ${i} has size ${d}, which is not 1`);
    }
    shape.push(t);
    strides.push(d === t ? x.strides[src]! : 0);
  });
  return apply('expand', [x], { shape: x.shape }, () => [makeView(x, shape, strides, x.offset)])[0]!;
}

export function squeeze(x: Tensor, dim?: number | readonly number[] | null): Tensor {
  let dims: number[];
  if (dim === undefined || dim === null) dims = x.shape.flatMap((s, i) => (s === 1 ? [i] : []));
  else dims = (typeof dim === 'number' ? [dim] : [...dim]).map((d) => normalizeDim('squeeze', d, x.ndim)).filter((d) => x.shape[d] === 1);
  return reshape(x, x.shape.filter((_, i) => !dims.includes(i)));
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('unsqueeze', dim, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return reshape(x, shape);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim('flatten', startDim, x.ndim);
  const e = normalizeDim('flatten', endDim, x.ndim);
  if (s > e) throw new ShapeError('flatten', `startDim ${startDim} must not come after endDim ${endDim}`);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

export function unflatten(x: Tensor, dim: number, sizes: readonly number[]): Tensor {
  const d = normalizeDim('unflatten', dim, x.ndim);
  const inner = inferShape('unflatten', [x.shape[d]!], sizes);
  return reshape(x, [...x.shape.slice(0, d), ...inner, ...x.shape.slice(d + 1)]);
}

/** One entry per leading dim: null keeps it, an int selects (and drops) it, [start, stop, step] slices it. */
export type SliceSpec = null | number | readonly [number | null, (number | null)?, (number | null)?];

/** Python's slice.indices(): clamps start/stop for a positive step. */
function sliceIndices(op: string, spec: readonly [number | null, (number | null)?, (number | null)?], n: number): [number, number, number] {
  const step = spec[2] ?? 1;
  if (step <= 0 || !Number.isInteger(step)) throw new KindlingError(op, `slice step must be a positive integer, got ${step}`);
  const clampIdx = (v: number | null | undefined, dflt: number): number => {
    if (v === null || v === undefined) return dflt;
    const w = v < 0 ? v + n : v;
    return Math.min(Math.max(w, 0), n);
  };
  const start = clampIdx(spec[0], 0);
  const stop = clampIdx(spec[1], n);
  return [start, Math.max(0, Math.ceil((stop - start) / step)), step];
}

/** x[s0, s1, ...] with Python's rules: always a view (step > 1 multiplies the stride). */
export function slice(x: Tensor, specs: readonly SliceSpec[]): Tensor {
  if (specs.length > x.ndim) throw new ShapeError('slice', `too many indices (${specs.length}) for a tensor of shape ${fmtShape(x.shape)}`);
  const shape: number[] = [];
  const strides: number[] = [];
  let offset = x.offset;
  x.shape.forEach((n, d) => {
    const s = specs[d] ?? null;
    if (s === null) {
      shape.push(n);
      strides.push(x.strides[d]!);
    } else if (typeof s === 'number') {
      const i = s < 0 ? s + n : s;
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new ShapeError('slice', `index ${s} is out of bounds for dim ${d} with size ${n} (input ${fmtShape(x.shape)})`);
      offset += i * x.strides[d]!;
    } else {
      const [start, len, step] = sliceIndices('slice', s, n);
      offset += start * x.strides[d]!;
      shape.push(len);
      strides.push(x.strides[d]! * step);
    }
  });
  return apply('slice', [x], { specs, inputShape: x.shape }, () => [makeView(x, shape, strides, offset)])[0]!;
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim('narrow', dim, x.ndim);
  const specs: SliceSpec[] = x.shape.map(() => null);
  specs[d] = [start, start + length, 1];
  return slice(x, specs);
}

export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normalizeDim('select', dim, x.ndim);
  const specs: SliceSpec[] = x.shape.map(() => null);
  specs[d] = index;
  return slice(x, specs);
}

/** torch.cat along an existing dim. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new KindlingError('cat', 'expected a non-empty list of tensors');
  const b = backendOf('cat', ...tensors);
  const first = tensors[0]!;
  const d = normalizeDim('cat', dim, first.ndim);
  const dtype = first.dtype;
  tensors.forEach((t, i) => {
    if (t.ndim !== first.ndim || t.shape.some((s, j) => j !== d && s !== first.shape[j])) {
      throw new ShapeError('cat', `tensor ${i} has shape ${fmtShape(t.shape)}, incompatible with ${fmtShape(first.shape)} outside dim ${d}`);
    }
    if (t.dtype !== dtype) throw new ShapeError('cat', `tensor ${i} has dtype ${t.dtype}, expected ${dtype}`);
  });
  const sizes = tensors.map((t) => t.shape[d]!);
  const shape = [...first.shape];
  shape[d] = sizes.reduce((a, c) => a + c, 0);
  return apply('cat', tensors, { dim: d, sizes }, () => {
    const out = alloc(b, shape, dtype);
    const strides = contiguousStrides(shape);
    let off = 0;
    for (const t of tensors) {
      if (t.size > 0) {
        b.copy(t.backendView(), { buffer: out.storage_.buffer, dtype, shape: t.shape, strides, offset: off * strides[d]! });
      }
      off += t.shape[d]!;
    }
    return [out];
  })[0]!;
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new KindlingError('stack', 'expected a non-empty list of tensors');
  const first = tensors[0]!;
  tensors.forEach((t, i) => {
    if (t.ndim !== first.ndim || t.shape.some((s, j) => s !== first.shape[j])) {
      throw new ShapeError('stack', `tensor ${i} has shape ${fmtShape(t.shape)}, expected ${fmtShape(first.shape)} like tensor 0`);
    }
  });
  const d = normalizeDim('stack', dim, first.ndim + 1);
  const parts = tensors.map((t) => unsqueeze(t, d));
  const out = cat(parts, d);
  for (const p of parts) p.dispose();
  return out;
}

/** Constant padding of the last dims: pads = [left, right, top, bottom, ...] as torch.nn.functional.pad. */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim || pads.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new ShapeError('pad', `pads ${fmtShape(pads)} must be non-negative pairs for at most ${x.ndim} dims`);
  }
  const b = backendOf('pad', x);
  const shape = [...x.shape];
  const lo = new Array<number>(x.ndim).fill(0);
  for (let i = 0; i < pads.length / 2; i++) {
    const d = x.ndim - 1 - i;
    lo[d] = pads[2 * i]!;
    shape[d] = shape[d]! + pads[2 * i]! + pads[2 * i + 1]!;
  }
  return apply('pad', [x], { lo }, () => {
    const out = alloc(b, shape, x.dtype);
    b.fill(out.backendView(), value);
    const strides = contiguousStrides(shape);
    const offset = lo.reduce((a, l, d) => a + l * strides[d]!, 0);
    if (x.size > 0) b.copy(x.backendView(), { buffer: out.storage_.buffer, dtype: x.dtype, shape: x.shape, strides, offset });
    return [out];
  })[0]!;
}
