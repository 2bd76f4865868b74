/**
 * Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), readable by
 * PyTorch's `safetensors.torch.load_file` and back:
 *
 *   bytes 0..8      N, the header length: unsigned 64-bit little-endian
 *   bytes 8..8+N    the header: UTF-8 JSON
 *                     {"__metadata__": {"k": "v", ...},                      (optional, str → str)
 *                      "<name>": {"dtype": "F32", "shape": [6, 1, 5, 5], "data_offsets": [begin, end]}, ...}
 *                   padded with spaces so that 8 + N is a multiple of 8
 *   bytes 8+N..     the data buffer: each tensor row-major (C order), little-endian, at
 *                   [begin, end) relative to the start of the buffer; no gaps, no overlap.
 *
 * Written exactly as the reference (Rust) writer does: tensors ordered by dtype alignment
 * (descending: I64, F32, I32, BOOL) then by name; `__metadata__` first; compact JSON
 * (`serde_json`); space padding to 8 bytes. Metadata keys are written in sorted order.
 *
 * dtypes: Kindling writes F32, I32 and BOOL, and I64 for the int32 tensors that PyTorch keeps
 * as int64 (by default every `*num_batches_tracked`, see SerializeOptions.int64). Reading
 * accepts F32/F64/F16/BF16 (as float32), I64/I32/I16/I8/U64/U32/U16/U8 (as int32, checked to
 * fit) and BOOL.
 */
import { Tensor, KindlingError, getDefaultDevice, tensor } from '@kindling/core';
import type { StateDictLike } from './module.js';

export type SafetensorsDType = 'BOOL' | 'U8' | 'I8' | 'I16' | 'U16' | 'F16' | 'BF16' | 'I32' | 'U32' | 'F32' | 'F64' | 'I64' | 'U64';

/** The reference implementation's Dtype enum order (increasing alignment): the writer sorts by it. */
const DTYPE_ORDER: readonly string[] = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64'];
const DTYPE_SIZE: Readonly<Record<SafetensorsDType, number>> = {
  BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

/** One header entry. */
export interface SafetensorsEntry {
  dtype: SafetensorsDType;
  shape: number[];
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Length N of the JSON header in bytes (padding included). */
  headerLength: number;
  metadata: Record<string, string> | null;
  /** Entries in file (offset) order. */
  tensors: Map<string, SafetensorsEntry>;
}

export interface SerializeOptions {
  /** Written as "__metadata__" (string → string). */
  metadata?: Record<string, string>;
  /**
   * Which int32 tensors are written as I64 (PyTorch's int64). Default: names equal to or ending
   * in `num_batches_tracked`, so BatchNorm checkpoints load into PyTorch with its dtypes.
   */
  int64?: (name: string, t: Tensor) => boolean;
}

export interface DeserializeOptions {
  /** Device for the tensors (default: the default device). */
  device?: string;
}

const defaultInt64 = (name: string): boolean => name === 'num_batches_tracked' || name.endsWith('.num_batches_tracked');

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function entriesOf(tensors: StateDictLike): [string, Tensor][] {
  const list: [string, Tensor][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of list) {
    if (!(t instanceof Tensor)) throw new KindlingError('safetensors', `entry '${name}' is not a Tensor`);
    t.assertAlive('safetensors');
  }
  return list;
}

const utf8 = new TextEncoder();

/** Byte-wise comparison of the UTF-8 encodings (Rust's String order). */
function compareUtf8(a: string, b: string): number {
  const ea = utf8.encode(a);
  const eb = utf8.encode(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i++) if (ea[i] !== eb[i]) return ea[i]! - eb[i]!;
  return ea.length - eb.length;
}

function fileDType(name: string, t: Tensor, int64: (name: string, t: Tensor) => boolean): SafetensorsDType {
  switch (t.dtype) {
    case 'float32':
      return 'F32';
    case 'bool':
      return 'BOOL';
    case 'int32':
      return int64(name, t) ? 'I64' : 'I32';
    default:
      throw new KindlingError('safetensors', `cannot write dtype ${String(t.dtype)} of '${name}'`);
  }
}

/** Encodes one tensor's row-major values as little-endian bytes of `dtype`. */
function encode(values: ArrayLike<number>, dtype: SafetensorsDType): Uint8Array {
  const n = values.length;
  // Same layout as the host (little-endian): copy the bytes as they are (keeps NaN payloads).
  if (LITTLE_ENDIAN && ((dtype === 'F32' && values instanceof Float32Array) || (dtype === 'I32' && values instanceof Int32Array))) {
    return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  }
  const out = new Uint8Array(n * DTYPE_SIZE[dtype]);
  const dv = new DataView(out.buffer);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) dv.setFloat32(4 * i, values[i]!, true);
      break;
    case 'I32':
      for (let i = 0; i < n; i++) dv.setInt32(4 * i, values[i]!, true);
      break;
    case 'I64':
      for (let i = 0; i < n; i++) dv.setBigInt64(8 * i, BigInt(values[i]!), true);
      break;
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = values[i] ? 1 : 0;
      break;
    default:
      throw new KindlingError('safetensors', `cannot write dtype ${dtype}`);
  }
  return out;
}

