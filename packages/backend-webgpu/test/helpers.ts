/**
 * Test helpers: a WebGPU backend (or the reason there is none), the CPU backend as the oracle,
 * hand-built strided views, and `same()`, which runs one scenario on both backends and compares
 * every output view element by element.
 *
 * When no adapter is available the reason is printed (console.warn) and every suite is skipped
 * with describe.skipIf(!!unavailable): never silently.
 */
import { expect } from 'vitest';
import { contiguousStrides, numel, type Backend, type DType, type DeviceBuffer, type View } from '@kindling/core';
import { rng } from '../../backend-cpu/test/fixtures.js';
import { CpuBackend } from '@kindling/backend-cpu';
import { Engine, WebGPUBackend, createWebGPUBackend, initWebGPU } from '../dist/index.js';

export let unavailable: string | null = null;
let state: Awaited<ReturnType<typeof initWebGPU>> | null = null;
try {
  state = await initWebGPU();
} catch (e) {
  unavailable = (e as Error).message;
  console.warn(`[@kindling/backend-webgpu] WebGPU tests skipped: ${unavailable}`);
}

/** The backend under test (fused kernels on, kernel variants chosen for this adapter). */
export const gpu: WebGPUBackend = state ? await createWebGPUBackend({ fused: true }) : (null as unknown as WebGPUBackend);

/**
 * The same device with the other set of kernel variants forced (engine.ts `paths`): on
 * SwiftShader that is the GPU set (tiled GEMM with workgroup memory, workgroup-per-row
 * reductions and softmax), on a GPU the software set. same() checks both against the CPU.
 */
export const gpuOther: WebGPUBackend = state
  ? new WebGPUBackend(
      new Engine(state.engine.device, state.engine.adapterInfo, { paths: state.engine.isSoftware ? 'gpu' : 'software' }, state.engine.gpuRoot),
      state.origin,
      { fused: true },
    )
  : (null as unknown as WebGPUBackend);

export const cpu = new CpuBackend({ fused: true });

// Shape arithmetic is core's; the rng is the cpu tests' (one generator for both suites).
export { contiguousStrides, numel } from '@kindling/core';
export { rng } from '../../backend-cpu/test/fixtures.js';

function typed(dtype: DType, data: ArrayLike<number>, size: number): Float32Array | Int32Array | Uint8Array {
  const arr = dtype === 'float32' ? new Float32Array(size) : dtype === 'int32' ? new Int32Array(size) : new Uint8Array(size);
  for (let i = 0; i < data.length; i++) arr[i] = data[i]!;
  return arr;
}

/** A buffer of `size` elements (default data.length) holding `data`. */
export function buffer(be: Backend, dtype: DType, data: ArrayLike<number>, size = data.length): DeviceBuffer {
  const b = be.alloc(dtype, Math.max(size, 1));
  if (data.length > 0) be.write(b, typed(dtype, data, size));
  return b;
}

/** A view onto a fresh buffer holding `data`, with the given layout (contiguous by default). */
export function input(
  be: Backend, dtype: DType, data: ArrayLike<number>, shape: readonly number[],
  strides: readonly number[] = contiguousStrides(shape), offset = 0,
): View {
  return { buffer: buffer(be, dtype, data), dtype, shape: [...shape], strides: [...strides], offset };
}

/** A contiguous output view (zero-filled, so accumulating kernels start from 0). */
export function output(be: Backend, dtype: DType, shape: readonly number[]): View {
  const b = be.alloc(dtype, Math.max(numel(shape), 1));
  be.fill({ buffer: b, dtype, shape: [b.size], strides: [1], offset: 0 }, 0);
  return { buffer: b, dtype, shape: [...shape], strides: contiguousStrides(shape), offset: 0 };
}

/** The logical elements of a view, in row-major order. */
export async function readView(be: Backend, v: View): Promise<number[]> {
  const all = await be.read(v.buffer, 0, v.buffer.size);
  const out: number[] = [];
  const n = numel(v.shape);
  const idx = new Array<number>(v.shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let o = v.offset;
    for (let d = 0; d < idx.length; d++) o += idx[d]! * v.strides[d]!;
    out.push(all[o]!);
    for (let d = v.shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < v.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

export interface Tolerance {
  rtol: number;
  atol: number;
}

export const TIGHT: Tolerance = { rtol: 1e-5, atol: 1e-6 };

/** |a − e| <= atol + rtol·|e| elementwise; NaN matches NaN and ±Infinity must match exactly. */
export function expectClose(actual: readonly number[], expected: readonly number[], tol: Tolerance = TIGHT, what = 'values'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      if (!Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e))) {
        throw new Error(`${what}[${i}]: expected ${e}, got ${a}`);
      }
      continue;
    }
    const err = Math.abs(a - e) / (tol.atol + tol.rtol * Math.abs(e));
    if (!(err <= worstErr)) {
      worstErr = Number.isNaN(err) ? Infinity : err;
      worst = i;
    }
  }
  if (worstErr > 1) {
    throw new Error(`${what}[${worst}]: expected ${expected[worst]}, got ${actual[worst]} (error ${worstErr.toFixed(2)}× the tolerance ${JSON.stringify(tol)})`);
  }
}

/**
 * Runs `scenario` on the CPU backend and on each WebGPU backend in `bes` (default: both kernel
 * variant sets, see gpuOther), reads every returned view, and compares them (exactly for
 * int32/bool outputs).
 */
export async function same(
  scenario: (be: Backend) => View | View[] | Record<string, View>,
  tol: Tolerance = TIGHT,
  bes: Backend[] = [gpu, gpuOther],
): Promise<void> {
  const norm = (r: View | View[] | Record<string, View>): Record<string, View> =>
    Array.isArray(r) ? Object.fromEntries(r.map((v, i) => [String(i), v])) : 'buffer' in r ? { out: r as View } : (r as Record<string, View>);
  const want = norm(scenario(cpu));
  const expected: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(want)) expected[k] = await readView(cpu, v);
  for (const be of bes) {
    const got = norm(scenario(be));
    const variant = be === gpuOther ? ' (other kernel variants)' : '';
    for (const [k, v] of Object.entries(want)) {
      const a = await readView(be, got[k]!);
      if (v.dtype === 'float32') expectClose(a, expected[k]!, tol, k + variant);
      else expect(a, k + variant).toEqual(expected[k]);
    }
  }
}

/** n standard normals, rounded to float32. */
export function randn(n: number, seed = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const u = Math.max(r(), 1e-12);
    return Math.fround(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r()));
  });
}

/** n integers in [lo, hi). */
export function randint(n: number, lo: number, hi: number, seed = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo)));
}
