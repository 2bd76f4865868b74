import * as kd from '@kindling/core';
import type { Mismatch } from '../compare.js';
import { type GoldenCase, toTensor } from '../golden.js';

/**
 * Train-mode dropout is random, so it is checked by statistics (golden README): every element is
 * 0 or x·keep_scale, the zero fraction and the mean are within 5σ, and backward with an all-ones
 * upstream gives grad_x == out (the mask and scale are reused).
 */
export async function dropoutStatistics(c: GoldenCase, device: string): Promise<Mismatch[]> {
  const s = c.statistics as {
    p: number; keep_scale: number; keep_scale_rtol: number; expected_zero_fraction: number;
    zero_fraction_tolerance: number; expected_mean: number; mean_tolerance: number;
  };
  const fail = (what: string, message: string): Mismatch => ({ what, message, maxAbs: NaN, maxRel: NaN });
  const x = toTensor(c.inputs!.x!, device, true);
  const y = kd.dropout(x, { p: s.p, training: true });
  const yv = await y.data();
  const xv = await x.data();
  const out: Mismatch[] = [];
  let zeros = 0;
  let total = 0;
  for (let i = 0; i < yv.length; i++) {
    total += yv[i]!;
    if (yv[i] === 0) zeros++;
    else if (Math.abs(yv[i]! - xv[i]! * s.keep_scale) > s.keep_scale_rtol * Math.abs(xv[i]! * s.keep_scale)) {
      out.push(fail('out', `element ${i} is ${yv[i]}, neither 0 nor x·${s.keep_scale}`));
      break;
    }
  }
  const frac = zeros / yv.length;
  if (Math.abs(frac - s.expected_zero_fraction) > s.zero_fraction_tolerance) out.push(fail('zero fraction', `${frac} vs ${s.expected_zero_fraction} ± ${s.zero_fraction_tolerance}`));
  const mean = total / yv.length;
  if (Math.abs(mean - s.expected_mean) > s.mean_tolerance) out.push(fail('mean', `${mean} vs ${s.expected_mean} ± ${s.mean_tolerance}`));
  const up = kd.onesLike(y);
  y.backward(up);
  const g = await x.grad!.data();
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== yv[i]) {
      out.push(fail('grad x', `grad ${g[i]} != out ${yv[i]} at ${i}: the mask was not reused`));
      break;
    }
  }
  for (const t of [x.grad!, x, y, up]) t.dispose();
  return out;
}
