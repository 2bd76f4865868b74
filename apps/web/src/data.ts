/**
 * Fashion-MNIST in the browser: fetch the IDX files the dev/preview server exposes at
 * data/fashion-mnist/<name> (see vite.config.ts), decode them with @kindling/data's decodeIdx
 * (gunzip through the web DecompressionStream when they are gzip, then parse) and wrap them in
 * InMemoryDatasets with d2l's ToTensor (uint8 → float32 / 255 per batch).
 */
import { InMemoryDataset, ToTensor, decodeIdx, type IdxArray } from '@kindling/data';

export const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export type Progress = (loadedBytes: number, totalBytes: number) => void;

async function fetchBytes(url: string, onProgress: (loaded: number, total: number) => void): Promise<Uint8Array<ArrayBuffer>> {
  const res = await fetch(url);
  if (!res.ok) {
    const text = (await res.text().catch(() => '')).slice(0, 500);
    throw new Error(`GET ${url}: ${res.status} ${res.statusText}${text ? `: ${text}` : ''}`);
  }
  const total = Number(res.headers.get('Content-Length') ?? 0);
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress(loaded, total);
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export async function fetchIdx(url: string, onProgress: (loaded: number, total: number) => void = () => {}): Promise<IdxArray> {
  const bytes = await fetchBytes(url, onProgress);
  return decodeIdx(bytes, url);
}

export interface FashionMnist {
  train: InMemoryDataset;
  test: InMemoryDataset;
  bytes: number;
}

function dataset(images: IdxArray, labels: IdxArray, name: string): InMemoryDataset {
  const [n, h, w] = images.dims as [number, number, number];
  if (images.dims.length !== 3 || labels.dims.length !== 1 || labels.dims[0] !== n) {
    throw new Error(`${name}: images [${images.dims.join(', ')}] and labels [${labels.dims.join(', ')}] do not match`);
  }
  return new InMemoryDataset(images.data, [n, 1, h, w], labels.data, { transform: new ToTensor() });
}

/** Loads both splits from `base` (a URL ending in '/'), reporting the bytes fetched so far. */
export async function loadFashionMnist(base: string, onProgress: Progress = () => {}): Promise<FashionMnist> {
  const names = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
  const loaded = names.map(() => 0);
  const totals = names.map(() => 0);
  const arrays = await Promise.all(
    names.map((n, i) =>
      fetchIdx(new URL(n, base).href, (l, t) => {
        loaded[i] = l;
        totals[i] = t;
        onProgress(loaded.reduce((a, b) => a + b, 0), totals.reduce((a, b) => a + b, 0));
      }),
    ),
  );
  const [trainImages, trainLabels, testImages, testLabels] = arrays as [IdxArray, IdxArray, IdxArray, IdxArray];
  return {
    train: dataset(trainImages, trainLabels, 'training split'),
    test: dataset(testImages, testLabels, 'test split'),
    bytes: loaded.reduce((a, b) => a + b, 0),
  };
}
