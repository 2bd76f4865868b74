import { Compose, DataLoader, FashionMNIST, InMemoryDataset, Resize, ToTensor, type Transform } from '@kindling/data';
import type { TrainOptions } from './options.js';

/** What the loaders depend on; without a seed the loader draws one from the global generator. */
export type LoaderOptions = Pick<TrainOptions, 'batchSize' | 'resize' | 'dataDir' | 'subset' | 'testSubset' | 'download'> & { seed?: number };

export interface Loaders {
  train: DataLoader;
  test: DataLoader;
  trainSize: number;
  testSize: number;
  root: string;
}

/** The first n samples of an in-memory image dataset (a view, no copy). */
export function firstN(ds: InMemoryDataset, n: number | null, transform: Transform): InMemoryDataset {
  if (n === null || n >= ds.length) return ds;
  const per = ds.sampleShape.reduce((a, b) => a * b, 1);
  return new InMemoryDataset(ds.data.subarray(0, n * per), [n, ...ds.sampleShape], ds.labels.subarray(0, n), { transform });
}

/** The training and test sets as the options ask: ToTensor (and Resize), --subset / --test-subset. */
export async function fashionMnistDatasets(o: LoaderOptions): Promise<{ train: InMemoryDataset; test: InMemoryDataset; root: string }> {
  const transform: Transform = new Compose(o.resize ? [new Resize(o.resize), new ToTensor()] : [new ToTensor()]);
  const root = o.dataDir ?? undefined;
  const [trainAll, testAll] = await Promise.all([
    FashionMNIST.load({ root, train: true, transform, download: o.download }),
    FashionMNIST.load({ root, train: false, transform, download: o.download }),
  ]);
  const train = firstN(trainAll, o.subset, transform);
  const test = firstN(testAll, o.testSubset, transform);
  // Any source of data (not only the IDX reader): an empty split would train to a NaN loss and exit 0.
  for (const [name, ds, root] of [['training', train, trainAll.root], ['test', test, testAll.root]] as const) {
    if (ds.length === 0) throw new Error(`the ${name} set from ${root} is empty (0 images)`);
  }
  return { train, test, root: trainAll.root };
}

/** d2l's load_data_fashion_mnist(batch_size, resize): ToTensor (and Resize) on the real files. */
export async function fashionMnistLoaders(o: LoaderOptions): Promise<Loaders> {
  const { train, test, root } = await fashionMnistDatasets(o);
  return {
    // The order of epoch e depends only on (seed, e), so a resumed run sees the same batches.
    train: new DataLoader(train, { batchSize: o.batchSize, shuffle: true, seed: o.seed }),
    test: new DataLoader(test, { batchSize: o.batchSize, shuffle: false, seed: o.seed }),
    trainSize: train.length,
    testSize: test.length,
    root,
  };
}
