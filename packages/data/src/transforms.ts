/**
 * Image transforms, after torchvision.transforms, on typed arrays.
 *
 * Every transform takes a HostArray whose last three dimensions are [C, H, W]: one image
 * [C, H, W], or a batch [N, C, H, W] (any leading dimensions are treated as a batch). Raw images
 * are Uint8Array pixels already in CHW order (IDX images are [1, 28, 28]); ToTensor turns them into
 * Float32Array values in [0, 1], as torchvision's ToTensor turns a PIL image into a float tensor.
 *
 *   ToTensor()                 uint8 → float32 / 255; float32 passes through unchanged
 *   Normalize(mean, std)       (x - mean[c]) / std[c] per channel; float32 input only
 *   Resize(size)               bilinear, half-pixel centres (align_corners=False), as
 *                              F.interpolate(mode='bilinear') and torchvision's Resize on tensors
 *   RandomHorizontalFlip(p)    flips the last axis with probability p, drawing from the generator
 *   Compose([...])             applies in order
 *   Lambda(fn)                 any function (cannot be sent to a worker thread)
 *
 * Transforms never modify their input: a view into a dataset's pixel buffer stays intact.
 * (Compose lets a step work in place on an intermediate it owns, which is invisible outside.)
 *
 * Built-in transforms describe themselves with `toSpec()`, a JSON value from which a worker thread
 * rebuilds them (`transformFromSpec`); that is how the DataLoader runs them off the main thread.
 */
import { RandomStream } from './random.js';
import { fmtShape, type HostArray, type HostData } from './types.js';

/** JSON description of a built-in transform (what a worker thread receives). */
export type TransformSpec =
  | { type: 'ToTensor' }
  | { type: 'Normalize'; mean: number[]; std: number[] }
  | { type: 'Resize'; size: number | [number, number]; antialias: boolean }
  | { type: 'RandomHorizontalFlip'; p: number }
  | { type: 'Compose'; transforms: TransformSpec[] };

/** A transform of images [C, H, W] or batches [N, C, H, W]. */
export interface Transform {
  /**
   * Returns the transformed array. `rng` feeds random transforms (a generator seeded from the
   * current time is used when omitted). `inPlace` allows overwriting `x.data` when it is float32
   * and the shape does not change; callers pass it only for intermediates they own.
   */
  apply(x: HostArray, rng?: RandomStream, inPlace?: boolean): HostArray;
  /** JSON description for worker threads, or undefined when the transform cannot be serialized. */
  toSpec(): TransformSpec | undefined;
  /** torchvision-style description, e.g. `Normalize(mean=[0.5], std=[0.5])`. */
  toString(): string;
}

/** A function usable as a transform in Compose (wrapped into a Lambda). */
export type TransformFn = (x: HostArray, rng: RandomStream) => HostArray;

let fallbackGenerator: RandomStream | undefined;
/** RandomStream used when a random transform is applied without one (seeded randomly once). */
function defaultRng(): RandomStream {
  return (fallbackGenerator ??= new RandomStream());
}

/** Splits a shape [..., C, H, W] into (leading count, C, H, W); throws naming the transform. */
function chw(name: string, shape: readonly number[]): [number, number, number, number] {
  if (shape.length < 3) {
    throw new Error(`${name}: expected an image [C,H,W] or a batch [N,C,H,W], got shape ${fmtShape(shape)}`);
  }
  const w = shape[shape.length - 1]!;
  const h = shape[shape.length - 2]!;
  const c = shape[shape.length - 3]!;
  let lead = 1;
  for (let i = 0; i < shape.length - 3; i++) lead *= shape[i]!;
  return [lead, c, h, w];
}

function checkLength(name: string, x: HostArray): void {
  let n = 1;
  for (const d of x.shape) n *= d;
  if (x.data.length !== n) {
    throw new Error(`${name}: shape ${fmtShape(x.shape)} needs ${n} elements, data has ${x.data.length}`);
  }
}

// ---------------------------------------------------------------------------------------------
// ToTensor

/** uint8 pixels → float32 in [0, 1] (divided by 255); float32 input passes through unchanged. */
export class ToTensor implements Transform {
  apply(x: HostArray): HostArray {
    checkLength('ToTensor', x);
    if (x.data instanceof Float32Array) return x;
    const src = x.data;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i]! / 255;
    return { data: out, shape: x.shape };
  }
  toSpec(): TransformSpec {
    return { type: 'ToTensor' };
  }
  toString(): string {
    return 'ToTensor()';
  }
}

