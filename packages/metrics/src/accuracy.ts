import { type Tensor, KindlingError, fmtShape, noGrad, tidy, argmax, gather, sum, cast } from '@kindling/core';

function check(op: string, logits: Tensor, labels: Tensor): void {
  if (logits.ndim !== 2 || labels.ndim !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new KindlingError(op, `expected logits [N,C] and labels [N], got ${fmtShape(logits.shape)} and ${fmtShape(labels.shape)}`);
  }
  if (labels.dtype !== 'int32') throw new KindlingError(op, `labels ${fmtShape(labels.shape)} must be int32 class indices, got ${labels.dtype}`);
}

/**
 * The number of correct predictions, as d2l computes it: argmax over dim 1 compared with the
 * labels and summed, on the device. Returns a 0-d int32 tensor, so a training loop can add these
 * up and read back once per epoch instead of once per batch.
 */
export function correctCount(logits: Tensor, labels: Tensor): Tensor {
  check('correctCount', logits, labels);
  return noGrad(() => tidy(() => sum(argmax(logits, 1).eq(labels))));
}

/** Fraction of correct predictions (reads back one number). */
export async function accuracy(logits: Tensor, labels: Tensor): Promise<number> {
  const c = correctCount(logits, labels);
  const n = await c.item();
  c.dispose();
  return labels.shape[0] === 0 ? 0 : n / labels.shape[0]!;
}

/**
 * Top-k correct count on the device: a sample counts when fewer than k classes score strictly
 * higher than its label (ties resolved in the label's favour).
 */
export function topKCorrectCount(logits: Tensor, labels: Tensor, k: number): Tensor {
  check('topKCorrectCount', logits, labels);
  if (!Number.isInteger(k) || k < 1 || k > logits.shape[1]!) {
    throw new KindlingError('topKCorrectCount', `k must be an integer in [1, ${logits.shape[1]}], got ${k}`);
  }
  return noGrad(() =>
    tidy(() => {
      const target = gather(logits, 1, labels.unsqueeze(1));
      const higher = sum(cast(logits.gt(target), 'int32'), 1);
      return sum(higher.lt(k));
    }),
  );
}

export async function topKAccuracy(logits: Tensor, labels: Tensor, k: number): Promise<number> {
  const c = topKCorrectCount(logits, labels, k);
  const n = await c.item();
  c.dispose();
  return labels.shape[0] === 0 ? 0 : n / labels.shape[0]!;
}
