/**
 * dropout.json through the Dropout module: eval mode is the identity (bit-exact, grad = upstream);
 * train mode is checked by statistics (values in {0, keep_scale}, zero fraction and mean within
 * tolerance, grad_x == out for an all-ones upstream).
 */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { manualSeed, onesLike } from '@kindling/core';
import { Dropout } from '@kindling/nn';
import { expectClose, goldenAvailable, loadGolden, toTensor } from './golden.js';

const available = goldenAvailable('dropout.json');
if (!available) console.warn('dropout.json golden file not found: skipping');
const cases = available ? loadGolden('dropout.json') : [];

describe.skipIf(!available)('dropout.json golden (module)', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThan(0));
  for (const c of cases) {
    it(c.name, () => {
      manualSeed(c.seed);
      const d = new Dropout(c.attrs.p);
      d.train(c.attrs.training);
      const x = toTensor(c.inputs.x!, { requiresGrad: true });
      const out = d.call(x);
      if (c.check === 'values') {
        expectClose(out, c.outputs.out!, c.tolerance!, 'out');
        out.backward(toTensor(c.upstream!.out!));
        expectClose(x.grad!, c.grads!.x!, c.tolerance!, 'grad x');
        return;
      }
      const st = c.statistics!;
      const xs = x.dataSync();
      const ys = out.dataSync();
      let zeros = 0;
      let sum = 0;
      for (let i = 0; i < ys.length; i++) {
        const y = ys[i]!;
        sum += y;
        if (y === 0) zeros++;
        else expect(Math.abs(y - xs[i]! * st.keep_scale) <= st.keep_scale_rtol * st.keep_scale, `element ${i} = ${y}`).toBe(true);
      }
      expect(Math.abs(zeros / ys.length - st.expected_zero_fraction)).toBeLessThanOrEqual(st.zero_fraction_tolerance);
      expect(Math.abs(sum / ys.length - st.expected_mean)).toBeLessThanOrEqual(st.mean_tolerance);
      out.backward(onesLike(out));
      expect(Array.from(x.grad!.dataSync())).toEqual(Array.from(ys));
    });
  }
});
