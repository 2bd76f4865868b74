/**
 * The IDX file format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
 *
 *   bytes 0-1  zero
 *   byte  2    element type: 0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32,
 *              0x0D float32, 0x0E float64 (all big-endian)
 *   byte  3    number of dimensions d
 *   then d big-endian uint32 sizes, then the elements in row-major order.
 *
 * Label files are 0x00000801 (uint8, 1-d), image files 0x00000803 (uint8, 3-d). This reader
 * supports unsigned bytes, which is what every MNIST-family file holds, and rejects the other
 * types with an error that says so. Files may be gzip-compressed (detected by the magic bytes
 * 1f 8b, not by the file name). Sizes are checked exactly: a truncated file or trailing bytes are
 * errors that name the file and give the expected and actual byte counts.
 */
import { DataFileError } from './errors.js';

/** A decoded IDX array. `data` is row-major with the shape `dims`. */
export interface IdxArray {
  readonly dims: number[];
  readonly type: 'uint8';
  readonly data: Uint8Array;
}

/** Element types the IDX format defines, for error messages. */
const IDX_TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

const hex = (v: number, digits = 2) => `0x${v.toString(16).padStart(digits, '0')}`;

/** Whether the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parses an uncompressed IDX file. `file` names it in errors. The returned data is a view into
 * `bytes` (no copy).
 */
