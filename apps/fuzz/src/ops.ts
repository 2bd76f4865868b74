/**
 * The op table of the property tests: for each op, an arbitrary of cases (inputs behind random
 * views, scalar operands, options) and how to run one case. Every op core exports is here:
 * the unary ops come from core's own UNARY_OPS, and the binary ops from a record keyed by core's
 * BinaryOp type, so adding an op to core without a property here is a compile error.
 */
import fc from 'fast-check';
import * as kd from '@kindling/core';
import { UNARY_OPS, type BinaryOp, type DType, type Tensor } from '@kindling/core';
import { broadcastFrom, dim, inputArb, shapeArb, type InputSpec, type ValueOptions } from './inputs.js';

export interface OpCase {
  inputs: InputSpec[];
  /** Op-specific options and scalar operands (plain JSON, so a counterexample prints whole). */
  params: Record<string, unknown>;
}

export interface OpSpec {
  name: string;
  arb(values: ValueOptions): fc.Arbitrary<OpCase>;
  /** Runs the op on the inputs' views; returns every output to compare (in-place targets too). */
  run(x: Tensor[], p: Record<string, unknown>): Tensor | Tensor[];
  /** Sums of about this many terms per output element (scales the tolerance). */
  terms?(c: OpCase): number;
  /**
   * Finite inputs only. GEMM-based ops: BLAS may skip a zero factor (reference BLAS does), so
   * whether a NaN or Infinity reaches an output multiplied by 0 is up to the implementation, in
   * PyTorch as here.
   */
  finite?: boolean;
  /**
   * Cases to leave out as ill-conditioned, judged on the reference's views: a result that is a
   * cancellation of terms far larger than itself is rounding noise, different on each backend.
   */
  wellConditioned?(x: Tensor[], p: Record<string, unknown>): boolean;
}

const FLOATY = fc.constantFrom<DType>('float32', 'float32', 'float32', 'int32', 'bool');
/** For ops core defines on float32 only (a few other dtypes still check that they are refused). */
const FLOAT_MOSTLY = fc.constantFrom<DType>('float32', 'float32', 'float32', 'float32', 'float32', 'float32', 'float32', 'int32');
const scalarArb = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -32, max: 32 }).map((i) => i / 8));
const dimIn = (rank: number): fc.Arbitrary<number> => (rank === 0 ? fc.constantFrom(0, -1) : fc.integer({ min: -rank, max: rank - 1 }));
const dimsArb = (rank: number): fc.Arbitrary<number | number[] | null> =>
  fc.oneof(fc.constant(null), dimIn(rank), fc.subarray([...Array(rank).keys()], { minLength: 0 }));
const one = (shape: fc.Arbitrary<number[]>, dtype: fc.Arbitrary<DType>, v: ValueOptions, params: fc.Arbitrary<Record<string, unknown>> = fc.constant({})) =>
  fc.tuple(shape, dtype).chain(([s, d]) => fc.record({ inputs: fc.tuple(inputArb(s, d, true, v)), params }));

/** Unary ops: every entry of core's UNARY_OPS, on every dtype (core decides which it accepts). */
const unaryOps: OpSpec[] = UNARY_OPS.map((op) => ({
  name: op,
  arb: (v) => one(shapeArb(), FLOATY, v),
  run: ([x]) => kd.unary(op, x!),
}));

/** Whether a binary op is a comparison (bool output, no gradient): core's COMPARISON_OPS decides. */
const BINARY: Record<BinaryOp, true> = {
  add: true, sub: true, mul: true, div: true, pow: true, maximum: true, minimum: true,
  eq: true, ne: true, lt: true, le: true, gt: true, ge: true, logicalAnd: true, logicalOr: true,
};

/** Binary ops: two tensors broadcast against each other, or a tensor and a JS number either side. */
const binaryOps: OpSpec[] = (Object.keys(BINARY) as BinaryOp[]).map((op) => ({
  name: op,
  arb: (v) =>
    fc.tuple(shapeArb(), FLOATY, FLOATY, fc.constantFrom('tt', 'tt', 'ts', 'st'), scalarArb).chain(([out, da, db, form, scalar]) =>
      fc.tuple(broadcastFrom(out), broadcastFrom(out)).chain(([sa, sb]): fc.Arbitrary<OpCase> =>
        form === 'tt'
          ? fc.record({ inputs: fc.tuple(inputArb(sa, da, true, v), inputArb(sb, db, true, v)), params: fc.constant({ form }) })
          : fc.record({ inputs: fc.tuple(inputArb(out, da, true, v)), params: fc.constant({ form, scalar }) }),
      ),
    ),
  run: ([a, b], p) => (p.form === 'tt' ? kd.binary(op, a!, b!) : p.form === 'ts' ? kd.binary(op, a!, p.scalar as number) : kd.binary(op, p.scalar as number, a!)),
}));

