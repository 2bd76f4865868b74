/**
 * MNIST and Fashion-MNIST (Node): the four IDX files of each, found on disk or downloaded.
 *
 * ```ts
 * const train = await FashionMNIST.load({ train: true, transform: new ToTensor() });
 * train.length;        // 60000
 * train.get(0);        // [{ data: Float32Array(784), shape: [1, 28, 28] }, 9]
 * ```
 *
 * Where the files are looked for (first folder holding both files of the split wins):
 *   1. `root`, when given — and only there: root/fashion-mnist, root/FashionMNIST/raw
 *      (torchvision's layout), root itself;
 *   2. $KINDLING_DATA_DIR/fashion-mnist, then $KINDLING_DATA_DIR itself;
 *   3. the user cache: $XDG_CACHE_HOME/kindling/fashion-mnist (default ~/.cache/kindling/fashion-mnist);
 *   4. /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist package).
 * (MNIST: the same with `mnist` / `MNIST`.) Each file may be raw or .gz; the raw one is preferred.
 *
 * `download: true` fetches the missing files of the split from the official mirrors into
 * root/fashion-mnist (when root is given) or the user cache, checking their MD5 before use.
 * Files found elsewhere are not checksummed — Debian re-compresses them, so their .gz differ
 * from the official ones byte for byte — but every file is validated structurally: IDX
 * magic, exact size, 28×28 images, as many labels as images, labels 0..9. Any problem throws
 * an error naming the file, and no dataset object is created.
 */
import { flagString } from '@kindling/core/backend';
import { DataFileError, DatasetNotFoundError } from './errors.js';
import { InMemoryDataset, type InMemoryOptions } from './dataset.js';
import { ensureFiles, type RemoteFile } from './download.js';
import { readIdx } from './idx.js';

/** A member of the MNIST family: names, places and checksums. */
export interface MnistSpec {
  /** Class name, e.g. 'FashionMNIST'. */
  readonly name: string;
  /** Folder name under data dirs and the cache, e.g. 'fashion-mnist'. */
  readonly folder: string;
  /** torchvision's folder name (root/<it>/raw). */
  readonly torchvisionFolder: string;
  /** Base URLs of the official files, tried in order. */
  readonly mirrors: readonly string[];
  /** MD5 of the official .gz files. */
  readonly md5: Readonly<Record<string, string>>;
  readonly classes: readonly string[];
  /** System-wide folders (distribution packages). */
  readonly systemDirs: readonly string[];
  /** How to install it from a distribution, if one packages it. */
  readonly install?: string;
}

export const FASHION_MNIST: MnistSpec = {
  name: 'FashionMNIST',
  folder: 'fashion-mnist',
  torchvisionFolder: 'FashionMNIST',
  mirrors: ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'],
  md5: {
    'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
    't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
    't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
  },
  classes: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  systemDirs: ['/usr/share/datasets/fashion-mnist'],
  install: 'sudo apt-get install dataset-fashion-mnist   (Debian/Ubuntu; installs /usr/share/datasets/fashion-mnist)',
};

export const MNIST_SPEC: MnistSpec = {
  name: 'MNIST',
  folder: 'mnist',
  torchvisionFolder: 'MNIST',
  // torchvision's mirrors, in its order.
  mirrors: ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'http://yann.lecun.com/exdb/mnist/'],
  md5: {
    'train-images-idx3-ubyte.gz': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
    'train-labels-idx1-ubyte.gz': 'd53e105ee54ea40749a09fcbcd1e9432',
    't10k-images-idx3-ubyte.gz': '9fb629c4189551a2d022fa330f9573f3',
    't10k-labels-idx1-ubyte.gz': 'ec29112dd5afa0611ce80d1b7f02629c',
  },
  classes: ['0 - zero', '1 - one', '2 - two', '3 - three', '4 - four', '5 - five', '6 - six', '7 - seven', '8 - eight', '9 - nine'],
  systemDirs: ['/usr/share/datasets/mnist'],
};

