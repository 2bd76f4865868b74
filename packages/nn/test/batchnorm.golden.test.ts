/**
 * batchnorm.json through the BatchNorm1d / BatchNorm2d modules: the golden's parameters and
 * running stats loaded with loadStateDict, train or eval mode, forward, backward with the
 * golden upstream; out, running_mean, running_var, num_batches_tracked and the grads of x,
 * weight and bias compared at the case tolerance.
 */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { BatchNorm1d, BatchNorm2d } from '@kindling/nn';
import { expectClose, goldenAvailable, loadGolden, toTensor } from './golden.js';

const available = goldenAvailable('batchnorm.json');
if (!available) console.warn('batchnorm.json golden file not found: skipping');
const cases = available ? loadGolden('batchnorm.json') : [];

describe.skipIf(!available)('batchnorm.json golden (modules)', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThan(0));
  for (const c of cases) {
    it(c.name, () => {
      const a = c.attrs;
      const Ctor = a.module === 'BatchNorm1d' ? BatchNorm1d : BatchNorm2d;
      const bn = new Ctor(a.num_features, { eps: a.eps, momentum: a.momentum, affine: a.affine, trackRunningStats: a.track_running_stats });
      const keys = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'];
      bn.loadStateDict(new Map(keys.map((k) => [k, toTensor(c.inputs[k]!)] as const)));
      bn.train(a.training);
      const x = toTensor(c.inputs.x!, { requiresGrad: true });
      const out = bn.call(x);
      const tol = c.tolerance!;
      expectClose(out, c.outputs.out!, tol, 'out');
      expectClose(bn.runningMean!, c.outputs.running_mean!, tol, 'running_mean');
      expectClose(bn.runningVar!, c.outputs.running_var!, tol, 'running_var');
      expectClose(bn.numBatchesTracked!, c.outputs.num_batches_tracked!, tol, 'num_batches_tracked');
      out.backward(toTensor(c.upstream!.out!));
      expectClose(x.grad!, c.grads!.x!, tol, 'grad x');
      expectClose(bn.weight!.grad!, c.grads!.weight!, tol, 'grad weight');
      expectClose(bn.bias!.grad!, c.grads!.bias!, tol, 'grad bias');
      bn.dispose();
    });
  }
});
