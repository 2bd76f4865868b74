/**
 * The block writer of the native addons' calling convention, `run(entry, block, count, ...arrays)`
 * (core/native/kindling_packed.h says why one packed block): numbers go into one reused
 * Float64Array in the order the entry point reads them. Backends extend it with their own operand
 * encodings: the cpu addon's array slots (an index into `arrays` plus an element offset), the cuda
 * addon's device views.
 */
import type { AdamStepOptions, SgdStepOptions } from '../backend.js';
import type { DType } from '../dtype.js';

/** The native addons' element type codes (the cpu addon's DTypeCode, the cuda addon's F32/I32/BOOL). */
export const DTYPE_CODE: Readonly<Record<DType, number>> = { float32: 0, int32: 1, bool: 2 };
export class PackedArgs {
  /** The block; grows (doubling) when a call needs more numbers, and is reused across calls. */
  data = new Float64Array(256);
  /** How many numbers the current call has written: the `count` passed to run(). */
  count = 0;

  /** Starts a new call's block. */
  reset(): this {
    this.count = 0;
    return this;
  }

  /** Room for `n` more numbers; returns the index of the first. */
  protected reserve(n: number): number {
    const at = this.count;
    if (at + n > this.data.length) {
      let size = this.data.length * 2;
      while (size < at + n) size *= 2;
      const bigger = new Float64Array(size);
      bigger.set(this.data.subarray(0, at));
      this.data = bigger;
    }
    this.count = at + n;
    return at;
  }

  num(x: number): this {
    this.data[this.reserve(1)] = x;
    return this;
  }

  flag(b: boolean): this {
    return this.num(b ? 1 : 0);
  }

  nums(xs: ArrayLike<number>): this {
    const at = this.reserve(xs.length);
    for (let i = 0; i < xs.length; i++) this.data[at + i] = xs[i]!;
    return this;
  }

  /** sgdStep's hyperparameters, in the order kindling_packed.h's read_sgd reads them. */
  sgd(o: SgdStepOptions): this {
    return this.num(o.lr).num(o.momentum).num(o.dampening).num(o.weightDecay).flag(o.nesterov).flag(o.maximize).flag(o.firstStep);
  }

  /** adamStep's hyperparameters, in the order kindling_packed.h's read_adam reads them. */
  adam(o: AdamStepOptions): this {
    return this.num(o.lr).num(o.beta1).num(o.beta2).num(o.eps).num(o.weightDecay).flag(o.decoupled).flag(o.amsgrad).flag(o.maximize).num(o.step);
  }
}
