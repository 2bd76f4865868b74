/** summary(): per-layer output shapes and parameter counts in call order, totals, side-effect free. */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { BatchNorm2d, buildFromSpec, summary } from '@kindling/nn';

const lenetBn = {
  type: 'Sequential',
  layers: [
    { type: 'Conv2d', in_channels: 1, out_channels: 6, kernel_size: 5, padding: 2 }, { type: 'BatchNorm2d', num_features: 6 },
    { type: 'Sigmoid' }, { type: 'AvgPool2d', kernel_size: 2, stride: 2 },
    { type: 'Sequential', layers: [{ type: 'Conv2d', in_channels: 6, out_channels: 16, kernel_size: 5 }, { type: 'Sigmoid' }] },
    { type: 'AvgPool2d', kernel_size: 2, stride: 2 }, { type: 'Flatten' },
    { type: 'Linear', in_features: 400, out_features: 120 }, { type: 'Linear', in_features: 120, out_features: 10 },
  ],
};

describe('summary', () => {
  it('lists every layer with [batch, channels, height, width] and its parameters', () => {
    const net = buildFromSpec(lenetBn);
    const bn = net.getSubmodule('1') as BatchNorm2d;
    const s = summary(net, [2, 1, 28, 28], { print: false });
    expect(s.rows.map((r) => [r.name, r.type, r.outputShape, r.params])).toEqual([
      ['0', 'Conv2d', [2, 6, 28, 28], 156],
      ['1', 'BatchNorm2d', [2, 6, 28, 28], 12],
      ['2', 'Sigmoid', [2, 6, 28, 28], 0],
      ['3', 'AvgPool2d', [2, 6, 14, 14], 0],
      ['4.0', 'Conv2d', [2, 16, 10, 10], 2416],
      ['4.1', 'Sigmoid', [2, 16, 10, 10], 0],
      ['5', 'AvgPool2d', [2, 16, 5, 5], 0],
      ['6', 'Flatten', [2, 400], 0],
      ['7', 'Linear', [2, 120], 48120],
      ['8', 'Linear', [2, 10], 1210],
    ]);
    expect(s.totalParams).toBe(156 + 12 + 2416 + 48120 + 1210);
    expect(s.trainableParams).toBe(s.totalParams);
    expect(s.text).toContain('Total params: 51,914');
    expect(s.text).toContain('4.0 (Conv2d)');
    expect(s.text).toContain('[2, 16, 10, 10]');
    // No side effects: train mode restored, running stats untouched, no hooks left.
    expect(net.training).toBe(true);
    expect(bn.numBatchesTracked!.itemSync()).toBe(0);
    expect(net.modules().every((m) => m._forwardHooks.size === 0)).toBe(true);
  });

  it('counts frozen parameters as non-trainable', () => {
    const net = buildFromSpec({ type: 'Sequential', layers: [{ type: 'Linear', in_features: 3, out_features: 2 }, { type: 'ReLU' }] });
    net.getSubmodule('0').requiresGrad_(false);
    const s = summary(net, [1, 3], { print: false });
    expect([s.totalParams, s.trainableParams, s.nonTrainableParams]).toEqual([8, 0, 8]);
  });
});
