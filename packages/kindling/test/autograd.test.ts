import { describe, expect, it } from 'vitest';
import * as kd from 'kindling';

const small = (shape: number[], lo = -1, hi = 1) => kd.rand(shape).mul(hi - lo).add(lo);

describe('autograd', () => {
  it('gradcheck: every differentiable op family against finite differences', async () => {
    kd.manualSeed(3);
    const cases: [string, (...xs: kd.Tensor[]) => kd.Tensor, kd.Tensor[]][] = [
      ['pow tensor exponent', (a, b) => kd.pow(a, b), [small([3, 2], 0.5, 2), small([2], -1, 2)]],
      ['div broadcast', (a, b) => a.div(b), [small([2, 3]), small([3], 1, 2)]],
      ['maximum/minimum', (a, b) => kd.maximum(a, b).add(kd.minimum(a, b).mul(2)), [small([4]), small([4])]],
      ['where', (a, b) => kd.where(a.gt(0), a, b), [small([5]), small([5])]],
      ['unary chain', (a) => a.sigmoid().add(a.tanh()).add(a.exp()).add(a.erf()).add(a.sin()).add(a.cos()), [small([6])]],
      ['sqrt/log/rsqrt', (a) => a.sqrt().add(a.log()).add(a.rsqrt()).add(a.reciprocal()), [small([4], 0.5, 2)]],
      ['gelu tanh', (a) => a.gelu('tanh'), [small([5])]],
      ['amax over dims with keepdim', (a) => a.amax([0, 2], true), [small([2, 3, 4])]],
      ['var/std', (a) => a.var(1).add(a.std(0, { unbiased: false }).sum()), [small([3, 4])]],
      ['logsumexp', (a) => a.logsumexp([1]), [small([2, 5])]],
      ['softmax dim 0', (a) => a.softmax(0), [small([3, 4])]],
      ['logSoftmax dim 1', (a) => a.logSoftmax(1), [small([3, 4])]],
      ['slice with steps', (a) => a.slice([[0, null, 2], [1, 3]]), [small([5, 4])]],
      ['cat and stack', (a, b) => kd.cat([a, b], 1).add(kd.stack([a, a], 0).sum(0).sum(1, true)), [small([2, 3]), small([2, 2])]],
      ['expand and permute', (a) => a.expand([3, 2, 4]).permute([2, 0, 1]), [small([2, 1])]],
      ['batched matmul broadcast', (a, b) => kd.matmul(a, b), [small([2, 1, 3, 4]), small([3, 4, 2])]],
      ['conv2d groups/stride/dilation', (x, w, b) => kd.conv2d(x, w, b, { stride: [2, 1], padding: 1, dilation: [1, 2], groups: 2 }), [small([2, 4, 5, 6]), small([6, 2, 3, 3]), small([6])]],
      ['maxPool2d ceil mode padding', (x) => kd.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }), [small([1, 2, 6, 5])]],
      ['avgPool2d ceil mode, no pad count', (x) => kd.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), [small([1, 2, 6, 5])]],
      ['adaptiveAvgPool2d 3x2', (x) => kd.adaptiveAvgPool2d(x, [3, 2]), [small([1, 2, 7, 5])]],
      ['batchNorm training', (x, w, b) => kd.batchNorm(x, null, null, w, b, { training: true }), [small([4, 3, 2, 2]), small([3], 0.5, 1.5), small([3])]],
      ['crossEntropy with label smoothing', (x) => kd.crossEntropy(x, kd.tensor([1, 0, 3], { dtype: 'int32' }), { labelSmoothing: 0.2 }), [small([3, 4])]],
    ];
    for (const [name, fn, inputs] of cases) {
      for (const t of inputs) t.requiresGrad_();
      const r = await kd.gradcheck(fn, inputs, { eps: 1e-2, atol: 2e-3, rtol: 2e-2 });
      expect({ name, ok: r.ok, failures: r.failures }).toEqual({ name, ok: true, failures: [] });
    }
  });

  it('accumulates across backward calls and through shared inputs', () => {
    const x = kd.tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
    const y = x.mul(x).add(x).sum(); // d/dx = 2x + 1
    y.backward(null, { retainGraph: true });
    expect(x.grad!.arraySync()).toEqual([3, 5, 7]);
    y.backward();
    expect(x.grad!.arraySync()).toEqual([6, 10, 14]);
  });

  it('noGrad, detach and requiresGrad_ behave as in PyTorch', async () => {
    const x = kd.ones([2], { requiresGrad: true });
    const a = kd.noGrad(() => x.mul(2));
    expect(a.requiresGrad).toBe(false);
    const b = x.mul(2).detach();
    expect(b.requiresGrad).toBe(false);
    expect(b.isLeaf).toBe(true);
    const c = x.mul(2);
    expect(c.gradFnName).toBe('MulBackward');
    expect(() => c.requiresGrad_(false)).toThrow('requiresGrad_: you can only change requiresGrad of leaf tensors');
    const d = await kd.noGrad(async () => x.add(1));
    expect(d.requiresGrad).toBe(false);
    expect(kd.isGradEnabled()).toBe(true);
    const e = kd.noGrad(() => kd.enableGrad(() => x.add(1)));
    expect(e.requiresGrad).toBe(true);
  });

  it('retainGrad keeps the gradient of a non-leaf', () => {
    const x = kd.tensor([1, 2], { dtype: 'float32', requiresGrad: true });
    const h = x.mul(3);
    h.retainGrad();
    h.mul(h).sum().backward();
    expect(h.grad!.arraySync()).toEqual([6, 12]);
    expect(x.grad!.arraySync()).toEqual([18, 36]);
  });

  it('a post-accumulate-grad hook runs once per backward, after the last contribution, while backward goes on', () => {
    const w = kd.tensor([1, 2], { dtype: 'float32', requiresGrad: true });
    const v = kd.tensor([3], { dtype: 'float32', requiresGrad: true });
    const seen: string[] = [];
    const h = w.registerPostAccumulateGradHook((leaf) => seen.push(`w ${leaf.grad!.arraySync()}`));
    v.registerPostAccumulateGradHook((leaf) => seen.push(`v ${leaf.grad!.arraySync()}`));
    // w is used twice: its hook sees the sum of both contributions, once; v's runs in the same backward.
    w.mul(2).add(w.mul(w)).sum().mul(v.sum()).backward();
    expect(seen).toEqual(['v 11', 'w 12,18']);
    h.remove();
    w.sum().mul(v.sum()).backward();
    expect(seen).toEqual(['v 11', 'w 12,18', 'v 14']);
    expect(() => w.mul(2).registerPostAccumulateGradHook(() => undefined)).toThrow(/registerPostAccumulateGradHook: only leaf tensors/);
  });

  it('relu and abs have derivative 0 at 0, and max shares ties evenly (amax)', () => {
    const x = kd.tensor([-1, 0, 2], { dtype: 'float32', requiresGrad: true });
    x.relu().add(x.abs()).sum().backward();
    expect(x.grad!.arraySync()).toEqual([-1, 0, 2]);
    const t = kd.tensor([3, 1, 3], { dtype: 'float32', requiresGrad: true });
    t.amax().backward();
    expect(t.grad!.arraySync()).toEqual([0.5, 0, 0.5]);
  });
});
