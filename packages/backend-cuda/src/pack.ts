/**
 * Packing backend arguments for the addon's single entry point, Context.run(op, args): views,
 * operands and numbers go into one reused Float64Array that C++ reads in order (see Args in
 * native/src/addon.cc). A view is [ptr, dtype, offset, rank, ...shape, ...strides], or [0] when
 * absent; an operand is [0, ...view] or [1, scalar]. The op codes are positions in core's op
 * table, which the build writes into the addon's generated kindling_ops.h.
 */
import {
  ACTIVATION_OPS, BINARY_OPS, KERNEL_ENTRY_POINTS, REDUCE_OPS, UNARY_OPS, opCodes,
  type DType, type Operand, type View,
} from '@kindling/core';
import { ownedBuffer } from './buffer.js';

/** Context.run's entry-point codes: positions in core's KERNEL_ENTRY_POINTS (addon.cc's kc::EntryOp). */
export const OP = opCodes(KERNEL_ENTRY_POINTS);

export const ACTIVATION_CODE = opCodes(ACTIVATION_OPS);
export const UNARY_CODE = opCodes(UNARY_OPS);
export const BINARY_CODE = opCodes(BINARY_OPS);
export const REDUCE_CODE = opCodes(REDUCE_OPS);

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
