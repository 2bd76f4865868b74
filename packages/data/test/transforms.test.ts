import { describe, expect, it } from 'vitest';
import { RandomStream } from '../src/random.js';
import {
  bilinearAxisWeights, Compose, Lambda, Normalize, RandomHorizontalFlip, Resize, ToTensor, transformFromSpec,
} from '../src/transforms.js';
import type { HostArray } from '../src/types.js';

const f32 = (values: number[], shape: number[]): HostArray => ({ data: Float32Array.from(values), shape });
const rows = (x: HostArray, w: number) => {
  const out: number[][] = [];
  for (let i = 0; i < x.data.length; i += w) out.push([...x.data.subarray(i, i + w)]);
  return out;
};

describe('Resize (bilinear, align_corners=False)', () => {
  it('upsamples 2x2 → 4x4 as PyTorch does', () => {
    const out = new Resize([4, 4]).apply(f32([1, 2, 3, 4], [1, 2, 2]));
    expect(out.shape).toEqual([1, 4, 4]);
    expect(out.data).toBeInstanceOf(Float32Array);
    // F.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=(4, 4), mode='bilinear', align_corners=False)
    expect(rows(out, 4)).toEqual([
      [1.0, 1.25, 1.75, 2.0],
      [1.5, 1.75, 2.25, 2.5],
      [2.5, 2.75, 3.25, 3.5],
      [3.0, 3.25, 3.75, 4.0],
    ]);
  });

  it('downsamples without antialias as F.interpolate (half-pixel centres)', () => {
    // 4 → 2: source coordinates 0.5 and 2.5, i.e. the mean of pixel pairs.
    const x = f32([...Array(16).keys()], [1, 4, 4]);
    const out = new Resize([2, 2]).apply(x);
    expect(rows(out, 2)).toEqual([
      [2.5, 4.5],
      [10.5, 12.5],
    ]);
    // 3 → 2: scale 1.5, sources 0.25 and 1.75.
    const y = new Resize([1, 2]).apply(f32([0, 10, 20], [1, 1, 3]));
    expect([...y.data]).toEqual([2.5, 17.5]);
  });

  it('clamps source coordinates below 0 and at the last pixel', () => {
    const w = bilinearAxisWeights(2, 4);
    // Output 0: src = 0.5·0.5 − 0.5 = −0.25 → 0, all weight on pixel 0.
    expect([w.index[0], w.index[1], w.weight[0], w.weight[1]]).toEqual([0, 1, 1, 0]);
    // Output 3: src = 1.25 → i0 = 1 = last pixel, i1 clamped to 1.
    expect([w.index[6], w.index[7]]).toEqual([1, 1]);
  });

  it('antialiases downscaling on request, as torchvision antialias=True', () => {
    // F.interpolate(torch.arange(4.).view(1,1,1,4), size=(1,2), mode='bilinear', antialias=True) → [0.7143, 2.2857]
    const out = new Resize([1, 2], { antialias: true }).apply(f32([0, 1, 2, 3], [1, 1, 4]));
    expect(out.data[0]).toBeCloseTo(5 / 7, 6);
    expect(out.data[1]).toBeCloseTo(16 / 7, 6);
    // Upscaling is the same with and without antialias.
    const x = f32([1, 2, 3, 4], [1, 2, 2]);
    expect(new Resize(4, { antialias: true }).apply(x).data).toEqual(new Resize(4).apply(x).data);
  });

  it('matches the smaller edge for an integer size, as torchvision', () => {
    const r = new Resize(8);
    expect(r.outputSize(4, 6)).toEqual([8, 12]);
    expect(r.outputSize(6, 4)).toEqual([12, 8]);
    expect(r.outputSize(3, 4)).toEqual([8, 10]); // floor(8·4/3)
    const out = r.apply({ data: new Float32Array(2 * 4 * 6), shape: [2, 4, 6] });
    expect(out.shape).toEqual([2, 8, 12]);
  });

  it('resizes uint8 images to uint8, rounding half to even', () => {
    // Pixels 0 and 1 → 4 outputs 0, 0.25, 0.75, 1 → 0, 0, 1, 1;  0 and 3 → 0, .75, 2.25, 3 → 0, 1, 2, 3.
    const out = new Resize([1, 4]).apply({ data: Uint8Array.from([0, 1]), shape: [1, 1, 2] });
    expect(out.data).toBeInstanceOf(Uint8Array);
    expect([...out.data]).toEqual([0, 0, 1, 1]);
    // 1 and 2 → 1, 1.25, 1.75, 2; 2.5-ties: [2, 3] upsampled ×2 gives 2, 2.25, 2.75, 3.
    const half = new Resize([1, 3]).apply({ data: Uint8Array.from([2, 3, 4]), shape: [1, 1, 3] });
    expect([...half.data]).toEqual([2, 3, 4]);
    const tie = new Resize([1, 2]).apply({ data: Uint8Array.from([2, 3, 4, 5]), shape: [1, 1, 4] });
    expect([...tie.data]).toEqual([2, 4]); // 2.5 → 2, 4.5 → 4
  });

  it('works on batches [N,C,H,W] plane by plane', () => {
    const one = f32([1, 2, 3, 4], [1, 2, 2]);
    const batch = f32([1, 2, 3, 4, 1, 2, 3, 4], [2, 1, 2, 2]);
    const a = new Resize(4).apply(one);
    const b = new Resize(4).apply(batch);
    expect(b.shape).toEqual([2, 1, 4, 4]);
    expect([...b.data.subarray(16)]).toEqual([...a.data]);
  });

  it('rejects shapes that are not images', () => {
    expect(() => new Resize(4).apply(f32([1, 2], [2]))).toThrow(/Resize: expected an image \[C,H,W\] or a batch \[N,C,H,W\], got shape \[2\]/);
    expect(() => new Resize(0)).toThrow(/positive integer/);
  });
});

