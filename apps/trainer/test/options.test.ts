import { describe, expect, it } from 'vitest';
import { parseOptions, UsageError } from '../src/options.js';

describe('trainer options', () => {
  it("defaults to the seed's recipe per model, and d2l.ai's for the -d2l variants", () => {
    expect(parseOptions(['--model', 'alexnet'])).toMatchObject({ model: 'alexnet', lr: 0.001, batchSize: 128, resize: 224, epochs: 5, optimizer: 'adam', seed: 0, out: 'runs/alexnet' });
    expect(parseOptions(['--model', 'lenet'])).toMatchObject({ lr: 0.001, batchSize: 256, resize: null, epochs: 5, optimizer: 'adam' });
    expect(parseOptions(['--model', 'vgg11'])).toMatchObject({ lr: 0.001, batchSize: 64, resize: 224, optimizer: 'adam' });
    expect(parseOptions(['--model', 'nin'])).toMatchObject({ lr: 0.002, batchSize: 128, resize: 224, optimizer: 'adam' });
    expect(parseOptions(['--model', 'lenet-bn-scratch'])).toMatchObject({ lr: 0.001, batchSize: 256, epochs: 5, optimizer: 'adam' });
    expect(parseOptions(['--model', 'alexnet-d2l'])).toMatchObject({ lr: 0.01, batchSize: 128, resize: 224, epochs: 10, optimizer: 'sgd', out: 'runs/alexnet-d2l' });
    expect(parseOptions(['--model', 'lenet-bn-d2l'])).toMatchObject({ lr: 1.0, batchSize: 256, resize: null, epochs: 10, optimizer: 'sgd' });
    expect(parseOptions(['--model', 'lenet', '--optimizer', 'sgd', '--lr', '0.9'])).toMatchObject({ lr: 0.9, optimizer: 'sgd' });
  });

  it('takes every documented option', () => {
    const o = parseOptions(['--model', 'nin', '--backend', 'cpu', '--epochs', '3', '--batch-size', '64', '--lr', '0.05', '--optimizer', 'adam', '--scheduler', 'cosine',
      '--seed', '7', '--resize', '96', '--subset', '1000', '--test-subset', '500', '--max-iters', '50', '--log-every', '10', '--out', '/tmp/x', '--resume', '--quiet']);
    expect(o).toEqual({
      model: 'nin', backend: 'cpu', epochs: 3, batchSize: 64, lr: 0.05, optimizer: 'adam', scheduler: 'cosine', seed: 7, resize: 96, subset: 1000,
      testSubset: 500, maxIters: 50, logEvery: 10, out: '/tmp/x', resume: true, dataDir: null, download: false, quiet: true,
    });
    expect(parseOptions(['--help'])).toBe('help');
  });

  it('rejects bad options with a clear message', () => {
    const bad: [string[], string][] = [
      [[], '--model is required'],
      [['--model', 'resnet'], "--model must be one of lenet, lenet-bn, lenet-bn-scratch, alexnet, vgg11, nin, lenet-d2l, lenet-bn-d2l, alexnet-d2l, vgg11-d2l, nin-d2l, got 'resnet'"],
      [['--model', 'lenet', '--epochs', 'two'], "--epochs must be an integer >= 1, got 'two'"],
      [['--model', 'lenet', '--batch-size', '0'], "--batch-size must be an integer >= 1, got '0'"],
      [['--model', 'lenet', '--lr=-1'], "--lr must be a positive number, got '-1'"],
      [['--model', 'lenet', '--optimizer', 'lbfgs'], "--optimizer must be sgd or adam, got 'lbfgs'"],
      [['--model', 'lenet', '--scheduler', 'warm'], "--scheduler must be one of none, step, cosine, onecycle, got 'warm'"],
      [['--model', 'lenet', '--backend', 'CUDA!'], "--backend must be a device like cpu, webgpu or cuda:0, got 'CUDA!'"],
      [['--model', 'alexnet', '--resize', '28'], '--resize 28 is too small for alexnet: its feature maps shrink below 1×1 (its recipe uses 224)'],
      [['--model', 'nin-d2l', '--resize', '28'], '--resize 28 is too small for nin-d2l'],
      [['--model', 'lenet', '--frobnicate'], "Unknown option '--frobnicate'"],
    ];
    for (const [argv, msg] of bad) {
      expect(() => parseOptions(argv)).toThrow(UsageError);
      expect(() => parseOptions(argv)).toThrow(msg);
    }
  });
});
