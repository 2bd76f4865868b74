/**
 * Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"; the generator of
 * cuRAND and JAX). This is the reference every backend reproduces bit for bit:
 *
 *   block b = counter + floor(i / 4) for uniform, counter + floor(i / 2) for normal;
 *   words   = philox4x32_10([b mod 2^32, floor(b / 2^32), 0, 0], key)
 *   uniform(i) = (words[i % 4] >>> 8) · 2^-24                                  in [0, 1)
 *   normal(i)  = sqrt(-2 ln u1) · cos(2π u2), u1 = ((words[2j] >>> 8) + 1) · 2^-24,
 *                u2 = (words[2j+1] >>> 8) · 2^-24, j = i % 2
 *
 * so drawing n uniforms consumes ceil(n / 4) counters and n normals ceil(n / 2).
 */
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32s, exact in doubles. */
function mulhi(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const mid = ah * bl + al * bh + ((al * bl) >>> 16);
  return (ah * bh + Math.floor(mid / 65536)) >>> 0;
}

/** One Philox-4x32-10 block; writes 4 uint32 words into `out`. */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

const TWO_NEG_24 = 1 / 16777216;

/** Fills `out` following the mapping above (the CPU backend's kernel, and the test oracle). */
export function philoxFill(dist: 'uniform' | 'normal', key: readonly [number, number], counter: number, out: Float32Array): void {
  const w = new Uint32Array(4);
  const n = out.length;
  const perBlock = dist === 'uniform' ? 4 : 2;
  for (let i = 0; i < n; i += perBlock) {
    const b = counter + i / perBlock;
    philox4x32(b >>> 0, Math.floor(b / 4294967296) >>> 0, 0, 0, key[0] >>> 0, key[1] >>> 0, w);
    if (dist === 'uniform') {
      for (let l = 0; l < 4 && i + l < n; l++) out[i + l] = (w[l]! >>> 8) * TWO_NEG_24;
    } else {
      for (let j = 0; j < 2 && i + j < n; j++) {
        const u1 = ((w[2 * j]! >>> 8) + 1) * TWO_NEG_24;
        const u2 = (w[2 * j + 1]! >>> 8) * TWO_NEG_24;
        out[i + j] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      }
    }
  }
}

/** The one global generator: a key from the seed and a counter that every draw advances. */
export class Generator {
  private key: [number, number] = [0, 0];
  private counter = 0;
  private seed_ = 0;

  constructor(seed: number) {
    this.manualSeed(seed);
  }

  manualSeed(seed: number): void {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`manualSeed: seed must be a non-negative safe integer, got ${seed}`);
    this.seed_ = seed;
    this.key = [seed >>> 0, Math.floor(seed / 4294967296) >>> 0];
    this.counter = 0;
  }

  initialSeed(): number {
    return this.seed_;
  }

  /** Reserves the counters for `n` draws of `dist` and returns where they start. */
  next(dist: 'uniform' | 'normal', n: number): { key: readonly [number, number]; counter: number } {
    const start = this.counter;
    this.counter += Math.ceil(n / (dist === 'uniform' ? 4 : 2));
    return { key: this.key, counter: start };
  }

  /** State for checkpoints: resuming restores the exact stream. */
  getState(): { seed: number; counter: number } {
    return { seed: this.seed_, counter: this.counter };
  }

  setState(s: { seed: number; counter: number }): void {
    this.manualSeed(s.seed);
    this.counter = s.counter;
  }
}

/** PyTorch's default CPU seed, so unseeded runs are reproducible too. */
export const DEFAULT_SEED = 67280421310721;
export const globalGenerator = new Generator(DEFAULT_SEED);

export function manualSeed(seed: number): void {
  globalGenerator.manualSeed(seed);
}
