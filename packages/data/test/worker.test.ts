/**
 * Worker-thread prefetch against the main-thread path. Worker threads run the compiled
 * dist/worker.js, so this file tests the built package (dist/), as users get it; `pnpm test`
 * builds first. Without a build the tests are skipped with the reason printed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const built = existsSync(join(dist, 'worker.js')) && existsSync(join(dist, 'loader.js'));
if (!built) console.warn(`[@kindling/data] worker tests skipped: ${dist}/worker.js is missing; build with \`npx tsc -b packages/data\``);

type Mod = typeof import('../src/index.js');
const load = async <T>(name: string): Promise<T> => (await import(/* @vite-ignore */ join(dist, name))) as T;
const { BatchLoader } = built ? await load<Pick<Mod, 'BatchLoader'>>('loader.js') : ({} as Pick<Mod, 'BatchLoader'>);
const { InMemoryDataset } = built ? await load<Pick<Mod, 'InMemoryDataset'>>('dataset.js') : ({} as Pick<Mod, 'InMemoryDataset'>);
const T = built ? await load<typeof import('../src/transforms.js')>('transforms.js') : undefined;

const loaders: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(loaders.map((l) => l.close()));
});

function pixels(n: number): Uint8Array {
  const out = new Uint8Array(n * 784);
  let s = 12345;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

async function epochs<B>(loader: AsyncIterable<B>, n: number): Promise<B[][]> {
  const out: B[][] = [];
  for (let e = 0; e < n; e++) {
    const batches: B[] = [];
    for await (const b of loader) batches.push(b);
    out.push(batches);
  }
  return out;
}

describe.skipIf(!built)('worker prefetch', () => {
  it('produces exactly the batches of the synchronous path (shuffle, resize, random flips)', async () => {
    const n = 70;
    const make = () =>
      new InMemoryDataset(pixels(n), [n, 1, 28, 28], Int32Array.from({ length: n }, (_, i) => i % 10), {
        transform: new T!.Compose([new T!.Resize(36), new T!.RandomHorizontalFlip(0.5), new T!.ToTensor(), new T!.Normalize([0.286], [0.353])]),
      });
    const opts = { batchSize: 16, shuffle: true, seed: 2024 };
    const sync = new BatchLoader(make(), { ...opts, numWorkers: 0 });
    const ds = make();
    const worker = new BatchLoader(ds, { ...opts, numWorkers: 2, prefetch: 3 });
    loaders.push(worker);
    const a = await epochs(sync, 3);
    const b = await epochs(worker, 3);
    expect(worker.workerStatus).toBe('2 worker threads');
    expect(sync.workerStatus).toBe('main thread: numWorkers is 0');
    expect(ds.data.buffer).toBeInstanceOf(SharedArrayBuffer); // shared once, not copied per batch
    expect(b.map((e) => e.length)).toEqual([5, 5, 5]);
    expect(b[0]![0]!.xShape).toEqual([16, 1, 36, 36]);
    for (let e = 0; e < 3; e++) {
      for (let i = 0; i < 5; i++) {
        expect(b[e]![i]!.y).toEqual(a[e]![i]!.y);
        expect(Buffer.from(b[e]![i]!.x.buffer).equals(Buffer.from(a[e]![i]!.x.buffer))).toBe(true);
      }
    }
  });

  it("uses a worker by default ('auto') and resumes mid-epoch identically", async () => {
    const n = 40;
    const ds = new InMemoryDataset(pixels(n), [n, 1, 28, 28], Int32Array.from({ length: n }, (_, i) => i % 10), {
      transform: new T!.ToTensor(),
    });
    const auto = new BatchLoader(ds, { batchSize: 8, shuffle: true, seed: 1 });
    loaders.push(auto);
    const full = (await epochs(auto, 1))[0]!;
    expect(auto.workerStatus).toBe('1 worker thread');
    const resumed = new BatchLoader(ds, { batchSize: 8, shuffle: true, seed: 1, numWorkers: 0 });
    resumed.loadStateDict({ seed: 1, epoch: 0, batch: 2 });
    expect((await epochs(resumed, 1))[0]).toEqual(full.slice(2));
  });

  it('reports errors raised inside a worker with the batch', async () => {
    const ds = new InMemoryDataset(pixels(4), [4, 1, 28, 28], [0, 1, 2, 3], { transform: new T!.Normalize(0.5, 0.5) });
    const loader = new BatchLoader(ds, { batchSize: 2, numWorkers: 1 });
    loaders.push(loader);
    await expect(epochs(loader, 1)).rejects.toThrow(/data worker: Normalize: expected a float32 image, got uint8 pixels; apply ToTensor\(\) first/);
  });

  it('never keeps the process alive, and keeps it alive while a batch is awaited', async () => {
    const script = `
      import { BatchLoader } from ${JSON.stringify(join(dist, 'loader.js'))};
      import { InMemoryDataset } from ${JSON.stringify(join(dist, 'dataset.js'))};
      import { Compose, Resize, ToTensor } from ${JSON.stringify(join(dist, 'transforms.js'))};
      const n = 64;
      const ds = new InMemoryDataset(new Uint8Array(n * 784), [n, 1, 28, 28], new Int32Array(n), { transform: new Compose([new Resize(64), new ToTensor()]) });
      const loader = new BatchLoader(ds, { batchSize: 8, numWorkers: 1 });
      let count = 0;
      for await (const b of loader) count += b.y.length;
      console.log('done', count, loader.workerStatus);
      // no close(): the idle worker must not keep the process alive
    `;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    expect(out.trim()).toBe('done 64 1 worker thread');
  });
});
