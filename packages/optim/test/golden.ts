/**
 * Test helpers for the PyTorch golden files in /work/shared/golden (see its README): loading,
 * turning TENSOR records into Kindling tensors, and the allclose check.
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { type Tensor, tensor } from '@kindling/core';

export const GOLDEN_DIR = fileURLToPath(new URL('../../../../shared/golden/', import.meta.url));

export interface GoldenTensor {
  shape: number[];
  dtype: 'float32' | 'int64' | 'bool';
  data: number[];
}

export interface GoldenCase {
  name: string;
  op: string;
  check: 'values' | 'statistics' | 'structure';
  seed: number;
  attrs: Record<string, any>;
  inputs: Record<string, GoldenTensor>;
  outputs: Record<string, GoldenTensor>;
  upstream?: Record<string, GoldenTensor>;
  grads?: Record<string, GoldenTensor>;
  tolerance?: { rtol: number; atol: number };
  statistics?: Record<string, any>;
  expected?: Record<string, any>;
}

export function goldenAvailable(file: string): boolean {
  return existsSync(GOLDEN_DIR + file);
}

export function loadGolden(file: string): GoldenCase[] {
  const j = JSON.parse(readFileSync(GOLDEN_DIR + file, 'utf8')) as { cases: GoldenCase[] };
  return j.cases;
}

/** A golden TENSOR as a Kindling tensor: float32 exact bits, int64 → int32 (Kindling's labels), bool. */
export function toTensor(g: GoldenTensor, opts: { requiresGrad?: boolean } = {}): Tensor {
  if (g.dtype === 'float32') return tensor(Float32Array.from(g.data), { shape: g.shape, dtype: 'float32', requiresGrad: opts.requiresGrad });
  if (g.dtype === 'int64') return tensor(Int32Array.from(g.data), { shape: g.shape, dtype: 'int32' });
  return tensor(Uint8Array.from(g.data), { shape: g.shape, dtype: 'bool' });
}

/** The Kindling dtype a golden dtype maps to. */
export function kindlingDType(d: string): string {
  return d === 'int64' ? 'int32' : d;
}

/**
 * |actual − expected| ≤ atol + rtol·|expected| elementwise (float32), exact for ints and bools;
 * shapes must match exactly. `scale` multiplies the expected values (for a scaled upstream).
 */
export function expectClose(actual: Tensor, expected: GoldenTensor, tol: { rtol: number; atol: number }, label: string, scale = 1): void {
  expect([...actual.shape], `${label}: shape`).toEqual(expected.shape);
  expect(actual.dtype, `${label}: dtype`).toBe(kindlingDType(expected.dtype));
  const a = actual.dataSync();
  let worst = -1;
  let worstMsg = '';
  for (let i = 0; i < expected.data.length; i++) {
    // Golden floats are the shortest decimals of float32 values: round back to those bits.
    const raw = expected.dtype === 'float32' ? Math.fround(expected.data[i]!) : expected.data[i]!;
    const e = raw * scale;
    const v = a[i]!;
    const bound = expected.dtype === 'float32' ? tol.atol + tol.rtol * Math.abs(e) : 0;
    const err = Math.abs(v - e);
    if (!(err <= bound) && !(Number.isNaN(v) && Number.isNaN(e))) {
      const r = bound > 0 ? err / bound : Infinity;
      if (r > worst) {
        worst = r;
        worstMsg = `${label}[${i}]: got ${v}, expected ${e} (|diff| ${err} > ${bound})`;
      }
    }
  }
  expect(worstMsg, worstMsg).toBe('');
}

/** Python's print(*args): args joined by spaces, then a newline. */
export function pyPrint(...args: string[]): string {
  return `${args.join(' ')}\n`;
}
