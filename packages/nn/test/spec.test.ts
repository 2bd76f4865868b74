/** buildFromSpec: the golden spec format, kwargs mapping, shared modules and clear errors. */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { randn } from '@kindling/core';
import { Conv2d, Sequential, buildFromSpec } from '@kindling/nn';

describe('buildFromSpec', () => {
  it('maps snake_case kwargs onto the constructors', () => {
    const m = buildFromSpec({ type: 'Conv2d', in_channels: 4, out_channels: 8, kernel_size: [3, 1], stride: 2, padding: [1, 0], groups: 2, bias: false });
    expect(String(m)).toBe('Conv2d(4, 8, kernel_size=(3, 1), stride=(2, 2), padding=(1, 0), groups=2, bias=False)');
    expect(String(buildFromSpec({ type: 'BatchNorm1d', num_features: 3, track_running_stats: false, momentum: null }))).toBe(
      'BatchNorm1d(3, eps=1e-05, momentum=None, affine=True, track_running_stats=False)',
    );
    expect(String(buildFromSpec({ type: 'Flatten', start_dim: 0 }))).toBe('Flatten(start_dim=0, end_dim=-1)');
    expect(String(buildFromSpec({ type: 'ReLU', inplace: false }))).toBe('ReLU()');
    expect(String(buildFromSpec({ type: 'ReLU', inplace: true }))).toBe('ReLU(inplace=True)');
    expect(String(buildFromSpec({ type: 'Dropout', p: 0.1, inplace: true }))).toBe('Dropout(p=0.1, inplace=True)');
  });

  it('named Sequential entries, shared modules and Custom classes', () => {
    const net = buildFromSpec({
      type: 'Custom',
      class_name: 'Tiny',
      children: [
        { name: 'body', type: 'Sequential', layers: [{ name: 'fc', type: 'Linear', in_features: 3, out_features: 3, share_id: 'x' }, { name: 'act', type: 'ReLU' }] },
        { name: 'again', ref: 'x' },
      ],
    });
    expect(net._getName()).toBe('Tiny');
    expect(net.constructor.name).toBe('Tiny');
    expect(net.getSubmodule('again')).toBe(net.getSubmodule('body.fc'));
    expect(net.namedParameters().map(([n]) => n)).toEqual(['body.fc.weight', 'body.fc.bias']);
    expect([...net.stateDict().keys()]).toEqual(['body.fc.weight', 'body.fc.bias', 'again.weight', 'again.bias']);
    expect(net.getSubmodule('body')).toBeInstanceOf(Sequential);
    expect(net.call(randn([2, 3])).shape).toEqual([2, 3]); // Custom's forward runs its children in order
  });

  it('errors name the problem', () => {
    expect(() => buildFromSpec({ type: 'Conv3d' })).toThrow(/unknown module type 'Conv3d'/);
    expect(() => buildFromSpec({ type: 'Linear', in_features: 2 })).toThrow(/missing required argument 'out_features'/);
    expect(() => buildFromSpec({ type: 'Linear', in_features: 2, out_features: 2, bais: true })).toThrow(/unexpected keyword argument\(s\) 'bais'/);
    expect(() => buildFromSpec({ type: 'Sequential', layers: [{ ref: 'nope' }] })).toThrow(/ref 'nope'/);
    expect(() => buildFromSpec({ type: 'MaxPool2d', kernel_size: 2, return_indices: true })).toThrow(/return_indices=true\) is not supported/);
  });

  it('builds on the requested device', () => {
    const m = buildFromSpec({ type: 'Conv2d', in_channels: 1, out_channels: 1, kernel_size: 1 }, { device: 'cpu' }) as Conv2d;
    expect(m.weight.device).toBe('cpu');
  });
});
