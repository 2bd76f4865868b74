/**
 * init: ranges and statistics of PyTorch's initialisers, gains and fans, determinism under
 * manualSeed (the Philox stream is shared by every backend), and writes in place.
 */
import '@kindling/backend-cpu';
import { describe, expect, it } from 'vitest';
import { manualSeed, zeros } from '@kindling/core';
import { Conv2d, Linear, Parameter, init } from '@kindling/nn';

const stats = (v: Float32Array | Int32Array | Uint8Array) => {
  let s = 0;
  let s2 = 0;
  for (const x of v) {
    s += x;
    s2 += x * x;
  }
  const m = s / v.length;
  return { mean: m, std: Math.sqrt(s2 / v.length - m * m), min: Math.min(...v), max: Math.max(...v) };
};

describe('init', () => {
  it('calculateGain and fans follow torch', () => {
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(init.calculateGain('conv2d')).toBe(1);
    expect(init.calculateFanInAndFanOut(zeros([6, 3, 5, 5]))).toEqual({ fanIn: 75, fanOut: 150 });
    expect(() => init.calculateFanInAndFanOut(zeros([4]))).toThrow(/fewer than 2 dimensions/);
  });

  it('uniform_ / normal_ write in place with the right distribution', () => {
    const t = new Parameter(zeros([100, 100]));
    expect(init.uniform_(t, -2, 3)).toBe(t);
    let s = stats(t.dataSync());
    expect(s.min).toBeGreaterThanOrEqual(-2);
    expect(s.max).toBeLessThan(3);
    expect(s.mean).toBeCloseTo(0.5, 1);
    init.normal_(t, 1, 0.5);
    s = stats(t.dataSync());
    expect(s.mean).toBeCloseTo(1, 1);
    expect(s.std).toBeCloseTo(0.5, 1);
    init.constant_(t, 0.25);
    expect(stats(t.dataSync())).toMatchObject({ min: 0.25, max: 0.25 });
  });

  it('xavier and kaiming bounds / stds', () => {
    const w = zeros([200, 300]);
    init.xavierUniform_(w, 2);
    const a = 2 * Math.sqrt(6 / 500);
    let s = stats(w.dataSync());
    expect(s.max).toBeLessThanOrEqual(a);
    expect(s.min).toBeGreaterThanOrEqual(-a);
    expect(s.std).toBeCloseTo(a / Math.sqrt(3), 2);
    init.xavierNormal_(w);
    expect(stats(w.dataSync()).std).toBeCloseTo(Math.sqrt(2 / 500), 2);
    init.kaimingUniform_(w, { nonlinearity: 'relu' });
    const bound = Math.SQRT2 * Math.sqrt(3 / 300);
    s = stats(w.dataSync());
    expect(s.max).toBeLessThanOrEqual(bound);
    expect(s.std).toBeCloseTo(bound / Math.sqrt(3), 2);
    init.kaimingNormal_(w, { mode: 'fan_out', nonlinearity: 'relu' });
    expect(stats(w.dataSync()).std).toBeCloseTo(Math.SQRT2 / Math.sqrt(200), 2);
  });

  it('default layer init is U(−1/√fan_in, 1/√fan_in) for weight and bias, reproducible with manualSeed', () => {
    manualSeed(1234);
    const a = new Conv2d(3, 16, 5);
    manualSeed(1234);
    const b = new Conv2d(3, 16, 5);
    expect(Array.from(a.weight.dataSync())).toEqual(Array.from(b.weight.dataSync()));
    expect(Array.from(a.bias!.dataSync())).toEqual(Array.from(b.bias!.dataSync()));
    const fc = new Linear(400, 120);
    const s = stats(fc.weight.dataSync());
    const bound = 1 / Math.sqrt(400);
    expect(s.max).toBeLessThanOrEqual(bound);
    expect(s.min).toBeGreaterThanOrEqual(-bound);
    expect(s.std).toBeCloseTo(bound / Math.sqrt(3), 3);
  });
});
