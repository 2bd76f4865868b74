#!/usr/bin/env node
/**
 * Runs the golden conformance suite on the WebGPU backend, like
 * `node apps/conformance/dist/cli.js --dir <folder> --backend webgpu`, without needing
 * @kindling/backend-webgpu to be a dependency of apps/conformance.
 *
 *   node packages/backend-webgpu/scripts/conformance.mjs [--dir ../shared/golden] [--reference] [--verbose]
 *
 * --reference turns the fused kernels off (KINDLING_WEBGPU_FUSED=0), so core's reference
 * decompositions run over the WGSL primitives. Prints a line per failing case and closes with
 * `N passed, N failed`; exits 1 when a case fails or WebGPU is unavailable.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const here = fileURLToPath(new URL('.', import.meta.url));
const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: resolve(here, '../../../../shared/golden') },
    reference: { type: 'boolean', default: false },
    verbose: { type: 'boolean', short: 'v', default: false },
  },
});
if (values.reference) process.env.KINDLING_WEBGPU_FUSED = '0';

await import('@kindling/autograd');
await import('../dist/index.js');
const { runConformance } = await import('@kindling/conformance');
// The families above core (modules, optimizers, end_to_end) load as in the CLI, from the runner's
// own folder: it tries @kindling/nn and @kindling/optim and reports what is missing.
const optional = new URL('./families/optional.js', import.meta.resolve('@kindling/conformance'));
await (await import(optional.href)).loadBackendsAndFamilies();

const fmt = (n) => (Number.isFinite(n) ? n.toExponential(2) : String(n));
const report = await runConformance({
  dir: values.dir,
  backends: ['webgpu'],
  onResult: (r) => {
    if (r.status === 'failed') {
      const detail = r.error ?? r.mismatches.map((m) => `${m.what}: ${m.message} (max abs ${fmt(m.maxAbs)}, max rel ${fmt(m.maxRel)})`).join('; ');
      console.log(`FAIL [${r.backend}] ${r.family}/${r.name}: ${detail}`);
    } else if (values.verbose && r.status === 'passed') console.log(`ok   [${r.backend}] ${r.family}/${r.name}`);
  },
});
for (const b of report.skippedBackends) console.log(`SKIP backend ${b.backend}: ${b.reason}`);
for (const f of report.skippedFamilies) console.log(`SKIP family ${f.family}: ${f.reason}`);
console.log(`${report.passed} passed, ${report.failed} failed`);
process.exit(report.failed > 0 || report.skippedBackends.length > 0 ? 1 : 0);