// ---------------------------------------------------------------------------------------------
// Normalize

/**
 * (x - mean[c]) / std[c] for every channel c, as torchvision's Normalize. A single mean / std
 * applies to every channel. The input must be float32 (apply ToTensor first).
 */
export class Normalize implements Transform {
  readonly mean: readonly number[];
  readonly std: readonly number[];

  constructor(mean: number | readonly number[], std: number | readonly number[]) {
    this.mean = typeof mean === 'number' ? [mean] : [...mean];
    this.std = typeof std === 'number' ? [std] : [...std];
    if (this.mean.length === 0 || this.std.length === 0) throw new Error('Normalize: mean and std must not be empty');
    for (const s of this.std) {
      if (!(s !== 0) || !Number.isFinite(s)) {
        throw new Error(`Normalize: std evaluated to zero or a non-finite value (${fmtShape(this.std)}), leading to division by zero`);
      }
    }
  }

  apply(x: HostArray, _rng?: RandomStream, inPlace = false): HostArray {
    checkLength('Normalize', x);
    if (!(x.data instanceof Float32Array)) {
      throw new Error('Normalize: expected a float32 image, got uint8 pixels; apply ToTensor() first');
    }
    const [lead, c, h, w] = chw('Normalize', x.shape);
    const perC = (name: string, v: readonly number[]): readonly number[] => {
      if (v.length === 1) return new Array<number>(c).fill(v[0]!);
      if (v.length !== c) throw new Error(`Normalize: ${name} has ${v.length} values, the image ${fmtShape(x.shape)} has ${c} channels`);
      return v;
    };
    const mean = perC('mean', this.mean);
    const std = perC('std', this.std);
    const src = x.data;
    const out = inPlace ? src : new Float32Array(src.length);
    const plane = h * w;
    for (let n = 0; n < lead; n++) {
      for (let ch = 0; ch < c; ch++) {
        // Subtract then divide (not multiply by 1/std), exactly torchvision's sub_(mean).div_(std).
        const m = Math.fround(mean[ch]!);
        const s = Math.fround(std[ch]!);
        const base = (n * c + ch) * plane;
        for (let i = base; i < base + plane; i++) out[i] = Math.fround(src[i]! - m) / s;
      }
    }
    return inPlace ? x : { data: out, shape: x.shape };
  }

