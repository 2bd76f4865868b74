import { describe, expect, it } from 'vitest';
import { philox4x32, philoxFill } from '@kindling/core';
import { be, empty, makeView, readView } from './helpers.js';

describe('random (Philox-4x32-10)', () => {
  it('reproduces the published known answer for counter 0, key 0', () => {
    const w = new Uint32Array(4);
    philox4x32(0, 0, 0, 0, 0, 0, w);
    expect([...w]).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    // The backend's uniform draws of that block are exactly (word >>> 8) · 2^-24.
    const out = empty('float32', [4]);
    be.random('uniform', [0, 0], 0, out);
    expect(readView(out)).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8].map((v) => (v >>> 8) / 16777216));
  });

  it('matches core\'s philoxFill bit for bit, with a large counter and a strided output', () => {
    for (const dist of ['uniform', 'normal'] as const) {
      const key: [number, number] = [0xdeadbeef, 12345];
      const counter = 2 ** 33 + 7; // exercises the high counter word
      const ref = new Float32Array(15);
      philoxFill(dist, key, counter, ref);
      const out = empty('float32', [15]);
      be.random(dist, key, counter, out);
      expect(readView(out)).toEqual([...ref]);
      // Element i of a transposed [5,3] view gets draw i in row-major logical order.
      const t = makeView('float32', new Array(15).fill(0), [5, 3], [1, 5]);
      be.random(dist, key, counter, t);
      expect(readView(t)).toEqual([...ref]);
    }
  });

  it('gives plausible statistics', () => {
    const n = 20000;
    const u = empty('float32', [n]);
    be.random('uniform', [1, 2], 0, u);
    const uv = readView(u);
    expect(Math.min(...uv)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...uv)).toBeLessThan(1);
    expect(Math.abs(uv.reduce((a, b) => a + b, 0) / n - 0.5)).toBeLessThan(0.01);
    const z = empty('float32', [n]);
    be.random('normal', [1, 2], 0, z);
    const zv = readView(z);
    const mean = zv.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(zv.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
  });
});
