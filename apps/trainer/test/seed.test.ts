import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kd from 'kindling';
import { BatchNorm1d, BatchNorm2d, Linear, torchSize, type Module } from '@kindling/nn';
import { DataLoader, FashionMNIST, ToTensor } from '@kindling/data';
import { BatchNorm, batchNorm, buildModel, LeNet, nin } from '../src/models.js';
import { evaluateAccuracy, trainCh5 } from '../src/ch5.js';
import { firstN } from '../src/data.js';
import { MODELS, RECIPES, type ModelName } from '../src/options.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/seed-nets/', import.meta.url));
const state = JSON.parse(readFileSync(join(FIXTURES, 'state.json'), 'utf8')) as {
  nets: Record<string, { num_parameters: number; state_dict: string[] }>;
};
const SEED_MODELS = ['lenet', 'lenet-bn', 'lenet-bn-scratch', 'alexnet', 'vgg11', 'nin'] as const;
const numParams = (m: Module) => m.parameters().reduce((a, p) => a + p.size, 0);
const hasData = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');

describe("the seed's chapter 5 networks", () => {
  it.each(SEED_MODELS)("%s prints as PyTorch 1.13's print(net), with the same parameters and state dict", (name) => {
    const net = buildModel(name);
    expect(`${String(net)}\n`).toBe(readFileSync(join(FIXTURES, `${name}.txt`), 'utf8'));
    const e = state.nets[name]!;
    expect(numParams(net)).toBe(e.num_parameters);
    expect([...net.stateDict()].map(([k, t]) => `${k} [${t.shape.join(', ')}]`)).toEqual(e.state_dict);
    net.dispose();
  });

  it('every model name has a recipe: the seed trains with Adam, d2l.ai with SGD', () => {
    for (const m of MODELS) expect(RECIPES[m].optimizer).toBe(m.endsWith('-d2l') ? 'sgd' : 'adam');
    expect(RECIPES.nin).toEqual({ optimizer: 'adam', lr: 0.002, epochs: 5, batchSize: 128, resize: 224 });
    expect(RECIPES.vgg11.batchSize).toBe(64);
  });

  it('each network maps its input size to 10 logits; the d2l.ai variants are Xavier-initialised, the seed keeps the default init', () => {
    kd.noGrad(() => kd.tidy(() => {
      for (const name of ['lenet', 'lenet-bn', 'lenet-bn-scratch'] as ModelName[]) {
        const net = buildModel(name).eval();
        expect(net.call(kd.randn([3, 1, 28, 28])).shape).toEqual([3, 10]);
      }
      for (const name of ['alexnet', 'vgg11', 'nin'] as ModelName[]) {
        const net = buildModel(name).eval();
        expect(net.call(kd.randn([1, 1, 224, 224])).shape).toEqual([1, 10]);
        net.dispose();
      }
    }));
    // PyTorch's default Linear init bounds |w| by 1/sqrt(fan_in); Xavier-uniform by sqrt(6/(fan_in+fan_out)).
    const seedFc = (new LeNet().fc as unknown as Module[])[4] as Linear;
    expect(kd.tidy(() => seedFc.weight.abs().max().itemSync())).toBeLessThanOrEqual(1 / Math.sqrt(84));
    const d2lLast = buildModel('lenet-d2l').modules().filter((m) => m instanceof Linear).at(-1) as Linear;
    expect(kd.tidy(() => d2lLast.weight.abs().max().itemSync())).toBeGreaterThan(1 / Math.sqrt(84));
  });

  it("NiN's named children print the notes' shapes for a 1×1×224×224 input", () => {
    const lines: string[] = [];
    kd.noGrad(() => kd.tidy(() => {
      let X = kd.rand([1, 1, 224, 224]);
      for (const [name, blk] of nin().namedChildren()) {
        X = blk.call(X) as kd.Tensor;
        lines.push(`${name} output shape:  ${torchSize(X.shape)}`);
      }
    }));
    expect(lines).toEqual([
      '0 output shape:  torch.Size([1, 96, 54, 54])', '1 output shape:  torch.Size([1, 96, 26, 26])',
      '2 output shape:  torch.Size([1, 256, 26, 26])', '3 output shape:  torch.Size([1, 256, 12, 12])',
      '4 output shape:  torch.Size([1, 384, 12, 12])', '5 output shape:  torch.Size([1, 384, 5, 5])',
      '6 output shape:  torch.Size([1, 384, 5, 5])', '7 output shape:  torch.Size([1, 10, 5, 5])',
      '8 output shape:  torch.Size([1, 10, 1, 1])', '9 output shape:  torch.Size([1, 10])',
    ]);
  });
});

