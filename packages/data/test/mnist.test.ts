import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataFileError, DatasetNotFoundError, DownloadError } from '../src/errors.js';
import { encodeIdx } from '../src/idx.js';
import { BatchLoader } from '../src/loader.js';
import { FashionMNIST, MNIST } from '../src/mnist.js';
import { ToTensor } from '../src/transforms.js';
import { cleanupTempDirs, makeSplit, tempDir, withEnv, writeSplit } from './helpers.js';

afterAll(cleanupTempDirs);

const quiet = () => undefined;

describe('FashionMNIST from a folder', () => {
  it('loads a split from root, gzip or raw', async () => {
    for (const gz of [true, false]) {
      const root = tempDir();
      const w = writeSplit(root, { n: 50, gz });
      const ds = await FashionMNIST.load({ root });
      expect(ds.length).toBe(50);
      expect(ds.sampleShape).toEqual([1, 28, 28]);
      expect(ds.train).toBe(true);
      expect(ds.files.images).toBe(w.imagesFile);
      const [x, y] = ds.get(3);
      expect(x.shape).toEqual([1, 28, 28]);
      expect(x.data).toEqual(w.images.subarray(3 * 784, 4 * 784));
      expect(y).toBe(w.labels[3]);
      expect([...ds.labels]).toEqual([...w.labels]);
    }
  });

  it('loads the test split, applies transforms and lists the classes', async () => {
    const root = tempDir();
    const w = writeSplit(root, { train: false, n: 12 });
    const ds = await FashionMNIST.load({ root, train: false, transform: new ToTensor() });
    expect(ds.train).toBe(false);
    const [x] = ds.get(0);
    expect(x.data).toBeInstanceOf(Float32Array);
    expect(x.data[5]).toBeCloseTo(w.images[5]! / 255, 6);
    expect(FashionMNIST.classes).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    expect(ds.classes).toBe(FashionMNIST.classes);
    expect(String(ds)).toContain('Number of datapoints: 12');
  });

  it('finds root/fashion-mnist and root/FashionMNIST/raw (torchvision layout)', async () => {
    const a = tempDir();
    writeSplit(join(a, 'fashion-mnist'), { n: 3 });
    expect((await FashionMNIST.load({ root: a })).root).toBe(join(a, 'fashion-mnist'));
    const b = tempDir();
    writeSplit(join(b, 'FashionMNIST', 'raw'), { n: 4 });
    expect((await FashionMNIST.load({ root: b })).length).toBe(4);
    const c = tempDir();
    writeSplit(join(c, 'mnist'), { n: 5 });
    expect((await MNIST.load({ root: c })).length).toBe(5);
  });

  it('searches $KINDLING_DATA_DIR, then the user cache, then the system folder', async () => {
    const env = tempDir();
    const cache = tempDir();
    writeSplit(join(env, 'fashion-mnist'), { n: 6 });
    await withEnv({ KINDLING_DATA_DIR: env, XDG_CACHE_HOME: cache }, async () => {
      expect(await FashionMNIST.searchPaths()).toEqual([
        join(env, 'fashion-mnist'),
        env,
        join(cache, 'kindling', 'fashion-mnist'),
        '/usr/share/datasets/fashion-mnist',
      ]);
      expect((await FashionMNIST.load()).root).toBe(join(env, 'fashion-mnist'));
    });
    const envFlat = tempDir();
    writeSplit(envFlat, { n: 7 });
    await withEnv({ KINDLING_DATA_DIR: envFlat, XDG_CACHE_HOME: cache }, async () => {
      expect((await FashionMNIST.load()).length).toBe(7);
    });
    writeSplit(join(cache, 'kindling', 'fashion-mnist'), { n: 8 });
    await withEnv({ KINDLING_DATA_DIR: undefined, XDG_CACHE_HOME: cache }, async () => {
      expect((await FashionMNIST.load()).length).toBe(8);
    });
  });

  it('lists every place looked and how to get the files when nothing is found', async () => {
    const root = tempDir();
    writeSplit(root, { train: false, n: 2 }); // only the test split: the train split is missing
    const err = await FashionMNIST.load({ root }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetNotFoundError);
    const msg = (err as Error).message;
    expect(msg).toContain('FashionMNIST (train split): dataset files not found');
    expect(msg).toContain(`${join(root, 'fashion-mnist')} (root/fashion-mnist): does not exist`);
    expect(msg).toContain(`${join(root, 'FashionMNIST', 'raw')}`);
    expect(msg).toContain(`${root} (root): no train-images-idx3-ubyte[.gz] nor train-labels-idx1-ubyte[.gz]`);
    expect(msg).toContain('apt-get install dataset-fashion-mnist');
    expect(msg).toContain('{ download: true }');
    expect((err as DatasetNotFoundError).searched).toHaveLength(3);

    const env = tempDir();
    const cache = tempDir();
    await withEnv({ KINDLING_DATA_DIR: env, XDG_CACHE_HOME: cache }, async () => {
      const e = (await MNIST.load().catch((x: unknown) => x)) as Error;
      expect(e).toBeInstanceOf(DatasetNotFoundError);
      expect(e.message).toContain(`${join(env, 'mnist')} ($KINDLING_DATA_DIR/mnist): does not exist`);
      expect(e.message).toContain(`${env} ($KINDLING_DATA_DIR): no train-images-idx3-ubyte[.gz]`);
      expect(e.message).toContain(`${join(cache, 'kindling', 'mnist')} (user cache): does not exist`);
      expect(e.message).toContain('/usr/share/datasets/mnist (system)');
    });
    await withEnv({ KINDLING_DATA_DIR: undefined, XDG_CACHE_HOME: cache }, async () => {
      const e = (await MNIST.load().catch((x: unknown) => x)) as Error;
      expect(e.message).toContain('$KINDLING_DATA_DIR (not set): not set');
    });
  });

  it('rejects inconsistent files with an error naming the file, building nothing', async () => {
    const cases: { name: string; write: (dir: string) => void; file: string; re: RegExp }[] = [
      {
        name: 'count mismatch',
        write: (d) => {
          writeSplit(d, { n: 10 });
          writeFileSync(join(d, 'train-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([9], new Uint8Array(9))));
        },
        file: 'train-labels-idx1-ubyte.gz',
        re: /has 9 labels but .*train-images-idx3-ubyte\.gz has 10 images/,
      },
      {
        name: 'label out of range',
        write: (d) => {
          writeSplit(d, { n: 4 });
          writeFileSync(join(d, 'train-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([4], Uint8Array.from([1, 2, 10, 3]))));
        },
        file: 'train-labels-idx1-ubyte.gz',
        re: /label 10 at index 2 is outside 0\.\.9/,
      },
      {
        name: 'wrong image size',
        write: (d) => {
          writeSplit(d, { n: 2 });
          writeFileSync(join(d, 'train-images-idx3-ubyte.gz'), gzipSync(encodeIdx([2, 27, 28], new Uint8Array(2 * 27 * 28))));
        },
        file: 'train-images-idx3-ubyte.gz',
        re: /shape \[2,27,28\], expected images \[N,28,28\]/,
      },
      {
        name: 'labels where images belong',
        write: (d) => {
          writeSplit(d, { n: 2 });
          writeFileSync(join(d, 'train-images-idx3-ubyte.gz'), gzipSync(encodeIdx([2], new Uint8Array(2))));
        },
        file: 'train-images-idx3-ubyte.gz',
        re: /expected images \[N,28,28\]/,
      },
      {
        name: 'truncated images',
        write: (d) => {
          const s = makeSplit(3);
          writeSplit(d, { n: 3 });
          writeFileSync(join(d, 'train-images-idx3-ubyte.gz'), gzipSync(s.imagesIdx.subarray(0, 1000)));
        },
        file: 'train-images-idx3-ubyte.gz',
        re: /truncated: expected 2368 bytes .* found 1000 after gunzip/,
      },
      {
        name: 'corrupt gzip',
        write: (d) => {
          writeSplit(d, { n: 3 });
          writeFileSync(join(d, 'train-labels-idx1-ubyte.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff]));
        },
        file: 'train-labels-idx1-ubyte.gz',
        re: /gzip data/,
      },
    ];
    for (const c of cases) {
      const root = tempDir();
      c.write(root);
      let built: unknown;
      const err = await FashionMNIST.load({ root }).then(
        (d) => {
          built = d;
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(built, c.name).toBeUndefined();
      expect(err, c.name).toBeInstanceOf(DataFileError);
      expect((err as DataFileError).file, c.name).toBe(join(root, c.file));
      expect((err as Error).message, c.name).toMatch(c.re);
    }
  });
});

describe('download', () => {
  const files: Record<string, Uint8Array> = {};
  const hits: string[] = [];
  let server: Server;
  let base = '';
  const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

  beforeAll(async () => {
    const s = makeSplit(20, 3);
    files['train-images-idx3-ubyte.gz'] = gzipSync(s.imagesIdx);
    files['train-labels-idx1-ubyte.gz'] = gzipSync(s.labelsIdx);
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      const m = /^\/(good|bad)\/(.+)$/.exec(req.url ?? '');
      const body = m ? files[m[2]!] : undefined;
      if (!m || !body) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // The "bad" mirror serves damaged bytes (checksum mismatch).
      res.end(m[1] === 'bad' ? Buffer.concat([body.subarray(0, body.length - 1), Buffer.from([body[body.length - 1]! ^ 1])]) : body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const checksums = () => Object.fromEntries(Object.entries(files).map(([k, v]) => [k, md5(v)]));

  it('fetches the split into root/fashion-mnist, verified and renamed into place', async () => {
    const root = tempDir();
    const ds = await FashionMNIST.load({ root, download: true, mirror: `${base}/good/`, checksums: checksums(), log: quiet });
    expect(ds.length).toBe(20);
    expect(ds.root).toBe(join(root, 'fashion-mnist'));
    expect(readdirSync(join(root, 'fashion-mnist')).sort()).toEqual(['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']);
    // Present and valid: a second load downloads nothing.
    const before = hits.length;
    await FashionMNIST.load({ root, download: true, mirror: `${base}/good/`, checksums: checksums(), log: quiet });
    expect(hits.length).toBe(before);
  });

  it('uses the user cache without root, and falls through to the next mirror', async () => {
    const cache = tempDir();
    await withEnv({ KINDLING_DATA_DIR: undefined, XDG_CACHE_HOME: cache }, async () => {
      const ds = await MNIST.load({ download: true, mirror: [`${base}/missing/`, `${base}/good`], checksums: checksums(), log: quiet });
      expect(ds.root).toBe(join(cache, 'kindling', 'mnist'));
    });
    expect(hits).toContain('/missing/train-images-idx3-ubyte.gz');
  });

  it('rejects a checksum mismatch, leaving no file behind', async () => {
    const root = tempDir();
    const err = (await FashionMNIST.load({ root, download: true, mirror: `${base}/bad/`, checksums: checksums(), log: quiet }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.message).toContain('could not download train-images-idx3-ubyte.gz');
    expect(err.message).toMatch(/checksum mismatch: expected md5 [0-9a-f]{32}, got [0-9a-f]{32}/);
    expect(readdirSync(join(root, 'fashion-mnist'))).toEqual([]);
  });

  it('checks against the official MD5s by default (the generated files do not match them)', async () => {
    const root = tempDir();
    const err = (await FashionMNIST.load({ root, download: true, mirror: `${base}/good/`, log: quiet }).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('expected md5 8d4fb7e6c68d591d4c3dfef9ec88bf0d');
    expect(existsSync(join(root, 'fashion-mnist', 'train-images-idx3-ubyte.gz'))).toBe(false);
  });

  it('replaces a corrupt file in the download folder', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'fashion-mnist'));
    writeFileSync(join(root, 'fashion-mnist', 'train-images-idx3-ubyte.gz'), 'garbage');
    writeFileSync(join(root, 'fashion-mnist', 'train-labels-idx1-ubyte.gz'), files['train-labels-idx1-ubyte.gz']!);
    await expect(FashionMNIST.load({ root })).rejects.toThrow(/train-images-idx3-ubyte\.gz: is not an IDX file/);
    const ds = await FashionMNIST.load({ root, download: true, mirror: `${base}/good/`, checksums: checksums(), log: quiet });
    expect(ds.length).toBe(20);
  });

  it('names every mirror that failed', async () => {
    const root = tempDir();
    const err = (await FashionMNIST.load({ root, download: true, mirror: ['http://127.0.0.1:9/', `${base}/missing/`], log: quiet }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.message).toContain('http://127.0.0.1:9/train-images-idx3-ubyte.gz: ');
    expect(err.message).toContain(`${base}/missing/train-images-idx3-ubyte.gz: HTTP 404`);
  });
});

const SYSTEM = '/usr/share/datasets/fashion-mnist';
const hasSystem = existsSync(join(SYSTEM, 'train-images-idx3-ubyte.gz'));
if (!hasSystem) console.warn(`[@kindling/data] real Fashion-MNIST tests skipped: ${SYSTEM} not installed (apt-get install dataset-fashion-mnist)`);

describe.skipIf(!hasSystem)('the real Fashion-MNIST (Debian dataset-fashion-mnist)', () => {
  it('decodes the training set: 60000 images, 6000 per class, first label 9', async () => {
    const t0 = performance.now();
    const cache = tempDir();
    const ds = await withEnv({ KINDLING_DATA_DIR: undefined, XDG_CACHE_HOME: cache }, () => FashionMNIST.load({ train: true }));
    const ms = performance.now() - t0;
    console.log(`[@kindling/data] FashionMNIST train decode (gunzip + parse + checks): ${ms.toFixed(0)} ms`);
    expect(ds.root).toBe(SYSTEM);
    expect(ds.length).toBe(60000);
    expect(ds.labels[0]).toBe(9);
    const hist = new Array<number>(10).fill(0);
    for (const l of ds.labels) hist[l]!++;
    expect(hist).toEqual(new Array(10).fill(6000));
    // Mean pixel of the training set (0.2860 after ToTensor, the usual Normalize constant).
    let sum = 0;
    for (const p of ds.data) sum += p;
    expect(sum / ds.data.length / 255).toBeCloseTo(0.286, 3);
    // One epoch of batches on the main thread: every sample once.
    const loader = new BatchLoader(ds, { batchSize: 256, shuffle: true, seed: 0, numWorkers: 0 });
    expect(loader.length).toBe(235);
    let n = 0;
    const t1 = performance.now();
    for await (const b of loader) n += b.y.length;
    console.log(`[@kindling/data] one epoch of 235 raw batches (main thread): ${(performance.now() - t1).toFixed(0)} ms`);
    expect(n).toBe(60000);
  });

  it('decodes the test set: 10000 images', async () => {
    const ds = await FashionMNIST.load({ root: SYSTEM, train: false });
    expect(ds.length).toBe(10000);
    const hist = new Array<number>(10).fill(0);
    for (const l of ds.labels) hist[l]!++;
    expect(hist).toEqual(new Array(10).fill(1000));
  });
});
