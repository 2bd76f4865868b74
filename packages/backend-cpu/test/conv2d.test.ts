import { describe, it } from 'vitest';
import { CONV_CASES, convOutSize, type ConvCase } from './fixtures.js';
import { be, empty, expectClose, f32, makeView, randn, readView, rng } from './helpers.js';

/** Direct float64 convolution and its two adjoints, straight from the definition. */
function naive(c: ConvCase, x: number[], w: number[], b: number[] | null, gy: number[]) {
  const { N, C, H, W, O, kH, kW, p } = c;
  const G = p.groups;
  const Cg = C / G;
  const Og = O / G;
  const oH = convOutSize(H, kH, p.stride[0], p.padding[0], p.dilation[0]);
  const oW = convOutSize(W, kW, p.stride[1], p.padding[1], p.dilation[1]);
  const y = new Array(N * O * oH * oW).fill(0);
  const gx = new Array(N * C * H * W).fill(0);
  const gw = new Array(O * Cg * kH * kW).fill(0);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let oh = 0; oh < oH; oh++)
        for (let ow = 0; ow < oW; ow++) {
          const yi = ((n * O + o) * oH + oh) * oW + ow;
          let s = b ? b[o]! : 0;
          for (let ci = 0; ci < Cg; ci++)
            for (let kh = 0; kh < kH; kh++)
              for (let kw = 0; kw < kW; kw++) {
                const ih = oh * p.stride[0] - p.padding[0] + kh * p.dilation[0];
                const iw = ow * p.stride[1] - p.padding[1] + kw * p.dilation[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const xi = ((n * C + g * Cg + ci) * H + ih) * W + iw;
                const wi = ((o * Cg + ci) * kH + kh) * kW + kw;
                s += x[xi]! * w[wi]!;
                gx[xi] += gy[yi]! * w[wi]!;
                gw[wi] += gy[yi]! * x[xi]!;
              }
          y[yi] = s;
        }
    }
  return { y, gx, gw, oH, oW };
}

describe('conv2d (fused) against a direct convolution', () => {
  const r = rng(7);
  for (const c of CONV_CASES) {
    it(c.name, () => {
      const { N, C, H, W, O, kH, kW, p } = c;
      const Cg = C / p.groups;
      const xd = f32(randn(N * C * H * W, r));
      const wd = f32(randn(O * Cg * kH * kW, r));
      const bd = c.bias ? f32(randn(O, r)) : null;
      const oH = convOutSize(H, kH, p.stride[0], p.padding[0], p.dilation[0]);
      const oW = convOutSize(W, kW, p.stride[1], p.padding[1], p.dilation[1]);
      const gyd = f32(randn(N * O * oH * oW, r));
      const ref = naive(c, xd, wd, bd, gyd);

      const x = makeView('float32', xd, [N, C, H, W]);
      const w = makeView('float32', wd, [O, Cg, kH, kW]);
      const b = bd ? makeView('float32', bd, [O]) : null;
      const y = empty('float32', [N, O, oH, oW]);
      be.conv2d!(x, w, b, p, y);
      expectClose(readView(y), ref.y, 1e-4, 1e-5);

      const gy = makeView('float32', gyd, [N, O, oH, oW]);
      const gx = makeView('float32', new Array(N * C * H * W).fill(123), [N, C, H, W]); // garbage: the kernel must overwrite
      be.conv2dBackwardInput!(gy, w, p, gx);
      expectClose(readView(gx), ref.gx, 1e-4, 1e-5);

      const gw = makeView('float32', new Array(O * Cg * kH * kW).fill(-5), [O, Cg, kH, kW]);
      be.conv2dBackwardWeight!(gy, x, p, gw);
      expectClose(readView(gw), ref.gw, 1e-4, 1e-5);
    });
  }

  it('accepts non-contiguous inputs and outputs (NHWC storage seen as NCHW)', () => {
    const c = CONV_CASES[1]!;
    const { N, C, H, W, O, kH, kW, p } = c;
    const Cg = C / p.groups;
    const xd = f32(randn(N * C * H * W, r));
    const wd = f32(randn(O * Cg * kH * kW, r));
    const oH = convOutSize(H, kH, p.stride[0], p.padding[0], p.dilation[0]);
    const oW = convOutSize(W, kW, p.stride[1], p.padding[1], p.dilation[1]);
    // x stored NHWC: element [n,c,h,w] at ((n·H + h)·W + w)·C + c
    const x = makeView('float32', xd, [N, C, H, W], [H * W * C, 1, W * C, C]);
    const xNchw = readView(x);
    const ref = naive(c, xNchw, wd, null, new Array(N * O * oH * oW).fill(0));
    const y = makeView('float32', new Array(N * O * oH * oW).fill(0), [N, O, oH, oW], [oH * oW * O, 1, oW * O, O]);
    be.conv2d!(x, makeView('float32', wd, [O, Cg, kH, kW]), null, p, y);
    expectClose(readView(y), ref.y, 1e-4, 1e-5);
  });
});
