/**
 * Random tensor inputs for the op properties: a logical shape, a dtype, and a layout that reaches
 * it through views of a larger base tensor — permute (transposed strides), slice with a start and
 * a step (offsets, strides > 1), expand (stride 0) — so every kernel sees the strided operands
 * real programs hand it. Values are small and exact in float32, so a failing case shrinks to
 * something readable.
 */
import fc from 'fast-check';
import * as kd from '@kindling/core';
import type { DType, Tensor } from '@kindling/core';

export interface InputSpec {
  dtype: DType;
  /** The shape the op sees. */
  shape: number[];
  /** The shape of the tensor that is allocated (and whose gradient is compared). */
  base: number[];
  /** view = base.permute(perm).slice(slices), then expand(shape) when `expand`. */
  perm: number[];
  slices: [number, number, number][];
  expand: boolean;
  /** numel(base) values, row-major. */
  data: number[];
  /** Whether the base requires grad (float32 operands of differentiable ops). */
  grad: boolean;
}

export const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** One dim: mostly 1..max, sometimes 0 (zero-size tensors must work everywhere). */
export const dim = (max = 5): fc.Arbitrary<number> =>
  fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 9, arbitrary: fc.integer({ min: 1, max }) });

export const shapeArb = (minRank = 0, maxRank = 4, max = 5): fc.Arbitrary<number[]> =>
  fc.array(dim(max), { minLength: minRank, maxLength: maxRank });

/** A shape that broadcasts to `out`: leading dims dropped, some of the rest set to 1. */
export const broadcastFrom = (out: readonly number[]): fc.Arbitrary<number[]> =>
  fc.tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }))
    .map(([lead, ones]) => out.slice(lead).map((d, i) => (ones[i + lead] ? 1 : d)));

export interface ValueOptions {
  /**
   * Include NaN, ±Infinity, -0 and subnormals among float values. Off for webgpu: WGSL lets an
   * implementation assume no NaN or Infinity and flush subnormals, so results there are unspecified.
   */
  specials?: boolean;
  /** Float range (default ±4). */
  range?: number;
  /** Integer range (default ±6). */
  intRange?: [number, number];
}

/** Float32 values: multiples of 1/16 mostly (exact, readable when shrunk), some arbitrary floats. */
export function valueArb(dtype: DType, o: ValueOptions = {}): fc.Arbitrary<number> {
  if (dtype === 'bool') return fc.integer({ min: 0, max: 1 });
  if (dtype === 'int32') {
    const [min, max] = o.intRange ?? [-6, 6];
    return fc.integer({ min, max });
  }
  const r = o.range ?? 4;
  const parts: fc.WeightedArbitrary<number>[] = [
    { weight: 6, arbitrary: fc.integer({ min: -16 * r, max: 16 * r }).map((i) => i / 16) },
    // Subnormals only with the specials: GPUs may flush them to zero (WGSL allows it).
    { weight: 3, arbitrary: fc.float({ min: -r, max: r, noNaN: true, noDefaultInfinity: true }).map((x) => (o.specials || Math.abs(x) >= 2 ** -126 ? x : 0)) },
  ];
  if (o.specials) parts.push({ weight: 1, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, -1e-40) });
  return fc.oneof(...parts);
}

export interface LayoutOptions {
  /** Allow expand (stride-0 dims); off for operands that are written in place. */
  expand?: boolean;
}

/** An input of logical `shape` and `dtype` behind a random layout. */
export function inputArb(shape: readonly number[], dtype: DType, grad: boolean, values: ValueOptions = {}, layout: LayoutOptions = {}): fc.Arbitrary<InputSpec> {
  const r = shape.length;
  const idx = [...Array(r).keys()];
  const perLayout = fc.record({
    perm: fc.shuffledSubarray(idx, { minLength: r, maxLength: r }),
    starts: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: r, maxLength: r }),
    steps: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: r, maxLength: r }),
    tails: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: r, maxLength: r }),
    expand: layout.expand === false ? fc.constant(idx.map(() => false)) : fc.array(fc.boolean(), { minLength: r, maxLength: r }),
    plain: fc.boolean(),
  });
  return perLayout.chain((l) => {
    // A plain (contiguous) input half of the time: the fast paths need covering too.
    const q = shape.map((d, i) => (!l.plain && l.expand[i] ? 1 : d));
    const starts = l.plain ? idx.map(() => 0) : l.starts;
    const steps = l.plain ? idx.map(() => 1) : l.steps;
    const tails = l.plain ? idx.map(() => 0) : l.tails;
    const perm = l.plain ? idx : l.perm;
    const p = q.map((d, i) => (d === 0 ? starts[i]! + tails[i]! : starts[i]! + (d - 1) * steps[i]! + 1 + tails[i]!));
    const base = new Array<number>(r);
    perm.forEach((src, i) => (base[src] = p[i]!));
    const slices = q.map((d, i): [number, number, number] => [starts[i]!, starts[i]! + (d === 0 ? 0 : (d - 1) * steps[i]! + 1), steps[i]!]);
    const n = numel(base);
    return fc.array(valueArb(dtype, values), { minLength: n, maxLength: n }).map((data): InputSpec => ({
      dtype, shape: [...shape], base, perm, slices, expand: q.some((d, i) => d !== shape[i]), data, grad: grad && dtype === 'float32',
    }));
  });
}

/** Builds the base tensor on `device` and the view the op sees. */
export function buildInput(s: InputSpec, device: string): { leaf: Tensor; view: Tensor } {
  const leaf = kd.tensor(s.data, { shape: s.base, dtype: s.dtype, device, requiresGrad: s.grad });
  let view = kd.permute(leaf, s.perm);
  if (s.slices.length) view = kd.slice(view, s.slices);
  if (s.expand) view = kd.expand(view, s.shape);
  return { leaf, view };
}

/** A short, copy-pasteable description of an input (what a shrunk counterexample shows). */
export function describeInput(s: InputSpec): string {
  const layout = [
    s.perm.some((p, i) => p !== i) ? `permute(${JSON.stringify(s.perm)})` : '',
    s.slices.some(([a, , st]) => a !== 0 || st !== 1) ? `slice(${JSON.stringify(s.slices)})` : '',
    s.expand ? `expand(${JSON.stringify(s.shape)})` : '',
  ].filter(Boolean).join('.');
  return `tensor(${JSON.stringify(s.data)}, {shape: ${JSON.stringify(s.base)}, dtype: '${s.dtype}'${s.grad ? ', requiresGrad: true' : ''}})${layout ? `.${layout}` : ''}`;
}
