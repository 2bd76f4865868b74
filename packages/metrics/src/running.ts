import { type Tensor, KindlingError, noGrad, tidy, keep, copyInto, binary, cast, fmtShape } from '@kindling/core';

/**
 * d2l's Accumulator on the device: named running sums of 0-d tensors (losses, correct counts)
 * and plain numbers (sample counts). add() never reads back; values() reads once, e.g. at the
 * end of an epoch, so a GPU never stalls mid-epoch.
 */
export class RunningSums {
  private sums = new Map<string, Tensor>();
  private counts = new Map<string, number>();

  /** Adds a 0-d tensor or a number to `name`. */
  add(name: string, value: Tensor | number): void {
    if (typeof value === 'number') {
      this.counts.set(name, (this.counts.get(name) ?? 0) + value);
      return;
    }
    if (value.size !== 1) throw new KindlingError('RunningSums.add', `${name}: expected a one-element tensor, got ${fmtShape(value.shape)}`);
    noGrad(() =>
      tidy(() => {
        const v = cast(value.detach().reshape([]), 'float32');
        const cur = this.sums.get(name);
        if (!cur) this.sums.set(name, keep(binary('add', v, 0)));
        else copyInto(cur, binary('add', cur, v));
      }),
    );
  }

  /** Every sum, read back. */
  async values(): Promise<Record<string, number>> {
    const out: Record<string, number> = Object.fromEntries(this.counts);
    for (const [k, t] of this.sums) out[k] = await t.item();
    return out;
  }

  reset(): void {
    for (const t of this.sums.values()) t.dispose();
    this.sums.clear();
    this.counts.clear();
  }
}

/** A running mean of plain numbers (for values already on the host, e.g. timings). */
export class RunningMean {
  private total = 0;
  private n = 0;

  update(value: number, weight = 1): void {
    this.total += value * weight;
    this.n += weight;
  }

  get mean(): number {
    return this.n ? this.total / this.n : NaN;
  }

  get count(): number {
    return this.n;
  }

  reset(): void {
    this.total = 0;
    this.n = 0;
  }
}