interface Planned {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  bytes: number;
  tensor: Tensor;
}

function plan(tensors: StateDictLike, opts: SerializeOptions): Planned[] {
  const int64 = opts.int64 ?? defaultInt64;
  const seen = new Set<string>();
  const list = entriesOf(tensors).map(([name, t]) => {
    if (name === '__metadata__') throw new KindlingError('safetensors', "'__metadata__' is reserved and cannot name a tensor");
    if (seen.has(name)) throw new KindlingError('safetensors', `duplicate tensor name '${name}'`);
    seen.add(name);
    const dtype = fileDType(name, t, int64);
    return { name, dtype, shape: [...t.shape], bytes: t.size * DTYPE_SIZE[dtype], tensor: t };
  });
  // The reference writer's order: descending dtype alignment, then name.
  list.sort((a, b) => DTYPE_ORDER.indexOf(b.dtype) - DTYPE_ORDER.indexOf(a.dtype) || compareUtf8(a.name, b.name));
  return list;
}

/** The padded header bytes for planned tensors (JSON as serde_json writes it). */
function headerBytes(planned: Planned[], metadata: Record<string, string> | undefined): Uint8Array {
  const parts: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort(compareUtf8);
    for (const k of keys) {
      if (typeof metadata[k] !== 'string') throw new KindlingError('safetensors', `metadata value for '${k}' must be a string`);
    }
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const p of planned) {
    parts.push(`${JSON.stringify(p.name)}:{"dtype":"${p.dtype}","shape":[${p.shape.join(',')}],"data_offsets":[${offset},${offset + p.bytes}]}`);
    offset += p.bytes;
  }
  const json = utf8.encode(`{${parts.join(',')}}`);
  const padded = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  padded.set(json);
  return padded;
}

