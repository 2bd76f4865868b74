/**
 * The properties themselves: they catch a wrong kernel and shrink it to a small case, every op
 * core has is covered, and each known failure (src/known.ts) still fails — when one is fixed,
 * its test here says to delete the entry.
 */
import { describe, expect, it } from 'vitest';
import * as kd from '@kindling/core';
import type { Operand, UnaryOp, View } from '@kindling/core';
import { CpuBackend } from '@kindling/backend-cpu';
import { KNOWN_FAILURES, OPS, TOLERANCE, checkOp, evaluate, opByName, prepare, type BackendName } from '../src/index.js';

// A backend with one wrong kernel: exp is off by one part in 10^3 for inputs above 1.
class BrokenExp extends CpuBackend {
  override unary(op: UnaryOp, x: Operand, out: View): void {
    super.unary(op, x, out);
    if (op !== 'exp') return;
    const y = this.readSync(out.buffer, 0, out.buffer.size) as Float32Array;
    const src = typeof x === 'number' ? null : (this.readSync(x.buffer, 0, x.buffer.size) as Float32Array);
    if (!src || typeof x === 'number') return;
    // The output is contiguous; the input may be any view: read it through its strides.
    const n = out.shape.reduce((a, b) => a * b, 1);
    const idx = new Array<number>(out.shape.length).fill(0);
    for (let k = 0; k < n; k++) {
      let xo = x.offset;
      x.strides.forEach((s, d) => (xo += s * idx[d]!));
      if (src[xo]! > 1) y[out.offset + k] = y[out.offset + k]! * 1.001;
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d]! < out.shape[d]!) break;
        idx[d] = 0;
      }
    }
    this.write(out.buffer, y);
  }
}
kd.registerBackend({
  kind: 'broken',
  unavailableReason: () => null,
  create: () => {
    const b = new BrokenExp({ native: false });
    Object.defineProperty(b, 'device', { value: 'broken:0' });
    return b;
  },
});

describe('the op properties', () => {
  it('find a kernel that is wrong by 1e-3 and shrink the case to one element', async () => {
    const r = await checkOp(opByName('exp'), 'broken', TOLERANCE.cpu, { runs: 200, seed: 1 });
    expect(r.failure).toMatch(/^exp on broken: output 0: element 0 is/);
    // Shrunk: a single value just above 1, no view.
    expect(r.failure).toMatch(/minimal case: exp\(tensor\(\[[0-9.]+\], \{shape: \[(1)?\], dtype: 'float32', requiresGrad: true\}\)\)/);
  });

  it('cover every unary op core lists, and no op twice', () => {
    const names = OPS.map((o) => o.name);
    for (const op of kd.UNARY_OPS) expect(names).toContain(op);
    expect(new Set(names).size).toBe(names.length);
  });
});

// (No suite while src/known.ts lists none: vitest refuses an empty one.)
if (KNOWN_FAILURES.length > 0) describe('known failures still fail (delete an entry from src/known.ts once this says it is fixed)', () => {
  for (const k of KNOWN_FAILURES) {
    for (const backend of k.backends as BackendName[]) {
      it(`${k.op} on ${backend}: ${k.what.slice(0, 60)}…`, async (ctx) => {
        const t = await prepare(backend);
        if (!t.device) ctx.skip(`${backend}: ${t.reason}`);
        expect(k.covers(k.minimal)).toBe(true);
        const o = await evaluate(opByName(k.op), k.minimal, t.device!);
        expect(k.fixed(o), `${k.op} on ${backend} now gives the right answer: remove this known failure`).toBe(false);
      });
    }
  }
});
