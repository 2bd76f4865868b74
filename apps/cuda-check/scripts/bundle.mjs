#!/usr/bin/env node
// Bundles src/check.ts and everything it imports into one ES module (dist-bundle/check.mjs) for
// GPU hosts without node_modules. Native addons stay outside: the CUDA addon is found through
// $KINDLING_CUDA_ADDON, and the CPU backend falls back to its portable path there.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'src', 'check.ts')],
  outfile: join(root, 'dist-bundle', 'check.mjs'),
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
console.log(`bundled ${join(root, 'dist-bundle', 'check.mjs')}`);
