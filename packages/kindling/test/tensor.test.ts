import { describe, expect, it } from 'vitest';
import * as kd from 'kindling';

describe('tensors', () => {
  it('are views over shared storage: reshape/permute/slice/expand copy nothing', () => {
    const a = kd.arange(0, 24).reshape([2, 3, 4]);
    const views = [a.permute([2, 0, 1]), a.slice([null, [0, 3, 2], [1, null]]), a.select(0, 1), a.slice([[0, 1]]).expand([5, 3, 4]), a.transpose(0, 2), a.unsqueeze(1).squeeze(1)];
    for (const v of views) expect(v.storage_).toBe(a.storage_);
    expect(views[1]!.arraySync()).toEqual([[[1, 2, 3], [9, 10, 11]], [[13, 14, 15], [21, 22, 23]]]);
    expect(views[1]!.strides).toEqual([12, 8, 1]);
    expect(a.permute([2, 0, 1]).contiguous().flatten().arraySync()).toEqual([0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23]);
  });

  it('creation follows PyTorch', async () => {
    expect(kd.tensor([1, 2]).dtype).toBe('int32');
    expect(kd.tensor([1.5, 2]).dtype).toBe('float32');
    expect(kd.tensor([true, false]).dtype).toBe('bool');
    expect(kd.arange(5).arraySync()).toEqual([0, 1, 2, 3, 4]);
    expect(kd.arange(0, 1, 0.25).arraySync()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(kd.linspace(0, 1, 5).arraySync()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(kd.eye(2, 3).arraySync()).toEqual([[1, 0, 0], [0, 1, 0]]);
    expect(kd.full([2], 7, { dtype: 'int32' }).arraySync()).toEqual([7, 7]);
    expect(await kd.tensor(3.5).item()).toBe(3.5);
    expect(kd.tensor(3.5).shape).toEqual([]);
    const r = kd.randint(-2, 3, [2000]).dataSync();
    expect(Math.min(...r)).toBe(-2);
    expect(Math.max(...r)).toBe(2);
    const n = kd.randn([20000]);
    expect(Math.abs(n.mean().itemSync())).toBeLessThan(0.03);
    expect(Math.abs(n.std().itemSync() - 1)).toBeLessThan(0.03);
  });

  it('dtype promotion and integer semantics', () => {
    const i = kd.tensor([1, 2, 3]);
    expect(i.add(1).dtype).toBe('int32');
    expect(i.mul(0.5).dtype).toBe('float32');
    expect(i.div(2).arraySync()).toEqual([0.5, 1, 1.5]);
    expect(i.gt(1).dtype).toBe('bool');
    expect(kd.tensor([true, true]).sum().dtype).toBe('int32');
    expect(kd.tensor([-1.7, 1.7, 2.5, 3.5]).int().arraySync()).toEqual([-1, 1, 2, 3]);
    expect(Array.from(kd.tensor([0.5, 1.5, 2.5, -0.5]).round().dataSync())).toEqual([0, 2, 2, -0]); // half to even, sign kept as torch
  });

  it('the Philox generator is seeded, reproducible and matches the Random123 known answer', () => {
    const out = new Uint32Array(4);
    kd.philox4x32(0, 0, 0, 0, 0, 0, out);
    expect([...out].map((v) => v.toString(16))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    kd.manualSeed(42);
    const a = kd.rand([7]).dataSync();
    const b = kd.randn([3]).dataSync();
    kd.manualSeed(42);
    expect(kd.rand([7]).dataSync()).toEqual(a);
    expect(kd.randn([3]).dataSync()).toEqual(b);
    const ref = new Float32Array(7);
    kd.philoxFill('uniform', [42, 0], 0, ref);
    expect(a).toEqual(ref);
  });

  it('readback: data, item, array, dataSync, and .to()', async () => {
    const t = kd.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
    expect(Array.from(await t.data())).toEqual([1, 2, 3, 4]);
    expect(await t.array()).toEqual([[1, 2], [3, 4]]);
    expect(await t.t().array()).toEqual([[1, 3], [2, 4]]);
    expect(Array.from(t.t().dataSync())).toEqual([1, 3, 2, 4]);
    expect(await kd.tensor([true, false]).array()).toEqual([true, false]);
    expect(t.to('cpu').arraySync()).toEqual([[1, 2], [3, 4]]);
    expect(kd.availableDevices().find((d) => d.kind === 'cpu')).toEqual({ kind: 'cpu', available: true, reason: null });
    expect(kd.getDefaultDevice()).toBe('cpu');
  });

  it('reductions and arg-reductions', () => {
    const x = kd.tensor([[1, 5, 2], [7, 0, 7]], { dtype: 'float32' });
    const m = x.max(1);
    expect(m.values.arraySync()).toEqual([5, 7]);
    expect(m.indices.arraySync()).toEqual([1, 0]);
    expect(x.argmax().itemSync()).toBe(3);
    expect(x.argmin(1, true).arraySync()).toEqual([[0], [1]]);
    expect(x.sum([0, 1]).itemSync()).toBe(22);
    expect(x.mean(0).arraySync()).toEqual([4, 2.5, 4.5]);
    expect(kd.tensor([[1, 2], [3, 4]], { dtype: 'float32' }).var().itemSync()).toBeCloseTo(5 / 3, 6);
  });
});
