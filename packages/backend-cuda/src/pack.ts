/**
 * Packing backend arguments for the addon's kernel entry, Context.run(entry, block, count): the
 * calling convention of core/native/kindling_packed.h, with core's PackedArgs as the block. Views,
 * operands and numbers go into the block in the order C++ reads them (native/src/args.h;
 * dispatch.cc lists each entry point's layout). A view is [ptr, dtype, offset, rank, ...shape,
 * ...strides], or [0] when absent; an operand is [0, ...view] or [1, scalar]. The codes are
 * positions in core's op table, which the build writes into the addon's generated kindling_ops.h.
 */
import {
  ACTIVATION_OPS, BINARY_OPS, KERNEL_ENTRY_POINTS, REDUCE_OPS, UNARY_OPS, opCodes,
  type Operand, type View,
} from '@kindling/core';
import { DTYPE_CODE, PackedArgs } from '@kindling/core/backend';
import { ownedBuffer } from './buffer.js';

/** Context.run's entry-point codes: positions in core's KERNEL_ENTRY_POINTS (addon.cc's kc::EntryOp). */
export const OP = opCodes(KERNEL_ENTRY_POINTS);

export const ACTIVATION_CODE = opCodes(ACTIVATION_OPS);
export const UNARY_CODE = opCodes(UNARY_OPS);
export const BINARY_CODE = opCodes(BINARY_OPS);
export const REDUCE_CODE = opCodes(REDUCE_OPS);


export { DTYPE_CODE };

export class Packer extends PackedArgs {
  constructor(private readonly owner: object, private readonly device: string) {
    super();
  }

  view(v: View | null | undefined, op: string): this {
    if (!v) return this.num(0);
    const b = ownedBuffer(v.buffer, this.owner, this.device, op);
    return this.num(b.ptr).num(DTYPE_CODE[v.dtype]).num(v.offset).num(v.shape.length).nums(v.shape).nums(v.strides);
  }

  operand(x: Operand, op: string): this {
    if (typeof x === 'number') return this.num(1).num(x);
    return this.num(0).view(x, op);
  }
}
