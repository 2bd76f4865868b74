/**
 * DataLoader: batches as @kindling/core tensors. Needs core and a CPU backend built (dist/);
 * skipped with the reason printed otherwise. The typed-array layer is covered by loader.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Dataset, TensorDataset, type Sample } from '../src/dataset.js';
import { BatchLoader } from '../src/loader.js';
import { Compose, RandomHorizontalFlip, ToTensor } from '../src/transforms.js';

type Core = typeof import('@kindling/core');
type DL = typeof import('../src/dataloader.js');

let core: Core | undefined;
let dl: DL | undefined;
let reason = '';
try {
  core = await import('@kindling/core');
  // The CPU backend registers the 'cpu' device (data depends on core only, so import it by path).
  await import(/* @vite-ignore */ new URL('../../backend-cpu/dist/index.js', import.meta.url).href);
  dl = await import('../src/dataloader.js');
  core.tensor([0]).dispose();
} catch (e) {
  reason = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  core = undefined;
}
if (!core) console.warn(`[@kindling/data] DataLoader tensor tests skipped: @kindling/core or @kindling/backend-cpu unavailable (${reason}); build them with \`npx tsc -b packages/backend-cpu\``);

function dataset(n: number, transform?: Compose): TensorDataset {
  const data = Uint8Array.from({ length: n * 4 }, (_, i) => i % 256);
  return new TensorDataset({ data, shape: [n, 1, 2, 2] }, Int32Array.from({ length: n }, (_, i) => i % 10), { transform });
}

describe.skipIf(!core)('DataLoader (tensors)', () => {
  it('yields [x float32 [B,...], y int32 [B]] with the values of the raw batches', async () => {
    const transform = new Compose([new ToTensor(), new RandomHorizontalFlip(0.5)]);
    const opts = { batchSize: 4, shuffle: true, seed: 8, numWorkers: 0 as const };
    const loader = new dl!.DataLoader(dataset(10, transform), opts);
    const raw = new BatchLoader(dataset(10, transform), opts);
    expect(loader.length).toBe(3);
    const rawBatches = [];
    for await (const b of raw) rawBatches.push(b);
    let i = 0;
    for await (const [x, y] of loader) {
      expect(x.dtype).toBe('float32');
      expect(y.dtype).toBe('int32');
      expect(x.shape).toEqual(rawBatches[i]!.xShape);
      expect(y.shape).toEqual([rawBatches[i]!.y.length]);
      expect(await x.data()).toEqual(rawBatches[i]!.x);
      expect(await y.data()).toEqual(rawBatches[i]!.y);
      x.dispose();
      y.dispose();
      i++;
    }
    expect(i).toBe(3);
  });

  it('stacks tensor samples with the default collate', async () => {
    const c = core!;
    class Tensors extends Dataset<ReturnType<Core['tensor']>> {
      readonly length = 3;
      get(i: number): Sample<ReturnType<Core['tensor']>> {
        return [c.tensor([i, i + 0.5]), i];
      }
    }
    const loader = new dl!.DataLoader(new Tensors(), { batchSize: 2, numWorkers: 0 });
    const shapes: number[][] = [];
    const values: number[][] = [];
    for await (const [x, y] of loader) {
      shapes.push([...x.shape]);
      values.push([...(await x.data())], [...(await y.data())]);
      x.dispose();
      y.dispose();
    }
    expect(shapes).toEqual([[2, 2], [1, 2]]);
    expect(values).toEqual([[0, 0.5, 1, 1.5], [0, 1], [2, 2.5], [2]]);
  });

  it("draws its seed from core's global generator, so manualSeed fixes the order", () => {
    core!.manualSeed(1234);
    const a = new dl!.DataLoader(dataset(4), { shuffle: true });
    const b = new dl!.DataLoader(dataset(4), { shuffle: true });
    core!.manualSeed(1234);
    const c = new dl!.DataLoader(dataset(4), { shuffle: true });
    expect(c.seed).toBe(a.seed);
    expect(b.seed).not.toBe(a.seed);
    expect(new dl!.DataLoader(dataset(4), { seed: 5 }).seed).toBe(5);
    // A core Generator works as PyTorch's generator= (the seed is drawn from it).
    const g = () => new core!.Generator(77);
    expect(new dl!.DataLoader(dataset(4), { generator: g() }).seed).toBe(new dl!.DataLoader(dataset(4), { generator: g() }).seed);
  });
});