export function parseIdx(bytes: Uint8Array, file = '<IDX buffer>'): IdxArray {
  if (isGzip(bytes)) {
    throw new DataFileError(file, 'is gzip-compressed; decompress it first (readIdx and decodeIdx do)');
  }
  if (bytes.length < 4) {
    throw new DataFileError(file, `is truncated: ${bytes.length} bytes is too short for an IDX header (at least 4 bytes)`);
  }
  const magic = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const type = bytes[2]!;
  const ndim = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || !(type in IDX_TYPE_NAMES)) {
    throw new DataFileError(
      file,
      `is not an IDX file: bad magic number ${hex(magic, 8)} (expected 0x000008NN for unsigned bytes, ` +
        'e.g. 0x00000801 for labels or 0x00000803 for images)',
    );
  }
  if (type !== 0x08) {
    throw new DataFileError(
      file,
      `has IDX element type ${hex(type)} (${IDX_TYPE_NAMES[type]}), which is not supported: only ${hex(0x08)} (unsigned byte) is`,
    );
  }
  if (ndim === 0) throw new DataFileError(file, 'has an IDX header with 0 dimensions');
  const header = 4 + 4 * ndim;
  if (bytes.length < header) {
    throw new DataFileError(
      file,
      `is truncated: the header of ${ndim} dimensions needs ${header} bytes, found ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const expected = header + count;
  const what = `${header}-byte header + ${dims.join('×')} = ${count} data bytes`;
  if (bytes.length < expected) {
    throw new DataFileError(file, `is truncated: expected ${expected} bytes (${what}), found ${bytes.length}`);
  }
  if (bytes.length > expected) {
    throw new DataFileError(
      file,
      `has ${bytes.length - expected} unexpected trailing bytes: expected ${expected} bytes (${what}), found ${bytes.length}`,
    );
  }
  // A plain Uint8Array view (not a Node Buffer, whose subarray would be a Buffer too).
  return { dims, type: 'uint8', data: new Uint8Array(bytes.buffer, bytes.byteOffset + header, count) };
}

/** Serializes an unsigned-byte IDX array (handy for tests and for writing small datasets). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  if (dims.length === 0 || dims.length > 255) throw new Error(`encodeIdx: need 1..255 dimensions, got ${dims.length}`);
  let count = 1;
  for (const d of dims) count *= d;
  if (data.length !== count) throw new Error(`encodeIdx: dims [${dims.join(',')}] need ${count} bytes, data has ${data.length}`);
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + count);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, header);
  return out;
}

/**
 * The total byte count an IDX file announces in its header, once `head` holds the header; null
 * while more bytes are needed. For a header parseIdx will reject (bad magic, type, 0 dims) it
 * returns the bytes already there, so inflating stops and parseIdx gives its own message.
 */
export function idxAnnouncedBytes(head: Uint8Array): number | null {
  if (head.length < 4) return null;
  if (head[0] !== 0 || head[1] !== 0 || head[2] !== 0x08 || head[3] === 0) return head.length;
  const header = 4 + 4 * head[3]!;
  if (head.length < header) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let data = 1;
  for (let i = 0; i < head[3]!; i++) data *= view.getUint32(4 + 4 * i, false);
  return header + data;
}

/** How gunzip bounds its output. */
export interface GunzipLimit {
  /**
   * Given the bytes inflated so far, the most the output may hold (null: not known yet). Inflating
   * stops, with an error naming the file, as soon as the output passes it: a small file that
   * inflates to gigabytes (a "gzip bomb") costs no more than what its header announced.
   */
  maxBytes(head: Uint8Array): number | null;
  /** What the limit is, for the error ("the size its IDX header announces"). */
  what: string;
}

/**
 * Decompresses gzip data, streaming: Node's zlib (on the libuv thread pool, so the event loop
 * keeps running), else the web DecompressionStream. Corrupt or truncated data throws a
 * DataFileError naming `file`; with `limit`, so does output past the limit.
 */
export async function gunzip(bytes: Uint8Array, file = '<gzip buffer>', limit?: GunzipLimit): Promise<Uint8Array> {
  let zlib: typeof import('node:zlib') | undefined;
  try {
    zlib = await import('node:zlib');
    // Bundlers (Vite) resolve node:zlib to an empty stub in browser builds: treat that as absent.
    if (typeof zlib?.createGunzip !== 'function') zlib = undefined;
  } catch {
    zlib = undefined; // not Node: use DecompressionStream below
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  let max: number | null = null;
  let stop: (() => void) | null = null;
  let over: DataFileError | null = null;
  /** Takes one inflated chunk; false once the output passed the limit. */
  const take = (c: Uint8Array): boolean => {
    chunks.push(c);
    total += c.length;
    if (limit && max === null) max = limit.maxBytes(total === c.length ? c : concat(chunks, total));
    if (max !== null && total > max) {
      over = new DataFileError(file, `inflates to more than ${max} bytes, ${limit!.what}; stopped after ${total} bytes`);
      return false;
    }
    return true;
  };
  try {
    if (zlib) {
      const g = zlib.createGunzip();
      stop = () => g.destroy();
      await new Promise<void>((resolve, reject) => {
        g.on('data', (c: Uint8Array) => {
          if (!take(c)) {
            stop!();
            resolve();
          }
        });
        g.on('end', () => resolve());
        g.on('error', reject);
        g.end(bytes);
      });
    } else {
      const reader = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!take(value)) {
          await reader.cancel();
          break;
        }
      }
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const truncated = /unexpected end|premature|truncat/i.test(msg);
    throw new DataFileError(file, `${truncated ? 'is truncated gzip data' : 'is corrupt gzip data'} (${msg})`, { cause: e });
  }
  if (over) throw over;
  return concat(chunks, total);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) {
    const c = chunks[0]!;
    return new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Decodes IDX bytes that may be gzip-compressed (detected by magic bytes). */
export async function decodeIdx(bytes: Uint8Array, file = '<IDX buffer>'): Promise<IdxArray> {
  const raw = isGzip(bytes) ? await gunzip(bytes, file, { maxBytes: idxAnnouncedBytes, what: 'the size its IDX header announces' }) : bytes;
  try {
    return parseIdx(raw, file);
  } catch (e) {
    // Say that the sizes refer to the decompressed contents.
    if (e instanceof DataFileError && raw !== bytes && /truncated|trailing/.test(e.problem)) {
      throw new DataFileError(file, `${e.problem} after gunzip`, { cause: e });
    }
    throw e;
  }
}

/** Reads an IDX file from disk (Node), raw or gzip-compressed. */
export async function readIdx(path: string): Promise<IdxArray> {
  const fs = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const problem =
      code === 'ENOENT' ? 'file not found' :
      code === 'EISDIR' ? 'is a directory, not an IDX file' :
      code === 'EACCES' ? 'permission denied' :
      `cannot be read (${e instanceof Error ? e.message : String(e)})`;
    throw new DataFileError(path, problem, { cause: e });
  }
  return decodeIdx(bytes, path);
}
