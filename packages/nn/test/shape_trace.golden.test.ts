/**
 * end_to_end.json, shape_trace cases: each architecture built from its spec runs on zeros of
 * input_shape in eval mode; per-child and per-leaf output shapes, the printed d2l loop,
 * named_parameters, num_parameters and repr must equal PyTorch's. (The train_step cases, which
 * need an optimizer, are checked in packages/optim/test/train_step.golden.test.ts.)
 */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { type Tensor, noGrad, tidy, zeros } from '@kindling/core';
import { buildFromSpec, Sequential, torchSize, type Module } from '@kindling/nn';
import { goldenAvailable, loadGolden, pyPrint } from './golden.js';

const available = goldenAvailable('end_to_end.json');
if (!available) console.warn('end_to_end.json golden file not found: skipping');
const cases = available ? loadGolden('end_to_end.json') : [];

describe.skipIf(!available)('end_to_end.json golden: shape_trace', () => {
  it('has shape_trace cases', () => expect(cases.some((c) => c.op === 'shape_trace')).toBe(true));

  for (const c of cases.filter((k) => k.op === 'shape_trace')) {
    it(`shape_trace ${c.name}`, () => {
      const e = c.expected!;
      const net = buildFromSpec(c.attrs.architecture) as Sequential;
      expect(net).toBeInstanceOf(Sequential);
      net.eval();
      expect(String(net)).toBe(e.repr);
      expect(net.namedParameters().map(([name, p]) => ({ name, shape: [...p.shape] }))).toEqual(e.named_parameters);
      expect(net.parameters().reduce((a, p) => a + p.size, 0)).toBe(e.num_parameters);

      // Leaf modules report their output shapes through forward hooks, in call order.
      const leafName = new Map<Module, string>(net.namedModules().filter(([, m]) => m.children().length === 0).map(([n, m]) => [m, n]));
      const leaves: { name: string; type: string; output_shape: number[] }[] = [];
      const handles = [...leafName.keys()].map((m) =>
        m.registerForwardHook((mod, _in, out) => void leaves.push({ name: leafName.get(mod)!, type: mod._getName(), output_shape: [...(out as Tensor).shape] })),
      );
      const top: { index: number; type: string; output_shape: number[] }[] = [];
      let stdout = '';
      noGrad(() =>
        tidy(() => {
          // d2l's loop: X = torch.zeros(input_shape); for layer in net: X = layer(X); print(...)
          let X = zeros(c.attrs.input_shape);
          [...net].forEach((layer, index) => {
            X = layer.call(X) as Tensor;
            top.push({ index, type: layer._getName(), output_shape: [...X.shape] });
            stdout += pyPrint(layer._getName(), 'output shape:\t', torchSize(X.shape));
          });
        }),
      );
      for (const h of handles) h.remove();
      expect(top).toEqual(e.top_level);
      expect(leaves).toEqual(e.leaf_level);
      expect(stdout).toBe(e.printed.stdout);
      net.dispose();
    });
  }
});
