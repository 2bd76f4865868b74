/**
 * safetensors checkpoints:
 *  - the fixture written by an independent stdlib-only Python writer (fixtures/make_fixture.py)
 *    loads exactly (values, shapes, dtypes, metadata; I64 → int32);
 *  - Kindling's bytes for the same tensors are identical to the Python writer's (the script is
 *    re-run when python3 exists, else the committed fixture is the reference);
 *  - the reference Rust implementation's own unit-test vectors are reproduced byte for byte;
 *  - header layout: little-endian length, 8-byte alignment, dtype names, contiguous offsets;
 *  - a LeNet-BN stateDict round-trips through a file, with num_batches_tracked as I64;
 *  - atomic writes and clear errors for malformed files.
 */
import '@kindling/backend-cpu';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type Tensor, tensor } from '@kindling/core';
import { BatchNorm1d, BatchNorm2d, buildFromSpec, safetensors } from '@kindling/nn';

const FIXTURE_DIR = fileURLToPath(new URL('./fixtures/', import.meta.url));
const FIXTURE = join(FIXTURE_DIR, 'fixture.safetensors');
const SCRIPT = join(FIXTURE_DIR, 'make_fixture.py');

const tmp = mkdtempSync(join(tmpdir(), 'kindling-safetensors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function python3(): string | null {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return 'python3';
  } catch {
    return null;
  }
}

/** The fixture's tensors, written independently here from make_fixture.py's table. */
function fixtureTensors(): Map<string, Tensor> {
  return new Map<string, Tensor>([
    ['conv.weight', tensor(Float32Array.from([0.5, -0, 1 / 3, -2.75, 3.4028234663852886e38, 1.401298464324817e-45, Infinity, -Infinity]), { shape: [2, 1, 2, 2] })],
    ['conv.bias', tensor(Float32Array.from([0.125, -1e-7]), { shape: [2] })],
    ['bn.running_mean', tensor(Float32Array.from([0, 0.1, -0.2]), { shape: [3] })],
    ['bn.running_var', tensor(Float32Array.from([1, 0.9, 1.1]), { shape: [3] })],
    ['bn.num_batches_tracked', tensor(Int32Array.from([7]), { shape: [] })],
    ['labels', tensor(Int32Array.from([0, 9, -3, 2147483647]), { shape: [4] })],
    ['mask', tensor(Uint8Array.from([1, 0, 1, 0, 0, 1]), { shape: [2, 3], dtype: 'bool' })],
    ['scale', tensor(Float32Array.from([2.5]), { shape: [] })],
    ['empty', tensor(new Float32Array(0), { shape: [0] })],
    ['\u00fcnicode.w', tensor(Float32Array.from([42]), { shape: [1] })],
  ]);
}
const METADATA = { format: 'pt', source: 'make_fixture.py' };

/** The Python writer's bytes: freshly generated when python3 exists, else the committed file. */
function pythonBytes(): Uint8Array {
  const py = python3();
  if (!py) {
    console.warn('python3 not found: comparing with the committed fixture instead of re-running make_fixture.py');
    return new Uint8Array(readFileSync(FIXTURE));
  }
  const out = join(tmp, 'from-python.safetensors');
  execFileSync(py, [SCRIPT, out]);
  return new Uint8Array(readFileSync(out));
}

function u64le(b: Uint8Array): number {
  return Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
}

describe('safetensors: the independent fixture', () => {
  it('the committed fixture is what make_fixture.py writes', () => {
    if (!python3()) return;
    expect(Buffer.from(pythonBytes()).equals(readFileSync(FIXTURE))).toBe(true);
  });

  it('loads exactly: names, shapes, dtypes, values, metadata', async () => {
    const sd = await safetensors.load(FIXTURE);
    const expected = fixtureTensors();
    expect(new Set(sd.keys())).toEqual(new Set(expected.keys()));
    for (const [name, e] of expected) {
      const t = sd.get(name)!;
      expect([...t.shape], name).toEqual([...e.shape]);
      expect(t.dtype, name).toBe(e.dtype);
      // Bit-exact, including -0, the subnormal and the infinities.
      const a = t.dataSync();
      const b = e.dataSync();
      expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), name).toBe(true);
    }
    expect(Object.is(sd.get('conv.weight')!.dataSync()[1], -0)).toBe(true);
    expect(sd.get('bn.num_batches_tracked')!.dtype).toBe('int32');
    expect(sd.get('bn.num_batches_tracked')!.itemSync()).toBe(7);
    expect(safetensors.readMetadata(new Uint8Array(readFileSync(FIXTURE)))).toEqual(METADATA);
  });

  it('Kindling writes the same bytes as the Python writer for the same tensors', async () => {
    const py = pythonBytes();
    const fromTs = await safetensors.serialize(fixtureTensors(), { metadata: METADATA });
    expect(Buffer.from(fromTs).toString('latin1')).toBe(Buffer.from(py).toString('latin1'));
    // And re-serializing what was loaded from the Python file gives the file back.
    const loaded = safetensors.deserialize(py);
    expect(Buffer.from(safetensors.serializeSync(loaded, { metadata: METADATA })).equals(Buffer.from(py))).toBe(true);
  });
});