/** Options of FashionMNIST.load and MNIST.load. */
export interface MnistOptions extends InMemoryOptions {
  /** Folder holding the files (searched alone when given; see the module comment). */
  root?: string;
  /** The 60000-image training split (default) or the 10000-image test split. */
  train?: boolean;
  /** Fetch missing files from the official mirrors, checking their MD5 (default false). */
  download?: boolean;
  /** Mirror base URL(s) to download from instead of the official ones. */
  mirror?: string | readonly string[];
  /** MD5 overrides by file name (for a private mirror serving re-packed files). */
  checksums?: Readonly<Record<string, string>>;
  /** Download progress messages (default: one line per file on stderr; pass () => {} for silence). */
  log?: (message: string) => void;
  /** Per-file download time limit in milliseconds (default 10 minutes). */
  timeoutMs?: number;
}

/** File base names (without .gz) of a split. */
export function splitFiles(train: boolean): { images: string; labels: string } {
  const p = train ? 'train' : 't10k';
  return { images: `${p}-images-idx3-ubyte`, labels: `${p}-labels-idx1-ubyte` };
}

/** A folder searched for the files, or a note about a place that could not be searched. */
interface Candidate {
  readonly dir: string | undefined;
  readonly label: string;
}

async function userCacheBase(): Promise<string> {
  const os = await import('node:os');
  const { join } = await import('node:path');
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg && xdg.length > 0 ? xdg : join(os.homedir(), '.cache'), 'kindling');
}

/** The folders searched for a dataset, in order (see the module comment). */
export async function searchPaths(spec: MnistSpec, root?: string): Promise<Candidate[]> {
  const { join, resolve } = await import('node:path');
  if (root !== undefined) {
    const r = resolve(root);
    return [
      { dir: join(r, spec.folder), label: 'root/' + spec.folder },
      { dir: join(r, spec.torchvisionFolder, 'raw'), label: `root/${spec.torchvisionFolder}/raw (torchvision layout)` },
      { dir: r, label: 'root' },
    ];
  }
  const out: Candidate[] = [];
  const env = flagString('KINDLING_DATA_DIR');
  if (env) {
    const e = resolve(env);
    out.push({ dir: join(e, spec.folder), label: `$KINDLING_DATA_DIR/${spec.folder}` });
    out.push({ dir: e, label: '$KINDLING_DATA_DIR' });
  } else {
    out.push({ dir: undefined, label: '$KINDLING_DATA_DIR (not set)' });
  }
  out.push({ dir: join(await userCacheBase(), spec.folder), label: 'user cache' });
  for (const d of spec.systemDirs) out.push({ dir: d, label: 'system' });
  return out;
}

/** Where `download: true` puts the files. */
export async function downloadDir(spec: MnistSpec, root?: string): Promise<string> {
  const { join, resolve } = await import('node:path');
  return root !== undefined ? join(resolve(root), spec.folder) : join(await userCacheBase(), spec.folder);
}

interface Located {
  readonly dir: string;
  readonly images: string;
  readonly labels: string;
}

