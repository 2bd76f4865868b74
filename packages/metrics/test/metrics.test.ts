import { describe, expect, it } from 'vitest';
import * as kd from '@kindling/core';
import '@kindling/backend-cpu';
import { ConfusionMatrix, RunningMean, RunningSums, accuracy, correctCount, topKAccuracy } from '@kindling/metrics';

const logits = kd.tensor([
  [0.1, 0.7, 0.2],
  [0.8, 0.1, 0.1],
  [0.3, 0.3, 0.4],
  [0.2, 0.5, 0.3],
], { dtype: 'float32' });
const labels = kd.tensor([1, 0, 1, 2], { dtype: 'int32' });

describe('metrics', () => {
  it('accuracy is argmax(dim 1) == y summed, on the device', async () => {
    const c = correctCount(logits, labels);
    expect(c.shape).toEqual([]);
    expect(c.dtype).toBe('int32');
    expect(await c.item()).toBe(2);
    expect(await accuracy(logits, labels)).toBe(0.5);
  });

  it('top-k accuracy', async () => {
    expect(await topKAccuracy(logits, labels, 1)).toBe(0.5);
    expect(await topKAccuracy(logits, labels, 2)).toBe(1);
    await expect(topKAccuracy(logits, labels, 4)).rejects.toThrow('topKCorrectCount: k must be an integer in [1, 3], got 4');
  });

  it('confusion matrix and per-class precision / recall / F1 (sklearn conventions)', async () => {
    const cm = new ConfusionMatrix(3);
    cm.update(logits, labels);
    cm.update(kd.tensor([2, 2], { dtype: 'int32' }), kd.tensor([2, 0], { dtype: 'int32' }));
    expect(await cm.matrix()).toEqual([
      [1, 0, 1],
      [0, 1, 1],
      [0, 1, 1],
    ]);
    const r = await cm.report();
    expect(r.precision).toEqual([1, 0.5, 1 / 3]);
    expect(r.recall).toEqual([0.5, 0.5, 0.5]);
    expect(r.f1[0]).toBeCloseTo(2 / 3, 12);
    expect(r.support).toEqual([2, 2, 2]);
    expect(r.accuracy).toBe(0.5);
    cm.reset();
    expect((await cm.matrix()).flat().every((v) => v === 0)).toBe(true);
  });

  it('running sums stay on the device until read; running mean', async () => {
    const acc = new RunningSums();
    acc.add('loss', kd.tensor(1.5));
    acc.add('loss', kd.tensor(2.5));
    acc.add('correct', correctCount(logits, labels));
    acc.add('n', 4);
    expect(await acc.values()).toEqual({ loss: 4, correct: 2, n: 4 });
    const m = new RunningMean();
    m.update(2);
    m.update(4, 3);
    expect(m.mean).toBe(3.5);
  });
});
