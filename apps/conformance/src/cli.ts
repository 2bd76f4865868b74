#!/usr/bin/env node
/**
 * pnpm conformance --dir <folder> [--backend cpu|webgpu|cuda[,...]] [--reference]
 *
 * Runs every case of every golden JSON file in the folder on each requested backend (default:
 * all), prints a line per failing case and per skipped family or backend, and closes with
 * `N passed, N failed`. Exits 1 when any case fails. --reference turns every backend's fused
 * kernels off, so core's reference decompositions are what gets checked.
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    backend: { type: 'string' },
    reference: { type: 'boolean', default: false },
    verbose: { type: 'boolean', short: 'v', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const usage = 'usage: pnpm conformance --dir <folder> [--backend cpu|webgpu|cuda[,...]] [--reference] [--verbose]';
if (values.help) {
  console.log(usage);
  process.exit(0);
}
if (!values.dir) {
  console.error(`conformance: --dir is required\n${usage}`);
  process.exit(2);
}
// Every backend honours its own switch for turning its fused kernels off.
if (values.reference) process.env.KINDLING_CPU_FUSED = process.env.KINDLING_WEBGPU_FUSED = process.env.KINDLING_CUDA_FUSED = '0';

// Backends register on import; load them after the environment is set.
await import('@kindling/autograd');
await import('@kindling/backend-cpu');
const { loadBackendsAndFamilies } = await import('./families/optional.js');
await loadBackendsAndFamilies();
const { runConformance } = await import('./runner.js');

const backends = values.backend ? values.backend.split(',').map((s) => s.trim()) : undefined;
const fmt = (n: number): string => (Number.isFinite(n) ? n.toExponential(2) : String(n));
const report = await runConformance({
  dir: values.dir,
  backends,
  onResult: (r) => {
    if (r.status === 'failed') {
      const detail = r.error ?? r.mismatches.map((m) => `${m.what}: ${m.message} (max abs ${fmt(m.maxAbs)}, max rel ${fmt(m.maxRel)})`).join('; ');
      console.log(`FAIL [${r.backend}] ${r.family}/${r.name}: ${detail}`);
    } else if (values.verbose && r.status === 'passed') console.log(`ok   [${r.backend}] ${r.family}/${r.name}`);
  },
});
for (const n of report.notes) console.log(`NOTE ${n}`);
for (const b of report.skippedBackends) console.log(`SKIP backend ${b.backend}: ${b.reason}`);
for (const f of report.skippedFamilies) console.log(`SKIP family ${f.family}: ${f.reason}`);
console.log(`${report.passed} passed, ${report.failed} failed`);
process.exit(report.failed > 0 ? 1 : 0);