describe('safetensors: the format', () => {
  // The reference implementation's unit-test vectors (safetensors/src/tensor.rs).
  it('reproduces the reference writer: one F32 tensor [1,2,3]', () => {
    const t = tensor(Float32Array.from([0, 1, 2, 3, 4, 5]), { shape: [1, 2, 3] });
    const out = safetensors.serializeSync(new Map([['attn.0', t]]));
    expect([...out]).toEqual([
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44,
      34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34,
      58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);
  });

  it('reproduces the reference writer: space padding to 8-byte alignment', () => {
    const t = tensor(Float32Array.from([0, 1, 2, 3, 4, 5]), { shape: [1, 1, 2, 3] });
    const out = safetensors.serializeSync(new Map([['attn0', t]]));
    expect([...out]).toEqual([
      72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34,
      115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115,
      34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32, 32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128,
      64, 0, 0, 160, 64,
    ]);
  });

  it('reproduces the reference writer: empty files, with and without metadata', () => {
    expect([...safetensors.serializeSync(new Map())]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect([...safetensors.serializeSync(new Map(), { metadata: { framework: 'pt' } })]).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119,
      111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
    ]);
  });

  it('header: LE length, aligned data, dtype order then name order, contiguous offsets', () => {
    const bytes = safetensors.serializeSync(fixtureTensors());
    const n = u64le(bytes);
    expect((8 + n) % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.trimEnd().length).toBeGreaterThan(0);
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
    const header = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const names = Object.keys(header);
    expect(names).toEqual([
      'bn.num_batches_tracked', // I64 first
      'bn.running_mean', 'bn.running_var', 'conv.bias', 'conv.weight', 'empty', 'scale', '\u00fcnicode.w', // F32 by UTF-8 name
      'labels', // I32
      'mask', // BOOL
    ]);
    expect(header['bn.num_batches_tracked']).toEqual({ dtype: 'I64', shape: [], data_offsets: [0, 8] });
    expect(header['mask']!.dtype).toBe('BOOL');
    expect(header['labels']!.dtype).toBe('I32');
    let end = 0;
    for (const name of names) {
      expect(header[name]!.data_offsets[0]).toBe(end);
      end = header[name]!.data_offsets[1];
    }
    expect(8 + n + end).toBe(bytes.length);
    // Little-endian data: labels[3] = 2^31 − 1.
    const labels = header['labels']!.data_offsets[0];
    expect([...bytes.subarray(8 + n + labels + 12, 8 + n + labels + 16)]).toEqual([0xff, 0xff, 0xff, 0x7f]);
  });

  it('int64 choice can be overridden per tensor', () => {
    const sd = new Map([['idx', tensor(Int32Array.from([1, -2]), { shape: [2] })]]);
    const asI64 = safetensors.parseHeader(safetensors.serializeSync(sd, { int64: () => true }));
    expect(asI64.tensors.get('idx')!.dtype).toBe('I64');
    const back = safetensors.deserialize(safetensors.serializeSync(sd, { int64: () => true }));
    expect([...back.get('idx')!.dataSync()]).toEqual([1, -2]);
  });
});

