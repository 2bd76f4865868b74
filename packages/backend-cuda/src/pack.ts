/**
 * Packing backend arguments for the addon's single entry point, Context.run(op, args): views,
 * operands and numbers go into one reused Float64Array that C++ reads in order (see Args in
 * native/src/addon.cc). A view is [ptr, dtype, offset, rank, ...shape, ...strides], or [0] when
 * absent; an operand is [0, ...view] or [1, scalar]. The op tables mirror native/src/ops.h.
 */
import { UNARY_OPS, type ActivationOp, type BinaryOp, type DType, type Operand, type ReduceOp, type UnaryOp, type View } from '@kindling/core';
import { ownedBuffer } from './buffer.js';

export const OP = {
  copy: 0, accumulate: 1, fill: 2, gather: 3, scatterAdd: 4, unary: 5, binary: 6, where: 7, reduce: 8, matmul: 9, random: 10,
  conv2d: 11, conv2dBackwardInput: 12, conv2dBackwardWeight: 13, maxPool2d: 14, maxPool2dBackward: 15, avgPool2d: 16,
  avgPool2dBackward: 17, softmax: 18, softmaxBackward: 19, batchNormTrain: 20, batchNormBackward: 21, sgdStep: 22, adamStep: 23,
  activationBackward: 24, linear: 25,
} as const;

export const ACTIVATION_CODE: Readonly<Record<ActivationOp, number>> = { sigmoid: 0, tanh: 1, relu: 2 };

/** Unary codes follow core's UNARY_OPS order, which native/src/ops.h repeats. */
export const UNARY_CODE: Readonly<Record<UnaryOp, number>> = Object.fromEntries(UNARY_OPS.map((op, i) => [op, i])) as Record<UnaryOp, number>;

export const BINARY_CODE: Readonly<Record<BinaryOp, number>> = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, eq: 7, ne: 8, lt: 9, le: 10, gt: 11, ge: 12, logicalAnd: 13, logicalOr: 14,
};

export const REDUCE_CODE: Readonly<Record<ReduceOp, number>> = { sum: 0, max: 1, min: 2, argmax: 3, argmin: 4 };

export const DTYPE_CODE: Readonly<Record<DType, number>> = { float32: 0, int32: 1, bool: 2 };

export class Packer {
  readonly data = new Float64Array(1024);
  private n = 0;

  constructor(private readonly owner: object, private readonly device: string) {}

  reset(): this {
    this.n = 0;
    return this;
  }

  num(x: number): this {
    this.data[this.n++] = x;
    return this;
  }

  flag(b: boolean): this {
    this.data[this.n++] = b ? 1 : 0;
    return this;
  }

  view(v: View | null | undefined, op: string): this {
    if (!v) return this.num(0);
    const b = ownedBuffer(v.buffer, this.owner, this.device, op);
    const d = this.data;
    let n = this.n;
    const rank = v.shape.length;
    d[n++] = b.ptr;
    d[n++] = DTYPE_CODE[v.dtype];
    d[n++] = v.offset;
    d[n++] = rank;
    for (let i = 0; i < rank; i++) d[n++] = v.shape[i]!;
    for (let i = 0; i < rank; i++) d[n++] = v.strides[i]!;
    this.n = n;
    return this;
  }

  operand(x: Operand, op: string): this {
    if (typeof x === 'number') return this.num(1).num(x);
    return this.num(0).view(x, op);
  }
}
