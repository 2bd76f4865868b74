/**
 * Philox-4x32-10 random numbers, bit-identical to core's reference mapping (philox.ts): we call
 * core's own `philoxFill`, so CPU results are the oracle other backends are tested against.
 */
import { philoxFill, type View } from '@kindling/core';
import { dataOf } from '../buffer.js';
import { isContiguousView, numelOf, unpackStrided } from '../strided.js';

export function random(dist: 'uniform' | 'normal', key: readonly [number, number], counter: number, out: View): void {
  const d = dataOf(out);
  const n = numelOf(out.shape);
  if (d instanceof Float32Array && isContiguousView(out)) {
    philoxFill(dist, key, counter, d.subarray(out.offset, out.offset + n));
    return;
  }
  // Element i of the view (row-major) gets draw i, whatever the view's strides or dtype.
  const tmp = new Float32Array(n);
  philoxFill(dist, key, counter, tmp);
  unpackStrided(tmp, d, out.offset, out.shape, out.strides);
}
