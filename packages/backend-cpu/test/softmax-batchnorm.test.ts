import { describe, expect, it } from 'vitest';
import { be, empty, expectClose, f32, makeView, randn, readView, rng } from './helpers.js';

describe('softmax', () => {
  const r = rng(10);
  for (const log of [false, true]) {
    it(`${log ? 'log-' : ''}softmax forward and backward, with large logits`, () => {
      const [rows, cols] = [5, 7];
      const xd = f32(randn(rows * cols, r).map((v, i) => (i < cols ? 50 + 25 * v : v))); // first row needs the max-shift
      const gyd = f32(randn(rows * cols, r));
      const y = empty('float32', [rows, cols]);
      be.softmax!(makeView('float32', xd, [rows, cols]), log, y);
      const ref: number[] = [];
      const gref: number[] = [];
      for (let i = 0; i < rows; i++) {
        const row = xd.slice(i * cols, (i + 1) * cols);
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
        const p = row.map((v) => Math.exp(v - lse));
        const g = gyd.slice(i * cols, (i + 1) * cols);
        if (log) {
          const sg = g.reduce((a, b) => a + b, 0);
          row.forEach((v, j) => ref.push(v - lse));
          g.forEach((gv, j) => gref.push(gv - p[j]! * sg));
        } else {
          const dot = g.reduce((a, gv, j) => a + gv * p[j]!, 0);
          p.forEach((v) => ref.push(v));
          g.forEach((gv, j) => gref.push(p[j]! * (gv - dot)));
        }
      }
      expectClose(readView(y), ref, 1e-5, 1e-6);
      const gx = empty('float32', [rows, cols]);
      be.softmaxBackward!(y, makeView('float32', gyd, [rows, cols]), log, gx);
      expectClose(readView(gx), gref, 1e-4, 1e-6);
    });
  }
});

/** float64 reference of training-mode batch norm on [N,C,L]; returns out. */
function bnRef(x: number[], w: number[], b: number[], N: number, C: number, L: number, eps: number) {
  const out = new Array(x.length);
  const mean: number[] = [];
  const varB: number[] = [];
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) s += x[(n * C + c) * L + l]!;
    const mu = s / (N * L);
    let v = 0;
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) v += (x[(n * C + c) * L + l]! - mu) ** 2;
    v /= N * L;
    mean.push(mu);
    varB.push(v);
    for (let n = 0; n < N; n++)
      for (let l = 0; l < L; l++) {
        const i = (n * C + c) * L + l;
        out[i] = ((x[i]! - mu) / Math.sqrt(v + eps)) * w[c]! + b[c]!;
      }
  }
  return { out, mean, varB };
}

describe('batch norm (training)', () => {
  const r = rng(11);
  for (const [N, C, L] of [[8, 3, 1], [4, 2, 5], [3, 4, 6]] as const) {
    it(`[${N},${C},${L}]: forward, running stats, and backward vs finite differences`, () => {
      const eps = 1e-5;
      const momentum = 0.1;
      const xd = f32(randn(N * C * L, r).map((v) => 3 + 2 * v)); // offset mean: exercises the two-pass variance
      const wd = f32(randn(C, r));
      const bd = f32(randn(C, r));
      const gyd = f32(randn(N * C * L, r));
      const rm0 = f32(randn(C, r));
      const rv0 = f32(randn(C, r).map((v) => 1 + Math.abs(v)));
      const x = makeView('float32', xd, [N, C, L]);
      const w = makeView('float32', wd, [C]);
      const b = makeView('float32', bd, [C]);
      const rm = makeView('float32', rm0, [C]);
      const rv = makeView('float32', rv0, [C]);
      const out = empty('float32', [N, C, L]);
      const mean = empty('float32', [C]);
      const invstd = empty('float32', [C]);
      be.batchNormTrain!(x, w, b, rm, rv, momentum, eps, out, mean, invstd);

      const ref = bnRef(xd, wd, bd, N, C, L, eps);
      expectClose(readView(out), ref.out, 1e-4, 1e-5);
      expectClose(readView(mean), ref.mean, 1e-5, 1e-6);
      expectClose(readView(invstd), ref.varB.map((v) => 1 / Math.sqrt(v + eps)), 1e-5, 1e-6);
      const M = N * L;
      expectClose(readView(rm), rm0.map((v, c) => (1 - momentum) * v + momentum * ref.mean[c]!), 1e-5, 1e-6);
      expectClose(readView(rv), rv0.map((v, c) => (1 - momentum) * v + momentum * ref.varB[c]! * (M / (M - 1))), 1e-5, 1e-6);

      const gx = empty('float32', [N, C, L]);
      const gw = empty('float32', [C]);
      const gb = empty('float32', [C]);
      be.batchNormBackward!(makeView('float32', gyd, [N, C, L]), x, w, mean, invstd, gx, gw, gb);

      // Central differences of loss = Σ out·gy on the float64 reference.
      const loss = (xs: number[], ws: number[], bs: number[]) => bnRef(xs, ws, bs, N, C, L, eps).out.reduce((s: number, v: number, i: number) => s + v * gyd[i]!, 0);
      const h = 1e-5;
      const fd = (arr: number[], i: number, f: (a: number[]) => number) => {
        const p = arr.slice();
        const m = arr.slice();
        p[i] += h;
        m[i] -= h;
        return (f(p) - f(m)) / (2 * h);
      };
      const gxFd = xd.map((_, i) => fd(xd, i, (a) => loss(a, wd, bd)));
      const gwFd = wd.map((_, i) => fd(wd, i, (a) => loss(xd, a, bd)));
      const gbFd = bd.map((_, i) => fd(bd, i, (a) => loss(xd, wd, a)));
      expectClose(readView(gx), gxFd, 1e-3, 1e-4);
      expectClose(readView(gw), gwFd, 1e-3, 1e-4);
      expectClose(readView(gb), gbFd, 1e-3, 1e-4);
    });
  }

  it('works without affine parameters or running stats, and with null grad outputs', () => {
    const xd = [1, 2, 3, 4, 5, 6];
    const x = makeView('float32', xd, [3, 2, 1]);
    const out = empty('float32', [3, 2, 1]);
    const mean = empty('float32', [2]);
    const invstd = empty('float32', [2]);
    be.batchNormTrain!(x, null, null, null, null, 0.1, 1e-5, out, mean, invstd);
    expect(readView(mean)).toEqual([3, 4]);
    const ref = bnRef(xd, [1, 1], [0, 0], 3, 2, 1, 1e-5);
    expectClose(readView(out), ref.out, 1e-5, 1e-6);
    const gx = empty('float32', [3, 2, 1]);
    be.batchNormBackward!(makeView('float32', [1, 1, 1, 1, 1, 1], [3, 2, 1]), x, null, mean, invstd, gx, null, null);
    expectClose(readView(gx), [0, 0, 0, 0, 0, 0], 0, 1e-6); // a constant upstream has zero gradient through the normalisation
  });
});
