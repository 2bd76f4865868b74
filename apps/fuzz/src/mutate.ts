/**
 * Byte-level and structure-aware mutations of real files, deterministic in (seed, input index) so
 * that any input a fuzzer reports can be rebuilt from two numbers.
 */

/** xorshift128+-like PRNG over 32-bit words (fast, deterministic, not cryptographic). */
export class Rng {
  private a: number;
  private b: number;
  constructor(seed: number, stream: number) {
    this.a = (seed ^ 0x9e3779b9) >>> 0 || 1;
    this.b = (Math.imul(stream + 1, 0x85ebca6b) ^ seed) >>> 0 || 2;
    for (let i = 0; i < 8; i++) this.next();
  }
  next(): number {
    let s1 = this.a;
    const s0 = this.b;
    this.a = s0;
    s1 ^= s1 << 23;
    s1 ^= s1 >>> 17;
    s1 ^= s0 ^ (s0 >>> 26);
    this.b = s1 >>> 0;
    return (this.a + this.b) >>> 0;
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** Values that break size arithmetic: 0, ±1, powers of two around int32/uint32/2^53 limits. */
export const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff] as const;
export const INTERESTING_NUMBERS: readonly unknown[] = [
  0, -1, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, 0.5, NaN, '0', '', 'abc', null, true, [], {}, [1, 2], '__proto__',
];

/** One AFL-style havoc step on a byte array: flips, interesting values, block deletes, duplicates, inserts, truncation. */
export function havoc(bytes: Uint8Array, r: Rng): Uint8Array {
  let b = bytes;
  const steps = 1 + r.int(4);
  for (let s = 0; s < steps; s++) {
    const n = b.length;
    switch (r.int(8)) {
      case 0: { // flip one bit
        if (!n) break;
        b = b.slice();
        b[r.int(n)]! ^= 1 << r.int(8);
        break;
      }
      case 1: { // an interesting byte
        if (!n) break;
        b = b.slice();
        b[r.int(n)] = r.pick(INTERESTING) & 0xff;
        break;
      }
      case 2: { // an interesting 32-bit word, either endianness
        if (n < 4) break;
        b = b.slice();
        new DataView(b.buffer, b.byteOffset).setUint32(r.int(n - 3), r.pick(INTERESTING), r.int(2) === 0);
        break;
      }
      case 3: { // truncate
        b = b.slice(0, r.int(n + 1));
        break;
      }
      case 4: { // delete a block
        if (!n) break;
        const at = r.int(n);
        const len = 1 + r.int(Math.min(64, n - at));
        b = concat(b.subarray(0, at), b.subarray(at + len));
        break;
      }
      case 5: { // duplicate a block
        if (!n) break;
        const at = r.int(n);
        const len = 1 + r.int(Math.min(256, n - at));
        b = concat(b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len));
        break;
      }
      case 6: { // insert random bytes
        const at = r.int(n + 1);
        const ins = Uint8Array.from({ length: 1 + r.int(16) }, () => r.int(256));
        b = concat(b.subarray(0, at), ins, b.subarray(at));
        break;
      }
      default: { // overwrite a run with one random byte
        if (!n) break;
        b = b.slice();
        const at = r.int(n);
        b.fill(r.int(256), at, Math.min(n, at + 1 + r.int(32)));
      }
    }
  }
  return b;
}

/** Replaces one randomly chosen value inside a JSON document with a hostile one; adds or renames keys too. */
export function mutateJson(value: unknown, r: Rng): unknown {
  const doc = structuredClone(value);
  const slots: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach((x, i) => (slots.push({ parent: v, key: i }), walk(x)));
    else if (v && typeof v === 'object') for (const k of Object.keys(v)) (slots.push({ parent: v as Record<string, unknown>, key: k }), walk((v as Record<string, unknown>)[k]));
  };
  walk(doc);
  if (!slots.length) return r.pick(INTERESTING_NUMBERS);
  const s = r.pick(slots);
  const parent = s.parent as Record<string | number, unknown>;
  switch (r.int(5)) {
    case 0: // a key that pollutes prototypes if copied with Object.assign or []=
      parent[r.pick(['__proto__', 'constructor', 'prototype'])] = { polluted: 1, lr: 'abc' };
      break;
    case 1:
      delete parent[s.key];
      break;
    case 2: { // a number nudged to an edge, a string to another string
      const v = parent[s.key];
      parent[s.key] = typeof v === 'number' ? r.pick([v + 1, -v, v * 2 ** 31, v + 0.5, -1]) : typeof v === 'string' ? r.pick(['', 'F64', 'I64', 'abc', v + v]) : r.pick(INTERESTING_NUMBERS);
      break;
    }
    default:
      parent[s.key] = r.pick(INTERESTING_NUMBERS);
  }
  return doc;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}
