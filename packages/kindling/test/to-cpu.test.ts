/**
 * `.cpu()` / `.to('cpu')` of a GPU tensor inside the seed's expressions: a pending cpu tensor whose
 * data arrives asynchronously; readbacks wait for it, ops before then say what to await.
 * Runs on webgpu where an adapter exists (SwiftShader in CI); the CUDA emulator's check is in
 * packages/backend-cuda's tests.
 */
import { describe, expect, it } from 'vitest';
import * as kd from 'kindling';

let unavailable: string | null = null;
try {
  await import('@kindling/backend-webgpu');
  await kd.initDevice('webgpu');
} catch (e) {
  unavailable = (e as Error).message;
  console.warn(`[to-cpu] webgpu skipped: ${unavailable}`);
}

describe.skipIf(!!unavailable)('.cpu() of a webgpu tensor', () => {
  it('await x.cpu().item(), x.cpu().data() and x.to("cpu").array() give the values', async () => {
    const x = kd.tensor([[1, 2], [3, 4]], { dtype: 'float32', device: 'webgpu' });
    const s = x.sum();
    const c = s.cpu();
    expect(c.device).toBe('cpu');
    expect(c.isPending).toBe(true);
    expect(await c.item()).toBe(10);
    expect(c.isPending).toBe(false);
    expect(Array.from(await x.cpu().data())).toEqual([1, 2, 3, 4]);
    expect(await x.transpose(0, 1).to('cpu').array()).toEqual([[1, 3], [2, 4]]);
    for (const t of [x, s, c]) t.dispose();
  });

  it("the seed's accuracy and loss lines run unchanged", async () => {
    kd.manualSeed(0);
    const device = 'webgpu';
    const X = kd.randn([8, 5]);
    const y = kd.tensor([0, 1, 2, 3, 4, 0, 1, 2], { dtype: 'int32' });
    const w = kd.randn([5, 5], { device, requiresGrad: true });
    const net = (x: kd.Tensor) => x.matmul(w);
    // d2l: (net(X.to(device)).argmax(dim=1) == y.to(device)).float().sum().cpu().item()
    const correct = await net(X.to(device)).argmax(1).eq(y.to(device)).float().sum().cpu().item();
    const want = await X.matmul(await w.detach().toAsync('cpu')).argmax(1).eq(y).float().sum().item();
    expect(correct).toBe(want);
    // d2l: train_l_sum += l.cpu().item()
    const l = kd.crossEntropy(net(X.to(device)), y.to(device));
    const lossOnGpu = await l.item();
    let trainLSum = 0;
    trainLSum += await l.cpu().item();
    expect(trainLSum).toBeCloseTo(lossOnGpu, 6);
  });

  it('an op on the copy before its data arrived names what to await; after ready() it runs', async () => {
    const x = kd.full([3], 2, { device: 'webgpu' });
    const c = x.cpu();
    expect(() => c.add(1)).toThrow(
      /^add: tensor \[3\] float32 on cpu is still arriving from webgpu \(made by \.cpu\(\) \/ \.to\('cpu'\)\); await t\.ready\(\)/,
    );
    // Views of it (and .cpu() of it, an alias) share the pending storage and wait for it too.
    const v = c.cpu().reshape([1, 3]);
    expect(v.isPending).toBe(true);
    expect(await v.array()).toEqual([[2, 2, 2]]);
    expect((await c.ready()).add(1).arraySync()).toEqual([3, 3, 3]);
  });

  it('a copy disposed before it arrives does not write into a reused buffer', async () => {
    const x = kd.full([1024 * 32], 5, { device: 'webgpu' });
    const c = x.cpu();
    c.dispose();
    // The same size again: a caching allocator may hand out the buffer the disposed copy had.
    const z = kd.zeros([1024 * 32]);
    await x.backend.sync();
    await new Promise((r) => setTimeout(r, 20));
    const d = z.dataSync();
    expect(d.every((v) => v === 0)).toBe(true);
    await expect(c.data()).rejects.toThrow(/data: tensor \[32768\] float32 on cpu was disposed/);
    x.dispose();
    z.dispose();
  });
});
