/** BatchLoader on the main thread: the typed-array layer, no tensors involved. */
import { describe, expect, it } from 'vitest';
import { assembleBatch, sampleGenerator } from '../src/batch.js';
import { Dataset, InMemoryDataset, TensorDataset, type Sample } from '../src/dataset.js';
import { BatchLoader } from '../src/loader.js';
import { drawSeed, RandomStream } from '../src/random.js';
import { Compose, Lambda, Normalize, RandomHorizontalFlip, Resize, ToTensor } from '../src/transforms.js';
import type { HostArray, RawBatch } from '../src/types.js';

/** N samples of shape [1,2,3] whose label is the sample index and whose pixels encode it too. */
function indexed(n: number, transform?: ConstructorParameters<typeof InMemoryDataset>[3]): TensorDataset {
  const data = new Uint8Array(n * 6);
  for (let i = 0; i < n; i++) for (let j = 0; j < 6; j++) data[i * 6 + j] = (i * 6 + j) % 256;
  return new TensorDataset({ data, shape: [n, 1, 2, 3] }, Int32Array.from({ length: n }, (_, i) => i), transform);
}

async function collect<B>(it: AsyncIterable<B>): Promise<B[]> {
  const out: B[] = [];
  for await (const b of it) out.push(b);
  return out;
}

const labelsOf = (batches: RawBatch[]) => batches.flatMap((b) => [...b.y]);

describe('RandomStream', () => {
  it('is deterministic, and randperm is a permutation', () => {
    const a = new RandomStream(123).randperm(1000);
    const b = new RandomStream(123).randperm(1000);
    expect(a).toEqual(b);
    expect([...a].sort((x, y) => x - y)).toEqual([...Array(1000).keys()]);
    expect(new RandomStream(124).randperm(1000)).not.toEqual(a);
  });

  it('can checkpoint its position', () => {
    const g = new RandomStream(9);
    g.nextUint32();
    g.random();
    const pos = g.position;
    const next = [g.nextUint32(), g.nextUint32(), g.nextUint32()];
    const h = new RandomStream(9);
    h.position = pos;
    expect([h.nextUint32(), h.nextUint32(), h.nextUint32()]).toEqual(next);
  });

  it('draws seeds from a stream or a core-style counter generator', () => {
    expect(drawSeed(new RandomStream(1))).toBe(drawSeed(new RandomStream(1)));
    let counter = 0;
    const core = { next: (_d: 'uniform', n: number) => ({ key: [5, 0] as const, counter: (counter += Math.ceil(n / 4)) - Math.ceil(n / 4) }) };
    const s1 = drawSeed(core);
    const s2 = drawSeed(core);
    expect(s1).not.toBe(s2);
    expect(Number.isSafeInteger(s1)).toBe(true);
  });
});

