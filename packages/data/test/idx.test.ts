import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFileError } from '../src/errors.js';
import { decodeIdx, encodeIdx, isGzip, parseIdx, readIdx } from '../src/idx.js';
import { bytes, cleanupTempDirs, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

/** Expects `p` to reject with a DataFileError naming `file` and matching `re`. */
async function rejectsNaming(p: Promise<unknown>, file: string, re: RegExp): Promise<DataFileError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DataFileError);
  const err = e as DataFileError;
  expect(err.file).toBe(file);
  expect(err.message).toContain(file);
  expect(err.message).toMatch(re);
  return err;
}

describe('IDX reader', () => {
  const images = bytes(3 * 4 * 5, 7);
  const idx = encodeIdx([3, 4, 5], images);

  it('writes the header the format defines', () => {
    expect([...idx.subarray(0, 16)]).toEqual([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5]);
    expect(idx.length).toBe(16 + 60);
  });

  it('parses a raw file', async () => {
    const dir = tempDir();
    const f = join(dir, 'images-idx3-ubyte');
    writeFileSync(f, idx);
    const a = await readIdx(f);
    expect(a.dims).toEqual([3, 4, 5]);
    expect(a.type).toBe('uint8');
    expect(a.data).toEqual(images);
  });

  it('parses a gzip file, detected by its magic bytes whatever the name', async () => {
    const dir = tempDir();
    const gz = gzipSync(idx);
    expect(isGzip(gz)).toBe(true);
    for (const name of ['images-idx3-ubyte.gz', 'no-extension']) {
      const f = join(dir, name);
      writeFileSync(f, gz);
      const a = await readIdx(f);
      expect(a.dims).toEqual([3, 4, 5]);
      expect(a.data).toEqual(images);
    }
  });

  it('parses 1-d label files', () => {
    const labels = Uint8Array.from([9, 0, 0, 3]);
    const a = parseIdx(encodeIdx([4], labels));
    expect(a.dims).toEqual([4]);
    expect([...a.data]).toEqual([9, 0, 0, 3]);
  });

  it('names the file and the byte counts of a truncated file', async () => {
    const dir = tempDir();
    const f = join(dir, 'train-images-idx3-ubyte');
    writeFileSync(f, idx.subarray(0, idx.length - 7));
    const e = await rejectsNaming(readIdx(f), f, /truncated/);
    expect(e.problem).toContain('expected 76 bytes');
    expect(e.problem).toContain('found 69');
  });

  it('names the file of a truncated header', async () => {
    const dir = tempDir();
    const f = join(dir, 'short');
    writeFileSync(f, idx.subarray(0, 10));
    await rejectsNaming(readIdx(f), f, /truncated: the header of 3 dimensions needs 16 bytes, found 10/);
  });

  it('says "after gunzip" for a truncated file inside a valid gzip', async () => {
    const dir = tempDir();
    const f = join(dir, 'train-labels-idx1-ubyte.gz');
    writeFileSync(f, gzipSync(idx.subarray(0, 50)));
    await rejectsNaming(readIdx(f), f, /truncated: expected 76 bytes .* found 50 after gunzip/);
  });

  it('rejects trailing bytes', async () => {
    const dir = tempDir();
    const f = join(dir, 'long');
    writeFileSync(f, Buffer.concat([idx, Buffer.from([1, 2])]));
    await rejectsNaming(readIdx(f), f, /2 unexpected trailing bytes/);
  });

  it('names the file of a corrupt gzip', async () => {
    const dir = tempDir();
    const gz = Buffer.from(gzipSync(encodeIdx([100, 28, 28], bytes(78400))));
    // Damage the deflate stream after the 10-byte gzip header.
    for (let i = 20; i < 60; i++) gz[i] = gz[i]! ^ 0xa5;
    const f = join(dir, 'train-images-idx3-ubyte.gz');
    writeFileSync(f, gz);
    await rejectsNaming(readIdx(f), f, /corrupt gzip data|truncated gzip/);
  });

  it('names the file of a cut-off gzip', async () => {
    const dir = tempDir();
    const gz = gzipSync(encodeIdx([100, 28, 28], bytes(78400)));
    const f = join(dir, 't10k-images-idx3-ubyte.gz');
    writeFileSync(f, gz.subarray(0, Math.floor(gz.length / 2)));
    await rejectsNaming(readIdx(f), f, /truncated gzip data/);
  });

  it('rejects a bad magic number, naming the file', async () => {
    const dir = tempDir();
    const f = join(dir, 'index.html');
    writeFileSync(f, '<html><body>Not Found</body></html>');
    await rejectsNaming(readIdx(f), f, /not an IDX file: bad magic number 0x3c68746d/);
  });

  it('rejects IDX element types other than unsigned byte with a clear error', async () => {
    const floats = encodeIdx([2], Uint8Array.from([1, 2]));
    floats[2] = 0x0d;
    await expect(decodeIdx(floats, 'floats.idx')).rejects.toThrow(
      /floats\.idx: has IDX element type 0x0d \(float32\), which is not supported: only 0x08 \(unsigned byte\) is/,
    );
  });

  it('reports a missing file as such', async () => {
    const f = join(tempDir(), 'nope-idx1-ubyte.gz');
    await rejectsNaming(readIdx(f), f, /file not found/);
  });
});