const reduceOver = (name: string, f: (x: Tensor, dims: number | number[] | null, keepdim: boolean, p: Record<string, unknown>) => Tensor | Tensor[], dtypes = FLOATY, extra: fc.Arbitrary<Record<string, unknown>> = fc.constant({})): OpSpec => ({
  name,
  arb: (v) => fc.tuple(shapeArb(), dtypes).chain(([s, d]) =>
    fc.record({ inputs: fc.tuple(inputArb(s, d, true, v)), params: fc.tuple(dimsArb(s.length), fc.boolean(), extra).map(([dims, keepdim, e]) => ({ dims, keepdim, ...e })) })),
  run: ([x], p) => f(x!, p.dims as number | number[] | null, p.keepdim as boolean, p),
  terms: (c) => Math.max(1, c.inputs[0]!.shape.reduce((a, b) => a * b, 1)),
});
const singleDim = (d: number | number[] | null): number | undefined => (typeof d === 'number' ? d : undefined);

const reductions: OpSpec[] = [
  reduceOver('sum', (x, d, k) => kd.sum(x, d, k)),
  reduceOver('mean', (x, d, k) => kd.mean(x, d, k), FLOAT_MOSTLY),
  reduceOver('amax', (x, d, k) => kd.amax(x, d, k)),
  reduceOver('amin', (x, d, k) => kd.amin(x, d, k)),
  reduceOver('argmax', (x, d, k) => kd.argmax(x, singleDim(d) ?? null, k)),
  reduceOver('argmin', (x, d, k) => kd.argmin(x, singleDim(d) ?? null, k)),
  reduceOver('max(dim)', (x, d, k) => { const r = kd.max(x, singleDim(d) ?? 0, k); return [r.values, r.indices]; }),
  reduceOver('min(dim)', (x, d, k) => { const r = kd.min(x, singleDim(d) ?? 0, k); return [r.values, r.indices]; }),
  reduceOver('var', (x, d, keepdim, p) => kd.variance(x, d, { keepdim, unbiased: p.unbiased as boolean }), FLOAT_MOSTLY, fc.record({ unbiased: fc.boolean() })),
  reduceOver('std', (x, d, keepdim, p) => kd.std(x, d, { keepdim, unbiased: p.unbiased as boolean }), FLOAT_MOSTLY, fc.record({ unbiased: fc.boolean() })),
  reduceOver('logsumexp', (x, d, k) => kd.logsumexp(x, d, k), FLOAT_MOSTLY),
  reduceOver('softmax', (x, d) => kd.softmax(x, singleDim(d) ?? -1), FLOAT_MOSTLY),
  reduceOver('logSoftmax', (x, d) => kd.logSoftmax(x, singleDim(d) ?? -1), FLOAT_MOSTLY),
];

const elementwiseMore: OpSpec[] = [
  {
    name: 'where',
    arb: (v) => fc.tuple(shapeArb(), FLOATY, FLOATY).chain(([out, dx, dy]) =>
      fc.tuple(broadcastFrom(out), broadcastFrom(out), broadcastFrom(out)).chain(([sc, sx, sy]) =>
        fc.record({ inputs: fc.tuple(inputArb(sc, 'bool', false, v), inputArb(sx, dx, true, v), inputArb(sy, dy, true, v)), params: fc.constant({}) }))),
    run: ([c, x, y]) => kd.where(c!, x!, y!),
  },
  {
    name: 'clamp',
    arb: (v) => one(shapeArb(), FLOATY, v, fc.record({ min: fc.option(scalarArb), max: fc.option(scalarArb) })),
    run: ([x], p) => kd.clamp(x!, p.min as number | null, p.max as number | null),
  },
  {
    name: 'gelu',
    arb: (v) => one(shapeArb(), fc.constant<DType>('float32'), v, fc.record({ approximate: fc.constantFrom('none', 'tanh') })),
    run: ([x], p) => kd.gelu(x!, p.approximate as 'none' | 'tanh'),
  },
];

