/**
 * Module semantics: registration (class fields, plain assignment, addModule / register),
 * PyTorch's __setattr__ rules, traversal with shared modules, stateDict / loadStateDict (strict,
 * errors, atomicity), train / eval, zeroGrad, apply, hooks, tidy() and flat memory.
 */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { type Tensor, crossEntropy, memory, noGrad, ones, randint, randn, tensor, tidy, zeros } from '@kindling/core';
import {
  BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ModuleList, Parameter, ReLU, Sequential, Sigmoid,
} from '@kindling/nn';

class Net extends Module {
  conv1 = new Conv2d(1, 6, 5, { padding: 2 });
  act = new Sigmoid();
  pool: MaxPool2d;
  fc: Linear;
  scale: Parameter;

  constructor() {
    super();
    this.pool = new MaxPool2d(2);
    this.fc = new Linear(6 * 14 * 14, 10);
    this.scale = new Parameter(ones([1]));
  }

  override forward(x: Tensor): Tensor {
    const h = this.pool.call(this.act.call(this.conv1.call(x)));
    return this.fc.call(h.flatten(1)).mul(this.scale);
  }
}

class Explicit extends Module {
  conv = this.addModule('conv', new Conv2d(1, 2, 3));
  head: Linear;
  constructor() {
    super();
    this.register({ head: new Linear(2, 2), gain: new Parameter(ones([2])) });
    this.head = this.getSubmodule('head') as Linear;
    this.registerBuffer('steps', zeros([]));
    this.registerBuffer('scratch', zeros([2]), false);
  }
}

const names = (pairs: [string, unknown][]) => pairs.map(([n]) => n);