describe('BatchLoader', () => {
  it('gives ceil(N / batchSize) batches, floor with dropLast', async () => {
    const ds = indexed(10);
    const keep = new BatchLoader(ds, { batchSize: 3, numWorkers: 0 });
    const drop = new BatchLoader(ds, { batchSize: 3, dropLast: true, numWorkers: 0 });
    expect(keep.length).toBe(4);
    expect(drop.length).toBe(3);
    const a = await collect(keep);
    const b = await collect(drop);
    expect(a.map((x) => x.xShape[0])).toEqual([3, 3, 3, 1]);
    expect(b.map((x) => x.xShape[0])).toEqual([3, 3, 3]);
    expect(a[0]!.xShape).toEqual([3, 1, 2, 3]);
    expect(labelsOf(a)).toEqual([...Array(10).keys()]);
    expect(new BatchLoader(indexed(9), { batchSize: 3, dropLast: true }).length).toBe(3);
  });

  it('collates uint8 samples into float32 by value and labels into int32', async () => {
    const [b] = await collect(new BatchLoader(indexed(2), { batchSize: 2, numWorkers: 0 }));
    expect(b!.x).toBeInstanceOf(Float32Array);
    expect(b!.y).toBeInstanceOf(Int32Array);
    expect([...b!.x]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('visits every sample exactly once per epoch under shuffle', async () => {
    const loader = new BatchLoader(indexed(103), { batchSize: 8, shuffle: true, seed: 7, numWorkers: 0 });
    for (let epoch = 0; epoch < 3; epoch++) {
      const seen = labelsOf(await collect(loader));
      expect(seen).toHaveLength(103);
      expect([...seen].sort((x, y) => x - y)).toEqual([...Array(103).keys()]);
      expect(seen).not.toEqual([...Array(103).keys()]);
    }
    expect(loader.epoch).toBe(3);
  });

  it('gives the same order for the same seed and epoch, and a new order each epoch', async () => {
    const run = async (seed: number) => {
      const l = new BatchLoader(indexed(50), { batchSize: 5, shuffle: true, seed, numWorkers: 0 });
      return [labelsOf(await collect(l)), labelsOf(await collect(l))];
    };
    const [a0, a1] = await run(11);
    const [b0, b1] = await run(11);
    const [c0] = await run(12);
    expect(a0).toEqual(b0);
    expect(a1).toEqual(b1);
    expect(a0).not.toEqual(a1);
    expect(a0).not.toEqual(c0);
    // setEpoch(1) reproduces epoch 1 on a fresh loader; order(e) tells it up front.
    const l = new BatchLoader(indexed(50), { batchSize: 5, shuffle: true, seed: 11, numWorkers: 0 });
    l.setEpoch(1);
    expect(labelsOf(await collect(l))).toEqual(a1);
    expect([...l.order(0)]).toEqual(a0);
  });

  it('draws its seed from a generator (as PyTorch generator=)', () => {
    const g1 = new RandomStream(3);
    const g2 = new RandomStream(3);
    const a = new BatchLoader(indexed(4), { shuffle: true, generator: g1 });
    const b = new BatchLoader(indexed(4), { shuffle: true, generator: g2 });
    const c = new BatchLoader(indexed(4), { shuffle: true, generator: g1 });
    expect(a.seed).toBe(b.seed);
    expect(c.seed).not.toBe(a.seed);
  });

  it('resumes mid-epoch from stateDict with the exact remaining batches', async () => {
    const opts = { batchSize: 4, shuffle: true, seed: 99, numWorkers: 0 as const };
    const transform = new Compose([new ToTensor(), new RandomHorizontalFlip(0.5)]);
    const reference = new BatchLoader(indexed(30, { transform }), opts);
    const epoch0 = await collect(reference);
    const epoch1 = await collect(reference);

    // An interrupted run: stops after 3 batches of epoch 1 and saves its state.
    const first = new BatchLoader(indexed(30, { transform }), opts);
    await collect(first);
    let state;
    let seen = 0;
    for await (const b of first) {
      expect(b).toEqual(epoch1[seen]);
      seen++;
      if (seen === 3) {
        state = first.stateDict();
        break;
      }
    }
    expect(state).toEqual({ seed: 99, epoch: 1, batch: 3 });

    // The restarted run (a new seed would be drawn, but the state restores it).
    const second = new BatchLoader(indexed(30, { transform }), { ...opts, seed: 1 });
    second.loadStateDict(JSON.parse(JSON.stringify(state)));
    const rest = await collect(second);
    expect(rest).toEqual(epoch1.slice(3));
    expect(second.stateDict()).toEqual({ seed: 99, epoch: 2, batch: 0 });
    expect(epoch0).not.toEqual(epoch1);
  });

  it('reports the next epoch as the state after the last batch', async () => {
    const l = new BatchLoader(indexed(8), { batchSize: 4, numWorkers: 0 });
    const states = [];
    for await (const _ of l) states.push(l.stateDict());
    expect(states).toEqual([
      { seed: l.seed, epoch: 0, batch: 1 },
      { seed: l.seed, epoch: 1, batch: 0 },
    ]);
  });

  it('applies transforms with per-position streams, same as get(i, sampleGenerator)', async () => {
    const transform = new Compose([new Resize(4), new RandomHorizontalFlip(0.5), new ToTensor(), new Normalize(0.5, 0.5)]);
    const ds = indexed(20, { transform });
    const loader = new BatchLoader(ds, { batchSize: 6, shuffle: true, seed: 5, numWorkers: 0 });
    const batches = await collect(loader);
    const order = loader.order(0);
    for (let p = 0; p < 20; p++) {
      const [x, y] = ds.get(order[p]!, sampleGenerator(5, 0, p));
      const b = batches[Math.floor(p / 6)]!;
      const k = p % 6;
      expect(b.y[k]).toBe(y);
      expect(b.x.subarray(k * 24, (k + 1) * 24)).toEqual(x.data);
    }
    expect(batches[0]!.xShape).toEqual([6, 1, 4, 6]);
  });

  it('builds the same batches through a generic dataset (get + collate) as through the fast path', async () => {
    const transform = new Compose([new ToTensor(), new RandomHorizontalFlip(0.5)]);
    const fast = indexed(17, { transform });
    class Slow extends Dataset<HostArray> {
      readonly length = 17;
      async get(i: number, rng?: RandomStream): Promise<Sample<HostArray>> {
        await new Promise((r) => setTimeout(r, 1));
        return fast.get(i, rng);
      }
    }
    const opts = { batchSize: 5, shuffle: true, seed: 3, numWorkers: 0 as const };
    const a = await collect(new BatchLoader(fast, opts));
    const slow = new BatchLoader(new Slow(), opts);
    const b = await collect(slow);
    expect(b).toEqual(a);
    expect(slow.workerStatus).toMatch(/main thread: Slow is not an in-memory dataset/);
  });

  it('yields what a custom collate returns', async () => {
    const loader = new BatchLoader(indexed(5), {
      batchSize: 2,
      numWorkers: 0,
      collate: (samples) => samples.map(([, y]) => y).join('+'),
    });
    expect(await collect(loader)).toEqual(['0+1', '2+3', '4']);
  });

  it('surfaces errors of a batch when it is reached, and stays usable', async () => {
    let fail = true;
    class Flaky extends Dataset<HostArray> {
      readonly length = 6;
      get(i: number): Sample<HostArray> {
        if (i === 4 && fail) throw new Error('sample 4 is unreadable');
        return [{ data: new Float32Array(1), shape: [1] }, i];
      }
    }
    const loader = new BatchLoader(new Flaky(), { batchSize: 2, numWorkers: 0 });
    const got: number[] = [];
    await expect(async () => {
      for await (const b of loader) got.push(...b.y);
    }).rejects.toThrow('sample 4 is unreadable');
    expect(got).toEqual([0, 1, 2, 3]);
    fail = false;
    expect(labelsOf(await collect(loader))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('refuses worker threads it cannot honour, and says why it fell back under auto', async () => {
    class Plain extends Dataset<HostArray> {
      readonly length = 1;
      get(): Sample<HostArray> {
        return [{ data: new Float32Array(1), shape: [1] }, 0];
      }
    }
    expect(() => new BatchLoader(new Plain(), { numWorkers: 2 })).toThrow(/numWorkers: 2 is not possible: Plain is not an in-memory dataset/);
    const lambda = indexed(4, { transform: new Compose([new ToTensor(), new Lambda((x) => x, 'identity')]) });
    expect(() => new BatchLoader(lambda, { numWorkers: 1 })).toThrow(/Lambda\(identity\) cannot be sent to a worker thread/);
    const auto = new BatchLoader(lambda, { batchSize: 4 });
    await collect(auto);
    expect(auto.workerStatus).toMatch(/main thread: the transform Lambda\(identity\) cannot be sent/);
    expect(() => new BatchLoader(lambda, { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
  });

  it('assembles batches from the dataset buffer exactly as collating get(i)', () => {
    const ds = indexed(7, { transform: new ToTensor() });
    const raw = assembleBatch(ds.source, ds.transform, [6, 0, 3], { seed: 0, epoch: 0, start: 0 });
    expect(raw.xShape).toEqual([3, 1, 2, 3]);
    expect([...raw.y]).toEqual([6, 0, 3]);
    expect(raw.x.subarray(0, 6)).toEqual(ds.get(6)[0].data);
  });

  it('validates in-memory datasets', () => {
    expect(() => new InMemoryDataset(new Uint8Array(5), [2, 3], [0, 1])).toThrow(/shape \[2,3\] needs 6 elements, data has 5/);
    expect(() => new InMemoryDataset(new Uint8Array(6), [2, 3], [0])).toThrow(/2 samples but 1 labels/);
    expect(() => new InMemoryDataset(new Uint8Array(6), [2, 3], [0, 1.5])).toThrow(/label 1.5 at index 1 is not an int32/);
    expect(() => indexed(3).get(3)).toThrow(/index 3 out of range \[0, 3\)/);
  });
});
