/**
 * Runs the project's golden conformance suite (../shared/golden) on the WebGPU backend through
 * @kindling/conformance's runner, with the optional families (modules, optimizers, end_to_end)
 * loaded as the CLI does. Shared by the fused and the reference-decomposition test files.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const GOLDEN = fileURLToPath(new URL('../../../../shared/golden', import.meta.url));

export async function runGolden(): Promise<void> {
  await import('@kindling/autograd');
  await import('../dist/index.js');
  const { runConformance } = await import('@kindling/conformance');
  await import('@kindling/conformance/nn-families'); // modules, optimizers, end_to_end
  const report = await runConformance({ dir: GOLDEN, backends: ['webgpu'] });
  const failures = report.results
    .filter((r) => r.status === 'failed')
    .map((r) => `${r.family}/${r.name}: ${r.error ?? r.mismatches.map((m) => `${m.what} ${m.message}`).join('; ')}`);
  for (const f of report.skippedFamilies) console.warn(`conformance: skipped family ${f.family}: ${f.reason}`);
  console.log(`conformance on webgpu: ${report.passed} passed, ${report.failed} failed`);
  expect(report.skippedBackends).toEqual([]);
  expect(failures).toEqual([]);
  expect(report.passed).toBeGreaterThan(150);
}

export const haveGolden = existsSync(GOLDEN);