describe('registration', () => {
  it('class fields and plain assignment register children and parameters in order', () => {
    const net = new Net();
    expect(names(net.namedChildren())).toEqual(['conv1', 'act', 'pool', 'fc']);
    expect(names(net.namedParameters())).toEqual(['scale', 'conv1.weight', 'conv1.bias', 'fc.weight', 'fc.bias']);
    expect(net.conv1).toBeInstanceOf(Conv2d);
    expect(net).toBeInstanceOf(Net);
    expect(net.scale.requiresGrad).toBe(true);
    const y = net.call(zeros([2, 1, 28, 28]));
    expect(y.shape).toEqual([2, 10]);
  });

  it('addModule / register / registerBuffer (persistent or not)', () => {
    const m = new Explicit();
    expect(names(m.namedChildren())).toEqual(['conv', 'head']);
    expect(names(m.namedParameters())).toEqual(['gain', 'conv.weight', 'conv.bias', 'head.weight', 'head.bias']);
    expect(names(m.namedBuffers())).toEqual(['steps', 'scratch']);
    expect([...m.stateDict().keys()]).toEqual(['gain', 'steps', 'conv.weight', 'conv.bias', 'head.weight', 'head.bias']);
    expect((m as unknown as Record<string, unknown>).gain).toBeInstanceOf(Parameter);
  });

  it("follows torch's __setattr__ rules", () => {
    const m = new Net();
    const fc2 = new Linear(2, 2);
    m.fc = fc2; // re-assignment keeps the slot
    expect(names(m.namedChildren())).toEqual(['conv1', 'act', 'pool', 'fc']);
    expect(m.getSubmodule('fc')).toBe(fc2);
    expect(() => ((m as unknown as Record<string, unknown>).scale = zeros([1]))).toThrow(/cannot assign 'Tensor' as parameter 'scale'/);
    expect(() => ((m as unknown as Record<string, unknown>).fc = 3)).toThrow(/cannot assign 'number' as child module 'fc'/);
    (m as unknown as Record<string, unknown>).fc = null;
    expect(names(m.namedChildren())).toEqual(['conv1', 'act', 'pool']);
    expect(m.toString()).toContain('(fc): None');
    delete (m as unknown as Record<string, unknown>).act;
    expect(names(m.namedChildren())).toEqual(['conv1', 'pool']);
    (m as unknown as Record<string, unknown>).plain = 5; // ordinary attributes stay ordinary
    expect((m as unknown as Record<string, unknown>).plain).toBe(5);
    expect(() => m.addModule('a.b', new ReLU())).toThrow(/can't contain "."/);
    expect(() => m.addModule('', new ReLU())).toThrow(/empty string/);
    expect(() => m.addModule('training', new ReLU())).toThrow(/attribute 'training' already exists/);
    expect(() => m.registerBuffer('plain', zeros([1]))).toThrow(/already exists/);
  });
});

describe('traversal with a shared module', () => {
  const lin = new Linear(4, 4);
  const net = new Sequential(lin, new ReLU(), lin, new Sequential(new Linear(4, 2)));

  it('lists the shared module and its parameters once', () => {
    expect(names(net.namedModules())).toEqual(['', '0', '1', '3', '3.0']);
    expect(names(net.namedChildren())).toEqual(['0', '1', '3']);
    expect(names(net.namedParameters())).toEqual(['0.weight', '0.bias', '3.0.weight', '3.0.bias']);
    expect(net.parameters().length).toBe(4);
  });

  it('stateDict lists every path; loadStateDict fills both', () => {
    expect([...net.stateDict().keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias', '3.0.weight', '3.0.bias']);
    const sd = new Map([...net.stateDict()].map(([k, v]) => [k, noGrad(() => v.add(1))] as const));
    net.loadStateDict(sd);
    expect(Array.from(lin.weight.dataSync())).toEqual(Array.from(sd.get('2.weight')!.dataSync()));
  });
});

describe('loadStateDict', () => {
  const make = (inC: number) => new Sequential(new Conv2d(inC, 6, 5), new BatchNorm2d(6));

  it('copies values (cast and in place) and reports nothing missing', () => {
    const a = make(1);
    const b = make(1);
    const before = b.getSubmodule('0') as Conv2d;
    const w = before.weight;
    expect(b.loadStateDict(a.stateDict())).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(before.weight).toBe(w); // same Parameter object, new values
    expect(Array.from(w.dataSync())).toEqual(Array.from((a.getSubmodule('0') as Conv2d).weight.dataSync()));
  });

  it('size mismatch: the error names the key and both shapes, and nothing is written', () => {
    const target = make(3);
    const snapshot = Array.from((target.getSubmodule('1') as BatchNorm2d).runningVar!.dataSync());
    const ckpt = make(1).stateDict();
    (ckpt.get('1.running_var') as Tensor).fill_(5);
    expect(() => target.loadStateDict(ckpt)).toThrow(
      'size mismatch for 0.weight: copying a param with shape [6,1,5,5] from checkpoint, the shape in current model is [6,3,5,5]',
    );
    expect(Array.from((target.getSubmodule('1') as BatchNorm2d).runningVar!.dataSync())).toEqual(snapshot);
  });

  it('strict: missing and unexpected keys are listed; strict=false returns them', () => {
    const m = make(1);
    const sd = new Map(m.stateDict());
    sd.delete('1.running_mean');
    sd.set('2.weight', zeros([1]));
    sd.set('0.extra', zeros([1]));
    expect(() => m.loadStateDict(sd)).toThrow(
      'Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: "1.running_mean". \n\tUnexpected key(s) in state_dict: "2.weight", "0.extra". ',
    );
    expect(m.loadStateDict(sd, { strict: false })).toEqual({ missingKeys: ['1.running_mean'], unexpectedKeys: ['2.weight', '0.extra'] });
  });

  it('accepts a plain object; int32 num_batches_tracked stays int32', () => {
    const m = make(1);
    const sd = Object.fromEntries(make(1).stateDict());
    (sd['1.num_batches_tracked'] as Tensor).fill_(4);
    m.loadStateDict(sd);
    const nbt = (m.getSubmodule('1') as BatchNorm2d).numBatchesTracked!;
    expect(nbt.dtype).toBe('int32');
    expect(nbt.itemSync()).toBe(4);
  });
});

describe('modes, gradients, apply, hooks', () => {
  it('train / eval recurse; dropout and batch norm follow the mode', () => {
    const m = new Sequential(new Linear(8, 8), new Dropout(0.5), new BatchNorm1d(8));
    m.eval();
    expect(m.modules().every((x) => !x.training)).toBe(true);
    const x = randn([4, 8]);
    const y1 = m.call(x).dataSync();
    const y2 = m.call(x).dataSync();
    expect(Array.from(y1)).toEqual(Array.from(y2)); // deterministic in eval
    expect((m.getSubmodule('2') as BatchNorm1d).numBatchesTracked!.itemSync()).toBe(0);
    m.train();
    expect(m.modules().every((x) => x.training)).toBe(true);
    m.call(x);
    expect((m.getSubmodule('2') as BatchNorm1d).numBatchesTracked!.itemSync()).toBe(1);
  });

  it('zeroGrad sets grads to null (default) or zeros them in place', () => {
    const m = new Linear(3, 2);
    m.call(ones([1, 3])).sum().backward();
    expect(m.weight.grad).not.toBeNull();
    const g = m.weight.grad!;
    m.zeroGrad(false);
    expect(m.weight.grad).toBe(g);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    m.zeroGrad();
    expect(m.weight.grad).toBeNull();
    expect(m.bias!.grad).toBeNull();
    expect(g.isDisposed).toBe(true);
  });

  it('apply visits children first, then the module', () => {
    const m = new Sequential(new Linear(1, 1), new Sequential(new ReLU()));
    const seen: string[] = [];
    m.apply((x) => seen.push(x._getName()));
    expect(seen).toEqual(['Linear', 'ReLU', 'Sequential', 'Sequential']);
  });

  it('forward hooks and pre-hooks run on call(), not on forward()', () => {
    const relu = new ReLU();
    const seen: number[][] = [];
    const h = relu.registerForwardHook((_m, _in, out) => void seen.push([...(out as Tensor).shape]));
    const pre = relu.registerForwardPreHook((_m, inputs) => (inputs[0] as Tensor).neg());
    expect(Array.from(relu.call(tensor([1, -2])).dataSync())).toEqual([0, 2]);
    relu.forward(tensor([1]));
    expect(seen).toEqual([[2]]);
    h.remove();
    pre.remove();
    expect(Array.from(relu.call(tensor([1, -2])).dataSync())).toEqual([1, 0]);
  });

  it('getSubmodule / getParameter follow dotted names; to() on the same device keeps the tensors', () => {
    const m = new Sequential(new Sequential(new Linear(2, 2)));
    const w = m.getParameter('0.0.weight');
    expect(w).toBe((m.getSubmodule('0.0') as Linear).weight);
    expect(() => m.getSubmodule('0.5')).toThrow(/has no attribute `5`/);
    expect(m.to('cpu').getParameter('0.0.weight')).toBe(w);
  });

  it('requiresGrad_ freezes parameters', () => {
    const m = new Linear(2, 2).requiresGrad_(false);
    expect(m.parameters().every((p) => !p.requiresGrad)).toBe(true);
  });
});

describe('memory', () => {
  it('parameters and buffers survive tidy(); a training step in tidy keeps memory flat', () => {
    const net = tidy(() => new Sequential(new Conv2d(1, 4, 3), new BatchNorm2d(4), new ReLU(), new Flatten(), new Linear(4 * 6 * 6, 3)));
    expect(net.parameters().every((p) => !p.isDisposed)).toBe(true);
    expect(net.buffers().every((b) => !b.isDisposed)).toBe(true);
    const x = randn([5, 1, 8, 8]);
    const y = randint(0, 3, [5]);
    const step = () =>
      tidy(() => {
        net.zeroGrad();
        crossEntropy(net.call(x), y).backward();
        noGrad(() => {
          for (const p of net.parameters()) p.sub_(p.grad!.mul(0.01));
        });
      });
    step();
    const live = memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(memory().numTensors).toBe(live);
    net.dispose();
  });
});

describe('containers', () => {
  it('Sequential from a Map, pairs or an object keeps the names; at / slice / append / iteration', () => {
    const a = new Linear(2, 3);
    const r = new ReLU();
    const fromMap = new Sequential(new Map<string, Module>([['fc', a], ['act', r]]));
    const fromPairs = new Sequential([['fc', a], ['act', r]] as const);
    const fromObj = new Sequential({ fc: a, act: r });
    for (const s of [fromMap, fromPairs, fromObj]) expect(names(s.namedChildren())).toEqual(['fc', 'act']);
    expect(fromMap.at(-1)).toBe(r);
    expect(fromMap.length).toBe(2);
    expect(fromMap[0]).toBeUndefined(); // named entries: no numeric keys
    const pos = new Sequential(a, r);
    expect(pos[1]).toBe(r);
    expect([...pos]).toEqual([a, r]);
    expect(names(fromMap.slice(1).namedChildren())).toEqual(['act']);
    pos.append(new Sigmoid());
    expect(names(pos.namedChildren())).toEqual(['0', '1', '2']);
    expect(String(new Sequential())).toBe('Sequential()');
  });

  it('ModuleList registers its items; insert renumbers; it has no forward', () => {
    const l = new ModuleList([new Linear(1, 1), new ReLU()]);
    l.insert(1, new Sigmoid());
    expect(l.children().map((m) => m._getName())).toEqual(['Linear', 'Sigmoid', 'ReLU']);
    expect(names(l.namedChildren())).toEqual(['0', '1', '2']);
    expect(l.parameters().length).toBe(2);
    expect(() => l.forward()).toThrow(/missing the required "forward" function/);
    expect(String(new ModuleList([new ReLU()]))).toBe('ModuleList(\n  (0): ReLU()\n)');
  });
});
