/**
 * nn.Linear is one autograd node ('linear'): its gradients equal those of the composed
 * x·Wᵀ + b, the weight's gradient comes out [out, in] directly, and leaves that backward hands a
 * fresh gradient keep it without a copy, never sharing storage with another leaf. Activation
 * gradients (core's activationBackward) equal the formulas written out, bit for bit.
 */
import '@kindling/backend-cpu';
import '@kindling/autograd';
import { describe, expect, it } from 'vitest';
import { type Tensor, add, matmul, mul, randn, sum, tensor, transpose } from '@kindling/core';
import { Linear } from '@kindling/nn';

type WithGrad = Tensor & { backward(): void; gradFnName: string | null; detach(): Tensor; requiresGrad_(r?: boolean): Tensor };
const g = (t: Tensor): WithGrad => t as WithGrad;

function leafCopy(t: Tensor): WithGrad {
  return g(tensor(t.dataSync(), { shape: t.shape, requiresGrad: true }));
}

function close(a: Tensor, b: Tensor, tol = 1e-5): void {
  const x = a.dataSync(), y = b.dataSync();
  expect(x.length).toBe(y.length);
  for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(y[i]!)));
}

describe('linear autograd', () => {
  for (const shape of [[6, 5], [2, 3, 5], [5]]) {
    it(`one LinearBackward node, gradients of x·Wᵀ + b (input [${shape}])`, () => {
      const fc = new Linear(5, 3);
      const x = g(randn(shape, { requiresGrad: true }));
      const y = g(fc.call(x));
      expect(y.gradFnName).toBe(shape.length === 2 ? 'LinearBackward' : 'ReshapeBackward');
      const wout = randn(y.shape);
      g(sum(mul(y, wout))).backward();

      const x2 = leafCopy(x), w2 = leafCopy(fc.weight), b2 = leafCopy(fc.bias!);
      g(sum(mul(add(matmul(x2, transpose(w2, 0, 1)), b2), wout))).backward();
      close(y, add(matmul(x2, transpose(w2, 0, 1)), b2));
      close(x.grad!, x2.grad!);
      close(fc.weight.grad!, w2.grad!);
      close(fc.bias!.grad!, b2.grad!);
      expect(fc.weight.grad!.shape).toEqual([3, 5]);
      expect(fc.weight.grad!.isContiguous()).toBe(true);
    });
  }

  it('without bias; a second backward accumulates into the kept gradient', () => {
    const fc = new Linear(4, 2, { bias: false });
    const x = randn([3, 4]);
    g(sum(fc.call(x))).backward();
    const first = Float32Array.from(fc.weight.grad!.dataSync());
    const held = fc.weight.grad!;
    g(sum(fc.call(x))).backward();
    expect(fc.weight.grad).toBe(held); // accumulated in place, as PyTorch does
    const second = fc.weight.grad!.dataSync();
    for (let i = 0; i < first.length; i++) expect(second[i]).toBeCloseTo(2 * first[i]!, 5);
  });

  it('two leaves handed the same gradient get separate buffers', () => {
    const a = g(randn([4, 3], { requiresGrad: true }));
    const b = g(randn([4, 3], { requiresGrad: true }));
    g(sum(add(a, b))).backward();
    expect(a.grad).not.toBe(b.grad);
    expect(a.grad!.storage_).not.toBe(b.grad!.storage_);
    g(sum(mul(a, 3))).backward();
    expect(Array.from(a.grad!.dataSync())).toEqual(new Array(12).fill(4));
    expect(Array.from(b.grad!.dataSync())).toEqual(new Array(12).fill(1));
  });
});

describe('activation gradients', () => {
  const f = Math.fround;
  const cases = {
    sigmoid: (t: Tensor) => t.sigmoid(),
    tanh: (t: Tensor) => t.tanh(),
    relu: (t: Tensor) => t.relu(),
  };
  for (const [name, fn] of Object.entries(cases)) {
    it(`${name}: gy · f'(y) from the saved output, bit for bit`, () => {
      const x = g(tensor([-3, -0.5, 0, 0.25, 1, 4, 80, -80], { requiresGrad: true }));
      const y = fn(x);
      const gy = tensor([1, -2, 3, 0.5, -0.25, 7, 1, 1]);
      g(sum(mul(y, gy))).backward();
      const yv = y.dataSync(), gv = gy.dataSync(), got = x.grad!.dataSync();
      for (let i = 0; i < yv.length; i++) {
        const v = yv[i]!;
        const d = name === 'sigmoid' ? f(v * f(1 - v)) : name === 'tanh' ? f(1 - f(v * v)) : v > 0 ? 1 : 0;
        expect(got[i]).toBe(f(gv[i]! * d));
      }
    });
  }
});
