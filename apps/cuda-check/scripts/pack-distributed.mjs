#!/usr/bin/env node
// Packs the distributed check for a GPU host without Node modules: bundles src/distributed-check.ts
// into DEST/distributed-check.mjs and copies @kindling/distributed's prebuilt Gloo addon in its
// platform package's layout (the addon and its libraries side by side, RPATH $ORIGIN) to
// DEST/node_modules/@kindling/distributed-linux-x64-gnu/, where the bundled loader resolves it
// from the bundle's folder exactly as from an npm install. Nothing is built here: the addon comes
// from `pnpm build` (packages/distributed-linux-x64-gnu). Used by prepare.sh (DEST = .device) and
// by test/distributed.test.ts (a temporary folder).
//   node apps/cuda-check/scripts/pack-distributed.mjs DEST
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from './bundle.mjs';

const dest = process.argv[2];
if (!dest) throw new Error('pack-distributed: usage: node pack-distributed.mjs DEST');
const platform = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'packages', 'distributed-linux-x64-gnu');
const meta = JSON.parse(readFileSync(join(platform, 'package.json'), 'utf8'));
// The package's `files` is the one list of what the addon carries.
const missing = meta.files.filter((f) => f !== 'README.md' && !existsSync(join(platform, f)));
if (missing.length) {
  throw new Error(`pack-distributed: ${platform} lacks ${missing.join(', ')}: build it first (npx -y pnpm@12.4.2 --filter ${meta.name} build; needs cmake, g++, libgloo-dev)`);
}
const target = join(resolve(dest), 'node_modules', ...meta.name.split('/'));
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
for (const f of ['package.json', ...meta.files]) cpSync(join(platform, f), join(target, f), { recursive: true });
console.log(`packed ${meta.name} into ${target}`);
console.log(`bundled ${await bundle('distributed-check', resolve(dest))}`);
