/**
 * The parser fuzzers, bounded: a few hundred mutated real files per parser, each in a child
 * process with a time bound per input; no crash, no hang, no unclear error, no accepted nonsense,
 * and the child's resident memory stays bounded (a gzip bomb included). `pnpm fuzz --target
 * parsers --seconds N` runs them for as long as asked.
 */
import { existsSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST, checkpointTarget, headerOf, makeCheckpoint } from '../src/targets.js';
import { KNOWN_PARSER_FINDINGS, TARGETS, fuzzParser } from '../src/index.js';

const SEED = Number(process.env.KINDLING_FUZZ_SEED ?? 20261201);
const RUNS = 300;
/** Resident memory a child may add over its start while parsing (a bomb inflates up to 64 MiB). */
const MAX_GROWTH_MIB = 384;
const PER_INPUT_MS = 10_000;
const hasData = existsSync(`${FASHION_MNIST}/t10k-images-idx3-ubyte.gz`);
if (!hasData) console.warn(`[fuzz] IDX fuzzing skipped: ${FASHION_MNIST} is missing (apt-get install dataset-fashion-mnist)`);

describe('parser fuzzers', () => {
  for (const target of TARGETS) {
    it.skipIf(target === 'idx' && !hasData)(`${target}: ${RUNS} mutated real files, no crash, hang or unclear error, memory bounded`, async () => {
      const r = await fuzzParser(target, { seed: SEED, runs: RUNS, perInputMs: PER_INPUT_MS });
      console.log(`[fuzz] ${target}: ${r.inputs} inputs (${r.parsed} parsed, ${r.refused} refused) in ${r.seconds.toFixed(1)} s; slowest ${r.maxInputMs.toFixed(0)} ms; RSS ${r.startRssMiB.toFixed(0)} → peak ${r.peakRssMiB.toFixed(0)} MiB`);
      expect(r.findings).toEqual([]);
      if (r.known) console.warn(`[fuzz] ${target}: ${r.known} inputs hit known findings, e.g. ${r.knownExamples[0]}`);
      expect(r.inputs).toBe(RUNS);
      // Some inputs must get through the parser, or the mutations only test its first check.
      expect(r.parsed).toBeGreaterThan(RUNS / 20);
      expect(r.refused).toBeGreaterThan(RUNS / 20);
      expect(r.peakRssMiB - r.startRssMiB).toBeLessThan(MAX_GROWTH_MIB);
    });
  }

  it('pins a crash and a hang to their inputs and carries on after them', async () => {
    const r = await fuzzParser('selftest', { seed: 1, runs: 8, perInputMs: 1000 });
    expect(r.findings.map((f) => [f.input, f.what])).toEqual([[3, 'crash'], [5, 'hang'], [6, 'finding']]);
    expect(r.inputs).toBe(8);
    expect(r.parsed).toBe(5);
  });

  it('a checkpoint whose param group lists a parameter index twice is refused when loaded (was a fuzz finding)', async () => {
    const f = await makeCheckpoint();
    try {
      // The checkpoint (fuzz input 536 of seed 14, shrunk by hand): param index 1 listed twice, 3 missing.
      const h = headerOf(f.bytes);
      const n = Number(new DataView(f.bytes.buffer, f.bytes.byteOffset).getBigUint64(0, true));
      const meta = h.__metadata__ as Record<string, string>;
      const opt = JSON.parse(meta.optimizer!) as { paramGroups: { params: number[] }[] };
      opt.paramGroups[0]!.params[3] = 1;
      meta.optimizer = JSON.stringify(opt);
      const text = new TextEncoder().encode(JSON.stringify(h));
      const bytes = new Uint8Array(8 + text.length + f.bytes.length - 8 - n);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
      bytes.set(text, 8);
      bytes.set(f.bytes.subarray(8 + n), 8 + text.length);
      const r = await checkpointTarget(f).run(bytes);
      expect(r).toEqual({ kind: 'refused' });
      expect(KNOWN_PARSER_FINDINGS).toEqual([]);
    } finally {
      rmSync(f.dir, { recursive: true, force: true });
    }
  });
});