/** matmul's operand shapes: 1-D or batched 2-D either side, batch dims broadcast. */
const matmulShapes = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), dim(6), dim(6), dim(6), shapeArb(0, 2, 3))
  .chain(([ra, rb, m, k, n, batch]) => fc.tuple(broadcastFrom(batch), broadcastFrom(batch)).map(([ba, bb]) => ({
    a: ra === 1 ? [k] : [...ba.slice(0, ra - 2), m, k],
    b: rb === 1 ? [k] : [...bb.slice(0, rb - 2), k, n],
    k,
  })));

const linalg: OpSpec[] = [
  {
    name: 'matmul', finite: true,
    arb: (v) => matmulShapes.chain(({ a, b, k }) => fc.record({ inputs: fc.tuple(inputArb(a, 'float32', true, v), inputArb(b, 'float32', true, v)), params: fc.constant({ k }) })),
    run: ([a, b]) => kd.matmul(a!, b!),
    terms: (c) => Math.max(1, c.params.k as number),
  },
  {
    name: 'linear', finite: true,
    arb: (v) => fc.tuple(shapeArb(1, 3, 4), dim(6), dim(6), fc.boolean()).chain(([lead, i, o, bias]) =>
      fc.record({
        inputs: fc.tuple(inputArb([...lead, i], 'float32', true, v), inputArb([o, i], 'float32', true, v), ...(bias ? [inputArb([o], 'float32', true, v)] : [])),
        params: fc.constant({ k: i }),
      })),
    run: ([x, w, b]) => kd.linear(x!, w!, b ?? null),
    terms: (c) => Math.max(1, c.params.k as number),
  },
];

/** conv2d geometry: groups, stride, padding, dilation; the output may be empty (then both must refuse). */
const conv: OpSpec = {
  name: 'conv2d', finite: true,
  arb: (v) => fc.record({
    n: fc.integer({ min: 1, max: 3 }), g: fc.integer({ min: 1, max: 2 }), cg: fc.integer({ min: 1, max: 3 }), og: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 8 }), w: fc.integer({ min: 1, max: 8 }), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })), padding: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })), bias: fc.boolean(),
  }).chain((g) => fc.record({
    inputs: fc.tuple(
      inputArb([g.n, g.g * g.cg, g.h, g.w], 'float32', true, v),
      inputArb([g.g * g.og, g.cg, g.kh, g.kw], 'float32', true, v),
      ...(g.bias ? [inputArb([g.g * g.og], 'float32', true, v)] : []),
    ),
    params: fc.constant({ stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.g, k: g.cg * g.kh * g.kw }),
  })),
  run: ([x, w, b], p) => kd.conv2d(x!, w!, b ?? null, { stride: p.stride as number[], padding: p.padding as number[], dilation: p.dilation as number[], groups: p.groups as number }),
  terms: (c) => (c.params.k as number) * (c.inputs[0]!.shape[0]! * 64),
};

const poolInput = (v: ValueOptions) => fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }))
  .chain((s) => inputArb(s, 'float32', true, v));
const k2 = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }));
const pools: OpSpec[] = [
  {
    name: 'maxPool2d',
    arb: (v) => fc.record({
      inputs: fc.tuple(poolInput(v)),
      params: fc.record({ kernelSize: k2, stride: fc.option(k2), padding: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 })), dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })), ceilMode: fc.boolean() }),
    }),
    run: ([x], p) => { const r = kd.maxPool2dWithIndices(x!, p as unknown as kd.MaxPool2dOptions); return [r.values, r.indices]; },
  },
  {
    name: 'avgPool2d',
    arb: (v) => fc.record({
      inputs: fc.tuple(poolInput(v)),
      params: fc.record({ kernelSize: k2, stride: fc.option(k2), padding: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 })), ceilMode: fc.boolean(), countIncludePad: fc.boolean(), divisorOverride: fc.option(fc.integer({ min: 1, max: 3 })) }),
    }),
    run: ([x], p) => kd.avgPool2d(x!, p as unknown as kd.AvgPool2dOptions),
  },
  {
    name: 'adaptiveAvgPool2d',
    arb: (v) => fc.record({ inputs: fc.tuple(poolInput(v)), params: fc.record({ size: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })) }) }),
    run: ([x], p) => kd.adaptiveAvgPool2d(x!, p.size as number[]),
  },
];

