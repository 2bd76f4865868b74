#!/usr/bin/env node
/** `pnpm bench`: see options.ts for the flags and ../README.md for what is measured and how. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, release, totalmem, availableParallelism } from 'node:os';
import { findTorchPython } from './child.js';
import { packageVersion, webgpuEnv } from './dawn.js';
import { parseOptions, USAGE } from './options.js';
import { runBench, type ContenderSpec } from './run.js';
import { formatTable } from './table.js';
import { selectWorkloads } from './workloads.js';

/** The repository's git-ignored runs/bench (this file is apps/bench/dist/cli.js). */
const RUNS_DIR = fileURLToPath(new URL('../../../runs/bench/', import.meta.url));

function contenders(backends: readonly string[], against: readonly string[]): ContenderSpec[] {
  const specs: ContenderSpec[] = backends.map((b) => ({
    id: `kindling:${b}`,
    label: b === 'cpu-portable' ? 'Kindling cpu (TS)' : `Kindling ${b}`,
    isKindling: true,
  }));
  for (const a of against) {
    if (a === 'tfjs-cpu') specs.push({ id: 'tfjs:cpu', label: 'TF.js cpu', isKindling: false });
    if (a === 'tfjs-wasm') specs.push({ id: 'tfjs:wasm', label: 'TF.js wasm', isKindling: false });
    if (a === 'tfjs-webgpu') specs.push({ id: 'tfjs:webgpu', label: 'TF.js webgpu', isKindling: false });
    if (a === 'pytorch') specs.push({ id: 'pytorch', label: 'PyTorch', isKindling: false });
  }
  return specs;
}

async function main(): Promise<void> {
  let o;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const workloads = selectWorkloads(o.model, o.mode);
  const torch = o.against.includes('pytorch') ? findTorchPython() : { python: null, tried: 'not requested' };
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()}`, node: process.version,
  };
  const log = (l: string): void => {
    process.stdout.write(`${l}\n`);
  };
  log(`kindling bench: ${workloads.join(', ')}${o.quick ? ' (quick)' : ''} on ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);
  const versions: Record<string, string> = { tfjs: packageVersion('@tensorflow/tfjs-core') };
  if (o.backends.some((b) => b.startsWith('webgpu')) || o.against.includes('tfjs-webgpu')) {
    versions['tfjs-backend-webgpu'] = packageVersion('@tensorflow/tfjs-backend-webgpu');
    versions.webgpu = packageVersion('webgpu');
    const icd = webgpuEnv().VK_ICD_FILENAMES;
    versions.VK_ICD_FILENAMES = icd ?? '(unset: the system Vulkan drivers)';
    if (icd?.startsWith('/usr/lib/chromium/')) {
      // SwiftShader comes with Debian's chromium package.
      const q = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'chromium'], { encoding: 'utf8' });
      if (q.status === 0) versions.chromium = q.stdout.trim();
    }
    log(`webgpu: Dawn (webgpu ${versions.webgpu}), VK_ICD_FILENAMES=${versions.VK_ICD_FILENAMES}`);
  }
  if (o.against.includes('pytorch') && !torch.python) log(`PyTorch skipped: python with torch not found (${torch.tried})`);
  const results = await runBench({
    workloads, contenders: contenders(o.backends, o.against), quick: o.quick,
    python: torch.python, torchReason: torch.tried, dataDir: o.dataDir, log,
  });
  log(formatTable(results));
  const date = new Date().toISOString();
  // Raw numbers never go into the source tree: without --json they land in the repository's
  // ignored runs/ folder; the summaries live in this app's README.
  const file = o.json ?? join(RUNS_DIR, `bench-${date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const doc = { date, command: `pnpm bench ${process.argv.slice(2).join(' ')}`.trim(), machine, versions, quick: o.quick, python: torch.python, results };
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  log(`\nwrote ${file}`);
}

await main();