describe('ToTensor, Normalize', () => {
  it('ToTensor divides uint8 by 255 and passes float32 through', () => {
    const out = new ToTensor().apply({ data: Uint8Array.from([0, 51, 255]), shape: [3, 1, 1] });
    expect(out.data).toBeInstanceOf(Float32Array);
    expect([...out.data]).toEqual([0, Math.fround(51 / 255), 1]);
    const f = f32([0.5], [1, 1, 1]);
    expect(new ToTensor().apply(f)).toBe(f);
  });

  it('Normalize works per channel, on images and batches', () => {
    const n = new Normalize([0.5, 0.25], [0.5, 0.25]);
    const out = n.apply(f32([1, 0.5, 0.5, 0], [2, 1, 2]));
    expect([...out.data]).toEqual([1, 0, 1, -1]);
    const batch = n.apply(f32([1, 0.5, 0.5, 0, 1, 0.5, 0.5, 0], [2, 2, 1, 2]));
    expect([...batch.data]).toEqual([1, 0, 1, -1, 1, 0, 1, -1]);
    // One mean/std for all channels.
    expect([...new Normalize(0.5, 0.5).apply(f32([0, 1], [2, 1, 1])).data]).toEqual([-1, 1]);
  });

  it('Normalize explains its errors', () => {
    expect(() => new Normalize(0.5, 0.5).apply({ data: new Uint8Array(4), shape: [1, 2, 2] })).toThrow(/apply ToTensor\(\) first/);
    expect(() => new Normalize([0.1, 0.2], [1, 1]).apply(f32([0, 0, 0], [3, 1, 1]))).toThrow(/mean has 2 values, the image \[3,1,1\] has 3 channels/);
    expect(() => new Normalize(0, 0)).toThrow(/division by zero/);
  });
});

describe('RandomHorizontalFlip, Compose', () => {
  const img = f32([1, 2, 3, 4, 5, 6], [1, 2, 3]);

  it('flips with probability p, drawing from the given stream', () => {
    expect([...new RandomHorizontalFlip(1).apply(img, new RandomStream(0)).data]).toEqual([3, 2, 1, 6, 5, 4]);
    expect(new RandomHorizontalFlip(0).apply(img, new RandomStream(0))).toBe(img);
    // Same stream → same decisions; about half flip.
    const decide = (seed: number) => {
      const g = new RandomStream(seed);
      const t = new RandomHorizontalFlip(0.5);
      return Array.from({ length: 200 }, () => t.apply(img, g).data[0] === 3);
    };
    expect(decide(5)).toEqual(decide(5));
    const flips = decide(5).filter(Boolean).length;
    expect(flips).toBeGreaterThan(70);
    expect(flips).toBeLessThan(130);
  });

  it('never modifies its input; Compose works in place only on its own intermediates', () => {
    const raw = { data: Uint8Array.from([10, 20, 30, 40]), shape: [1, 2, 2] };
    const before = [...raw.data];
    const t = new Compose([new ToTensor(), new RandomHorizontalFlip(1), new Normalize(0.5, 0.5)]);
    const out = t.apply(raw, new RandomStream(1));
    expect([...raw.data]).toEqual(before);
    expect(out.data[0]).toBeCloseTo((20 / 255 - 0.5) / 0.5, 6);
    const f = f32([1, 2, 3, 4], [1, 2, 2]);
    new Compose([new RandomHorizontalFlip(1), new Normalize(0, 2)]).apply(f, new RandomStream(1));
    expect([...f.data]).toEqual([1, 2, 3, 4]);
  });

  it('round-trips through specs (what workers receive) with identical results', () => {
    const t = new Compose([new Resize(7), new RandomHorizontalFlip(0.5), new ToTensor(), new Normalize([0.2860], [0.3530])]);
    const spec = t.toSpec();
    expect(spec).toBeDefined();
    const u = transformFromSpec(JSON.parse(JSON.stringify(spec)));
    const raw = { data: Uint8Array.from({ length: 16 }, (_, i) => i * 13), shape: [1, 4, 4] };
    for (let s = 0; s < 5; s++) {
      expect(u.apply(raw, new RandomStream(s)).data).toEqual(t.apply(raw, new RandomStream(s)).data);
    }
    expect(String(t)).toContain('Resize(size=7');
  });

  it('wraps functions into Lambda, which cannot be serialized', () => {
    const t = new Compose([new ToTensor(), (x: HostArray) => x]);
    expect(t.transforms[1]).toBeInstanceOf(Lambda);
    expect(t.toSpec()).toBeUndefined();
  });
});