function assemble(planned: Planned[], metadata: Record<string, string> | undefined, values: ArrayLike<number>[]): Uint8Array {
  const header = headerBytes(planned, metadata);
  const total = 8 + header.length + planned.reduce((a, p) => a + p.bytes, 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  let pos = 8 + header.length;
  planned.forEach((p, i) => {
    out.set(encode(values[i]!, p.dtype), pos);
    pos += p.bytes;
  });
  return out;
}

/** Serializes tensors (a state dict) to safetensors bytes; reads the values back asynchronously. */
export async function serialize(tensors: StateDictLike, opts: SerializeOptions = {}): Promise<Uint8Array> {
  const planned = plan(tensors, opts);
  const values = await Promise.all(planned.map((p) => p.tensor.data()));
  return assemble(planned, opts.metadata, values);
}

/** serialize() with blocking reads (backends that have them, e.g. cpu). */
export function serializeSync(tensors: StateDictLike, opts: SerializeOptions = {}): Uint8Array {
  const planned = plan(tensors, opts);
  return assemble(planned, opts.metadata, planned.map((p) => p.tensor.dataSync()));
}

/** Parses and validates the header (offsets contiguous from 0, sizes matching shapes, buffer fully covered). */
export function parseHeader(bytes: Uint8Array): SafetensorsHeader {
  const fail = (msg: string): never => {
    throw new KindlingError('safetensors', msg);
  };
  if (bytes.length < 8) fail(`file too small (${bytes.length} bytes): no header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > 100_000_000n) fail(`header length ${n64} is larger than the 100 MB limit`);
  const n = Number(n64);
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail("header does not start with '{'");
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    return fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('header is not a JSON object');
  let metadata: Record<string, string> | null = null;
  const entries: [string, SafetensorsEntry][] = [];
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
        fail('__metadata__ must map strings to strings');
      }
      // A null prototype: keys from the file ("__proto__", "constructor") are plain keys, and an
      // absent key reads as undefined, never as something inherited from Object.prototype.
      metadata = Object.assign(Object.create(null) as Record<string, string>, v);
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) fail(`entry '${name}' is not an object`);
    if (typeof e.dtype !== 'string' || !Object.hasOwn(DTYPE_SIZE, e.dtype)) fail(`entry '${name}' has unsupported dtype ${JSON.stringify(e.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`entry '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || off.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      fail(`entry '${name}' has invalid data_offsets ${JSON.stringify(off)}`);
    }
    entries.push([name, { dtype: e.dtype as SafetensorsDType, shape: shape as number[], dataOffsets: [(off as number[])[0]!, (off as number[])[1]!] }]);
  }
  entries.sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1]);
  let expect = 0;
  for (const [name, e] of entries) {
    const [s, end] = e.dataOffsets;
    if (s !== expect || end < s) fail(`entry '${name}' has data_offsets [${s},${end}]: expected to start at ${expect} (no gaps or overlaps)`);
    const want = e.shape.reduce((a, d) => a * d, 1) * DTYPE_SIZE[e.dtype];
    if (end - s !== want) fail(`entry '${name}': ${e.dtype} ${JSON.stringify(e.shape)} needs ${want} bytes, data_offsets give ${end - s}`);
    expect = end;
  }
  if (8 + n + expect !== bytes.length) {
    fail(`the tensors cover ${expect} data bytes but the file has ${bytes.length - 8 - n} after the header`);
  }
  return { headerLength: n, metadata, tensors: new Map(entries) };
}

/** Decodes one tensor's bytes into a float32 / int32 / bool typed array. */
function decode(name: string, e: SafetensorsEntry, data: Uint8Array): Float32Array | Int32Array | Uint8Array {
  const count = e.shape.reduce((a, d) => a * d, 1);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const toInt = (v: number | bigint): number => {
    const x = Number(v);
    if (!(x >= -2147483648 && x <= 2147483647)) {
      throw new KindlingError('safetensors', `'${name}' (${e.dtype}) holds ${String(v)}, which does not fit in int32 (Kindling's integer dtype)`);
    }
    return x;
  };
  switch (e.dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN) return new Float32Array(data.slice().buffer, 0, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(count);
      const f = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        f.setUint32(0, dv.getUint16(2 * i, true) << 16);
        out[i] = f.getFloat32(0);
      }
      return out;
    }
    case 'BOOL': {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i++) out[i] = data[i] ? 1 : 0;
      return out;
    }
    default: {
      const out = new Int32Array(count);
      const size = DTYPE_SIZE[e.dtype];
      for (let i = 0; i < count; i++) {
        const o = size * i;
        switch (e.dtype) {
          case 'I32': out[i] = dv.getInt32(o, true); break;
          case 'U32': out[i] = toInt(dv.getUint32(o, true)); break;
          case 'I64': out[i] = toInt(dv.getBigInt64(o, true)); break;
          case 'U64': out[i] = toInt(dv.getBigUint64(o, true)); break;
          case 'I16': out[i] = dv.getInt16(o, true); break;
          case 'U16': out[i] = dv.getUint16(o, true); break;
          case 'I8': out[i] = dv.getInt8(o); break;
          case 'U8': out[i] = dv.getUint8(o); break;
        }
      }
      return out;
    }
  }
}

/** IEEE 754 binary16 → number. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Reads safetensors bytes into a name → tensor Map (in file order). */
export function deserialize(bytes: Uint8Array, opts: DeserializeOptions = {}): Map<string, Tensor> {
  const header = parseHeader(bytes);
  const base = 8 + header.headerLength;
  const device = opts.device ?? getDefaultDevice();
  const out = new Map<string, Tensor>();
  for (const [name, e] of header.tensors) {
    const values = decode(name, e, bytes.subarray(base + e.dataOffsets[0], base + e.dataOffsets[1]));
    const dtype = values instanceof Float32Array ? 'float32' : values instanceof Int32Array ? 'int32' : 'bool';
    out.set(name, tensor(values, { shape: e.shape, dtype, device }));
  }
  return out;
}

/** The "__metadata__" of safetensors bytes (null when absent). */
export function readMetadata(bytes: Uint8Array): Record<string, string> | null {
  return parseHeader(bytes).metadata;
}

/**
 * Writes a state dict to `path` atomically: the bytes go to a temporary file in the same
 * directory, which is then renamed over `path` (so a crash never leaves a half-written checkpoint).
 */
export async function save(tensors: StateDictLike, path: string, opts: SerializeOptions = {}): Promise<void> {
  const bytes = await serialize(tensors, opts);
  const fs = await import('node:fs/promises');
  const nodePath = await import('node:path');
  const dir = nodePath.dirname(path);
  const tmp = nodePath.join(dir, `.${nodePath.basename(path)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
  try {
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

/** Reads a safetensors file into a name → tensor Map (pass it to module.loadStateDict). */
export async function load(path: string, opts: DeserializeOptions = {}): Promise<Map<string, Tensor>> {
  const fs = await import('node:fs/promises');
  const buf = await fs.readFile(path);
  return deserialize(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), opts);
}
