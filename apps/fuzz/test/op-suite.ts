/**
 * The op properties as a vitest suite for one backend: one test per op, a fixed number of cases
 * from a fixed seed (so CI is repeatable; KINDLING_FUZZ_SEED picks another), skipped with the
 * reason when this machine lacks the backend. `pnpm fuzz` runs the same properties for longer.
 */
import { describe, expect, it } from 'vitest';
import { OPS, SPECIALS, TOLERANCE, checkOp, prepare, type BackendName } from '../src/index.js';

export const SEED = Number(process.env.KINDLING_FUZZ_SEED ?? 20261201);

export async function opSuite(backend: BackendName, runs: (op: string) => number): Promise<void> {
  const target = await prepare(backend);
  if (!target.device) console.warn(`[fuzz] op properties on ${backend} skipped: ${target.reason}`);
  describe.skipIf(!target.device)(`every op and its gradient on ${backend} match the cpu portable reference (${target.implementation})`, () => {
    for (const op of OPS) {
      it(op.name, async () => {
        const r = await checkOp(op, target.device!, TOLERANCE[backend], { runs: runs(op.name), seed: SEED, values: { specials: SPECIALS[backend] } });
        expect(r.failure).toBeNull();
        expect(r.runs).toBe(runs(op.name));
      });
    }
  });
}