/** Finds a file as raw or .gz in dir (raw preferred: no decompression). */
async function findFile(dir: string, base: string): Promise<string | undefined> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  for (const name of [base, `${base}.gz`]) {
    const p = join(dir, name);
    try {
      if ((await fs.stat(p)).isFile()) return p;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** Searches the candidates; returns the first complete folder and, for the error, why each other failed. */
async function locate(
  candidates: readonly Candidate[], train: boolean,
): Promise<{ found?: Located; searched: { dir: string; why: string }[] }> {
  const fs = await import('node:fs/promises');
  const names = splitFiles(train);
  const searched: { dir: string; why: string }[] = [];
  for (const c of candidates) {
    if (c.dir === undefined) {
      searched.push({ dir: c.label, why: 'not set' });
      continue;
    }
    const where = `${c.dir} (${c.label})`;
    try {
      if (!(await fs.stat(c.dir)).isDirectory()) {
        searched.push({ dir: where, why: 'not a directory' });
        continue;
      }
    } catch {
      searched.push({ dir: where, why: 'does not exist' });
      continue;
    }
    const images = await findFile(c.dir, names.images);
    const labels = await findFile(c.dir, names.labels);
    if (images && labels) return { found: { dir: c.dir, images, labels }, searched };
    const missing = [images ? undefined : names.images, labels ? undefined : names.labels].filter(Boolean);
    searched.push({ dir: where, why: `no ${missing.map((m) => `${m}[.gz]`).join(' nor ')}` });
  }
  return { searched };
}

/** Validated contents of one split. */
export interface MnistParts {
  readonly images: Uint8Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly dir: string;
  readonly imagesFile: string;
  readonly labelsFile: string;
}

/** Reads and validates the two files of a split; throws DataFileError naming the faulty file. */
export async function readMnistFiles(imagesFile: string, labelsFile: string, numClasses = 10): Promise<MnistParts> {
  const [img, lab] = await Promise.all([readIdx(imagesFile), readIdx(labelsFile)]);
  if (img.dims.length !== 3 || img.dims[1] !== 28 || img.dims[2] !== 28) {
    throw new DataFileError(imagesFile, `holds an array of shape [${img.dims.join(',')}], expected images [N,28,28] (IDX magic 0x00000803)`);
  }
  if (lab.dims.length !== 1) {
    throw new DataFileError(labelsFile, `holds an array of shape [${lab.dims.join(',')}], expected labels [N] (IDX magic 0x00000801)`);
  }
  const count = img.dims[0]!;
  // A valid IDX file may hold 0 images, but a dataset of none only trains to a NaN loss.
  if (count === 0) throw new DataFileError(imagesFile, 'holds 0 images; a dataset needs at least one');
  if (lab.dims[0] !== count) {
    throw new DataFileError(labelsFile, `has ${lab.dims[0]} labels but ${imagesFile} has ${count} images`);
  }
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const v = lab.data[i]!;
    if (v >= numClasses) throw new DataFileError(labelsFile, `label ${v} at index ${i} is outside 0..${numClasses - 1}`);
    labels[i] = v;
  }
  const { dirname } = await import('node:path');
  return { images: img.data, labels, count, dir: dirname(imagesFile), imagesFile, labelsFile };
}

function notFoundMessage(spec: MnistSpec, train: boolean, searched: readonly { dir: string; why: string }[], target: string): string {
  const names = splitFiles(train);
  const lines = [
    `${spec.name} (${train ? 'train' : 'test'} split): dataset files not found.`,
    `Looked for ${names.images}[.gz] and ${names.labels}[.gz] in:`,
    ...searched.map((s) => `  - ${s.dir}: ${s.why}`),
    'To get them:',
    ...(spec.install ? [`  - ${spec.install}`] : []),
    `  - or pass { download: true } to fetch the official files into ${target}`,
    `  - or point { root } or $KINDLING_DATA_DIR at a folder that holds them`,
  ];
  return lines.join('\n');
}

/** Finds (or downloads) and reads one split, with every check; nothing is returned half-built. */
export async function loadMnistParts(spec: MnistSpec, opts: MnistOptions): Promise<MnistParts> {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (!proc?.versions?.node) {
    throw new DatasetNotFoundError(
      `${spec.name}.load reads the dataset's files from disk, which needs Node; in a browser, fetch the four IDX files ` +
        `(e.g. train-images-idx3-ubyte.gz) and decode them with decodeIdx(), as apps/web does`,
      [],
    );
  }
  const train = opts.train ?? true;
  const target = await downloadDir(spec, opts.root);
  const { found, searched } = await locate(await searchPaths(spec, opts.root), train);
  if (found) {
    try {
      return await readMnistFiles(found.images, found.labels, spec.classes.length);
    } catch (e) {
      // A broken file in the download folder is replaced when downloading is allowed.
      const { resolve } = await import('node:path');
      if (!(opts.download && e instanceof DataFileError && resolve(found.dir) === resolve(target))) throw e;
    }
  } else if (!opts.download) {
    throw new DatasetNotFoundError(notFoundMessage(spec, train, searched, target), searched);
  }

  const names = splitFiles(train);
  const remote: RemoteFile[] = [names.images, names.labels].map((base) => {
    const name = `${base}.gz`;
    const md5 = opts.checksums?.[name] ?? spec.md5[name];
    if (!md5) throw new Error(`${spec.name}: no checksum known for ${name}`);
    return { name, md5 };
  });
  const mirrors = opts.mirror === undefined ? spec.mirrors : typeof opts.mirror === 'string' ? [opts.mirror] : opts.mirror;
  const [images, labels] = await ensureFiles(remote, {
    dir: target,
    mirrors,
    timeoutMs: opts.timeoutMs,
    log: opts.log ?? ((m) => console.error(`${spec.name}: ${m}`)),
  });
  // Downloaded .gz files win over a stale raw file of the same name.
  return readMnistFiles(images!, labels!, spec.classes.length);
}

/** Shared behaviour of MNIST and FashionMNIST: an in-memory uint8 dataset [N, 1, 28, 28]. */
export abstract class MnistDataset extends InMemoryDataset {
  /** Whether this is the training split. */
  readonly train: boolean;
  /** The folder the files were read from. */
  readonly root: string;
  /** The two files read. */
  readonly files: { readonly images: string; readonly labels: string };

  protected constructor(parts: MnistParts, train: boolean, opts: InMemoryOptions) {
    super(parts.images, [parts.count, 1, 28, 28], parts.labels, opts);
    this.train = train;
    this.root = parts.dir;
    this.files = { images: parts.imagesFile, labels: parts.labelsFile };
  }

  /** The class names, index = label. */
  abstract get classes(): readonly string[];

  override toString(): string {
    return [
      `Dataset ${this.constructor.name}`,
      `    Number of datapoints: ${this.length}`,
      `    Root location: ${this.root}`,
      `    Split: ${this.train ? 'Train' : 'Test'}`,
      ...(this.transform ? [`    Transform: ${String(this.transform)}`] : []),
    ].join('\n');
  }
}

/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): 60000 training and 10000 test images of
 * clothing, 28×28 grayscale, 10 classes. Samples are uint8 [1, 28, 28] before transforms.
 */