describe('safetensors: checkpoints', () => {
  const lenetBn = {
    type: 'Sequential',
    layers: [
      { type: 'Conv2d', in_channels: 1, out_channels: 6, kernel_size: 5 }, { type: 'BatchNorm2d', num_features: 6 }, { type: 'Sigmoid' },
      { type: 'MaxPool2d', kernel_size: 2, stride: 2 }, { type: 'Flatten' }, { type: 'Linear', in_features: 864, out_features: 10 },
      { type: 'BatchNorm1d', num_features: 10 },
    ],
  };

  it('a LeNet-BN stateDict round-trips through a file; num_batches_tracked is I64 on disk', async () => {
    const a = buildFromSpec(lenetBn);
    const bn = a.getSubmodule('1') as BatchNorm2d;
    bn.numBatchesTracked!.fill_(3);
    bn.runningMean!.fill_(0.25);
    const path = join(tmp, 'lenet-bn.safetensors');
    await safetensors.save(a.stateDict(), path, { metadata: { format: 'pt' } });
    const header = safetensors.parseHeader(new Uint8Array(readFileSync(path)));
    expect(header.tensors.get('1.num_batches_tracked')).toEqual({ dtype: 'I64', shape: [], dataOffsets: [0, 8] });
    expect(header.tensors.get('6.num_batches_tracked')!.dtype).toBe('I64');
    expect(header.tensors.get('0.weight')!.dtype).toBe('F32');
    expect(header.metadata).toEqual({ format: 'pt' });

    const b = buildFromSpec(lenetBn);
    const result = b.loadStateDict(await safetensors.load(path));
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    for (const [k, t] of a.stateDict()) {
      const u = b.stateDict().get(k)!;
      expect(u.dtype, k).toBe(t.dtype);
      expect(Array.from(u.dataSync()), k).toEqual(Array.from(t.dataSync()));
    }
    expect((b.getSubmodule('6') as BatchNorm1d).numBatchesTracked!.itemSync()).toBe(0);
    expect((b.getSubmodule('1') as BatchNorm2d).numBatchesTracked!.itemSync()).toBe(3);
  });

  it('saves atomically: no temporary file is left, an existing file is replaced whole', async () => {
    const dir = mkdtempSync(join(tmp, 'atomic-'));
    const path = join(dir, 'ckpt.safetensors');
    writeFileSync(path, 'old contents');
    await safetensors.save(fixtureTensors(), path);
    expect(readdirSync(dir)).toEqual(['ckpt.safetensors']);
    expect(safetensors.deserialize(new Uint8Array(readFileSync(path))).size).toBe(10);
    await expect(safetensors.save(fixtureTensors(), join(dir, 'missing-dir', 'x.safetensors'))).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['ckpt.safetensors']);
  });

  it('rejects malformed files with clear errors', () => {
    const good = safetensors.serializeSync(fixtureTensors());
    expect(() => safetensors.deserialize(good.subarray(0, 4))).toThrow(/too small/);
    expect(() => safetensors.deserialize(good.subarray(0, good.length - 1))).toThrow(/cover/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, BigInt(good.length), true);
    expect(() => safetensors.deserialize(huge)).toThrow(/runs past the end/);
    const enc = (h: object, data: number[]) => {
      const json = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + json.length + data.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      out.set(data, 8 + json.length);
      return out;
    };
    expect(() => safetensors.deserialize(enc({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, [0, 0, 0, 0]))).toThrow(/needs 8 bytes/);
    expect(() => safetensors.deserialize(enc({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, [0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/no gaps/);
    expect(() => safetensors.deserialize(enc({ a: { dtype: 'X9', shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0]))).toThrow(/unsupported dtype/);
    const big = [0, 0, 0, 0, 1, 0, 0, 0]; // 2^32 as I64
    expect(() => safetensors.deserialize(enc({ n: { dtype: 'I64', shape: [], data_offsets: [0, 8] } }, big))).toThrow(/does not fit in int32/);
  });

  it('reads other dtypes PyTorch may write (F64, F16, BF16, U8, I16) as float32 / int32', () => {
    const f64 = new Uint8Array(new Float64Array([1.5, -2]).buffer);
    const f16 = [0x00, 0x3c, 0x00, 0xc0]; // 1, -2
    const bf16 = [0x80, 0x3f, 0x00, 0xc0]; // 1, -2
    const json = {
      a: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
      b: { dtype: 'F16', shape: [2], data_offsets: [16, 20] },
      c: { dtype: 'BF16', shape: [2], data_offsets: [20, 24] },
      d: { dtype: 'U8', shape: [2], data_offsets: [24, 26] },
      e: { dtype: 'I16', shape: [1], data_offsets: [26, 28] },
    };
    const h = new TextEncoder().encode(JSON.stringify(json));
    const bytes = new Uint8Array(8 + h.length + 28);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(h.length), true);
    bytes.set(h, 8);
    bytes.set([...f64, ...f16, ...bf16, 200, 7, 0xfe, 0xff], 8 + h.length);
    const sd = safetensors.deserialize(bytes);
    expect([...sd.get('a')!.dataSync()]).toEqual([1.5, -2]);
    expect([...sd.get('b')!.dataSync()]).toEqual([1, -2]);
    expect([...sd.get('c')!.dataSync()]).toEqual([1, -2]);
    expect(sd.get('d')!.dtype).toBe('int32');
    expect([...sd.get('d')!.dataSync()]).toEqual([200, 7]);
    expect([...sd.get('e')!.dataSync()]).toEqual([-2]);
  });
});