  toSpec(): TransformSpec {
    return { type: 'Normalize', mean: [...this.mean], std: [...this.std] };
  }
  toString(): string {
    return `Normalize(mean=${fmtShape(this.mean)}, std=${fmtShape(this.std)})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Resize

/**
 * Per-axis interpolation table: output o reads `taps` source indices starting at
 * index[o * taps] with weights weight[o * taps + k].
 */
export interface AxisWeights {
  readonly taps: number;
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

/**
 * Bilinear weights along one axis, as PyTorch computes them for align_corners=False:
 *
 *   scale = in / out;  src = max(scale · (o + 0.5) − 0.5, 0)      (half-pixel centres, clamped below)
 *   i0 = floor(src);   i1 = min(i0 + 1, in − 1);   λ = src − i0;   out = (1 − λ)·x[i0] + λ·x[i1]
 *
 * With `antialias` and downscaling (scale > 1), the triangle filter is widened to `scale` source
 * pixels and normalized, as torchvision's antialiased resize (and PIL) do; when upscaling the
 * antialiased and plain tables are the same.
 */
export function bilinearAxisWeights(inSize: number, outSize: number, antialias = false): AxisWeights {
  if (!(inSize >= 1) || !(outSize >= 1)) throw new Error(`Resize: sizes must be positive, got ${inSize} → ${outSize}`);
  const scale = inSize / outSize;
  if (antialias && scale > 1) {
    const support = scale; // interp_size / 2 · scale, interp_size = 2 for bilinear
    const taps = Math.ceil(support) * 2 + 1;
    const index = new Int32Array(outSize * taps);
    const weight = new Float64Array(outSize * taps);
    const invscale = 1 / scale;
    for (let o = 0; o < outSize; o++) {
      const center = scale * (o + 0.5);
      const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
      const xsize = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
      let total = 0;
      for (let j = 0; j < xsize; j++) {
        const t = Math.abs((j + xmin - center + 0.5) * invscale);
        const wj = t < 1 ? 1 - t : 0;
        weight[o * taps + j] = wj;
        total += wj;
      }
      for (let j = 0; j < taps; j++) {
        index[o * taps + j] = Math.min(xmin + j, inSize - 1);
        if (j < xsize && total !== 0) weight[o * taps + j]! /= total;
        else if (j >= xsize) weight[o * taps + j] = 0;
      }
    }
    return { taps, index, weight };
  }
  const index = new Int32Array(outSize * 2);
  const weight = new Float64Array(outSize * 2);
  // PyTorch evaluates the source coordinate in float32 for float inputs; do the same.
  const scaleF = Math.fround(scale);
  for (let o = 0; o < outSize; o++) {
    let src = Math.fround(Math.fround(scaleF * (o + 0.5)) - 0.5);
    if (src < 0) src = 0;
    const i0 = Math.floor(src);
    const lambda = Math.fround(src - i0);
    index[2 * o] = i0;
    index[2 * o + 1] = i0 < inSize - 1 ? i0 + 1 : i0;
    weight[2 * o] = Math.fround(1 - lambda);
    weight[2 * o + 1] = lambda;
  }
  return { taps: 2, index, weight };
}

/** Round half to even, then clamp to 0..255 (torch.round + cast back to uint8). */
function toUint8(v: number): number {
  if (!(v > 0)) return 0; // also NaN
  if (v >= 255) return 255;
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && (f & 1) === 1) ? f + 1 : f;
}

/**
 * Resizes `planes` consecutive H×W planes of `src` to outH×outW with the given axis tables
 * (separably: along W, then along H, accumulating in float64). Returns a new array of the same
 * element type: uint8 results are rounded half-to-even and clamped, as torchvision does.
 */
export function resizePlanes(
  src: HostData, planes: number, inH: number, inW: number, outH: number, outW: number,
  wy: AxisWeights, wx: AxisWeights, scratch?: Float64Array,
): HostData {
  const out: HostData = src instanceof Uint8Array ? new Uint8Array(planes * outH * outW) : new Float32Array(planes * outH * outW);
  // Rows resized along W, then one output row; `scratch` (at least inH·outW + outW) avoids allocating them.
  const buf = scratch && scratch.length >= inH * outW + outW ? scratch : new Float64Array(inH * outW + outW);
  const tmp = buf.subarray(0, inH * outW);
  const row = buf.subarray(inH * outW, inH * outW + outW);
  const tx = wx.taps;
  const ty = wy.taps;
  const u8 = out instanceof Uint8Array;
  const xi = wx.index;
  const xw = wx.weight;
  for (let p = 0; p < planes; p++) {
    // Along W: tmp[y][ox] = Σ_k wx[ox,k] · src[y][ix[ox,k]]
    const sBase = p * inH * inW;
    for (let y = 0; y < inH; y++) {
      const sRow = sBase + y * inW;
      const tRow = y * outW;
      if (tx === 2) {
        for (let ox = 0; ox < outW; ox++) {
          tmp[tRow + ox] = xw[2 * ox]! * src[sRow + xi[2 * ox]!]! + xw[2 * ox + 1]! * src[sRow + xi[2 * ox + 1]!]!;
        }
      } else {
        for (let ox = 0; ox < outW; ox++) {
          let acc = 0;
          for (let k = 0; k < tx; k++) acc += xw[ox * tx + k]! * src[sRow + xi[ox * tx + k]!]!;
          tmp[tRow + ox] = acc;
        }
      }
    }
    // Along H: out[oy][ox] = Σ_k wy[oy,k] · tmp[iy[oy,k]][ox]
    const oBase = p * outH * outW;
    for (let oy = 0; oy < outH; oy++) {
      const oRow = oBase + oy * outW;
      if (ty === 2) {
        const w0 = wy.weight[2 * oy]!;
        const w1 = wy.weight[2 * oy + 1]!;
        const r0 = wy.index[2 * oy]! * outW;
        const r1 = wy.index[2 * oy + 1]! * outW;
        if (u8) for (let ox = 0; ox < outW; ox++) out[oRow + ox] = toUint8(w0 * tmp[r0 + ox]! + w1 * tmp[r1 + ox]!);
        else for (let ox = 0; ox < outW; ox++) out[oRow + ox] = w0 * tmp[r0 + ox]! + w1 * tmp[r1 + ox]!;
        continue;
      }
      row.fill(0);
      for (let k = 0; k < ty; k++) {
        const wgt = wy.weight[oy * ty + k]!;
        if (wgt === 0) continue;
        const tRow = wy.index[oy * ty + k]! * outW;
        for (let ox = 0; ox < outW; ox++) row[ox]! += wgt * tmp[tRow + ox]!;
      }
      if (u8) for (let ox = 0; ox < outW; ox++) out[oRow + ox] = toUint8(row[ox]!);
      else for (let ox = 0; ox < outW; ox++) out[oRow + ox] = row[ox]!;
    }
  }
  return out;
}

/**
 * Resize(size): bilinear resize of the last two axes.
 *
 * `size` as in torchvision: a number matches the smaller edge to it keeping the aspect ratio
 * (the longer edge becomes floor(size · long / short)); [h, w] gives the exact output size.
 * Interpolation is bilinear with align_corners=False, i.e. exactly F.interpolate(x, size,
 * mode='bilinear', align_corners=False) (to float32 rounding). `antialias` (default false, the
 * behaviour of F.interpolate and of torchvision < 0.17 on tensors) only changes downscaling;
 * pass true for torchvision ≥ 0.17 / PIL-like downscaling. Upscaling (28 → 224) is the same either way.
 * uint8 input gives uint8 output, rounded half-to-even and clamped, as torchvision on uint8 tensors.
 */
export class Resize implements Transform {
  readonly size: number | readonly [number, number];
  readonly antialias: boolean;
  /** Weight tables for the last (inSize, outSize) pairs seen, per axis. */
  private cache: { key: string; wy: AxisWeights; wx: AxisWeights; scratch: Float64Array } | undefined;

  constructor(size: number | readonly [number, number], opts: { antialias?: boolean } = {}) {
    const ok = (v: number) => Number.isInteger(v) && v > 0;
    if (typeof size === 'number' ? !ok(size) : !(size.length === 2 && ok(size[0]) && ok(size[1]))) {
      throw new Error(`Resize: size must be a positive integer or [height, width], got ${JSON.stringify(size)}`);
    }
    this.size = typeof size === 'number' ? size : [size[0], size[1]];
    this.antialias = opts.antialias ?? false;
  }

  /** Output [H, W] for an input [H, W]. */
  outputSize(h: number, w: number): [number, number] {
    if (typeof this.size !== 'number') return [this.size[0], this.size[1]];
    const s = this.size;
    if (h <= w) return [s, Math.floor((s * w) / h)];
    return [Math.floor((s * h) / w), s];
  }

  apply(x: HostArray): HostArray {
    checkLength('Resize', x);
    const [lead, c, h, w] = chw('Resize', x.shape);
    const [oh, ow] = this.outputSize(h, w);
    const shape = [...x.shape.slice(0, -2), oh, ow];
    if (oh === h && ow === w) return x;
    const key = `${h},${w},${oh},${ow}`;
    if (this.cache?.key !== key) {
      this.cache = {
        key,
        wy: bilinearAxisWeights(h, oh, this.antialias),
        wx: bilinearAxisWeights(w, ow, this.antialias),
        scratch: new Float64Array(h * ow + ow),
      };
    }
    const { wy, wx, scratch } = this.cache;
    const data = resizePlanes(x.data, lead * c, h, w, oh, ow, wy, wx, scratch);
    return { data, shape };
  }

  toSpec(): TransformSpec {
    const size: number | [number, number] = typeof this.size === 'number' ? this.size : [this.size[0], this.size[1]];
    return { type: 'Resize', size, antialias: this.antialias };
  }
  toString(): string {
    const size = typeof this.size === 'number' ? String(this.size) : fmtShape(this.size);
    return `Resize(size=${size}, interpolation=bilinear, antialias=${this.antialias})`;
  }
}

// ---------------------------------------------------------------------------------------------
// RandomHorizontalFlip

/** Mirrors the last axis (W) with probability p (one draw per call: a batch flips as a whole). */
export class RandomHorizontalFlip implements Transform {
  readonly p: number;
  constructor(p = 0.5) {
    if (!(p >= 0 && p <= 1)) throw new Error(`RandomHorizontalFlip: p must be in [0, 1], got ${p}`);
    this.p = p;
  }

  apply(x: HostArray, rng?: RandomStream, inPlace = false): HostArray {
    checkLength('RandomHorizontalFlip', x);
    const [lead, c, h, w] = chw('RandomHorizontalFlip', x.shape);
    // Draw even when p is 0 or 1 so that the stream position does not depend on p.
    if (!((rng ?? defaultRng()).random() < this.p)) return x;
    return { data: hflip(x.data, lead * c * h, w, inPlace), shape: x.shape };
  }

  toSpec(): TransformSpec {
    return { type: 'RandomHorizontalFlip', p: this.p };
  }
  toString(): string {
    return `RandomHorizontalFlip(p=${this.p})`;
  }
}

/** Reverses every row of `rows` rows of width w (in place when allowed and float32). */
export function hflip(src: HostData, rows: number, w: number, inPlace = false): HostData {
  if (inPlace && src instanceof Float32Array) {
    for (let r = 0; r < rows; r++) src.subarray(r * w, r * w + w).reverse();
    return src;
  }
  const out = src instanceof Uint8Array ? new Uint8Array(src.length) : new Float32Array(src.length);
  for (let r = 0; r < rows; r++) {
    const base = r * w;
    for (let i = 0; i < w; i++) out[base + i] = src[base + w - 1 - i]!;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lambda and Compose

/** Wraps a function as a transform. It runs only on the main thread (it cannot be serialized). */
export class Lambda implements Transform {
  constructor(readonly fn: TransformFn, readonly label = fn.name || 'fn') {}
  apply(x: HostArray, rng?: RandomStream): HostArray {
    return this.fn(x, rng ?? defaultRng());
  }
  toSpec(): undefined {
    return undefined;
  }
  toString(): string {
    return `Lambda(${this.label})`;
  }
}

/** Applies transforms in order, as torchvision's Compose. */
export class Compose implements Transform {
  readonly transforms: readonly Transform[];

  constructor(transforms: readonly (Transform | TransformFn)[]) {
    this.transforms = transforms.map((t) => (typeof t === 'function' ? new Lambda(t) : t));
  }

  apply(x: HostArray, rng?: RandomStream, inPlace = false): HostArray {
    const g = rng ?? defaultRng();
    let cur = x;
    let owned = inPlace;
    for (const t of this.transforms) {
      const next = t.apply(cur, g, owned && cur.data instanceof Float32Array);
      // From the first step that allocates a new array on, later steps may work in place.
      owned = owned || next.data !== cur.data;
      cur = next;
    }
    return cur;
  }

  toSpec(): TransformSpec | undefined {
    const specs: TransformSpec[] = [];
    for (const t of this.transforms) {
      const s = t.toSpec();
      if (s === undefined) return undefined;
      specs.push(s);
    }
    return { type: 'Compose', transforms: specs };
  }

  toString(): string {
    return `Compose(\n${this.transforms.map((t) => `    ${String(t)}`).join('\n')}\n)`;
  }
}

/** Rebuilds a transform from its `toSpec()` description (used by worker threads). */
export function transformFromSpec(spec: TransformSpec): Transform {
  switch (spec.type) {
    case 'ToTensor':
      return new ToTensor();
    case 'Normalize':
      return new Normalize(spec.mean, spec.std);
    case 'Resize':
      return new Resize(spec.size, { antialias: spec.antialias });
    case 'RandomHorizontalFlip':
      return new RandomHorizontalFlip(spec.p);
    case 'Compose':
      return new Compose(spec.transforms.map(transformFromSpec));
    default:
      throw new Error(`transformFromSpec: unknown transform ${JSON.stringify(spec)}`);
  }
}

/** Names the first transform that cannot be sent to a worker, or undefined when all can. */
export function unserializableTransform(t: Transform | undefined): string | undefined {
  if (t === undefined) return undefined;
  if (t instanceof Compose) {
    for (const s of t.transforms) {
      const bad = unserializableTransform(s);
      if (bad) return bad;
    }
    return undefined;
  }
  return t.toSpec() === undefined ? String(t) : undefined;
}