const batchNorm: OpSpec = {
  name: 'batchNorm',
  arb: (v) => fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), shapeArb(0, 2, 4), fc.boolean(), fc.boolean(), fc.boolean())
    .chain(([n, c, rest, affine, stats, training]) => fc.record({
      inputs: fc.tuple(
        inputArb([n, c, ...rest], 'float32', true, v),
        ...(affine ? [inputArb([c], 'float32', true, v), inputArb([c], 'float32', true, v)] : []),
        // Running stats are updated in place: a plain layout, variances positive.
        ...(stats ? [inputArb([c], 'float32', false, { range: 2 }, { expand: false }), inputArb([c], 'float32', false, { range: 2 }, { expand: false }).map((s) => ({ ...s, data: s.data.map((x) => Math.abs(x) + 0.5) }))] : []),
      ),
      params: fc.constant({ affine, stats, training }),
    })),
  // Training mode divides by the batch std: a channel (nearly) constant over the batch makes
  // 1/√(var + eps) up to 316 and its gradient a cancellation of huge terms.
  wellConditioned: (x, p) => !p.training || x[0]!.numel() === 0 || kd.noGrad(() => {
    const dims = [0, ...Array.from({ length: x[0]!.ndim - 2 }, (_, i) => i + 2)];
    return (kd.amin(kd.variance(x[0]!, dims, { unbiased: false })).itemSync() as number) >= 1e-2;
  }),
  run: (x, p) => {
    const w = p.affine ? x[1]! : null;
    const b = p.affine ? x[2]! : null;
    const rm = p.stats ? x[p.affine ? 3 : 1]! : null;
    const rv = p.stats ? x[p.affine ? 4 : 2]! : null;
    const y = kd.batchNorm(x[0]!, rm, rv, w, b, { training: p.training as boolean, momentum: 0.1, eps: 1e-5 });
    return rm && rv ? [y, rm, rv] : [y];
  },
  terms: (c) => c.inputs[0]!.shape.reduce((a, b) => a * b, 1),
};

/** Class targets: mostly in range, sometimes out of it (then both must refuse). */
const targets = (n: number, classes: number) =>
  fc.array(fc.oneof({ weight: 19, arbitrary: fc.integer({ min: 0, max: Math.max(0, classes - 1) }) }, { weight: 1, arbitrary: fc.constantFrom(-1, classes) }), { minLength: n, maxLength: n })
    .map((data): InputSpec => ({ dtype: 'int32', shape: [n], base: [n], perm: [0], slices: [], expand: false, data, grad: false }));
const losses: OpSpec[] = [
  {
    name: 'crossEntropy',
    arb: (v) => fc.tuple(dim(5), fc.integer({ min: 1, max: 6 })).chain(([n, c]) => fc.record({
      inputs: fc.tuple(inputArb([n, c], 'float32', true, v), targets(n, c)),
      params: fc.record({ reduction: fc.constantFrom('mean', 'sum', 'none'), labelSmoothing: fc.constantFrom(0, 0.1, 1) }),
    })),
    run: ([x, t], p) => kd.crossEntropy(x!, t!, p as kd.CrossEntropyOptions),
  },
  {
    name: 'nllLoss',
    arb: (v) => fc.tuple(dim(5), fc.integer({ min: 1, max: 6 })).chain(([n, c]) => fc.record({
      inputs: fc.tuple(inputArb([n, c], 'float32', true, v), targets(n, c)),
      params: fc.record({ reduction: fc.constantFrom('mean', 'sum', 'none') }),
    })),
    run: ([x, t], p) => kd.nllLoss(x!, t!, p as kd.NllLossOptions),
  },
  {
    name: 'mseLoss',
    arb: (v) => shapeArb().chain((s) => fc.record({
      inputs: fc.tuple(inputArb(s, 'float32', true, v), inputArb(s, 'float32', true, v)),
      params: fc.record({ reduction: fc.constantFrom('mean', 'sum', 'none') }),
    })),
    run: ([x, t], p) => kd.mseLoss(x!, t!, p as { reduction: kd.Reduction }),
  },
];