describe("the notes' BatchNorm from scratch", () => {
  it('normalises as nn.BatchNorm2d / BatchNorm1d do in training, with moving averages at momentum 0.9 from zero', () => {
    for (const [ours, ref, shape, dims] of [
      [new BatchNorm(3, 4), new BatchNorm2d(3), [4, 3, 5, 5], [0, 2, 3]],
      [new BatchNorm(6, 2), new BatchNorm1d(6), [8, 6], [0]],
    ] as const) {
      kd.tidy(() => {
        const X = kd.randn([...shape]).mul(2).add(0.5);
        expect(ours.call(X).sub(ref.call(X)).abs().max().itemSync()).toBeLessThan(1e-5);
        // The notes' moving_mean = 0.9 · 0 + 0.1 · mean; moving_var uses the biased variance.
        const mean = X.mean([...dims], true);
        const biasedVar = X.sub(mean).pow(2).mean([...dims], true);
        const view = shape.length === 2 ? [1, shape[1]] : [1, shape[1], 1, 1];
        expect(ours.moving_mean.sub(mean.mul(0.1).view(view)).abs().max().itemSync()).toBeLessThan(1e-6);
        expect(ours.moving_var.sub(biasedVar.mul(0.1).view(view)).abs().max().itemSync()).toBeLessThan(1e-6);
        expect(ours.moving_mean.shape).toEqual(view);
        // eval: (X - moving_mean) / sqrt(moving_var + eps) · gamma + beta, the batch statistics unused
        ours.eval();
        const want = X.sub(ours.moving_mean).div(ours.moving_var.add(1e-5).sqrt());
        expect(ours.call(X).sub(want).abs().max().itemSync()).toBeLessThan(1e-5);
        ours.train();
      });
    }
  });

  it('gamma and beta are parameters with gradients; moving_mean and moving_var are buffers in the state dict', () => {
    const bn = new BatchNorm(4, 4);
    expect(bn.namedParameters().map(([n, p]) => `${n} ${p.shape}`)).toEqual(['gamma 1,4,1,1', 'beta 1,4,1,1']);
    expect(bn.namedBuffers().map(([n]) => n)).toEqual(['moving_mean', 'moving_var']);
    expect([...bn.stateDict().keys()]).toEqual(['gamma', 'beta', 'moving_mean', 'moving_var']);
    kd.tidy(() => bn.call(kd.randn([2, 4, 3, 3])).pow(2).sum().backward());
    expect(bn.gamma.grad?.shape).toEqual([1, 4, 1, 1]);
    expect(bn.moving_mean.requiresGrad).toBe(false);
    expect(() => bn.call(kd.zeros([2, 4, 3]))).toThrow('BatchNorm: expected a 2-D (fully connected) or 4-D (convolutional) input, got 3-D [2,4,3]');
    expect(() => new BatchNorm(4, 3 as 4)).toThrow('numDims must be 2 or 4, got 3');
    const [Y, m, v] = batchNorm(false, kd.ones([1, 2]), kd.ones([1, 2]), kd.zeros([1, 2]), kd.zeros([1, 2]), kd.ones([1, 2]), 0, 0.9);
    expect(Y.arraySync()).toEqual([[1, 1]]);
    expect(m.arraySync()).toEqual([[0, 0]]);
    expect(v.arraySync()).toEqual([[1, 1]]);
  });
});

describe.skipIf(!hasData)('trainCh5 and evaluateAccuracy on the real Fashion-MNIST', () => {
  it("prints the seed's line, with the loss as the mean of the batches' mean losses", async () => {
    const all = await FashionMNIST.load({ train: true, transform: new ToTensor() });
    // 300 images in batches of 128: the last batch has 44, so a per-sample mean would differ.
    const ds = firstN(all, 300, new ToTensor());
    const loader = new DataLoader(ds, { batchSize: 128 });
    kd.manualSeed(0);
    const net = new LeNet();
    // No updates: the per-batch losses can be recomputed independently of the loop.
    const frozen = { zeroGrad: () => net.zeroGrad(), step: () => {} };
    const lines: string[] = [];
    const [h] = await trainCh5(net, loader, loader, 128, frozen, 'cpu', 1, { print: (l) => lines.push(l) });
    expect(lines[0]).toBe('training on  cpu');
    expect(lines[1]).toMatch(/^epoch 1, loss \d\.\d{4}, train acc \d\.\d{3}, test acc \d\.\d{3}, time \d+\.\d sec$/);
    const losses: number[] = [];
    let correct = 0;
    for await (const [X, y] of loader) {
      kd.noGrad(() => kd.tidy(() => {
        const yHat = net.call(X) as kd.Tensor;
        losses.push(kd.crossEntropy(yHat, y).itemSync());
        correct += yHat.argmax(1).eq(y).sum().itemSync();
      }));
    }
    expect(losses.length).toBe(3);
    expect(h!.loss).toBeCloseTo(losses.reduce((a, b) => a + b, 0) / 3, 5);
    expect(h!.trainAcc).toBeCloseTo(correct / 300, 6);
    expect(h!.testAcc).toBeCloseTo(correct / 300, 6);
    expect(net.training).toBe(true);
  });

  it('trains: a few Adam steps at the recipe lr lower the loss, and evaluateAccuracy leaves the net in train mode', async () => {
    const all = await FashionMNIST.load({ train: true, transform: new ToTensor() });
    kd.manualSeed(1);
    const loader = new DataLoader(firstN(all, 2048, new ToTensor()), { batchSize: 256, shuffle: true });
    const net = buildModel('lenet-bn-scratch');
    const optimizer = new kd.optim.Adam(net.parameters(), { lr: 0.01 });
    const h = await trainCh5(net, loader, loader, 256, optimizer, 'cpu', 3, { print: () => {} });
    expect(h[2]!.loss).toBeLessThan(h[0]!.loss);
    expect(h[2]!.testAcc).toBeGreaterThan(0.5);
    net.eval();
    const acc = await evaluateAccuracy(loader, net);
    expect(acc).toBeCloseTo(h[2]!.testAcc, 6);
    expect(net.training).toBe(true);
    // A plain function of X, as the seed's chapter 3 nets, is evaluated as it stands.
    expect(await evaluateAccuracy(loader, (X) => net.eval().call(X) as kd.Tensor)).toBeCloseTo(acc, 6);
  });
});
