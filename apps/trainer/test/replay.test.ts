import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '@kindling/backend-cpu';
import { compareReplays, recipeFor, relDiff, replayKindling, replayTorch } from '../src/replay.js';

const PYTHON = '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const noTorch = probe.status === 0 ? null
  : `${PYTHON} cannot import torch (${(probe.error?.message ?? probe.stderr.trim().split('\n').at(-1)) || 'unknown'}): apt-get install python3-torch, as .ci/run does`;
const noData = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz') ? null
  : 'no Fashion-MNIST in /usr/share/datasets/fashion-mnist: apt-get install dataset-fashion-mnist, as .ci/run does';

describe('the replay: the same iterations in Kindling and PyTorch 1.13', () => {
  it("the seed's LeNet, 3 Adam iterations from the same weights and batches: losses and gradients agree to 1e-4", async (ctx) => {
    if (noTorch) ctx.skip(noTorch);
    if (noData) ctx.skip(noData);
    const out = mkdtempSync(join(tmpdir(), 'kindling-replay-'));
    try {
      const o = { model: 'lenet', iters: 3, seed: 0, dropout: 'masks', out, dataDir: null, recipe: recipeFor('lenet'), keepBatches: false } as const;
      const k = await replayKindling(o);
      const t = replayTorch(o, { python: PYTHON, timeoutMs: 240_000 });
      expect(t.framework).toMatch(/^pytorch 1\.13/);
      expect(t.iterations.map((r) => r.iteration)).toEqual([0, 1, 2]);
      // Both sides computed: ten classes at initialisation give a loss near ln 10, and the
      // optimizer's steps moved it.
      expect(Math.abs(t.iterations[0]!.loss - Math.log(10))).toBeLessThan(0.1);
      expect(t.iterations[2]!.loss).not.toBe(t.iterations[0]!.loss);
      for (let i = 0; i < 3; i++) expect(relDiff(k.iterations[i]!.loss, t.iterations[i]!.loss)).toBeLessThan(1e-4);
      // Norm-wise per parameter: max-abs ratios of the first conv's gradient reach ~2e-4, float32
      // rounding of a sum with heavy cancellation (both sides sit ~1e-3 from float64 there).
      expect(t.grads0.maxL2Rel).toBeLessThan(1e-4);
      expect(Object.keys(t.grads0.perParam)).toHaveLength(10);
      expect(t.inputCheck.labelsEqual).toBe(true);
      expect(t.inputCheck.interpolateMaxAbs).toBe(0); // 28×28: ToTensor only, x / 255 exactly
      const c = compareReplays(k, t);
      expect(c.firstDivergence).toBeNull();
      expect(c.table.split('\n')).toHaveLength(18);
      expect(existsSync(join(out, 'batches'))).toBe(false);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
