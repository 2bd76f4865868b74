import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type DType, type Tensor, tensor } from '@kindling/core';

/** A tensor as the golden files write it (schema in shared/golden/README.md). */
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
  description?: string;
  attrs?: Record<string, unknown>;
  inputs?: Record<string, GoldenTensor>;
  outputs?: Record<string, GoldenTensor>;
  upstream?: Record<string, GoldenTensor>;
  grads?: Record<string, GoldenTensor>;
  tolerance?: { rtol: number; atol: number };
  statistics?: Record<string, unknown>;
  expected?: Record<string, unknown>;
}

export interface GoldenFile {
  path: string;
  family: string;
  cases: GoldenCase[];
}

/** Every *.json in `dir` (other files, like the README, are ignored). */
export function loadGoldenDir(dir: string): GoldenFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const path = join(dir, f);
      let parsed: { family?: string; cases?: GoldenCase[] };
      try {
        parsed = JSON.parse(readFileSync(path, 'utf8'));
      } catch (e) {
        throw new Error(`conformance: ${path} is not valid JSON: ${(e as Error).message}`);
      }
      if (!parsed.family || !Array.isArray(parsed.cases)) throw new Error(`conformance: ${path} has no "family" or "cases"`);
      return { path, family: parsed.family, cases: parsed.cases };
    });
}

/** Kindling's dtype for a golden dtype: int64 labels and indices are int32 here. */
export function kindlingDType(d: GoldenTensor['dtype']): DType {
  return d === 'int64' ? 'int32' : d;
}

/** Uploads a golden tensor to `device` with the exact float32 bits PyTorch had. */
export function toTensor(g: GoldenTensor, device: string, requiresGrad = false): Tensor {
  const dtype = kindlingDType(g.dtype);
  const data = dtype === 'float32' ? Float32Array.from(g.data) : dtype === 'int32' ? Int32Array.from(g.data) : Uint8Array.from(g.data);
  return tensor(data, { shape: g.shape, dtype, device, requiresGrad });
}
