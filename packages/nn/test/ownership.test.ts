/**
 * Self-contained modules free their temporaries at once (src/ownership.ts): what a Sequential of
 * nn's layers makes between its children is gone when its forward returns, as PyTorch's refcount
 * would have it, while everything a user could still hold (hooked activations, what a custom
 * module keeps, pass-through inputs) stays alive and readable.
 */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { type Tensor, memory, noGrad, randint, randn } from '@kindling/core';
import {
  BatchNorm1d, BatchNorm2d, Conv2d, CrossEntropyLoss, Dropout, Flatten, Identity, Linear, MaxPool2d, Module, ReLU, Sequential, Sigmoid,
} from '@kindling/nn';

const lenetBn = () =>
  new Sequential(
    new Conv2d(1, 6, 5), new BatchNorm2d(6), new Sigmoid(), new MaxPool2d(2, { stride: 2 }),
    new Conv2d(6, 16, 5), new BatchNorm2d(16), new Sigmoid(), new MaxPool2d(2, { stride: 2 }),
    new Flatten(), new Linear(16 * 4 * 4, 120), new BatchNorm1d(120), new Sigmoid(), new Linear(120, 10),
  );

/** Live tensors a call leaves behind once what it returned is disposed (without this module, every intermediate). */
function leftBehind(fn: () => Tensor[]): number {
  const before = memory().numTensors;
  for (const t of fn()) t.dispose();
  return memory().numTensors - before;
}

describe('self-contained modules free their temporaries', () => {
  it('a Sequential of nn layers leaves nothing behind but its output (and, in training, the graph)', () => {
    const net = lenetBn();
    const x = randn([8, 1, 28, 28]);
    net.eval();
    expect(leftBehind(() => noGrad(() => [net.call(x)]))).toBe(0);
    // With grad mode on, autograd's saved views go with the output's graph.
    expect(leftBehind(() => [net.call(x)])).toBe(0);
    net.train();
    // Training: only what autograd saved for backward is still live (views, not the JS-side intermediates).
    const y = randint(0, 10, [8]);
    const loss = new CrossEntropyLoss();
    const before = memory().numTensors;
    const out = net.call(x);
    const l = loss.call(out, y);
    l.backward();
    // After backward the graph released what it saved: what is left is out, l and the parameters' new grads.
    const grads = net.parameters().length;
    expect(memory().numTensors - before).toBe(2 + grads);
    expect(net.parameters().every((p) => p.grad !== null)).toBe(true);
  });

  it('gives the same gradients as the same layers called one by one', () => {
    const a = lenetBn();
    const b = lenetBn();
    b.loadStateDict(a.stateDict());
    const x = randn([4, 1, 28, 28]);
    const y = randint(0, 10, [4]);
    new CrossEntropyLoss().call(a.call(x), y).backward();
    let h: Tensor = x;
    for (const m of b) h = m.forward(h); // forward directly: nothing is freed on the way
    new CrossEntropyLoss().forward(h, y).backward();
    const ga = a.parameters().map((p) => p.grad!.dataSync());
    const gb = b.parameters().map((p) => p.grad!.dataSync());
    expect(ga).toEqual(gb);
  });

  it('keeps what a forward hook captured (the feature-map inspection pattern)', () => {
    const net = lenetBn();
    const seen: Tensor[] = [];
    net.at(2).registerForwardHook((_m, _in, out) => void seen.push(out as Tensor));
    net.at(3).registerForwardPreHook((_m, inputs) => void seen.push(inputs[0] as Tensor));
    net.call(randn([2, 1, 28, 28]));
    expect(seen).toHaveLength(2);
    for (const t of seen) {
      expect(t.isDisposed).toBe(false);
      expect(t.shape).toEqual([2, 6, 24, 24]);
      expect(Number.isFinite(t.dataSync()[0])).toBe(true);
    }
  });

  it("keeps what a user's own module holds, and the tensors around it", () => {
    class Keep extends Module {
      kept: Tensor[] = [];
      override forward(x: Tensor): Tensor {
        this.kept.push(x);
        const y = x.mul(2);
        this.kept.push(y);
        return y;
      }
    }
    const keep = new Keep();
    const net = new Sequential(new Linear(4, 4), keep, new ReLU(), new Linear(4, 2));
    net.call(randn([3, 4]));
    expect(keep.kept.map((t) => t.isDisposed)).toEqual([false, false]);
    expect(keep.kept[1]!.dataSync()).toHaveLength(12);
  });

  it('is not fooled by pass-through layers or subclasses of nn layers', () => {
    class MyLinear extends Linear {
      last: Tensor | null = null;
      override forward(x: Tensor): Tensor {
        this.last = super.forward(x);
        return this.last;
      }
    }
    const mine = new MyLinear(4, 4);
    const net = new Sequential(mine, new Identity(), new Dropout(0.5), new ReLU(), new Linear(4, 2));
    net.eval();
    const x = randn([3, 4]);
    const out = net.call(x);
    expect(x.isDisposed).toBe(false); // the caller's input is never freed
    expect(mine.last!.isDisposed).toBe(false); // the subclass kept its output; Identity, Dropout and ReLU passed it on
    expect(mine.last!.dataSync()).toHaveLength(12);
    expect(out.shape).toEqual([3, 2]);
  });
});
