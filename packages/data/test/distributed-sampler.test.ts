/** DistributedSampler: PyTorch's sharding, padding and epoch seeding, and the DataLoader's sampler option. */
import { describe, expect, it } from 'vitest';
import { TensorDataset } from '../src/dataset.js';
import { DistributedSampler } from '../src/distributed-sampler.js';
import { BatchLoader } from '../src/loader.js';

const ranks = (n: number, world: number, opts: object = {}) => Array.from({ length: world }, (_, rank) => new DistributedSampler(n, { numReplicas: world, rank, ...opts }));

describe('DistributedSampler', () => {
  it("without shuffle: PyTorch's shards, padded from the start to equal length", () => {
    // torch: list(DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=False)) for r in 0..2
    expect(ranks(10, 3, { shuffle: false }).map((s) => Array.from(s.indices()))).toEqual([[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]);
    // drop_last=True: [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    expect(ranks(10, 3, { shuffle: false, dropLast: true }).map((s) => Array.from(s.indices()))).toEqual([[0, 3, 6], [1, 4, 7], [2, 5, 8]]);
    // More replicas than twice the data: padding repeats the whole order.
    expect(ranks(2, 5, { shuffle: false }).map((s) => Array.from(s.indices()))).toEqual([[0], [1], [0], [1], [0]]);
  });

  it('with shuffle: disjoint shards covering the data, the same on every rank for a seed and epoch, new with setEpoch', () => {
    const ss = ranks(101, 4, { seed: 5 });
    const all = ss.flatMap((s) => Array.from(s.indices()));
    expect(ss.every((s) => s.length === 26)).toBe(true);
    expect(new Set(all).size).toBe(101);
    expect(all.length).toBe(104);
    const again = ranks(101, 4, { seed: 5 }).map((s) => Array.from(s.indices()));
    expect(again).toEqual(ss.map((s) => Array.from(s.indices())));
    const e0 = Array.from(ss[0]!.indices());
    ss[0]!.setEpoch(1);
    expect(Array.from(ss[0]!.indices())).not.toEqual(e0);
    ss[0]!.setEpoch(0);
    expect(Array.from(ss[0]!.indices())).toEqual(e0);
    expect(Array.from(ranks(101, 4, { seed: 6 })[0]!.indices())).not.toEqual(e0);
  });

  it('feeds a DataLoader; bad options name the value', async () => {
    const n = 10;
    const data = new Uint8Array(n).map((_, i) => i);
    const ds = new TensorDataset({ data, shape: [n, 1, 1, 1] }, Int32Array.from({ length: n }, (_, i) => i));
    const sampler = new DistributedSampler(ds, { numReplicas: 2, rank: 1, shuffle: false });
    const loader = new BatchLoader(ds, { batchSize: 2, sampler, numWorkers: 0 });
    expect(loader.length).toBe(3);
    const ys: number[] = [];
    for await (const b of loader) ys.push(...b.y);
    expect(ys).toEqual([1, 3, 5, 7, 9]);
    expect(() => new BatchLoader(ds, { sampler, shuffle: true })).toThrow(/sampler option is mutually exclusive with shuffle/);
    expect(() => new DistributedSampler(10, { numReplicas: 2, rank: 2 })).toThrow(/invalid rank 2, rank should be in the interval \[0, 1\]/);
    expect(() => new DistributedSampler(10, { numReplicas: 0, rank: 0 })).toThrow(/numReplicas must be a positive integer/);
  });
});
