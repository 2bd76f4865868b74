/**
 * Packing the cpu addon's calls: run(entry, block, count, ...arrays), the calling convention of
 * core/native/kindling_packed.h. Numbers go into core's reused PackedArgs block; each typed array
 * a call touches is passed once after the block, and the block names it by [slot, element offset]
 * (slot -1: absent). native/src/dispatch.cc lists each entry point's layout.
 */
import { ACTIVATION_OPS, BINARY_OPS, KERNEL_ENTRY_POINTS, REDUCE_OPS, UNARY_OPS, opCodes } from '@kindling/core';
import { DTYPE_CODE, PackedArgs, type TypedArray } from '@kindling/core/backend';
import type { NativeAddon } from './addon.js';

/**
 * Codes: positions in core's op table, which the native build writes into kindling_ops.h. ENTRY
 * numbers run()'s entry points; the others the ops inside an entry point. The addon runs the ops
 * it has kernels for and answers false for the others (then the TypeScript kernels run them).
 */
export const ENTRY = opCodes(KERNEL_ENTRY_POINTS);
export const UNARY_CODE = opCodes(UNARY_OPS);
export const BINARY_CODE = opCodes(BINARY_OPS);
export const ACTIVATION_CODE = opCodes(ACTIVATION_OPS);
export const REDUCE_CODE = opCodes(REDUCE_OPS);


/** The arrays a call can pass: tensor storage, and Float64Array outputs (batch norm's statistics). */
export type HostArray = TypedArray | Float64Array;

/** The most arrays one call passes (batchNormBackward's eight). */
const MAX_ARRAYS = 8;

export class CpuPacker extends PackedArgs {
  private readonly arrays: HostArray[] = [];

  constructor(private readonly addon: NativeAddon) {
    super();
  }

  override reset(): this {
    super.reset();
    this.arrays.length = 0;
    return this;
  }

  /** A dense operand [slot, offset]; null or undefined: absent (slot -1). */
  array(a: HostArray | null | undefined, offset: number): this {
    if (!a) return this.num(-1).num(0);
    let slot = this.arrays.indexOf(a);
    if (slot < 0) {
      slot = this.arrays.length;
      if (slot === MAX_ARRAYS) throw new Error(`cpu addon: one call passes at most ${MAX_ARRAYS} arrays`);
      this.arrays.push(a);
    }
    return this.num(slot).num(offset);
  }

  /** A strided operand [slot, offset, strides[nd]] (missing strides, of a scalar, are 0). */
  strided(a: TypedArray, offset: number, strides: readonly number[], nd: number): this {
    this.array(a, offset);
    for (let d = 0; d < nd; d++) this.num(strides[d] ?? 0);
    return this;
  }

  /** Runs entry point `entry` on the block written since reset(). */
  run<R = undefined>(entry: number): R {
    return this.addon.run(entry, this.data, this.count, ...this.arrays) as R;
  }
}
