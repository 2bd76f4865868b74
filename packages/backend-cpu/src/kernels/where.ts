/** where(cond, a, b): out[i] = cond[i] ? a[i] : b[i], with a/b broadcast views or scalars. */
import type { Operand, View } from '@kindling/core';
import { dataOf } from '../buffer.js';
import { forEachRun } from '../strided.js';
import { operandRef } from './binary.js';

export function where(cond: View, a: Operand, b: Operand, out: View): void {
  const rank = out.shape.length;
  const c = dataOf(cond);
  const ar = operandRef(a, rank);
  const br = operandRef(b, rank);
  const y = dataOf(out);
  const A = ar.data;
  const B = br.data;
  const toBool = out.dtype === 'bool';
  forEachRun(
    out.shape,
    [cond.strides, ar.strides, br.strides, out.strides],
    [cond.offset, ar.offset, br.offset, out.offset],
    (o, n, s) => {
      const co = o[0]!, cs = s[0]!, ao = o[1]!, as = s[1]!, bo = o[2]!, bs = s[2]!, yo = o[3]!, ys = s[3]!;
      if (toBool) {
        for (let i = 0; i < n; i++) y[yo + i * ys] = (c[co + i * cs] !== 0 ? A[ao + i * as]! : B[bo + i * bs]!) !== 0 ? 1 : 0;
      } else {
        for (let i = 0; i < n; i++) y[yo + i * ys] = c[co + i * cs] !== 0 ? A[ao + i * as]! : B[bo + i * bs]!;
      }
    },
  );
}
