/** Shared test helpers: temporary folders and small generated MNIST-style IDX files. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from '../src/idx.js';

const dirs: string[] = [];

/** A fresh temporary folder, removed by cleanupTempDirs(). */
export function tempDir(prefix = 'kindling-data-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function cleanupTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Deterministic pseudo-random bytes (a tiny LCG; independent of the code under test). */
export function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** A small split: `n` images 28×28 and labels i % 10. */
export function makeSplit(n: number, seed = 1): { images: Uint8Array; labels: Uint8Array; imagesIdx: Uint8Array; labelsIdx: Uint8Array } {
  const images = bytes(n * 28 * 28, seed);
  const labels = Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) % 10);
  return { images, labels, imagesIdx: encodeIdx([n, 28, 28], images), labelsIdx: encodeIdx([n], labels) };
}

/**
 * Writes the two files of a split into dir (gzip-compressed unless gz is false) and returns what
 * was written.
 */
export function writeSplit(dir: string, opts: { train?: boolean; n?: number; gz?: boolean; seed?: number } = {}) {
  const { train = true, n = 50, gz = true, seed = 1 } = opts;
  mkdirSync(dir, { recursive: true });
  const s = makeSplit(n, seed);
  const p = train ? 'train' : 't10k';
  const ext = gz ? '.gz' : '';
  const imagesFile = join(dir, `${p}-images-idx3-ubyte${ext}`);
  const labelsFile = join(dir, `${p}-labels-idx1-ubyte${ext}`);
  writeFileSync(imagesFile, gz ? gzipSync(s.imagesIdx) : s.imagesIdx);
  writeFileSync(labelsFile, gz ? gzipSync(s.labelsIdx) : s.labelsIdx);
  return { ...s, imagesFile, labelsFile };
}

/** Runs fn with environment variables set (undefined = unset), restoring them afterwards. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
