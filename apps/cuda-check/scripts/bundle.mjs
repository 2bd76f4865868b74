#!/usr/bin/env node
// Bundles src/check.ts and src/distributed-check.ts, each with everything it imports, into one ES
// module apiece (dist-bundle/*.mjs) for GPU hosts without node_modules. Native addons stay
// outside: the CUDA addon is found through $KINDLING_CUDA_ADDON, the CPU backend falls back to its
// portable path there, and @kindling/distributed's loader resolves its platform package from
// node_modules beside the bundle (scripts/pack-distributed.mjs puts it there).
//   node scripts/bundle.mjs [OUTDIR]     (default: dist-bundle)
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles src/<name>.ts into <outdir>/<name>.mjs; returns the file. */
export async function bundle(name, outdir = join(root, 'dist-bundle')) {
  const outfile = join(outdir, `${name}.mjs`);
  await build({
    entryPoints: [join(root, 'src', `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    mainFields: ['module', 'main'],
    conditions: ['source'],
    external: ['*.node', 'webgpu'],
    banner: { js: "import { createRequire as __kdCreateRequire } from 'node:module'; const require = __kdCreateRequire(import.meta.url);" },
    keepNames: true, // module reprs print class names, as PyTorch's do
    logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ? resolve(process.argv[2]) : undefined;
  for (const name of ['check', 'distributed-check']) console.log(`bundled ${await bundle(name, outdir)}`);
}
