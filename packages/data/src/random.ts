/**
 * The seeded random generator of @kindling/data: shuffling orders and random augmentations.
 *
 * It is counter-based (Philox-4x32-10, the generator of cuRAND, JAX and @kindling/core), so any
 * stream can be recreated from a few integers without replaying earlier draws:
 *
 *   key     = (seed mod 2^32, floor(seed / 2^32))
 *   counter = (draw block, a, b, tag)
 *
 * The DataLoader uses `tag` to separate purposes (shuffle vs. augmentation), `b` for the epoch and
 * `a` for the sample's position inside the epoch. Hence "epoch e of seed s" is a pure function of
 * (s, e): the same order and the same flips every run, on the main thread and in a worker alike,
 * and a resumed run reproduces exactly what the interrupted one would have drawn.
 */

// The block function is core's, shared by every backend (a subpath import: no tensor machinery).
import { philox4x32 } from '@kindling/core/philox';

export { philox4x32 };

/** Stream tags used by the DataLoader (public so that tests and custom loaders can reproduce). */
export const STREAM_SHUFFLE = 0x5348; // 'SH'
export const STREAM_AUGMENT = 0x4155; // 'AU'
export const STREAM_DATASET = 0x4453; // 'DS': a dataset's own generator for direct get(i) calls

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** A fresh random seed (32 bits) from the platform's crypto source, or Math.random as a last resort. */
export function randomSeed(): number {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto;
  if (c?.getRandomValues) return c.getRandomValues(new Uint32Array(1))[0]!;
  return Math.floor(Math.random() * TWO_POW_32);
}

function checkSeed(seed: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`RandomStream: seed must be a non-negative safe integer, got ${seed}`);
  }
  return seed;
}

function checkWord(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v >= TWO_POW_32) {
    throw new RangeError(`RandomStream: ${name} must be an integer in [0, 2^32), got ${v}`);
  }
  return v;
}

/**
 * A seeded, counter-based random generator.
 *
 * ```ts
 * const g = new RandomStream(42);
 * g.random();          // uniform in [0, 1), 53 random bits
 * g.randint(10);       // integer in [0, 10)
 * g.randperm(5);       // Int32Array permutation of 0..4
 * RandomStream.stream(42, STREAM_SHUFFLE, 0, 3); // the stream of epoch 3's shuffle, recreated anywhere
 * ```
 */
export class RandomStream {
  /** The seed this generator was created with. */
  readonly seed: number;
  private readonly k0: number;
  private readonly k1: number;
  private readonly a: number;
  private readonly b: number;
  private readonly tag: number;
  /** Index of the next Philox block to generate. */
  private block = 0;
  /** Words of the current block and how many of them are used up. */
  private readonly words = new Uint32Array(4);
  private used = 4;

  /** @param seed a non-negative safe integer; a random one when omitted (read it back from `.seed`). */
  constructor(seed?: number, a = 0, b = 0, tag = 0) {
    this.seed = checkSeed(seed ?? randomSeed());
    this.k0 = this.seed >>> 0;
    this.k1 = Math.floor(this.seed / TWO_POW_32) >>> 0;
    this.a = checkWord('stream word a', a);
    this.b = checkWord('stream word b', b);
    this.tag = checkWord('stream tag', tag);
  }

  /** The independent stream (tag, a, b) of `seed`, starting at its first draw. */
  static stream(seed: number, tag: number, a = 0, b = 0): RandomStream {
    return new RandomStream(seed, a, b, tag);
  }

  /** Another stream of the same seed; does not disturb this one. */
  fork(tag: number, a = 0, b = 0): RandomStream {
    return new RandomStream(this.seed, a, b, tag);
  }

  /** Number of 32-bit words drawn so far (lets a caller checkpoint a sequential generator). */
  get position(): number {
    return this.block * 4 - (4 - this.used);
  }

  /** Moves to the given position (as returned by `position`), for resuming. */
  set position(p: number) {
    if (!Number.isSafeInteger(p) || p < 0) throw new RangeError(`RandomStream: bad position ${p}`);
    this.block = Math.floor(p / 4);
    this.used = 4;
    const skip = p % 4;
    if (skip > 0) {
      this.refill();
      this.used = skip;
    }
  }

  private refill(): void {
    philox4x32(this.block >>> 0, this.a, this.b, this.tag, this.k0, this.k1, this.words);
    this.block++;
    this.used = 0;
  }

  /** One uniformly distributed uint32. */
  nextUint32(): number {
    if (this.used === 4) this.refill();
    return this.words[this.used++]!;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /** Uniform integer in [0, n); n ≤ 2^32 (bias below n / 2^53, i.e. none in practice). */
  randint(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) {
      throw new RangeError(`RandomStream.randint: n must be an integer in [1, 2^32], got ${n}`);
    }
    return Math.floor(this.random() * n);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates, drawing from the end). */
  randperm(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
      throw new RangeError(`RandomStream.randperm: n must be an integer in [0, 2^31), got ${n}`);
    }
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.randint(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

/**
 * The part of @kindling/core's Generator used here: reserving counters of its Philox stream
 * (core's `Generator.next`). Lets a DataLoader take `generator: globalGenerator` or any core
 * generator, as PyTorch's DataLoader takes `generator=torch.Generator()`.
 */
export interface CounterGenerator {
  next(dist: 'uniform', n: number): { key: readonly [number, number]; counter: number };
}

/** A source a loader can draw its seed from. */
export type SeedSource = RandomStream | CounterGenerator;

/**
 * Draws a 53-bit seed from a generator, advancing it (as PyTorch's DataLoader draws its base seed
 * from its generator): two loaders built from one generator get different seeds, and re-seeding
 * the generator reproduces both.
 */
export function drawSeed(g: SeedSource): number {
  let lo: number;
  let hi: number;
  if (g instanceof RandomStream) {
    lo = g.nextUint32();
    hi = g.nextUint32();
  } else {
    // One Philox block of the core generator's stream: counter words (b mod 2^32, b / 2^32, 0, 0).
    const { key, counter } = g.next('uniform', 4);
    const w = new Uint32Array(4);
    philox4x32(counter >>> 0, Math.floor(counter / TWO_POW_32) >>> 0, 0, 0, key[0] >>> 0, key[1] >>> 0, w);
    lo = w[0]!;
    hi = w[1]!;
  }
  return (hi & 0x1fffff) * TWO_POW_32 + lo;
}
