/**
 * optimizers.json: SGD (plain, momentum + weight decay, Nesterov, dampening), Adam (plain, L2),
 * AdamW and RMSprop (plain, centered + momentum), 3 steps each from PyTorch's param_groups[0].
 * Every case runs twice: with the backend's fused kernels (sgdStep / adamStep on cpu) and with
 * the update composed from core ops (fused: false), so both paths match PyTorch. The optimizers
 * are built from the golden's snake_case hyperparameters with optimizerFromTorch.
 */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { keep } from '@kindling/core';
import { Parameter } from '@kindling/nn';
import { optimizerFromTorch } from '@kindling/optim';
import { expectClose, goldenAvailable, loadGolden, toTensor } from './golden.js';

const available = goldenAvailable('optimizers.json');
if (!available) console.warn('optimizers.json golden file not found: skipping');
const cases = available ? loadGolden('optimizers.json') : [];

describe.skipIf(!available)('optimizers.json golden', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThan(0));
  for (const c of cases) {
    for (const fused of [true, false]) {
      it(`${c.name} (${fused ? 'fused kernel' : 'composed'})`, () => {
        const names: string[] = c.attrs.param_names;
        const params = names.map((n) => new Parameter(toTensor(c.inputs[n]!)));
        const opt = optimizerFromTorch(c.attrs.optimizer, params, c.attrs.hyperparameters, { fused });
        for (let s = 1; s <= c.attrs.steps; s++) {
          params.forEach((p, i) => (p.grad = keep(toTensor(c.inputs[`${names[i]}.grad.step${s}`]!))));
          opt.step();
          params.forEach((p, i) => expectClose(p, c.outputs[`${names[i]}.step${s}`]!, c.tolerance!, `${names[i]}.step${s}`));
          opt.zeroGrad();
        }
        opt.dispose();
        for (const p of params) p.dispose();
      });
    }
  }
});
