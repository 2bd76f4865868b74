import { type Tensor, KindlingError, fmtShape, noGrad, tidy, argmax, zeros, scatterAdd, onesLike, keep, copyInto, where } from '@kindling/core';

export interface ClassReport {
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
  /** Unweighted means over classes (sklearn's 'macro'). */
  macro: { precision: number; recall: number; f1: number };
  accuracy: number;
}

/**
 * A confusion matrix accumulated on the device: rows are true classes, columns predictions
 * (sklearn's and torchmetrics' convention). update() costs no readback; compute() reads once.
 */
export class ConfusionMatrix {
  /** C·C cells, then one slot counting labels or predictions outside [0, C) (see update()). */
  private counts: Tensor;

  constructor(
    readonly numClasses: number,
    device?: string,
  ) {
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new KindlingError('ConfusionMatrix', `numClasses must be a positive integer, got ${numClasses}`);
    this.counts = keep(zeros([numClasses * numClasses + 1], { dtype: 'int32', device }));
  }

  /** Adds a batch: logits [N,C] (argmax taken) or predicted labels [N], and true labels [N]. */
  update(predictions: Tensor, labels: Tensor): void {
    const C = this.numClasses;
    if (labels.ndim !== 1 || labels.dtype !== 'int32') throw new KindlingError('ConfusionMatrix.update', `labels must be int32 [N], got ${labels.dtype} ${fmtShape(labels.shape)}`);
    if (predictions.ndim === 2 && predictions.shape[1] !== C) {
      throw new KindlingError('ConfusionMatrix.update', `logits ${fmtShape(predictions.shape)} must have ${C} classes`);
    }
    noGrad(() =>
      tidy(() => {
        const pred = predictions.ndim === 2 ? argmax(predictions, 1) : predictions;
        if (pred.shape[0] !== labels.shape[0]) throw new KindlingError('ConfusionMatrix.update', `predictions ${fmtShape(pred.shape)} and labels ${fmtShape(labels.shape)} differ in length`);
        const p = pred.cast('int32');
        // A label of −3 would land in another row's cell and one of C+2 past the matrix: every
        // pair must lie in [0, C). Backends that read synchronously (cpu) say which value is bad
        // now; the others would need a readback per batch, so out-of-range pairs go to the extra
        // slot and matrix() reports them.
        if (labels.backend.readSync) this.checkRange(labels, p);
        const ok = labels.ge(0).logicalAnd(labels.lt(C)).logicalAnd(p.ge(0)).logicalAnd(p.lt(C));
        const cell = where(ok, labels.mul(C).add(p), C * C);
        copyInto(this.counts, scatterAdd(this.counts, 0, cell, onesLike(cell)));
      }),
    );
  }

  private checkRange(labels: Tensor, pred: Tensor): void {
    const C = this.numClasses;
    for (const [what, t] of [['label', labels], ['predicted class', pred]] as const) {
      const d = t.dataSync();
      for (let i = 0; i < d.length; i++) {
        const v = d[i]!;
        if (v < 0 || v >= C) throw new KindlingError('ConfusionMatrix.update', `${what} ${v} at index ${i} is outside [0, ${C}) for ${C} classes`);
      }
    }
  }

  /** The matrix as nested arrays [true][predicted]. */
  async matrix(): Promise<number[][]> {
    const d = await this.counts.data();
    const C = this.numClasses;
    const bad = d[C * C]!;
    if (bad) throw new KindlingError('ConfusionMatrix', `${bad} label${bad === 1 ? '' : 's'} or predicted class${bad === 1 ? '' : 'es'} passed to update() lay outside [0, ${C}) and were not counted`);
    return Array.from({ length: C }, (_, i) => Array.from(d.subarray(i * C, (i + 1) * C)));
  }

  /** Per-class precision, recall and F1 (0 where undefined, as sklearn's zero_division=0). */
  async report(): Promise<ClassReport> {
    const m = await this.matrix();
    const C = this.numClasses;
    const precision: number[] = [];
    const recall: number[] = [];
    const f1: number[] = [];
    const support: number[] = [];
    let correct = 0;
    let total = 0;
    for (let c = 0; c < C; c++) {
      const tp = m[c]![c]!;
      const actual = m[c]!.reduce((a, b) => a + b, 0);
      let predicted = 0;
      for (let r = 0; r < C; r++) predicted += m[r]![c]!;
      const p = predicted ? tp / predicted : 0;
      const r = actual ? tp / actual : 0;
      precision.push(p);
      recall.push(r);
      f1.push(p + r ? (2 * p * r) / (p + r) : 0);
      support.push(actual);
      correct += tp;
      total += actual;
    }
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / C;
    return { precision, recall, f1, support, macro: { precision: mean(precision), recall: mean(recall), f1: mean(f1) }, accuracy: total ? correct / total : 0 };
  }

  reset(): void {
    this.counts.zero_();
  }

  dispose(): void {
    this.counts.dispose();
  }
}
