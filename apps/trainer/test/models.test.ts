import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kd from 'kindling';
import { torchSize, type Module } from '@kindling/nn';
import { alexnetD2l, lenetD2l, lenetBND2l, ninD2l, vgg11D2l } from '../src/models.js';

const golden = JSON.parse(readFileSync(fileURLToPath(new URL('../../../../shared/golden/end_to_end.json', import.meta.url)), 'utf8')) as {
  cases: { name: string; expected?: { repr: string; num_parameters: number; printed: { stdout: string } } }[];
};
const expected = (name: string) => golden.cases.find((c) => c.name === name)!.expected!;
const numParams = (m: Module) => m.parameters().reduce((a, p) => a + p.size, 0);

/** d2l's `for layer in net: X = layer(X); print(layer.__class__.__name__, 'output shape:\t', X.shape)`. */
function trace(net: Module & Iterable<Module>, shape: number[]): string {
  let out = '';
  kd.noGrad(() =>
    kd.tidy(() => {
      let X = kd.zeros(shape);
      for (const layer of net) {
        X = layer.call(X) as kd.Tensor;
        out += `${layer._getName()} output shape:\t ${torchSize(X.shape)}\n`;
      }
    }),
  );
  return out;
}

describe("the trainer's d2l.ai variants are d2l.ai's", () => {
  it('AlexNet and NiN equal the PyTorch goldens (repr, parameter count, shape trace)', () => {
    for (const [net, name] of [[alexnetD2l(), 'alexnet_shapes_1x1x224x224'], [ninD2l(), 'nin_shapes_1x1x224x224']] as const) {
      const e = expected(name);
      net.eval();
      expect(String(net)).toBe(e.repr);
      expect(numParams(net)).toBe(e.num_parameters);
      expect(trace(net, [1, 1, 224, 224])).toBe(e.printed.stdout);
      net.dispose();
    }
  });

  it("LeNet-BN is d2l's (average pooling, where the golden's variant max-pools): same parameters, state dict and shapes", () => {
    const net = lenetBND2l();
    net.eval();
    const e = expected('lenet_bn_shapes_1x1x28x28');
    expect(numParams(net)).toBe(e.num_parameters);
    expect(trace(net, [1, 1, 28, 28])).toBe(e.printed.stdout.replaceAll('MaxPool2d', 'AvgPool2d'));
    expect(String(net)).toBe(e.repr.replaceAll('MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)', 'AvgPool2d(kernel_size=2, stride=2, padding=0)'));
    net.dispose();
  });

  it('VGG-11 builds any channel ratio: ratio 8 with 512 hidden units equals the golden; d2l trains ratio 4', () => {
    const small = vgg11D2l(8, 512);
    expect(String(small)).toBe(expected('vgg11_ratio8_shapes_1x1x224x224').repr);
    small.dispose();
    const d2l = vgg11D2l();
    expect(d2l.namedParameters().map(([n, p]) => `${n} ${p.shape}`).slice(0, 2)).toEqual(['0.0.weight 16,1,3,3', '0.0.bias 16']);
    // convs 1→16, 16→32, 32→64, 64→64, 64→128, 3 × 128→128; then 128·7·7 → 4096 → 4096 → 10
    const conv = (i: number, o: number) => o * i * 9 + o;
    expect(numParams(d2l)).toBe(conv(1, 16) + conv(16, 32) + conv(32, 64) + conv(64, 64) + conv(64, 128) + 3 * conv(128, 128)
      + (6272 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 10 + 10));
    d2l.dispose();
  });

  it("LeNet is d2l 6.6's (padding 2, sigmoid, average pooling): 61,706 parameters and the book's shapes", () => {
    const net = lenetD2l();
    expect(numParams(net)).toBe(61706);
    expect(trace(net, [1, 1, 28, 28])).toBe([
      'Conv2d output shape:\t torch.Size([1, 6, 28, 28])', 'Sigmoid output shape:\t torch.Size([1, 6, 28, 28])',
      'AvgPool2d output shape:\t torch.Size([1, 6, 14, 14])', 'Conv2d output shape:\t torch.Size([1, 16, 10, 10])',
      'Sigmoid output shape:\t torch.Size([1, 16, 10, 10])', 'AvgPool2d output shape:\t torch.Size([1, 16, 5, 5])',
      'Flatten output shape:\t torch.Size([1, 400])', 'Linear output shape:\t torch.Size([1, 120])',
      'Sigmoid output shape:\t torch.Size([1, 120])', 'Linear output shape:\t torch.Size([1, 84])',
      'Sigmoid output shape:\t torch.Size([1, 84])', 'Linear output shape:\t torch.Size([1, 10])', '',
    ].join('\n'));
    net.dispose();
  });
});
