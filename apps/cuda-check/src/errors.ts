/**
 * What a user meets when things go wrong on cuda, checked on the GPU itself: a bad gather index
 * is found by the kernel (a GPU cannot throw), kept in the device-side error word and reported by
 * the next read, after which the device still works; an allocation larger than the GPU names the
 * bytes and the free memory; an absent device index is named.
 */
import * as kd from '@kindling/core';
import type { VersusResult } from './versus-cpu.js';

type Case = { name: string; run: (device: string) => Promise<string | null> };

/** null when `p` rejects (or `f` throws) with a message matching `re`, else what happened. */
async function rejects(f: () => Promise<unknown>, re: RegExp): Promise<string | null> {
  try {
    await f();
    return `no error (expected ${re})`;
  } catch (e) {
    const m = (e as Error).message;
    return re.test(m) ? null : `error "${m}" does not match ${re}`;
  }
}

const CASES: Case[] = [
  {
    name: 'gather with an out-of-range index: the next read reports it, and the device still works',
    run: async (d) => {
      const x = kd.randn([4, 5], { device: d });
      const idx = kd.tensor([[0, 7], [1, 2], [3, 4], [0, 0]], { dtype: 'int32', device: d });
      const bad = await rejects(async () => kd.gather(x, 1, idx).data(), /gather: an index is out of bounds/);
      if (bad) return bad;
      const after = Array.from(await kd.add(kd.ones([3], { device: d }), 1).data());
      return after.join() === '2,2,2' ? null : `after the error, ones + 1 gave [${after}]`;
    },
  },
  {
    name: 'an allocation beyond the GPU names the bytes and the free memory',
    run: async (d) => {
      const b = kd.getBackend(d);
      return rejects(async () => b.alloc('float32', 2 ** 38), /alloc: cannot allocate \d+ bytes on cuda:\d+ .*MiB free of \d+/);
    },
  },
  {
    name: 'a device index the machine does not have is named',
    run: async () => rejects(async () => kd.zeros([2], { device: 'cuda:63' }), /cuda:63/),
  },
];

export async function errorChecks(device: string): Promise<VersusResult[]> {
  const results: VersusResult[] = [];
  for (const c of CASES) {
    try {
      const problem = await c.run(device);
      results.push({ name: c.name, ok: problem === null, detail: problem ?? '' });
    } catch (e) {
      results.push({ name: c.name, ok: false, detail: `threw: ${(e as Error).message}` });
    }
  }
  return results;
}
