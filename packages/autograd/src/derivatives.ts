/**
 * The derivative table: one entry per differentiable op of core's op table (the names match),
 * written with core ops so it runs on every backend. Like PyTorch's derivatives.yaml, each entry
 * says what it saves and how to turn the output's gradient into the inputs' gradients.
 * Broadcasting is undone by sumTo(); formulas run with recording off.
 */
import {
  type Tensor, type DifferentiableOp,
  binary, unary, where, cast, zeros, sum, reshape, permute, expand, slice, narrow, gather,
  scatterAddInto, bmm, transpose, copyInto, tidy,
  conv2dBackwardInput, conv2dBackwardWeight, maxPool2dBackward, avgPool2dBackward,
  softmaxBackward, batchNormBackward, activationBackward, matmul,
} from '@kindling/core';
import type { Node } from './graph.js';

export interface Derivative<K extends DifferentiableOp = DifferentiableOp> {
  /** Which inputs/outputs backward reads ('all', or indices). Shapes are always kept. */
  saveInputs?: 'all' | number[];
  saveOutputs?: 'all' | number[];
  /** Outputs that carry gradient (default: all). */
  differentiableOutputs?: number[];
  /** Gradients for each input (null where not needed or not differentiable). */
  backward(g: Tensor, n: Node<K>, needs: readonly boolean[]): (Tensor | null)[];
}

/** One derivative per differentiable op of core's table: a table op without one does not compile. */
export type Derivatives = { readonly [K in DifferentiableOp]: Derivative<K> };

/** Sums a broadcast gradient back down to `shape` (the adjoint of broadcasting). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  return tidy(() => {
    const lead = g.ndim - shape.length;
    const dims: number[] = [];
    for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
    return reshape(sum(g, dims, true), shape);
  });
}

const x0: Partial<Derivative> = { saveInputs: [0] };
const y0: Partial<Derivative> = { saveOutputs: [0] };

function unaryRule(save: 'input' | 'output', f: (g: Tensor, t: Tensor) => Tensor): Derivative {
  return {
    ...(save === 'input' ? x0 : y0),
    backward: (g, n) => [f(g, save === 'input' ? n.savedInput(0) : n.savedOutput(0))],
  };
}

/** Binary rule: computes per-input grads at the broadcast shape, then sums them down. */
function binaryRule(save: Derivative['saveInputs'], f: (g: Tensor, a: () => Tensor, b: () => Tensor, n: Node, needs: readonly boolean[]) => [Tensor | null, Tensor | null]): Derivative {
  return {
    saveInputs: save,
    backward: (g, n, needs) => {
      const [ga, gb] = f(g, () => n.savedInput(0), () => n.savedInput(1), n, needs);
      return [ga && needs[0] ? sumTo(ga, n.inputShapes[0]!) : null, gb && needs[1] ? sumTo(gb, n.inputShapes[1]!) : null];
    },
  };
}

const inverse = (dims: readonly number[]): number[] => dims.map((_, i) => dims.indexOf(i));