/** An int32 index tensor of `shape` with entries in [0, n), sometimes one out of range. */
const indexInput = (shape: number[], n: number) =>
  fc.array(fc.oneof({ weight: 29, arbitrary: fc.integer({ min: 0, max: Math.max(0, n - 1) }) }, { weight: 1, arbitrary: fc.constantFrom(-1, n) }), { minLength: shape.reduce((a, b) => a * b, 1), maxLength: shape.reduce((a, b) => a * b, 1) })
    .map((data): InputSpec => ({ dtype: 'int32', shape, base: shape, perm: shape.map((_, i) => i), slices: [], expand: false, data, grad: false }));
/** An index shape no larger than `s` along each dim (gather's and scatterAdd's rule). */
const within = (s: number[]) => fc.tuple(...s.map((d) => fc.integer({ min: 0, max: d }))).map((x) => x as number[]);

const shapeOps: OpSpec[] = [
  {
    name: 'gather',
    arb: (v) => shapeArb(1, 3, 4).chain((s) => fc.tuple(fc.integer({ min: 0, max: s.length - 1 }), within(s)).chain(([d, is]) => fc.record({
      inputs: fc.tuple(inputArb(s, 'float32', true, v), indexInput(is, s[d]!)),
      params: fc.constant({ dim: d }),
    }))),
    run: ([x, i], p) => kd.gather(x!, p.dim as number, i!),
  },
  {
    name: 'scatterAdd',
    arb: (v) => shapeArb(1, 3, 4).chain((s) => fc.tuple(fc.integer({ min: 0, max: s.length - 1 }), within(s)).chain(([d, is]) => fc.record({
      inputs: fc.tuple(inputArb(s, 'float32', true, v), indexInput(is, s[d]!), inputArb(is, 'float32', true, v)),
      params: fc.constant({ dim: d }),
    }))),
    run: ([x, i, src], p) => kd.scatterAdd(x!, p.dim as number, i!, src!),
  },
  {
    name: 'cat',
    arb: (v) => fc.tuple(shapeArb(1, 3, 4), fc.array(dim(3), { minLength: 1, maxLength: 3 }), FLOATY).chain(([s, sizes, d]) => fc.integer({ min: 0, max: s.length - 1 }).chain((ax) => fc.record({
      inputs: fc.tuple(...sizes.map((n) => inputArb(s.map((x, i) => (i === ax ? n : x)), d, true, v))),
      params: fc.constant({ dim: ax }),
    }))),
    run: (xs, p) => kd.cat(xs, p.dim as number),
  },
  {
    name: 'stack',
    arb: (v) => fc.tuple(shapeArb(0, 3, 4), fc.integer({ min: 1, max: 3 }), FLOATY).chain(([s, count, d]) => fc.integer({ min: 0, max: s.length }).chain((ax) => fc.record({
      inputs: fc.tuple(...Array.from({ length: count }, () => inputArb(s, d, true, v))),
      params: fc.constant({ dim: ax }),
    }))),
    run: (xs, p) => kd.stack(xs, p.dim as number),
  },
  {
    name: 'pad',
    arb: (v) => shapeArb(1, 3, 4).chain((s) => fc.record({
      inputs: fc.tuple(inputArb(s, 'float32', true, v)),
      params: fc.record({ pads: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 2, maxLength: 2 * s.length }).map((p) => p.slice(0, p.length - (p.length % 2))), value: scalarArb }),
    })),
    run: ([x], p) => kd.pad(x!, p.pads as number[], p.value as number),
  },
  {
    name: 'contiguous',
    arb: (v) => one(shapeArb(), FLOATY, v),
    run: ([x]) => kd.contiguous(x!),
  },
];

/** Every op the properties cover, in a stable order (the CLI and the tests iterate it). */
export const OPS: readonly OpSpec[] = [...unaryOps, ...binaryOps, ...reductions, ...elementwiseMore, ...linalg, conv, ...pools, batchNorm, ...losses, ...shapeOps];

export function opByName(name: string): OpSpec {
  const op = OPS.find((o) => o.name === name);
  if (!op) throw new Error(`fuzz: no op '${name}' (ops: ${OPS.map((o) => o.name).join(', ')})`);
  return op;
}
