import { type Tensor, KindlingError, fmtShape, noGrad, tidy, argmax, zeros, scatterAdd, onesLike, keep, copyInto } from '@kindling/core';

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
  private counts: Tensor;

  constructor(
    readonly numClasses: number,
    device?: string,
  ) {
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new KindlingError('ConfusionMatrix', `numClasses must be a positive integer, got ${numClasses}`);
    this.counts = keep(zeros([numClasses * numClasses], { dtype: 'int32', device }));
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
        const cell = labels.mul(C).add(pred.cast('int32'));
        copyInto(this.counts, scatterAdd(this.counts, 0, cell, onesLike(cell)));
      }),
    );
  }

  /** The matrix as nested arrays [true][predicted]. */
  async matrix(): Promise<number[][]> {
    const d = await this.counts.data();
    const C = this.numClasses;
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
