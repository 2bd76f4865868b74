import type { Operand, View } from '../backend.js';
import { BINARY_OPS, COMPARISON_OPS, INT_PRESERVING, UNARY_OPS, isDifferentiable, type BinaryOp, type UnaryOp } from './table.js';
import { type DType, promoteTypes, promoteWithScalar } from '../dtype.js';
import { apply } from '../grad-mode.js';
import { broadcastShapes, broadcastStrides } from '../shape.js';
import { Tensor } from '../tensor.js';
import { alloc, backendOf } from './util.js';
import { cast, scalarLike } from './creation.js';
import { tidy } from '../scope.js';

export type TensorLike = Tensor | number | boolean;

export function unary(op: UnaryOp, x: Tensor): Tensor {
  const b = backendOf(op, x);
  const outDtype: DType = op === 'logicalNot' ? 'bool' : INT_PRESERVING.has(op) && x.dtype !== 'bool' ? x.dtype : 'float32';
  const run = (): Tensor[] => {
    const src = op !== 'logicalNot' && x.dtype !== outDtype ? cast(x, outDtype) : x;
    const out = alloc(b, x.shape, outDtype);
    b.unary(op, src.backendView(), out.backendView());
    if (src !== x) src.dispose();
    return [out];
  };
  return isDifferentiable(op) ? apply(op, [x], {}, run)[0]! : run()[0]!;
}

/** The functional form of every unary op of the table (torch.exp, ...), keyed by its name. */
export type UnaryFunctions = { readonly [K in UnaryOp]: (x: Tensor) => Tensor };
/** The functional form of every binary op of the table (torch.add, torch.gt, ...). */
export type BinaryFunctions = { readonly [K in BinaryOp]: (a: TensorLike, b: TensorLike) => Tensor };
export const unaryFunctions = Object.freeze(Object.fromEntries(UNARY_OPS.map((op) => [op, (x: Tensor) => unary(op, x)]))) as UnaryFunctions;
export const binaryFunctions = Object.freeze(
  Object.fromEntries(BINARY_OPS.map((op) => [op, (a: TensorLike, b: TensorLike) => binary(op, a, b)])),
) as BinaryFunctions;

/** t's view read as `shape` (stride 0 on broadcast dims). */
export function broadcastView(t: Tensor, shape: readonly number[]): View {
  return { ...t.backendView(), shape, strides: broadcastStrides(t.shape, t.strides, shape) };
}

function operand(t: Tensor, shape: readonly number[]): Operand {
  return t.scalarValue !== undefined ? t.scalarValue : broadcastView(t, shape);
}

/** Lifts JS numbers to scalar tensors on `like`'s device, with torch's scalar type promotion. */
export function lift(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (a instanceof Tensor && b instanceof Tensor) return [a, b];
  if (a instanceof Tensor) return [a, scalarLike(b as number | boolean, a, promoteWithScalar(a.dtype, b as number), op)];
  if (b instanceof Tensor) return [scalarLike(a as number | boolean, b, promoteWithScalar(b.dtype, a as number), op), b];
  throw new TypeError(`${op}: at least one operand must be a tensor`);
}

/** True division and pow always compute in float (torch's true_divide). */
function computeDtype(op: BinaryOp, a: Tensor, b: Tensor): DType {
  const t = promoteTypes(a.dtype, b.dtype);
  if (op === 'div' || op === 'pow') return t === 'float32' || op === 'div' ? 'float32' : t;
  if ((op === 'logicalAnd' || op === 'logicalOr') && t !== 'bool') return 'bool';
  if (t === 'bool' && !COMPARISON_OPS.has(op)) return 'int32';
  return t;
}

export function binary(op: BinaryOp, a0: TensorLike, b0: TensorLike): Tensor {
  const [a, b] = lift(op, a0, b0);
  const be = backendOf(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const ct = computeDtype(op, a, b);
  const outDtype: DType = COMPARISON_OPS.has(op) ? 'bool' : ct;
  const run = (): Tensor[] => {
    const ac = a.dtype === ct || a.scalarValue !== undefined ? a : cast(a, ct);
    const bc = b.dtype === ct || b.scalarValue !== undefined ? b : cast(b, ct);
    const out = alloc(be, shape, outDtype);
    be.binary(op, operand(ac, shape), operand(bc, shape), out.backendView());
    if (ac !== a) ac.dispose();
    if (bc !== b) bc.dispose();
    return [out];
  };
  const result = isDifferentiable(op) ? apply(op, [a, b], {}, run)[0]! : run()[0]!;
  if (a !== a0) a.dispose();
  if (b !== b0) b.dispose();
  return result;
}

/** torch.where(condition, x, y) with broadcasting of all three. */
export function where(cond: Tensor, x0: TensorLike, y0: TensorLike): Tensor {
  const [x, y] = lift('where', x0, y0);
  const be = backendOf('where', cond, x, y);
  const shape = broadcastShapes('where', cond.shape, x.shape, y.shape);
  const ct = promoteTypes(x.dtype, y.dtype);
  const c = cond.dtype === 'bool' ? cond : cast(cond, 'bool');
  const out = apply('where', [c, x, y], {}, () => {
    const xc = x.dtype === ct || x.scalarValue !== undefined ? x : cast(x, ct);
    const yc = y.dtype === ct || y.scalarValue !== undefined ? y : cast(y, ct);
    const o = alloc(be, shape, ct);
    be.where(broadcastView(c, shape), operand(xc, shape), operand(yc, shape), o.backendView());
    if (xc !== x) xc.dispose();
    if (yc !== y) yc.dispose();
    return [o];
  })[0]!;
  if (c !== cond) c.dispose();
  if (x !== x0) x.dispose();
  if (y !== y0) y.dispose();
  return out;
}

// ---- composites (recorded through their parts; tidy frees the intermediates) ----

/** gelu, exact (erf) or tanh-approximated, as torch.nn.functional.gelu. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return tidy(() => {
    if (approximate === 'tanh') {
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      const x3 = binary('mul', binary('mul', x, x), x);
      const inner = binary('mul', binary('add', x, binary('mul', x3, 0.044715)), Math.sqrt(2 / Math.PI));
      return binary('mul', binary('mul', x, 0.5), binary('add', unary('tanh', inner), 1));
    }
    const e = unary('erf', binary('mul', x, Math.SQRT1_2));
    return binary('mul', binary('mul', x, 0.5), binary('add', e, 1));
  });
}

export function clamp(x: Tensor, min: number | null, max: number | null): Tensor {
  return tidy(() => {
    let r = x;
    if (min !== null) r = binary('maximum', r, min);
    if (max !== null) r = binary('minimum', r, max);
    return r === x ? binary('add', x, 0) : r;
  });
}
