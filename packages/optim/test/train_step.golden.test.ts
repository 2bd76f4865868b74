/**
 * end_to_end.json, train_step cases: LeNet built from the spec with @kindling/nn, PyTorch's
 * parameters loaded by state_dict name, forward, cross entropy, backward, one SGD step; loss,
 * logits, grads and updated parameters compared at the case tolerance.
 */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { type Tensor, crossEntropy } from '@kindling/core';
import { buildFromSpec } from '@kindling/nn';
import { SGD } from '@kindling/optim';
import { expectClose, goldenAvailable, loadGolden, toTensor } from './golden.js';

const available = goldenAvailable('end_to_end.json');
if (!available) console.warn('end_to_end.json golden file not found: skipping');
const cases = available ? loadGolden('end_to_end.json') : [];

describe.skipIf(!available)('end_to_end.json golden: train_step', () => {
  it('has train_step cases', () => expect(cases.some((c) => c.op === 'train_step')).toBe(true));

  for (const c of cases.filter((k) => k.op === 'train_step')) {
    it(`train_step ${c.name}`, () => {
      const tol = c.tolerance!;
      const net = buildFromSpec(c.attrs.architecture);
      const names: string[] = c.attrs.param_names;
      const sd = new Map(names.map((n) => [n, toTensor(c.inputs[n]!)] as const));
      net.loadStateDict(sd); // strict: every key present, no extra ones
      expect(net.namedParameters().map(([n]) => n)).toEqual(names);
      const x = toTensor(c.inputs.x!);
      const target = toTensor(c.inputs.target!);
      const logits = net.call(x) as Tensor;
      const loss = crossEntropy(logits, target);
      expectClose(loss, c.outputs.loss!, tol, 'loss');
      expectClose(logits, c.outputs.logits!, tol, 'logits');
      // Grads of sum(loss · upstream): pass the upstream as backward's gradient.
      loss.backward(toTensor(c.upstream!.loss!));
      const params = new Map(net.namedParameters());
      for (const n of names) {
        const g = params.get(n)!.grad;
        expect(g, `grad of ${n}`).not.toBeNull();
        expectClose(g!, c.grads![n]!, tol, `grad ${n}`);
      }
      expect(c.attrs.optimizer).toBe('SGD');
      const opt = new SGD(net.parameters(), { lr: c.attrs.lr });
      opt.step();
      for (const n of names) expectClose(params.get(n)!, c.outputs[`updated.${n}`]!, tol, `updated.${n}`);
      opt.zeroGrad();
      expect(net.parameters().every((p) => p.grad === null)).toBe(true);
      net.dispose();
    });
  }
});