export class FashionMNIST extends MnistDataset {
  static readonly classes: readonly string[] = FASHION_MNIST.classes;
  static readonly spec: MnistSpec = FASHION_MNIST;

  /** Finds (or downloads), reads and checks the files; see the module comment. */
  static async load(opts: MnistOptions = {}): Promise<FashionMNIST> {
    return new FashionMNIST(await loadMnistParts(FASHION_MNIST, opts), opts.train ?? true, opts);
  }

  /** The folders `load` searches, in order (given `root`, or the defaults). */
  static async searchPaths(root?: string): Promise<string[]> {
    return (await searchPaths(FASHION_MNIST, root)).flatMap((c) => (c.dir ? [c.dir] : []));
  }

  get classes(): readonly string[] {
    return FASHION_MNIST.classes;
  }
}

/** MNIST handwritten digits (LeCun et al.): 60000 training and 10000 test images, 28×28, 10 classes. */
export class MNIST extends MnistDataset {
  static readonly classes: readonly string[] = MNIST_SPEC.classes;
  static readonly spec: MnistSpec = MNIST_SPEC;

  /** Finds (or downloads), reads and checks the files; see the module comment. */
  static async load(opts: MnistOptions = {}): Promise<MNIST> {
    return new MNIST(await loadMnistParts(MNIST_SPEC, opts), opts.train ?? true, opts);
  }

  /** The folders `load` searches, in order (given `root`, or the defaults). */
  static async searchPaths(root?: string): Promise<string[]> {
    return (await searchPaths(MNIST_SPEC, root)).flatMap((c) => (c.dir ? [c.dir] : []));
  }

  get classes(): readonly string[] {
    return MNIST_SPEC.classes;
  }
}