export const derivatives: Derivatives = {
  // ---- unary ----
  neg: unaryRule('input', (g) => unary('neg', g)),
  abs: unaryRule('input', (g, x) => binary('mul', g, unary('sign', x))),
  exp: unaryRule('output', (g, y) => binary('mul', g, y)),
  log: unaryRule('input', (g, x) => binary('div', g, x)),
  sqrt: unaryRule('output', (g, y) => binary('div', g, binary('mul', y, 2))),
  rsqrt: unaryRule('output', (g, y) => binary('mul', g, binary('mul', binary('mul', binary('mul', y, y), y), -0.5))),
  reciprocal: unaryRule('output', (g, y) => binary('mul', g, unary('neg', binary('mul', y, y)))),
  square: unaryRule('input', (g, x) => binary('mul', g, binary('mul', x, 2))),
  sin: unaryRule('input', (g, x) => binary('mul', g, unary('cos', x))),
  cos: unaryRule('input', (g, x) => binary('mul', g, unary('neg', unary('sin', x)))),
  // From the saved output, in one pass where the backend has the kernel (core's activationBackward):
  // tanh' = 1 − y², sigmoid' = y·(1 − y), relu'(0) = 0 as PyTorch (the mask is y > 0).
  tanh: unaryRule('output', (g, y) => activationBackward('tanh', y, g)),
  sigmoid: unaryRule('output', (g, y) => activationBackward('sigmoid', y, g)),
  relu: unaryRule('output', (g, y) => activationBackward('relu', y, g)),
  erf: unaryRule('input', (g, x) => binary('mul', g, binary('mul', unary('exp', unary('neg', binary('mul', x, x))), 2 / Math.sqrt(Math.PI)))),

  // ---- binary ----
  add: binaryRule([], (g) => [g, g]),
  sub: binaryRule([], (g) => [g, unary('neg', g)]),
  mul: binaryRule('all', (g, a, b, _n, needs) => [needs[0] ? binary('mul', g, b()) : null, needs[1] ? binary('mul', g, a()) : null]),
  div: binaryRule('all', (g, a, b, _n, needs) => [
    needs[0] ? binary('div', g, b()) : null,
    needs[1] ? unary('neg', binary('div', binary('mul', g, a()), binary('mul', b(), b()))) : null,
  ]),
  pow: {
    saveInputs: 'all',
    saveOutputs: [0],
    backward: (g, n, needs) => {
      const a = n.savedInput(0);
      const b = n.savedInput(1);
      const ga = needs[0] ? binary('mul', g, binary('mul', b, binary('pow', a, binary('sub', b, 1)))) : null;
      const gb = needs[1] ? binary('mul', g, binary('mul', n.savedOutput(0), unary('log', a))) : null;
      return [ga && sumTo(ga, n.inputShapes[0]!), gb && sumTo(gb, n.inputShapes[1]!)];
    },
  },
  // Ties split the gradient evenly, as torch.maximum/minimum do.
  maximum: binaryRule('all', (g, a, b) => tieSplit(g, binary('gt', a(), b()), binary('eq', a(), b()))),
  minimum: binaryRule('all', (g, a, b) => tieSplit(g, binary('lt', a(), b()), binary('eq', a(), b()))),
  where: {
    saveInputs: [0],
    backward: (g, n, needs) => {
      const c = n.savedInput(0);
      return [
        null,
        needs[1] ? sumTo(where(c, g, 0), n.inputShapes[1]!) : null,
        needs[2] ? sumTo(where(c, 0, g), n.inputShapes[2]!) : null,
      ];
    },
  },
  cast: { backward: (g) => [g] },

  // ---- reductions ----
  sum: {
    backward: (g, n) => {
      const { dims, keepdim } = n.attrs;
      const shape = n.inputShapes[0]!;
      const kept = keepdim ? g : reshape(g, shape.map((s, i) => (dims.includes(i) ? 1 : s)));
      return [expand(kept, shape)];
    },
  },
  amax: extremum(),
  amin: extremum(),

  // ---- views and data movement ----
  alias: { backward: (g) => [g] },
  clone: { backward: (g) => [g] },
  reshape: { backward: (g, n) => [reshape(g, n.inputShapes[0]!)] },
  permute: { backward: (g, n) => [permute(g, inverse(n.attrs.dims))] },
  expand: { backward: (g, n) => [sumTo(g, n.inputShapes[0]!)] },
  slice: {
    backward: (g, n) => {
      const z = zeros(n.inputShapes[0]!, { device: g.device });
      const v = slice(z, n.attrs.specs);
      copyInto(v, g);
      v.dispose();
      return [z];
    },
  },
  pad: {
    backward: (g, n) => {
      const lo = n.attrs.lo;
      return [slice(g, n.inputShapes[0]!.map((s, d) => [lo[d]!, lo[d]! + s, 1] as const))];
    },
  },
  cat: {
    backward: (g, n, needs) => {
      const { dim, sizes } = n.attrs;
      let off = 0;
      return sizes.map((s, i) => {
        const r = needs[i] ? narrow(g, dim, off, s) : null;
        off += s;
        return r;
      });
    },
  },
  gather: {
    backward: (g, n) => {
      const { dim, index, inputShape } = n.attrs;
      return [scatterAddInto(inputShape, dim, index, g)];
    },
  },
  scatterAdd: {
    backward: (g, n, needs) => {
      const { dim, index } = n.attrs;
      return [needs[0] ? g : null, needs[1] ? gather(g, dim, index) : null];
    },
  },

  // ---- linear algebra and nn ops ----
  bmm: {
    saveInputs: 'all',
    backward: (g, n, needs) => [
      needs[0] ? bmm(g, transpose(n.savedInput(1), 1, 2)) : null,
      needs[1] ? bmm(transpose(n.savedInput(0), 1, 2), g) : null,
    ],
  },
  // y = x·Wᵀ + b with x [M,K], W [N,K]: gx = g·W, gW = gᵀ·x (already [N,K], no transposed copy), gb = Σ_rows g.
  linear: {
    saveInputs: [0, 1],
    backward: (g, n, needs) => [
      needs[0] ? matmul(g, n.savedInput(1)) : null,
      needs[1] ? matmul(transpose(g, 0, 1), n.savedInput(0)) : null,
      needs[2] ? sum(g, [0]) : null,
    ],
  },
  conv2d: {
    saveInputs: [0, 1],
    backward: (g, n, needs) => {
      const p = n.attrs.params;
      return [
        needs[0] ? conv2dBackwardInput(g, n.savedInput(1), n.inputShapes[0]!, p) : null,
        needs[1] ? conv2dBackwardWeight(g, n.savedInput(0), n.inputShapes[1]!, p) : null,
        needs[2] ? sum(g, [0, 2, 3]) : null,
      ];
    },
  },
  maxPool2d: {
    saveOutputs: [1],
    differentiableOutputs: [0],
    backward: (g, n) => [maxPool2dBackward(g, n.savedOutput(1), n.inputShapes[0]!, n.attrs.params)],
  },
  avgPool2d: {
    backward: (g, n) => [avgPool2dBackward(g, n.inputShapes[0]!, n.attrs.params)],
  },
  softmax: {
    saveOutputs: [0],
    backward: (g, n) => [softmaxBackward(n.savedOutput(0), g, n.attrs.dim, false)],
  },
  logSoftmax: {
    saveOutputs: [0],
    backward: (g, n) => [softmaxBackward(n.savedOutput(0), g, n.attrs.dim, true)],
  },
  batchNorm: {
    saveInputs: [0, 1],
    saveOutputs: [1, 2],
    differentiableOutputs: [0],
    backward: (g, n, needs) => {
      const { hasWeight, hasBias } = n.attrs;
      const weight = hasWeight ? n.savedInput(1) : null;
      const [gx, gw, gb] = batchNormBackward(g, n.savedInput(0), weight, n.savedOutput(1), n.savedOutput(2));
      const grads: (Tensor | null)[] = [needs[0] ? gx : null];
      if (hasWeight) grads.push(needs[1] ? gw : null);
      if (hasBias) grads.push(needs[grads.length] ? gb : null);
      return grads;
    },
  },
};

function tieSplit(g: Tensor, wins: Tensor, ties: Tensor): [Tensor, Tensor] {
  const wa = binary('add', cast(wins, 'float32'), binary('mul', cast(ties, 'float32'), 0.5));
  return [binary('mul', g, wa), binary('mul', g, binary('sub', 1, wa))];
}

/** amax/amin: the gradient goes to the extremal elements, shared evenly among ties. */
function extremum(): Derivative<'amax' | 'amin'> {
  return {
    saveInputs: [0],
    saveOutputs: [0],
    backward: (g, n) => {
      const { dims, keepdim } = n.attrs;
      const x = n.savedInput(0);
      const keptShape = x.shape.map((s, i) => (dims.includes(i) ? 1 : s));
      const y = keepdim ? n.savedOutput(0) : reshape(n.savedOutput(0), keptShape);
      const gk = keepdim ? g : reshape(g, keptShape);
      const mask = cast(binary('eq', x, y), 'float32');
      return [binary('mul', mask, binary('div', gk, sum(mask, dims, true)))];
    },
  };
}

export { binary };
