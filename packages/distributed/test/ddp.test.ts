import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, lastJson, startNode, startRanks } from './helpers.js';

type State = Record<string, number[]>;
type Ranked = { buckets: number[]; launched: number[]; state: State };

function maxDiff(a: State, b: State): number {
  let m = 0;
  for (const [k, v] of Object.entries(a)) v.forEach((x, i) => (m = Math.max(m, Math.abs(x - b[k]![i]!))));
  return m;
}

async function ddpVsSingle(mode: string, world: number, env: Record<string, string> = {}): Promise<{ ranks: Ranked[]; single: State }> {
  const vars = { MODE: mode, STEPS: '3', PER_RANK: '8', WORLD: String(world), ...env };
  const ranks = await startRanks('ddp.mjs', world, vars);
  const single = startNode(join(FIXTURES, 'single.mjs'), vars);
  const out = await Promise.all(ranks.map(async (p) => lastJson<Ranked>(await p.exit)));
  return { ranks: out, single: lastJson<{ state: State }>(await single.exit).state };
}

describe('DistributedDataParallel on Gloo', () => {
  it('LeNet for 3 SGD steps on 2 ranks equals single-process training on the concatenated batch', async () => {
    // Small buckets (0.05 MB) make LeNet's 61,706 parameters several buckets, reduced during backward.
    const { ranks, single } = await ddpVsSingle('plain', 2, { BUCKET_MB: '0.05' });
    expect(ranks[0]!.buckets.length).toBeGreaterThan(2);
    expect(ranks[0]!.buckets.reduce((a, b) => a + b)).toBe(61706);
    // Every bucket's all-reduce was started by the gradient hooks, before backward returned.
    expect(ranks[0]!.launched).toEqual([1, 2, 3].map(() => ranks[0]!.buckets.length));
    expect(maxDiff(ranks[0]!.state, ranks[1]!.state)).toBe(0);
    expect(maxDiff(ranks[0]!.state, single)).toBeLessThan(2e-5);
  });

  it('noSync accumulates locally; 3 ranks with 25 MB buckets still match', async () => {
    const { ranks, single } = await ddpVsSingle('nosync', 3);
    expect(ranks[0]!.buckets).toEqual([61706]);
    for (const r of ranks.slice(1)) expect(maxDiff(ranks[0]!.state, r.state)).toBe(0);
    expect(maxDiff(ranks[0]!.state, single)).toBeLessThan(2e-5);
  });

  it("BatchNorm buffers are rank 0's on every rank, though each rank saw different data", async () => {
    const ranks = await startRanks('ddp.mjs', 2, { MODE: 'bn', STEPS: '2' });
    const [a, b] = await Promise.all(ranks.map(async (p) => lastJson<{ state: State }>(await p.exit).state));
    const buffers = Object.keys(a!).filter((k) => /running_(mean|var)|num_batches_tracked/.test(k));
    expect(buffers.length).toBe(12);
    for (const k of buffers) expect(a![k]).toEqual(b![k]);
    expect(maxDiff(a!, b!)).toBe(0);
  });
});
