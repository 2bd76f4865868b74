/**
 * Regression tests for the findings of issue 14's adversarial review (1, 2, 3, 4, 5, 9, 10, 11;
 * the trainer's 3, 6, 7, 8, 12 are in apps/trainer/test/findings.test.ts), each run on both CPU
 * paths in one process: the 'cpu' device (the native addon when it is built) and a 'portable'
 * device, a CpuBackend with native: false. Every case asserts the error that names the op,
 * option or file and the bad value, and that nothing was changed or read out of bounds.
 */
import { gzipSync } from 'node:zlib';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kd from 'kindling';
import { cpuPaths as paths } from './cpu-paths.js';

/** A leaf parameter with known values and a gradient of ones. */
function param(device: string): kd.Tensor {
  const p = kd.tensor([1, 2, 3, 4], { dtype: 'float32', device, requiresGrad: true });
  p.grad = kd.ones([4], { device });
  return p;
}

for (const path of paths) {
  describe.skipIf(!!path.skip)(`issue 14 findings on the ${path.name} cpu path${path.skip ? ` (skipped: ${path.skip})` : ''}`, () => {
    const { device } = path;
    const opts = { device };

    it('1: optimizer settings that are not finite numbers are refused, naming the optimizer, option and value', () => {
      const p = param(device);
      const sgd = new kd.optim.SGD([p], { lr: 0.1 });
      (sgd.paramGroups[0] as { lr: unknown }).lr = '0.1';
      expect(() => sgd.step()).toThrow('SGD: Invalid learning rate: "0.1" (a string) (option lr must be a finite number >= 0)');
      expect(p.dataSync()).toEqual(new Float32Array([1, 2, 3, 4])); // nothing was updated
      sgd.paramGroups[0]!.lr = Number.NaN;
      expect(() => sgd.step()).toThrow('SGD: Invalid learning rate: NaN');
      sgd.paramGroups[0]!.lr = 0.5;
      sgd.step();
      expect(p.dataSync()).toEqual(new Float32Array([0.5, 1.5, 2.5, 3.5]));

      const bad: [string, () => unknown, string][] = [
        ['momentum', () => new kd.optim.SGD([param(device)], { lr: 0.1, momentum: '0.9' as unknown as number }), 'SGD: Invalid momentum value: "0.9" (a string)'],
        ['dampening', () => new kd.optim.SGD([param(device)], { lr: 0.1, momentum: 0.9, dampening: Infinity }), 'SGD: Invalid dampening value: Infinity'],
        ['weightDecay', () => new kd.optim.SGD([param(device)], { lr: 0.1, weightDecay: -1 }), 'SGD: Invalid weight_decay value: -1'],
        ['nesterov', () => new kd.optim.SGD([param(device)], { lr: 0.1, nesterov: 'false' as unknown as boolean }), 'SGD: option nesterov must be true or false, got "false" (a string)'],
        ['eps', () => new kd.optim.Adam([param(device)], { eps: '1e-8' as unknown as number }), 'Adam: Invalid epsilon value: "1e-8" (a string)'],
        ['betas', () => new kd.optim.Adam([param(device)], { betas: ['0.9', 0.999] as unknown as [number, number] }), 'Adam: Invalid beta parameter at index 0: "0.9" (a string)'],
        ['betas', () => new kd.optim.AdamW([param(device)], { betas: [0.9, 1] }), 'AdamW: Invalid beta parameter at index 1: 1 (option betas must be a finite number >= 0 and < 1)'],
        ['betas', () => new kd.optim.Adam([param(device)], { betas: 0.9 as unknown as [number, number] }), 'Adam: option betas must be a pair of numbers [beta1, beta2], got 0.9'],
        ['alpha', () => new kd.optim.RMSprop([param(device)], { alpha: [0.99] as unknown as number }), 'RMSprop: Invalid alpha value: [0.99]'],
      ];
      for (const [, make, message] of bad) expect(make).toThrow(message);

      // Adam's fused step (the native adamStep on the native path) with betas edited to strings.
      const q = param(device);
      const adam = new kd.optim.Adam([q], { lr: 0.1 });
      adam.paramGroups[0]!.betas = ['0.9', 0.999] as unknown as [number, number];
      expect(() => adam.step()).toThrow('Adam: Invalid beta parameter at index 0: "0.9" (a string)');
      expect(q.dataSync()).toEqual(new Float32Array([1, 2, 3, 4]));
    });

    it('1: loadStateDict checks the groups and state before changing anything', () => {
      const p = param(device);
      const sgd = new kd.optim.SGD([p], { lr: 0.1, momentum: 0.9 });
      sgd.step();
      const good = JSON.parse(JSON.stringify({ paramGroups: sgd.stateDict().paramGroups }));
      const state = sgd.stateDict().state;
      const withLr = (lr: unknown) => ({ state, paramGroups: [{ ...good.paramGroups[0], lr }] });
      expect(() => sgd.loadStateDict(withLr('abc'))).toThrow('loadStateDict: param group 0: SGD: Invalid learning rate: "abc" (a string)');
      expect(sgd.paramGroups[0]!.lr).toBe(0.1);
      expect(sgd.state.get(p)!.momentumBuffer).toBeInstanceOf(kd.Tensor);
      expect(() => sgd.loadStateDict({ state: { 0: { step: 'x' } }, paramGroups: good.paramGroups } as never)).toThrow(
        'loadStateDict: state 0.step must be a tensor or a finite number, got "x" (a string)',
      );
      // A "__proto__" key (as JSON.parse makes it) is refused, and Object.prototype stays clean.
      const polluted = JSON.parse('{"__proto__": {"polluted": 1}}') as Record<number, kd.optim.ParamState>;
      expect(() => sgd.loadStateDict({ state: polluted, paramGroups: good.paramGroups })).toThrow('loadStateDict: state key "__proto__" is not a parameter index');
      const groups = JSON.parse(`[{"__proto__": {"polluted": 1}, "lr": 0.2, "momentum": 0.9, "dampening": 0, "weightDecay": 0, "nesterov": false, "maximize": false, "fused": true, "params": [0]}]`);
      sgd.loadStateDict({ state, paramGroups: groups });
      expect(sgd.paramGroups[0]!.lr).toBe(0.2);
      expect(Object.getPrototypeOf(sgd.paramGroups[0])).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      // An index listed twice would hand one parameter another's state (found by 14B's checkpoint fuzzer).
      const two = new kd.optim.Adam([param(device), kd.zeros([6], { device, requiresGrad: true })]);
      const sd2 = JSON.parse(JSON.stringify({ paramGroups: two.stateDict().paramGroups }));
      sd2.paramGroups[0].params = [0, 0];
      expect(() => two.loadStateDict({ state: {}, paramGroups: sd2.paramGroups })).toThrow('loadStateDict: param group 0: parameter index 0 appears more than once');
      const sched = new kd.optim.StepLR(sgd, 2);
      expect(() => sched.loadStateDict(JSON.parse('{"__proto__": {"polluted": 1}}'))).toThrow('StepLR.loadStateDict: unknown state key "__proto__"');
      expect(() => sched.loadStateDict({ lastEpoch: 'abc' })).toThrow('StepLR.loadStateDict: state lastEpoch must be a finite number, got "abc" (a string)');
      // OneCycleLR's phases (an array of objects) survive a JSON round trip; a foreign key does not.
      const oc = new kd.optim.OneCycleLR(sgd, 1, { epochs: 2, stepsPerEpoch: 3 });
      const saved = JSON.parse(JSON.stringify(oc.stateDict()));
      oc.loadStateDict(saved);
      saved.phases[1] = JSON.parse('{"__proto__": {"polluted": 1}}');
      expect(() => oc.loadStateDict(saved)).toThrow('OneCycleLR.loadStateDict: unknown state key "phases[1].__proto__"');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('2: makeView refuses views outside the storage, including (size - 1)·stride terms that overflow int64', () => {
      const t = kd.arange(0, 8, 1, { dtype: 'float32', device });
      // (4097 − 1)·2^52 = 2^64 would wrap int64 in a kernel; here it is just out of range.
      expect(() => kd.makeView(t, [4097], [2 ** 52], 0)).toThrow(/^makeView: the view reaches elements \[0, 18446744073709552000\] of a storage of 8 elements/);
      // Two terms that would cancel after wrapping around int64 still count separately here.
      expect(() => kd.makeView(t, [4097, 4097], [2 ** 52, -(2 ** 52)], 4)).toThrow(/^makeView: the view reaches elements \[-18446744073709552000, 18446744073709552000\]/);
      expect(() => kd.makeView(t, [3], [2 ** 62], 0)).toThrow(/^makeView: stride 4611686018427388000 of dim 0 is not a safe integer/);
      expect(() => kd.makeView(t, [3], [4], 0)).toThrow('makeView: the view reaches elements [0, 8] of a storage of 8 elements');
      expect(() => kd.makeView(t, [2], [1], -1)).toThrow('makeView: offset must be a non-negative integer');
      expect(() => kd.makeView(t, [2], [0.5], 0)).toThrow('makeView: stride 0.5 of dim 0 is not a safe integer');
      expect(() => kd.makeView(t, [2, 2], [1], 0)).toThrow('makeView: shape and strides must be arrays of the same length');
      // In range: read and written through the view.
      const v = kd.makeView(t, [2, 2], [4, 1], 2);
      expect(v.arraySync()).toEqual([[2, 3], [6, 7]]);
      v.fill_(-1);
      expect(Array.from(t.dataSync())).toEqual([0, 1, -1, -1, 4, 5, -1, -1]);
      expect(kd.makeView(t, [0, 5], [100, 100], 7).size).toBe(0); // empty: touches nothing
    });

    it('9: int32 values out of range are errors, not wrapped', () => {
      const msg = (op: string, v: number) => `${op}: value ${v} cannot be converted to type int32 without overflow`;
      expect(() => kd.tensor([3e9], { dtype: 'int32', device })).toThrow(msg('tensor', 3e9));
      expect(() => kd.tensor([1, 2 ** 31], opts)).toThrow(msg('tensor', 2 ** 31)); // inferred int32
      expect(() => kd.tensor(new Float32Array([-3e9]), { dtype: 'int32', device })).toThrow(msg('tensor', -3e9));
      expect(() => kd.tensor([Number.NaN], { dtype: 'int32', device })).toThrow(msg('tensor', Number.NaN));
      expect(() => kd.full([2], 3e9, { dtype: 'int32', device })).toThrow(msg('full', 3e9));
      expect(() => kd.randint(0, 2 ** 40, [4], opts)).toThrow(msg('randint', 2 ** 40 - 1));
      expect(() => kd.arange(2 ** 31 - 2, 2 ** 31 + 2, 1, opts)).toThrow(msg('arange', 2 ** 31 + 1));
      const x = kd.tensor([1], { dtype: 'int32', device });
      expect(() => x.add(3e9)).toThrow(msg('add', 3e9));
      expect(() => x.fill_(-3e9)).toThrow(msg('fill_', -3e9));
      // The edges of the range are fine.
      expect(Array.from(kd.tensor([2 ** 31 - 1, -(2 ** 31)], { dtype: 'int32', device }).dataSync())).toEqual([2147483647, -2147483648]);
      expect(Array.from(kd.arange(2 ** 31 - 3, 2 ** 31, 1, opts).dataSync())).toEqual([2147483645, 2147483646, 2147483647]);
      const r = kd.randint(-(2 ** 31), 2 ** 31, [64], opts).dataSync();
      expect(r.every((v) => v >= -(2 ** 31) && v < 2 ** 31)).toBe(true);
    });

    it('10: ConfusionMatrix refuses labels and predictions outside [0, C), naming the value', async () => {
      const cm = new kd.metrics.ConfusionMatrix(10, device);
      const pred = kd.tensor([1, 2, 3], { dtype: 'int32', device });
      expect(() => cm.update(pred, kd.tensor([0, -3, 1], { dtype: 'int32', device }))).toThrow(
        'ConfusionMatrix.update: label -3 at index 1 is outside [0, 10) for 10 classes',
      );
      expect(() => cm.update(pred, kd.tensor([12, 0, 1], { dtype: 'int32', device }))).toThrow('ConfusionMatrix.update: label 12 at index 0 is outside [0, 10)');
      expect(() => cm.update(kd.tensor([1, 10, 3], { dtype: 'int32', device }), kd.tensor([1, 2, 3], { dtype: 'int32', device }))).toThrow(
        'ConfusionMatrix.update: predicted class 10 at index 1 is outside [0, 10)',
      );
      cm.update(pred, kd.tensor([1, 2, 0], { dtype: 'int32', device }));
      const m = await cm.matrix();
      expect(m.flat().reduce((a, b) => a + b, 0)).toBe(3); // only the valid batch was counted
      expect(m[1]![1]).toBe(1);
      expect(m[0]![3]).toBe(1);
      cm.dispose();
    });

    it('11: scalar operands and options that are not numbers are refused, naming the op and value', () => {
      const x = kd.ones([2], opts);
      expect(() => kd.full([2], '1' as unknown as number, opts)).toThrow('full: fill value must be a number or a boolean, got "1" (a string)');
      expect(() => x.mul(null as unknown as number)).toThrow('mul: a scalar operand must be a number or a boolean, got null');
      expect(() => kd.add(x, {} as unknown as number)).toThrow('add: a scalar operand must be a number or a boolean, got an object');
      expect(() => x.add(1, '2' as unknown as number)).toThrow('add: alpha must be a number or a boolean, got "2" (a string)');
      expect(() => x.fill_('3' as unknown as number)).toThrow('fill_: fill value must be a number or a boolean, got "3" (a string)');
      expect(() => kd.tensor(['1', 2] as unknown as number[], opts)).toThrow('tensor: a value must be a number or a boolean, got "1" (a string)');
      const bn = () => [kd.randn([4, 3, 2, 2], opts), kd.zeros([3], opts), kd.ones([3], opts)] as const;
      const [xb, rm, rv] = bn();
      expect(() => kd.batchNorm(xb, rm, rv, null, null, { training: true, eps: 'x' as unknown as number })).toThrow(
        'batchNorm: option eps must be a finite number, got "x" (a string)',
      );
      expect(() => kd.batchNorm(xb, rm, rv, null, null, { training: true, momentum: Number.NaN })).toThrow('batchNorm: option momentum must be a finite number, got NaN');
      expect(Array.from(rm.dataSync())).toEqual([0, 0, 0]); // running stats untouched
      expect(x.mul(2).dataSync()).toEqual(new Float32Array([2, 2]));
    });
  });
}

describe('issue 14 findings in the file readers (no backend involved)', () => {
  it('4: a gzip bomb stops inflating at the size its IDX header announces', async () => {
    // 10 images of 28×28 announced (7,856 bytes), 64 MiB of image bytes inside the gzip stream.
    const header = kd.data.encodeIdx([10, 28, 28], new Uint8Array(7840)).subarray(0, 16);
    const bomb = gzipSync(Buffer.concat([header, Buffer.alloc(64 << 20)]));
    const err = await kd.data.decodeIdx(bomb, 'bomb-idx3-ubyte.gz').catch((e: Error) => e);
    expect(err).toBeInstanceOf(kd.data.DataFileError);
    const m = /^bomb-idx3-ubyte\.gz: inflates to more than 7856 bytes, the size its IDX header announces; stopped after (\d+) bytes$/.exec((err as Error).message);
    expect(m, (err as Error).message).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(1 << 20); // one zlib chunk past the limit, not 64 MiB
    // A well-formed file still decodes, with its exact size checks.
    const ok = kd.data.encodeIdx([2, 2], new Uint8Array([1, 2, 3, 4]));
    expect(Array.from((await kd.data.decodeIdx(gzipSync(ok))).data)).toEqual([1, 2, 3, 4]);
    await expect(kd.data.decodeIdx(gzipSync(Buffer.concat([ok, Buffer.from([9])])), 'long.gz')).rejects.toThrow(/^long\.gz: inflates to more than 16 bytes/);
  });

  it('5: IDX files that hold 0 images are refused by the dataset loader', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kd-empty-'));
    writeFileSync(join(root, 'train-images-idx3-ubyte'), kd.data.encodeIdx([0, 28, 28], new Uint8Array(0)));
    writeFileSync(join(root, 'train-labels-idx1-ubyte'), kd.data.encodeIdx([0], new Uint8Array(0)));
    await expect(kd.data.FashionMNIST.load({ root, train: true })).rejects.toThrow(
      `${join(root, 'train-images-idx3-ubyte')}: holds 0 images; a dataset needs at least one`,
    );
  });

  it('3: safetensors metadata is a null-prototype object', async () => {
    const bytes = await kd.nn.safetensors.serialize(new Map([['w', kd.zeros([2])]]), { metadata: JSON.parse('{"__proto__": "x", "format": "f"}') });
    const meta = kd.nn.safetensors.readMetadata(bytes)!;
    expect(Object.getPrototypeOf(meta)).toBeNull();
    expect(meta.__proto__).toBe('x');
    expect(meta.format).toBe('f');
    expect(meta.constructor).toBeUndefined();
  });
});
