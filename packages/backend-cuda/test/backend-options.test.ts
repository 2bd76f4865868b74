/**
 * The backend's options as the addon receives them, checked without a GPU: a CudaBackend over a
 * recording stand-in for the native context (the real one needs a device) packs each convolution's
 * allowTF32 and cudnnBenchmark flags after its geometry, from the option, the environment, or the
 * property set later.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Conv2dParams, View } from '@kindling/core';
import { CudaBackend, allowTF32FromEnv, cudnnBenchmarkFromEnv, fusedFromEnv } from '../dist/index.js';
import type { NativeContext } from '../dist/addon.js';

function recorder(): { ctx: NativeContext; runs: Float64Array[] } {
  const runs: Float64Array[] = [];
  let next = 4096;
  const ctx: NativeContext = {
    alloc: (bytes) => (next += Math.max(bytes, 256)),
    free: () => {},
    write: () => {},
    read: async () => new Float32Array(0),
    sync: async () => {},
    memory: () => [0, 0, 0],
    emptyCache: () => {},
    info: () => ({ name: 'stand-in', computeCapability: '9.0', multiProcessors: 1, totalMemory: 2 ** 30, matmul: 'own', conv: 'own' }),
    run: (_op, args) => void runs.push(args.slice()),
    dispose: () => {},
    profile: () => ({}),
  };
  return { ctx, runs };
}

function view(b: CudaBackend, shape: number[]): View {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, c) => a * c, 1));
  return { buffer: b.alloc('float32', shape.reduce((a, c) => a * c, 1)), dtype: 'float32', shape, strides, offset: 0 };
}

const params: Conv2dParams = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
// x, w and out are rank-4 views ([ptr, dtype, offset, rank, 4 sizes, 4 strides]), the bias is
// absent ([0]), then seven geometry numbers: allowTF32's flag follows them, then cudnnBenchmark's.
const FLAG_AT = 3 * 12 + 1 + 7;

function convFlag(b: CudaBackend, runs: Float64Array[], at = FLAG_AT): number {
  b.conv2d!(view(b, [1, 1, 4, 4]), view(b, [1, 1, 3, 3]), null, params, view(b, [1, 1, 2, 2]));
  return runs.at(-1)![at]!;
}

describe('cuda backend options, as packed for the addon', () => {
  const saved = { tf32: process.env.KINDLING_CUDA_ALLOW_TF32, bench: process.env.KINDLING_CUDA_CUDNN_BENCHMARK };
  afterEach(() => {
    if (saved.tf32 === undefined) delete process.env.KINDLING_CUDA_ALLOW_TF32;
    else process.env.KINDLING_CUDA_ALLOW_TF32 = saved.tf32;
    if (saved.bench === undefined) delete process.env.KINDLING_CUDA_CUDNN_BENCHMARK;
    else process.env.KINDLING_CUDA_CUDNN_BENCHMARK = saved.bench;
  });

  it('allows TF32 convolutions by default, as PyTorch, and sends full FP32 once allowTF32 is off, by option or later by property', () => {
    delete process.env.KINDLING_CUDA_ALLOW_TF32;
    const { ctx, runs } = recorder();
    const b = new CudaBackend('cuda:0', ctx, { addon: null, deviceCount: 1, reason: null }, {}, {});
    expect(b.allowTF32).toBe(true);
    expect(convFlag(b, runs)).toBe(1);
    expect(b.info().notes.join('\n')).toMatch(/TF32 tensor cores allowed/);
    b.allowTF32 = false;
    expect(convFlag(b, runs)).toBe(0);
    expect(b.info().notes.join('\n')).toMatch(/full FP32 \(allowTF32 off\)/);
    const c = new CudaBackend('cuda:0', ctx, { addon: null, deviceCount: 1, reason: null }, {}, { allowTF32: false });
    expect(convFlag(c, runs)).toBe(0);
  });

  it('times cuDNN\'s algorithms by default; cudnnBenchmark off, by option, property or environment, leaves them to its heuristics', () => {
    delete process.env.KINDLING_CUDA_CUDNN_BENCHMARK;
    const { ctx, runs } = recorder();
    const b = new CudaBackend('cuda:0', ctx, { addon: null, deviceCount: 1, reason: null }, {}, {});
    expect(b.cudnnBenchmark).toBe(true);
    expect(convFlag(b, runs, FLAG_AT + 1)).toBe(1);
    expect(b.info().notes.join('\n')).toMatch(/timed on first use \(cudnnBenchmark\)/);
    b.cudnnBenchmark = false;
    expect(convFlag(b, runs, FLAG_AT + 1)).toBe(0);
    expect(convFlag(b, runs)).toBe(1); // allowTF32, on by default, is its own flag
    expect(b.info().notes.join('\n')).toMatch(/by its heuristics \(cudnnBenchmark off\)/);
    expect(convFlag(new CudaBackend('cuda:0', ctx, { addon: null, deviceCount: 1, reason: null }, {}, { cudnnBenchmark: false }), runs, FLAG_AT + 1)).toBe(0);
    process.env.KINDLING_CUDA_CUDNN_BENCHMARK = 'off';
    expect(cudnnBenchmarkFromEnv()).toBe(false);
    expect(convFlag(new CudaBackend('cuda:0', ctx, { addon: null, deviceCount: 1, reason: null }, {}), runs, FLAG_AT + 1)).toBe(0);
    process.env.KINDLING_CUDA_CUDNN_BENCHMARK = 'nonsense';
    expect(() => cudnnBenchmarkFromEnv()).toThrow("KINDLING_CUDA_CUDNN_BENCHMARK='nonsense': expected 1/true/on/yes (on) or 0/false/off/no (off)");
    delete process.env.KINDLING_CUDA_CUDNN_BENCHMARK;
  });

  it('reads KINDLING_CUDA_ALLOW_TF32 and KINDLING_CUDA_FUSED with one rule', () => {
    for (const [v, want] of [['1', true], ['on', true], ['TRUE', true], ['yes', true], ['0', false], ['off', false], ['No', false], ['', true]] as const) {
      process.env.KINDLING_CUDA_ALLOW_TF32 = v;
      expect(allowTF32FromEnv(), v).toBe(want);
    }
    process.env.KINDLING_CUDA_ALLOW_TF32 = '0';
    const { ctx, runs } = recorder();
    expect(convFlag(new CudaBackend('cuda:0', ctx, { addon: null, deviceCount: 1, reason: null }, {}), runs)).toBe(0);
    const fused = process.env.KINDLING_CUDA_FUSED;
    process.env.KINDLING_CUDA_FUSED = 'off';
    expect(fusedFromEnv()).toBe(false);
    process.env.KINDLING_CUDA_FUSED = 'nonsense';
    expect(() => fusedFromEnv()).toThrow(/KINDLING_CUDA_FUSED='nonsense'/);
    expect(() => new CudaBackend('cuda:0', ctx, { addon: null, deviceCount: 1, reason: null }, {})).toThrow(/KINDLING_CUDA_FUSED='nonsense'/);
    if (fused === undefined) delete process.env.KINDLING_CUDA_FUSED;
    else process.env.KINDLING_CUDA_FUSED = fused;
  });
});
