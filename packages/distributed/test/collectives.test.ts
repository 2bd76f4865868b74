import { describe, expect, it } from 'vitest';
import { lastJson, startRanks } from './helpers.js';
// @ts-expect-error: a plain ES module fixture, typed loosely here
import { input } from './fixtures/inputs.mjs';

type Result = Record<string, number[] | number[][]> & { rank: number; worldSize: number };
const inp = input as (rank: number, n?: number) => number[];

function f32(a: number[]): number[] {
  return Array.from(Float32Array.from(a));
}

// cuda runs on GPU hosts (the device check); elsewhere it is skipped with the reason. NCCL refuses
// two ranks on one GPU, so it runs with world size 1 there.
describe.each([
  [2, 'cpu', 'gloo'],
  [3, 'cpu', 'gloo'],
  [2, 'webgpu', 'gloo'],
  [2, 'cuda', 'gloo'],
  [1, 'cuda', 'nccl'],
])('collectives with %i ranks on loopback, %s tensors, %s', (world, device, backend) => {
  it('allReduce (sum, avg, min, max, int32, strided), broadcast, allGather, reduceScatter and barrier equal the local computation', async (ctx) => {
    const ranks = await startRanks('collectives.mjs', world, { DEVICE: device, BACKEND: backend });
    const results = await Promise.all(ranks.map(async (p) => lastJson<Result>(await p.exit)));
    const why = (results[0] as { unavailable?: string }).unavailable;
    if (why) {
      console.warn(`[distributed] ${device} collectives skipped: ${why}`);
      ctx.skip();
    }
    const inputs = Array.from({ length: world }, (_, r) => f32(inp(r)));
    const fold = (fn: (a: number, b: number) => number) => inputs[0]!.map((_, i) => inputs.map((x) => x[i]!).reduce((a, b) => fn(a, b)));
    const sum = fold((a, b) => a + b);
    for (const r of results) {
      expect(r.worldSize).toBe(world);
      r.sum!.forEach((v, i) => expect(v).toBeCloseTo(sum[i]!, 4));
      (r.avg as number[]).forEach((v, i) => expect(v).toBeCloseTo(sum[i]! / world, 4));
      expect(r.min).toEqual(f32(fold(Math.min)));
      expect(r.max).toEqual(f32(fold(Math.max)));
      expect(r.sumInt32).toEqual(inp(0).map((_, i) => inputs.reduce((s, x, k) => s + Math.round(inp(k)[i]!), 0)));
      const n = (world * (world - 1)) / 2;
      expect(r.strided).toEqual([[n, 2 * world], [world, 3 * n]]);
      expect(r.broadcast).toEqual(inputs[world - 1]);
      expect(r.allGather).toEqual(inputs);
      const mine = Array.from({ length: 3 }, (_, i) => Array.from({ length: world }, (_, k) => f32(inp(k + 10 * r.rank, 3))[i]!).reduce((a, b) => a + b));
      (r.reduceScatter as number[]).forEach((v, i) => expect(v).toBeCloseTo(mine[i]!, 4));
      expect(r.inFlight).toEqual(Array.from({ length: 8 }, (_, k) => n + world * k));
    }
  });
});
